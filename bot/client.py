"""The bot: settings and the search service come in through the constructor."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from embeddings import ThreadbotError

from .cooldowns import TokenBuckets
from .errors import handle_app_command_error

if TYPE_CHECKING:
    from embeddings import SearchService, Settings

log = logging.getLogger("threadbot.bot")
T = TypeVar("T")

AUTOCOMPLETE_TIMEOUT = 2.0  # Discord gives autocomplete 3 seconds


class ThreadbotTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await handle_app_command_error(interaction, error)


class ThreadBot(commands.Bot):
    """Slash-command front end of a :class:`~embeddings.service.SearchService`.

    ``sync_on_start`` (off by default; ``threadbot run --sync``): sync the commands to
    ``settings.bot.dev_guild_id`` in ``setup_hook``. Never globally: that is only
    ``threadbot sync --global`` (see :func:`bot.runner.sync_commands`).

    ``cooldowns``: the members' token buckets (bot/cooldowns.py). ``search_pool``: the searches' own threads,
    ``bot.max_concurrent_searches`` of them, for everyone together (:meth:`call_limited`), so one member's burst of
    questions queues behind the others instead of taking every core; and since they are not asyncio's default
    threads, autocomplete and the cheap calls (:meth:`call`) never queue behind searches, and a search whose
    command was cancelled keeps its thread, and so its place under the cap, until it ends.

    ``rebuild_job``: the /reindex command running now (its rebuild and its report), which a stop waits for.
    """

    def __init__(
        self, settings: Settings, service: SearchService | None, *, sync_on_start: bool = False, **options: Any
    ):
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=ThreadbotTree,
            **options,
        )
        self.settings = settings
        self.service = service
        self.sync_on_start = sync_on_start
        b = settings.bot
        self.cooldowns = TokenBuckets(b.cooldown_per_minute, b.cooldown_burst)
        self.search_pool = ThreadPoolExecutor(max(1, int(b.max_concurrent_searches)), "threadbot-search")
        self.rebuild_job: asyncio.Task | None = None

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) service method in a worker thread, never on the event loop."""
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    async def call_limited(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Like :meth:`call`, for the expensive calls (search, quote tracing): runs in the ``search_pool``, where it
        waits for a free thread. Cheap lookups and autocomplete use :meth:`call` and never wait behind searches."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.search_pool, functools.partial(fn, *args, **kwargs))

    async def call_fast(self, fn: Callable[..., T], /, *args: Any, default: T, **kwargs: Any) -> T:
        """Like :meth:`call`, but give up with `default` after AUTOCOMPLETE_TIMEOUT seconds or on an error."""
        try:
            return await asyncio.wait_for(self.call(fn, *args, **kwargs), AUTOCOMPLETE_TIMEOUT)
        except TimeoutError:
            log.warning("%s took longer than %.1fs; answering autocomplete empty", fn.__name__, AUTOCOMPLETE_TIMEOUT)
        except Exception:  # autocomplete must never surface an error
            log.warning("%s failed during autocomplete", getattr(fn, "__name__", fn), exc_info=True)
        return default

    async def close(self) -> None:
        await super().close()
        self.search_pool.shutdown(wait=False, cancel_futures=True)  # running searches end on their own

    async def load_features(self) -> None:
        """Add every cog (one per feature). Called by setup_hook; no network."""
        from .cogs import ask, post, quote, reindex, stats, threads

        for module in (ask, post, threads, stats, reindex, quote):
            await module.setup(self)

    @property
    def dev_guild(self) -> discord.Object | None:
        gid = getattr(self.settings.bot, "dev_guild_id", None)
        return discord.Object(id=gid) if gid else None

    async def setup_hook(self) -> None:
        await self.load_features()
        if self.service is not None:  # load the model and index in the background, not on the first question
            self._warm_up_task = asyncio.create_task(self._warm_up())
        if not self.sync_on_start:
            return
        guild = self.dev_guild
        if guild is None:  # run_bot refuses this combination; a global sync is never done at start
            log.warning(
                "sync on start asked for, but no dev guild is configured: not syncing "
                "(use `threadbot sync --global` for a global sync)"
            )
            return
        self.tree.copy_global_to(guild=guild)
        synced = await self.tree.sync(guild=guild)
        log.info("synced %d commands to dev guild %s", len(synced), guild.id)

    async def _warm_up(self) -> None:
        try:
            log.info("%s", await self.call(self.service.warm_up))
            sources = (await self.call(self.service.stats)).sources
            log.info("index sources: %s", ", ".join(sources) or "none")  # full paths: for the log only, not /stats
        except ThreadbotError as exc:  # no index yet: warm_up has said so
            log.debug("no index sources to log: %s", exc)
        except Exception:  # never fatal: each command reports its own errors
            log.warning("warm-up failed", exc_info=True)

    async def on_ready(self) -> None:
        """Logged at every (re)connection that is not a resume: the servers the bot answers in."""
        guilds = sorted(self.guilds, key=lambda g: g.id)
        served = ", ".join(f"{g.name!r} ({g.id})" for g in guilds) or "none yet (invite the bot to a server)"
        log.info(
            "logged in as %s (%s); serving %d guilds: %s", self.user, getattr(self.user, "id", "?"), len(guilds), served
        )

    async def on_guild_join(self, guild: discord.Guild) -> None:
        log.info("joined guild %r (%s)", guild.name, guild.id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        log.info("left guild %r (%s)", guild.name, guild.id)
