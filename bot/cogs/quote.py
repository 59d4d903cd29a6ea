"""/quote: who wrote this passage first, and every later post that quoted it."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from ..cooldowns import member_cooldown
from ..errors import UserInputError
from ..hints import quote_header, quote_not_found
from ..render import MESSAGE_EMBED_CHARS_MAX, quote_embed
from ..replies import answer, defer_answer

MAX_TRACES = 3


class QuoteCog(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="quote", description="Find who wrote a passage first and who quoted it later")
    @app_commands.describe(
        text="The passage, or part of it (it may be slightly misremembered)",
        private="Only you see the answer (default from the bot's config)",
    )
    @member_cooldown()
    async def quote(
        self, interaction: discord.Interaction, text: app_commands.Range[str, 1, 2000], private: bool | None = None
    ) -> None:
        if len(text.split()) < 3:
            raise UserInputError("Give me at least a few words of the passage (3 or more).")
        bot = self.bot
        await defer_answer(interaction, private)
        traces = await bot.call_limited(bot.service.quote, text, MAX_TRACES)
        if not traces:
            await answer(interaction, content=quote_not_found(text))
            return
        budget = (MESSAGE_EMBED_CHARS_MAX - 100) // len(traces[:MAX_TRACES])  # every part of each embed counts
        embeds = [quote_embed(t, budget=budget) for t in traces[:MAX_TRACES]]
        await answer(interaction, content=quote_header(len(embeds), text), embeds=embeds)


async def setup(bot) -> None:
    await bot.add_cog(QuoteCog(bot))
