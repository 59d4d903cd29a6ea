"""Per-member cooldowns for the commands that search or read posts (/ask, /quote, /post).

Each member has one token bucket shared by those commands: it holds at most ``bot.cooldown_burst`` tokens and
regains ``bot.cooldown_per_minute`` tokens a minute; a command takes one or is refused with a short private
"try again in N s" (``CommandOnCooldown`` → bot/errors.py). Members are keyed by user id, across servers: the
CPU they would keep busy is the same one. Bot admins are exempt when ``bot.cooldown_exempt_admins`` is set.
``cooldown_per_minute = 0`` turns cooldowns off.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import discord
from discord import app_commands

from .permissions import is_admin

PRUNE_EVERY = 1024  # takes between two sweeps of the buckets that have refilled
EPSILON = 1e-9  # of a token: float rounding in the refill arithmetic


class TokenBuckets:
    """Token buckets by key, on a monotonic clock; not thread-safe (used on the event loop only)."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = max(0.0, float(per_minute)) / 60.0  # tokens a second
        self.burst = max(1, int(burst))
        self.clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # key → (tokens, when they were counted)
        self._takes = 0

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _tokens(self, key: int, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def take(self, key: int) -> float:
        """Take a token for `key`: 0.0 if there was one, else the seconds until there is (nothing is taken)."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        tokens = self._tokens(key, now)
        self._takes += 1
        if self._takes % PRUNE_EVERY == 0:
            self._prune(now)
        if tokens >= 1.0 - EPSILON:  # a member who waits exactly the time they were told gets their token
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Forget the buckets that are full again: they hold nothing a fresh bucket would not."""
        for key in [k for k in self._buckets if self._tokens(k, now) >= self.burst]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)

    def describe(self) -> app_commands.Cooldown:
        """The bucket's size and refill time, in the form CommandOnCooldown carries."""
        return app_commands.Cooldown(self.burst, self.burst / self.rate if self.rate else 0.0)


def member_cooldown():
    """An app_commands check: take a token from the invoking member's bucket (``bot.cooldowns``), or raise
    CommandOnCooldown with the seconds to wait. Runs before the command's options are read or anything is sent."""

    async def predicate(interaction: discord.Interaction) -> bool:
        bot = interaction.client
        if bot.settings.bot.cooldown_exempt_admins and is_admin(interaction, bot.settings.bot):
            return True
        retry_after = bot.cooldowns.take(interaction.user.id)
        if retry_after > 0:
            raise app_commands.CommandOnCooldown(bot.cooldowns.describe(), retry_after)
        return True

    return app_commands.check(predicate)
