"""How a command answers: a "thinking…" placeholder first, then the answer edited into it.

A command acknowledges at once with :func:`defer_answer` (Discord waits 3 seconds for an acknowledgement, a
search can take longer) and shows its result with :func:`answer`. The error handler asks :func:`has_answer`:
a placeholder that holds no answer yet may be public, so it is deleted before a private error message is
sent; an answer already shown is left alone. (/reindex needs neither: it answers at once with its progress.)
"""

from __future__ import annotations

from collections.abc import Sequence

import discord
from discord.utils import MISSING

# The key under which `answer` marks an interaction as answered in Interaction.extras (the dict discord.py leaves to
# its users); private to this module, so only `answer` sets it and only `has_answer` reads it.
_ANSWER = object()


async def defer_answer(interaction: discord.Interaction, private: bool | None) -> bool:
    """Show the "thinking…" placeholder, visible to the invoker only when `private` (None: the configured
    ``bot.private_by_default``); returns whether the answer is private."""
    if private is None:
        private = interaction.client.settings.bot.private_by_default
    await interaction.response.defer(ephemeral=private, thinking=True)
    return private


async def answer(
    interaction: discord.Interaction,
    *,
    content: str | None = MISSING,
    embeds: Sequence[discord.Embed] = MISSING,
    view: discord.ui.View | None = MISSING,
) -> None:
    """Replace the placeholder of a deferred command with its answer (arguments as for
    ``Interaction.edit_original_response``), and remember that it was answered once Discord has accepted it."""
    await interaction.edit_original_response(content=content, embeds=embeds, view=view)
    interaction.extras[_ANSWER] = True


def has_answer(interaction: discord.Interaction) -> bool:
    """Whether :func:`answer` has shown an answer in the interaction's original response."""
    return _ANSWER in interaction.extras
