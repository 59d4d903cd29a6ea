"""Prev/Next pagination: only the invoker may press; buttons disable themselves on timeout."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Sequence

import discord

from .errors import report_unexpected

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
    """Pages fetched on demand (e.g. search with offset) and cached; `fetch(i)` → (page, more_after_it)."""

    def __init__(self, fetch: Callable[[int], Awaitable[tuple[Page, bool]]], first: Page, more: bool):
        self.fetch = fetch
        self.cache: dict[int, tuple[Page, bool]] = {0: (first, more)}

    async def get(self, index: int) -> Page:
        if index not in self.cache:
            self.cache[index] = await self.fetch(index)
        return self.cache[index][0]

    def has_next(self, index: int) -> bool:
        return self.cache.get(index, (None, False))[1]


NOT_YOURS = "These buttons belong to the person who ran the command — run it yourself to page through your own results."


class Paginator(discord.ui.View):
    default_timeout = 600.0  # seconds without a press before the buttons disable themselves

    def __init__(self, source: PageSource, *, owner_id: int, timeout: float | None = None):
        super().__init__(timeout=timeout or self.default_timeout)
        self.source = source
        self.owner_id = owner_id
        self.index = 0
        self.origin: discord.Interaction | None = None  # the command's interaction, to edit on timeout
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.prev_page.disabled = self.index == 0
        self.next_page.disabled = not self.source.has_next(self.index)

    async def start(self, interaction: discord.Interaction, first: Page) -> None:
        """Show the first page as the (deferred) response of `interaction`."""
        self.origin = interaction
        multi = self.source.has_next(0)
        interaction.extras["answered"] = True
        await interaction.edit_original_response(content=first.content, embeds=first.embeds,
                                                 view=self if multi else None)
        if not multi:
            self.stop()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(NOT_YOURS, ephemeral=True)
        return False

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        await interaction.response.defer()  # acknowledge now; the next page may need a search
        target = max(0, self.index + step)
        page = await self.source.get(target)
        self.index = target
        self._sync_buttons()
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
        if self.origin is not None:
            try:
                await self.origin.edit_original_response(view=self)
            except discord.HTTPException:
                log.debug("could not disable buttons after timeout", exc_info=True)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item) -> None:
        from .errors import send_ephemeral, user_message

        message = user_message(error)
        if message is not None:
            await send_ephemeral(interaction, message)
        else:
            await report_unexpected(interaction, error, f"paginator button {getattr(item, 'label', item)}")
