"""/ask: the most relevant posts, attributed, a page at a time; each one opens or is shared from a menu."""

from __future__ import annotations

from datetime import datetime

import discord
from discord import app_commands
from discord.ext import commands

from embeddings import UsageError, parse_user_date

from ..autocomplete import author_choices, thread_choices
from ..cooldowns import member_cooldown
from ..errors import NothingFound, UserInputError
from ..hints import bad_date, filters_line, no_results
from ..lookup import find_author, find_thread
from ..replies import defer_answer
from ..screens import ResultsScreen
from ..views import Navigator

MAX_PER_PAGE = 5  # results a page shows at most (the `limit` option, `results_per_page` in the config): 5 cards
RESULTS_MAX = 30  # results an /ask pages through: one search answers all its pages


class DateTransformer(app_commands.Transformer):
    async def transform(self, interaction: discord.Interaction, value: str) -> datetime:
        try:
            return parse_user_date(value)
        except (UsageError, ValueError, OverflowError):  # e.g. "0000" is a well-formed year datetime can't hold
            raise UserInputError(bad_date(value)) from None


Date = app_commands.Transform[datetime, DateTransformer]


def good_matches(results) -> int | None:
    """How many of `results` (best first) are good matches, None when all of them are: the leading results at or
    above the core's relevance floor (each result's `good`, embeddings/search/floor.py). The rest are weaker
    matches, shown only after "Show weaker matches"."""
    return next((n for n, r in enumerate(results) if not r.good), None)


class AskCog(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @app_commands.command(name="ask", description="Search the archive: the most relevant posts, with who wrote them")
    @app_commands.describe(
        question="What you want to find, in your own words",
        author="Only posts by this author",
        thread="Only posts in this thread",
        after="Only posts from this date on (YYYY-MM-DD)",
        before="Only posts before this date (YYYY-MM-DD)",
        limit=f"Results per page (1-{MAX_PER_PAGE})",
        per_thread="At most this many posts of one thread, so one long thread does not fill every page",
        private="Only you see the answer (default from the bot's config)",
    )
    @app_commands.autocomplete(author=author_choices, thread=thread_choices)
    @member_cooldown()
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 1000],
        author: str | None = None,
        thread: str | None = None,
        after: Date | None = None,
        before: Date | None = None,
        limit: app_commands.Range[int, 1, MAX_PER_PAGE] | None = None,
        per_thread: app_commands.Range[int, 1, RESULTS_MAX] | None = None,
        private: bool | None = None,
    ) -> None:
        if not question.strip():
            raise UserInputError("Your question is empty — type a few words about what you're looking for.")
        if after and before and after >= before:
            raise UserInputError("`after` must be earlier than `before`.")
        bot = self.bot
        per_page = max(1, min(MAX_PER_PAGE, limit or bot.settings.bot.results_per_page))
        await defer_answer(interaction, private)

        thread_id, thread_title = None, None
        if thread:
            summary = await find_thread(bot, thread)
            thread_id, thread_title = summary.thread_id, summary.title
        if author:
            author = await find_author(bot, author)
        filters = filters_line(author, thread_title, after, before)
        if per_thread:
            filters = ", ".join(f for f in (filters, f"at most {per_thread} per thread") if f)
        # one more than are shown says whether there were more
        results = await bot.call_limited(
            bot.service.search,
            question,
            RESULTS_MAX + 1,
            author=author,
            thread=thread_id,
            after=after,
            before=before,
            per_thread=per_thread,
        )
        if not results:
            raise NothingFound(no_results(question, filters))
        shown = results[:RESULTS_MAX]
        screen = ResultsScreen(
            bot, shown, question, filters, per_page, capped=len(results) > RESULTS_MAX, good=good_matches(shown)
        )
        await Navigator(screen, owner_id=interaction.user.id).start(interaction)


async def setup(bot) -> None:
    await bot.add_cog(AskCog(bot))
