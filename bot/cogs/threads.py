"""/threads: the indexed threads with post counts and first/last dates, paged."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from ..render import threads_pages
from ..replies import defer_answer
from ..views import Page, Paginator, StaticSource


class ThreadsCog(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="threads", description="List the indexed threads with post counts and dates")
    @app_commands.describe(private="Only you see the answer (default from the bot's config)")
    async def threads(self, interaction: discord.Interaction, private: bool | None = None) -> None:
        bot = self.bot
        await defer_answer(interaction, private)
        summaries = await bot.call(bot.service.threads)
        pages = [Page(content=None, embeds=[e]) for e in threads_pages(summaries)]
        paginator = Paginator(StaticSource(pages), owner_id=interaction.user.id)
        await paginator.start(interaction, pages[0])


async def setup(bot) -> None:
    await bot.add_cog(ThreadsCog(bot))
