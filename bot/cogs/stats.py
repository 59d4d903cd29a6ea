"""/stats: counts, model, index build time, data directory size, sources by name (never host paths)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from ..render import stats_embed
from ..replies import answer, defer_answer


class StatsCog(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="stats", description="Index statistics: counts, model, build time, size")
    @app_commands.describe(private="Only you see the answer (default from the bot's config)")
    async def stats(self, interaction: discord.Interaction, private: bool | None = None) -> None:
        bot = self.bot
        await defer_answer(interaction, private)
        stats = await bot.call(bot.service.stats)
        embed = stats_embed(stats, bot.service.rebuild_status, bot.settings.sources)
        await answer(interaction, embeds=[embed])


async def setup(bot) -> None:
    await bot.add_cog(StatsCog(bot))
