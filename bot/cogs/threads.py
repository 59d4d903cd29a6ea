"""/threads: one line per thread (its post count and years), optionally only those whose title has given words;
its jump menu opens a thread's posts."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from embeddings import fold_name

from ..errors import NothingFound
from ..hints import no_thread_titled
from ..lookup import SUGGESTIONS
from ..replies import defer_answer
from ..screens import ThreadsScreen
from ..views import Navigator


def titled(summaries, words: str) -> list:
    """The threads whose title holds every word of `words`, ignoring case and accents."""
    wanted = fold_name(words).split()
    return [t for t in summaries if all(w in fold_name(t.title) for w in wanted)]


class ThreadsCog(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="threads", description="List the archive's threads: posts and years of each")
    @app_commands.describe(
        title="Only threads whose title has these words (any case or accents)",
        private="Only you see the answer (default from the bot's config)",
    )
    async def threads(
        self,
        interaction: discord.Interaction,
        title: app_commands.Range[str, 1, 200] | None = None,
        private: bool | None = None,
    ) -> None:
        bot = self.bot
        await defer_answer(interaction, private)
        summaries = await bot.call(bot.service.threads)
        if title and title.strip():
            matching = titled(summaries, title)
            if not matching:
                closest = await bot.call(bot.service.thread_suggestions, title, SUGGESTIONS)
                raise NothingFound(no_thread_titled(title, closest))
            summaries = matching
        screen = ThreadsScreen(bot, summaries, title.strip() if title and title.strip() else None)
        await Navigator(screen, owner_id=interaction.user.id).start(interaction)


async def setup(bot) -> None:
    await bot.add_cog(ThreadsCog(bot))
