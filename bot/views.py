"""A message a member moves through: pages, menus that open what they list, and the way back.

A :class:`Screen` is one thing the message can show (a page of results, a post, a thread's posts, the thread
list): numbered pages, a menu that opens what its page lists ("Open post…"), optionally a menu that shares a
result to the channel, and buttons of its own ("Open thread", "Show weaker matches"). A :class:`Navigator` shows
a stack of screens in one message: Prev/Next turn the top screen's pages (Prev disabled on the first), a menu
choice opens a new screen on top, "Back to results" returns to the one below, on the page it was left at. Only
the member who ran the command can use the controls; everyone else is told so, privately.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import discord

from .errors import report_unexpected, send_ephemeral, user_message
from .replies import answer

log = logging.getLogger("threadbot.bot")


@dataclass
class Page:
    content: str | None
    embeds: list[discord.Embed] = field(default_factory=list)


@dataclass(frozen=True)
class Choice:
    """One entry of a menu: what it shows (plain text, at most 100 characters each) and what it opens."""

    label: str
    value: str
    description: str | None = None


class Screen:
    """One thing a navigating message shows. Subclasses say what their pages hold and what their menus open."""

    name = "results"  # the way back to it is "Back to <name>"
    open_placeholder = "Open post…"

    def page_count(self) -> int:
        return 1

    async def page(self, index: int) -> Page:  # pragma: no cover - interface
        raise NotImplementedError

    def choices(self, index: int) -> Sequence[Choice]:
        """The entries of page `index`'s "Open…" menu (none: no menu)."""
        return ()

    async def open(self, value: str) -> Screen:  # pragma: no cover - only screens with choices
        raise NotImplementedError

    def shares(self, index: int) -> Sequence[Choice]:
        """The entries of page `index`'s "Share…" menu (none: no menu)."""
        return ()

    async def share(self, value: str, user: discord.abc.User) -> Page:  # pragma: no cover - only with shares
        raise NotImplementedError

    def actions(self, index: int) -> Sequence[str]:
        """Labels of this screen's own buttons on page `index`."""
        return ()

    async def act(self, label: str) -> Screen | None:  # pragma: no cover - only screens with actions
        """What pressing button `label` does: a screen to open on top, or None to show this one again."""
        raise NotImplementedError


# An interaction token can edit its message for 15 minutes; stay well inside that.
TOKEN_LIFETIME = 15 * 60.0
TOKEN_MARGIN = 30.0
MENU_OPTIONS_MAX = 25

NOT_YOURS = "These controls belong to the person who ran the command — run it yourself to get your own."


class Navigator(discord.ui.View):
    """A stack of screens in one message (see the module's docstring).

    The message can only be edited through an interaction token, and a token expires 15 minutes after its
    interaction was created, while discord.py restarts the view's timeout on every accepted press. So the view
    remembers the newest interaction that successfully touched the message (the command, then each press — every
    press brings a fresh token) and edits through it on timeout; and its timeout is capped so that it always
    fires while that token is still valid.
    """

    default_timeout = 600.0  # seconds without a press before the controls disable themselves
    clock = staticmethod(time.monotonic)  # for token ages; replaceable in tests

    def __init__(self, screen: Screen, *, owner_id: int, timeout: float | None = None):
        self.base_timeout = min(float(timeout or self.default_timeout), TOKEN_LIFETIME - TOKEN_MARGIN)
        super().__init__(timeout=self.base_timeout)
        self.stack: list[list] = [[screen, 0]]  # [screen, page index], the shown one last
        self.owner_id = owner_id
        self.latest: discord.Interaction | None = None  # newest interaction whose token can edit the message
        self.latest_at: float | None = None  # when `latest` was created (clock())
        self.busy = False  # a press is preparing what it opens: other presses are acknowledged and ignored

    @property
    def screen(self) -> Screen:
        return self.stack[-1][0]

    @property
    def index(self) -> int:
        return self.stack[-1][1]

    # --- the controls of what is shown
    def _build(self) -> None:
        self.clear_items()
        screen, index = self.screen, self.index
        for placeholder, choices, handler in (
            (screen.open_placeholder, screen.choices(index), self._open),
            ("Share to the channel…", screen.shares(index), self._share),
        ):
            if choices:
                menu = discord.ui.Select(
                    placeholder=placeholder,
                    options=[
                        discord.SelectOption(label=c.label, value=c.value, description=c.description)
                        for c in list(choices)[:MENU_OPTIONS_MAX]
                    ],
                )
                menu.callback = lambda interaction, menu=menu, handler=handler: handler(interaction, menu.values[0])
                self.add_item(menu)
        pages = screen.page_count()
        if pages > 1:
            prev, next_ = (lambda i: self._go(i, screen, index - 1)), (lambda i: self._go(i, screen, index + 1))
            self._button("Prev", "◀️", index == 0, prev)
            self._button("Next", "▶️", index >= pages - 1, next_, discord.ButtonStyle.primary)
        if len(self.stack) > 1:
            self._button(f"Back to {self.stack[-2][0].name}", "↩️", False, self._back)
        for label in screen.actions(index):
            self._button(label, None, False, lambda i, label=label: self._act(i, label))
        if self.is_finished():
            self._disable()

    def _button(self, label, emoji, disabled, callback, style=discord.ButtonStyle.secondary) -> None:
        button = discord.ui.Button(label=label, emoji=emoji, disabled=disabled, style=style)
        button.callback = callback
        self.add_item(button)

    def _disable(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True

    async def _shown(self) -> Page:
        page = await self.screen.page(self.index)
        self._build()
        return page

    # --- tokens and timeouts
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

    async def start(self, interaction: discord.Interaction) -> None:
        """Show the first screen's first page as the (deferred) response of `interaction`; with no controls to
        show, the message carries none."""
        page = await self._shown()
        live = bool(self.children)
        await answer(interaction, content=page.content, embeds=page.embeds, view=self if live else None)
        if not live:
            self.stop()
            return
        self._touch(interaction)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(NOT_YOURS, ephemeral=True)
        return False

    # --- what the controls do
    async def _update(self, interaction: discord.Interaction, change) -> None:
        """Acknowledge a press now (what it shows may need a search), apply `change` (a coroutine function that
        moves the stack), then show the result; presses that arrive meanwhile are acknowledged and ignored."""
        try:
            await interaction.response.defer()
        except discord.HTTPException:
            self._fit_timeout()  # discord.py restarted the countdown; keep it inside the older token's life
            raise
        self._touch(interaction)
        if self.busy:  # a double click, or ten: what they asked for is already on its way
            return
        self.busy = True
        try:
            await change()
            page = await self._shown()
        finally:
            self.busy = False
        await interaction.edit_original_response(content=page.content, embeds=page.embeds, view=self)

    async def _go(self, interaction: discord.Interaction, screen: Screen, target: int) -> None:
        """Show page `target` of `screen`, the screen the pressed button was made for (if it is still shown)."""

        async def turn() -> None:
            if self.screen is screen:
                self.stack[-1][1] = max(0, min(target, screen.page_count() - 1))

        await self._update(interaction, turn)

    async def _open(self, interaction: discord.Interaction, value: str) -> None:
        async def push() -> None:
            self.stack.append([await self.screen.open(value), 0])

        await self._update(interaction, push)

    async def _back(self, interaction: discord.Interaction) -> None:
        async def pop() -> None:
            if len(self.stack) > 1:
                self.stack.pop()

        await self._update(interaction, pop)

    async def _act(self, interaction: discord.Interaction, label: str) -> None:
        async def act() -> None:
            opened = await self.screen.act(label)
            if opened is not None:
                self.stack.append([opened, 0])

        await self._update(interaction, act)

    async def _share(self, interaction: discord.Interaction, value: str) -> None:
        """Post the chosen result to the channel as a new message, seen by everyone; the client allows no
        mentions, so the "shared by" names the member without pinging anyone."""
        card = await self.screen.share(value, interaction.user)
        await interaction.response.send_message(
            content=card.content, embeds=card.embeds, allowed_mentions=discord.AllowedMentions.none()
        )
        self._fit_timeout()  # discord.py restarted the countdown; the navigator's token is still the older one

    async def on_timeout(self) -> None:
        self._disable()
        target = self.latest
        if target is None:
            return
        if self.token_age() >= TOKEN_LIFETIME:
            log.info(
                "controls of message %s left enabled: the last interaction token has expired",
                getattr(target.message, "id", "?"),
            )
            return
        try:
            await target.edit_original_response(view=self)
        except discord.HTTPException:
            log.warning("could not disable the controls after timeout", exc_info=True)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item) -> None:
        message = user_message(error)
        if message is not None:
            await send_ephemeral(interaction, message)
        else:
            label = getattr(item, "label", None) or getattr(item, "placeholder", item)
            await report_unexpected(interaction, error, f"control {label}")
