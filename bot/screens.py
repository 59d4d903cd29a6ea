"""What a navigating message can show (bot/views.py): results, a post, a thread's posts, the thread list, a
/quote answer. Each screen's menus open the next one, so going deeper never means retyping an id."""

from __future__ import annotations

import math
from collections.abc import Sequence

import discord

from .render import (
    occurrence_choice,
    post_choice,
    post_pages,
    result_choice,
    results_embeds,
    results_header,
    share_card,
    thread_choice,
    thread_pages,
    threads_pages,
)
from .render.post import POSTS_PER_PAGE
from .render.stats import THREADS_PER_PAGE, started_marks
from .views import Choice, Page, Screen

SHOW_WEAKER = "Show weaker matches"
OPEN_THREAD = "Open thread"


def _on_page(items: Sequence, index: int, per_page: int) -> list[tuple[int, object]]:
    return list(enumerate(items))[index * per_page : (index + 1) * per_page]


class ResultsScreen(Screen):
    """Pages of /ask results. `capped`: the search had more than these, the best of which are shown. `good`: how
    many of them are good matches (None: all are); the rest are shown only after "Show weaker matches"."""

    name = "results"

    def __init__(self, bot, results: Sequence, question: str, filters: str, per_page: int, *, capped: bool = False,
                 good: int | None = None):  # fmt: skip
        self.bot, self.results, self.question, self.filters = bot, list(results), question, filters
        self.per_page, self.capped = per_page, capped
        self.good = good if good is not None and 0 <= good < len(self.results) else None
        self.weaker_shown = False

    @property
    def hiding(self) -> bool:
        return self.good is not None and not self.weaker_shown

    def visible(self) -> list:
        return self.results[: self.good] if self.hiding else self.results

    def page_count(self) -> int:
        return max(1, math.ceil(len(self.visible()) / self.per_page))

    async def page(self, index: int) -> Page:
        shown = [r for _, r in _on_page(self.visible(), index, self.per_page)]
        header = results_header(
            self.question,
            index * self.per_page,
            len(shown),
            self.filters,
            total=len(self.visible()),
            page=index + 1,
            pages=self.page_count(),
            capped=self.capped and not self.hiding,
            good=self.good,
            weaker_shown=self.weaker_shown,
        )
        return Page(content=header, embeds=results_embeds(shown))

    def choices(self, index: int) -> list[Choice]:
        return [
            Choice(*_labelled(result_choice(r), f"r{n}")) for n, r in _on_page(self.visible(), index, self.per_page)
        ]

    async def open(self, value: str) -> Screen:
        r = self.results[int(value[1:])]
        view = await self.bot.call(self.bot.service.post, r.thread_id, r.post_index + 1)
        return await PostScreen.of(self.bot, view)

    def shares(self, index: int) -> list[Choice]:
        return self.choices(index)

    async def share(self, value: str, user: discord.abc.User) -> Page:
        content, card = share_card(self.results[int(value[1:])], user.id)
        return Page(content=content, embeds=[card])

    def actions(self, index: int) -> list[str]:
        return [SHOW_WEAKER] if self.hiding else []

    async def act(self, label: str) -> Screen | None:
        self.weaker_shown = True
        return None


def _labelled(choice: tuple[str, str], value: str) -> tuple[str, str, str]:
    label, description = choice
    return label, value, description


class PostScreen(Screen):
    """A whole post, a page per card; "Open thread" lists its thread (unless it was opened from that list)."""

    name = "post"

    def __init__(self, bot, view, pages: Sequence[discord.Embed], from_thread: bool = False):
        self.bot, self.view, self.pages, self.from_thread = bot, view, list(pages), from_thread

    @classmethod
    async def of(cls, bot, view, from_thread: bool = False) -> PostScreen:
        # a long post takes a while to escape and split: in a worker thread, like the service calls
        return cls(bot, view, await bot.call(post_pages, view), from_thread)

    def page_count(self) -> int:
        return len(self.pages)

    async def page(self, index: int) -> Page:
        return Page(content=None, embeds=[self.pages[index]])

    def actions(self, index: int) -> list[str]:
        return [] if self.from_thread else [OPEN_THREAD]

    async def act(self, label: str) -> Screen | None:
        return await ThreadScreen.of(self.bot, self.view.thread_id)


class ThreadScreen(Screen):
    """A thread's posts, ten a page, each one a menu entry that opens it."""

    name = "thread"

    def __init__(self, bot, title: str, posts: Sequence):
        self.bot, self.posts = bot, list(posts)
        self.pages = thread_pages(title, self.posts, POSTS_PER_PAGE)

    @classmethod
    async def of(cls, bot, thread_id: str) -> ThreadScreen:
        posts = await bot.call(bot.service.thread_posts, thread_id)
        return cls(bot, posts[0].thread_title if posts else "", posts)

    def page_count(self) -> int:
        return len(self.pages)

    async def page(self, index: int) -> Page:
        return Page(content=None, embeds=[self.pages[index]])

    def choices(self, index: int) -> list[Choice]:
        return [Choice(*_labelled(post_choice(p), f"p{n}")) for n, p in _on_page(self.posts, index, POSTS_PER_PAGE)]

    async def open(self, value: str) -> Screen:
        return await PostScreen.of(self.bot, self.posts[int(value[1:])], from_thread=True)


class ThreadsScreen(Screen):
    """/threads: the thread list, its jump menu opening a thread's posts."""

    name = "threads"
    open_placeholder = "Open thread…"

    def __init__(self, bot, summaries: Sequence, matching: str | None = None):
        self.bot, self.summaries = bot, list(summaries)
        self.pages = threads_pages(self.summaries, THREADS_PER_PAGE, matching)
        self.marks = started_marks(self.summaries)

    def page_count(self) -> int:
        return len(self.pages)

    async def page(self, index: int) -> Page:
        return Page(content=None, embeds=[self.pages[index]])

    def choices(self, index: int) -> list[Choice]:
        on_page = _on_page(self.summaries, index, THREADS_PER_PAGE)
        return [Choice(*_labelled(thread_choice(t, self.marks[n]), f"t{n}")) for n, t in on_page]

    async def open(self, value: str) -> Screen:
        return await ThreadScreen.of(self.bot, self.summaries[int(value[1:])].thread_id)


class QuoteScreen(Screen):
    """A /quote answer, its menu opening the original or any post that quoted it."""

    name = "answer"

    def __init__(self, bot, answer: Page, original, quoters: Sequence):
        self.bot, self.answer = bot, answer
        self.occurrences = [original, *sorted(quoters, key=lambda q: q.posted_at)]

    async def page(self, index: int) -> Page:
        return self.answer

    def choices(self, index: int) -> list[Choice]:
        return [Choice(*_labelled(occurrence_choice(o, n == 0), f"o{n}")) for n, o in enumerate(self.occurrences)]

    async def open(self, value: str) -> Screen:
        o = self.occurrences[int(value[1:])]
        view = await self.bot.call(self.bot.service.post, o.thread_id, o.post_index + 1)
        return await PostScreen.of(self.bot, view)
