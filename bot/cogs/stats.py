"""/stats: the archive's size, the years it covers and when it was updated; admins also get the technical
details, privately."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from ..permissions import is_admin
from ..render import stats_details_embed, stats_embed
from ..replies import answer, defer_answer


class StatsCog(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="stats", description="How big the archive is, the years it covers, when updated")
    @app_commands.describe(private="Only you see the answer (default from the bot's config)")
    async def stats(self, interaction: discord.Interaction, private: bool | None = None) -> None:
        bot = self.bot
        private = await defer_answer(interaction, private)
        stats = await bot.call(bot.service.stats)
        summaries = await bot.call(bot.service.threads)
        span = (
            (min(t.first_posted_at for t in summaries), max(t.last_posted_at for t in summaries)) if summaries else None
        )
        embeds = [stats_embed(stats, span, bot.service.rebuild_status)]
        details = stats_details_embed(stats, bot.settings.sources) if is_admin(interaction, bot.settings.bot) else None
        if details is not None and private:
            embeds.append(details)
        await answer(interaction, embeds=embeds)
        if details is not None and not private:  # the details stay private when the answer is shown to everyone
            await interaction.followup.send(embed=details, ephemeral=True)


async def setup(bot) -> None:
    await bot.add_cog(StatsCog(bot))
