"""Prev/Next pagination: only the invoker may press; buttons disable themselves on timeout."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import discord

from .errors import report_unexpected, send_ephemeral, user_message
from .replies import answer

log = logging.getLogger("threadbot.bot")


@dataclass
class Page:
    content: str | None
    embeds: list[discord.Embed] = field(default_factory=list)


class PageSource:
    """Pages by 0-based index; `has_next(i)` says whether page i+1 exists."""

    async def get(self, index: int) -> Page:  # pragma: no cover - interface
        raise NotImplementedError

    def has_next(self, index: int) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


class StaticSource(PageSource):
    def __init__(self, pages: Sequence[Page]):
        self.pages = list(pages)

    async def get(self, index: int) -> Page:
        return self.pages[index]

    def has_next(self, index: int) -> bool:
        return index + 1 < len(self.pages)


class FetchingSource(PageSource):
    """Pages fetched on demand (e.g. search with offset) and cached; `fetch(i)` → (page, more_after_it).

    One fetch per page: a page being fetched is awaited by whoever else asks for it meanwhile (a failed fetch is
    forgotten, so a later press tries again)."""

    def __init__(self, fetch: Callable[[int], Awaitable[tuple[Page, bool]]], first: Page, more: bool):
        self.fetch = fetch
        self.cache: dict[int, tuple[Page, bool]] = {0: (first, more)}
        self.fetching: dict[int, asyncio.Future[tuple[Page, bool]]] = {}

    async def get(self, index: int) -> Page:
        if index in self.cache:
            return self.cache[index][0]
        running = self.fetching.get(index)
        if running is None:
            running = self.fetching[index] = asyncio.ensure_future(self._fetch(index))
            running.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even if nobody waits
        return (await asyncio.shield(running))[0]  # a waiter cancelled does not cancel the others' fetch

    async def _fetch(self, index: int) -> tuple[Page, bool]:
        try:
            self.cache[index] = await self.fetch(index)
            return self.cache[index]
        finally:
            del self.fetching[index]

    def has_next(self, index: int) -> bool:
        return self.cache.get(index, (None, False))[1]


# An interaction token can edit its message for 15 minutes; stay well inside that.
TOKEN_LIFETIME = 15 * 60.0
TOKEN_MARGIN = 30.0

NOT_YOURS = "These buttons belong to the person who ran the command — run it yourself to page through your own results."


class Paginator(discord.ui.View):
    """Prev/Next over a PageSource.

    The message can only be edited through an interaction token, and a token expires 15 minutes after its
    interaction was created, while discord.py restarts the view's timeout on every accepted press. So the view
    remembers the newest interaction that successfully touched the message (the command, then each press — every
    press brings a fresh token) and edits through it on timeout; and its timeout is capped so that it always
    fires while that token is still valid.
    """

    default_timeout = 600.0  # seconds without a press before the buttons disable themselves
    clock = staticmethod(time.monotonic)  # for token ages; replaceable in tests

    def __init__(self, source: PageSource, *, owner_id: int, timeout: float | None = None):
        self.base_timeout = min(float(timeout or self.default_timeout), TOKEN_LIFETIME - TOKEN_MARGIN)
        super().__init__(timeout=self.base_timeout)
        self.source = source
        self.owner_id = owner_id
        self.index = 0
        self.latest: discord.Interaction | None = None  # newest interaction whose token can edit the message
        self.latest_at: float | None = None  # when `latest` was created (clock())
        self.turning = False  # a press is fetching its page: other presses are acknowledged and ignored
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.prev_page.disabled = self.index == 0
        self.next_page.disabled = not self.source.has_next(self.index)

    def _touch(self, interaction: discord.Interaction) -> None:
        """`interaction` has acknowledged/edited the message: its token is now the freshest way to edit it."""
        self.latest, self.latest_at = interaction, self.clock()
        self._fit_timeout()

    def token_age(self) -> float:
        return float("inf") if self.latest_at is None else self.clock() - self.latest_at

    def _fit_timeout(self) -> None:
        """(Re)start the timeout so that it fires before the newest token expires."""
        left = TOKEN_LIFETIME - TOKEN_MARGIN - self.token_age()
        self.timeout = max(0.001, min(self.base_timeout, left))  # the setter restarts the countdown

    async def start(self, interaction: discord.Interaction, first: Page) -> None:
        """Show the first page as the (deferred) response of `interaction`."""
        multi = self.source.has_next(0)
        await answer(interaction, content=first.content, embeds=first.embeds, view=self if multi else None)
        if not multi:
            self.stop()
            return
        self._touch(interaction)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(NOT_YOURS, ephemeral=True)
        return False

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        try:
            await interaction.response.defer()  # acknowledge now; the next page may need a search
        except discord.HTTPException:
            self._fit_timeout()  # discord.py restarted the countdown; keep it inside the older token's life
            raise
        self._touch(interaction)
        if self.turning:  # a double click, or ten: the page they asked for is already on its way
            return
        target = max(0, self.index + step)
        self.turning = True
        try:
            page = await self.source.get(target)
        finally:
            self.turning = False
        self.index = target
        self._sync_buttons()
        if self.is_finished():  # timed out while the page was fetched: don't bring dead buttons back
            self.prev_page.disabled = self.next_page.disabled = True
        await interaction.edit_original_response(content=page.content, embeds=page.embeds, view=self)

    @discord.ui.button(label="Prev", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def prev_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.primary)
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, +1)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        target = self.latest
        if target is None:
            return
        if self.token_age() >= TOKEN_LIFETIME:
            log.info(
                "paging buttons of message %s left enabled: the last interaction token has expired",
                getattr(target.message, "id", "?"),
            )
            return
        try:
            await target.edit_original_response(view=self)
        except discord.HTTPException:
            log.warning("could not disable paging buttons after timeout", exc_info=True)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item) -> None:
        message = user_message(error)
        if message is not None:
            await send_ephemeral(interaction, message)
        else:
            await report_unexpected(interaction, error, f"paginator button {getattr(item, 'label', item)}")
