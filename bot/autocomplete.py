"""Autocomplete for `author` and `thread` options: ≤ 25 choices, answered well inside 3 seconds.

Names are matched ignoring case and accents (`SearchService.author_suggestions`), the same matching that names the
closest ones when a member types a name the archive does not have (bot/lookup.py).
"""

from __future__ import annotations

import discord
from discord import app_commands

MAX_CHOICES = 25
CHOICE_MAX = 100  # Choice name and string value: 1–100 characters


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CHOICE_MAX else text[: CHOICE_MAX - 1] + "…"


async def author_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    bot = interaction.client
    names = await bot.call_fast(bot.service.author_suggestions, current.strip(), MAX_CHOICES, default=[])
    seen, out = set(), []
    for name in names:
        if (
            not name or not name.strip() or len(name) > CHOICE_MAX or name in seen
        ):  # a value that does not fit can't be chosen
            continue
        seen.add(name)
        out.append(app_commands.Choice(name=_clip(name), value=name))
    return out[:MAX_CHOICES]


async def thread_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    bot = interaction.client
    threads = await bot.call_fast(bot.service.thread_suggestions, current.strip(), MAX_CHOICES, default=[])
    out = []
    for t in threads:
        if not t.thread_id or len(t.thread_id) > CHOICE_MAX:
            continue
        out.append(app_commands.Choice(name=_clip(f"{t.title} ({t.post_count} posts)"), value=t.thread_id))
    return out[:MAX_CHOICES]
