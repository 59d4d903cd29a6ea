"""/quote: who wrote a passage first — one original — and every later post that quoted it, as a timeline."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from ..cooldowns import member_cooldown
from ..errors import NothingFound, UserInputError
from ..hints import quote_header, quote_not_found
from ..render import quote_embed
from ..replies import defer_answer
from ..screens import QuoteScreen
from ..views import Navigator, Page

MAX_TRACES = 4
# A weaker candidate is listed as "similar, not the source" only when it matches the asked words at least this well
# (the trace's 0..1 alignment score). Measured (benchmarks/quote_candidates.py, docs/quotes.md "/quote in Discord"):
# at 0.75 the true source is listed in 9 of the 10 asks where it was a candidate but not the best, as at 0.70, with
# 61 of the 245 other candidates listed instead of 85.
SIMILAR_MIN = 0.75


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
            raise NothingFound(quote_not_found(text))
        best = traces[0]  # the closest match is the original; the others only resemble it
        similar = [t for t in traces[1:] if t.score >= SIMILAR_MIN]
        o = best.original
        post = await bot.call(bot.service.post, o.thread_id, o.post_index + 1)
        page = Page(content=quote_header(text), embeds=[quote_embed(best, post=post, similar=similar)])
        screen = QuoteScreen(bot, page, o, best.quoted_by)
        await Navigator(screen, owner_id=interaction.user.id).start(interaction)


async def setup(bot) -> None:
    await bot.add_cog(QuoteCog(bot))
