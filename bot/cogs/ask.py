"""/ask: the most relevant posts, attributed, with Prev/Next paging."""

from __future__ import annotations

from datetime import datetime

import discord
from discord import app_commands
from discord.ext import commands

from embeddings import UsageError, parse_user_date

from ..autocomplete import author_choices, thread_choices
from ..cooldowns import member_cooldown
from ..errors import UserInputError
from ..hints import bad_date, filters_line, no_more_results, no_results
from ..render import results_embeds, results_header
from ..replies import answer, defer_answer
from ..views import FetchingSource, Page, Paginator

MAX_PER_PAGE = 10  # 10 embeds per message


class DateTransformer(app_commands.Transformer):
    async def transform(self, interaction: discord.Interaction, value: str) -> datetime:
        try:
            return parse_user_date(value)
        except (UsageError, ValueError, OverflowError):  # e.g. "0000" is a well-formed year datetime can't hold
            raise UserInputError(bad_date(value)) from None


Date = app_commands.Transform[datetime, DateTransformer]


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
        limit="Results per page (1-10)",
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
            summary = await bot.call(bot.service.resolve_thread, thread)
            thread_id, thread_title = summary.thread_id, summary.title
        filters = filters_line(author, thread_title, after, before)

        async def fetch(index: int) -> tuple[Page, bool]:
            offset = index * per_page
            # one extra result tells whether a next page exists
            results = await bot.call_limited(
                bot.service.search,
                question,
                per_page + 1,
                offset=offset,
                author=author,
                thread=thread_id,
                after=after,
                before=before,
            )
            shown = results[:per_page]
            if not shown:
                return Page(content=no_more_results(question)), False
            header = results_header(question, offset, len(shown), filters)
            return Page(content=header, embeds=results_embeds(shown)), len(results) > per_page

        first, more = await fetch(0)
        if not first.embeds:
            await answer(interaction, content=no_results(question, filters))
            return
        view = Paginator(FetchingSource(fetch, first, more), owner_id=interaction.user.id)
        await view.start(interaction, first)


async def setup(bot) -> None:
    await bot.add_cog(AskCog(bot))
