"""What the CLI calls: `threadbot run [--sync]`, `threadbot sync [--global]`, `threadbot commands --json`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable
from typing import NoReturn

import aiohttp
import discord

from .client import ThreadBot

log = logging.getLogger("threadbot.bot")

TOKEN_ENV = "DISCORD_TOKEN"
EXIT_OK = 0
EXIT_NO_TOKEN = 78  # EX_CONFIG
EXIT_BAD_TOKEN = 77  # EX_NOPERM
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: Discord unreachable
EXIT_USAGE = 2


def _say(message: str) -> None:
    print(f"threadbot: {message}", file=sys.stderr)


def setup_logging(level: str) -> None:
    """Timestamped log lines on stderr at the configured level."""
    root = logging.getLogger()
    if not root.handlers:  # the CLI may have configured logging already
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(getattr(logging, str(level).upper(), logging.INFO))


def read_token(environ=None) -> str | None:
    token = (os.environ if environ is None else environ).get(TOKEN_ENV, "").strip()
    return token or None


def _no_token() -> int:
    _say(
        f"{TOKEN_ENV} is not set. Create a bot in the Discord developer portal (Applications → your app → Bot → "
        f"Reset Token) and run: export {TOKEN_ENV}=<token>"
    )
    return EXIT_NO_TOKEN


def _bad_token() -> int:
    _say(
        f"Discord rejected the token in {TOKEN_ENV}. Copy a fresh one from the developer portal "
        "(Applications → your app → Bot → Reset Token)."
    )
    return EXIT_BAD_TOKEN


def _default_service(settings):
    from embeddings import SearchService

    return SearchService(settings)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How long a stop waits for a running /reindex. An unfinished build never harms the live index: it is written in
# its own builds/<id>.tmp directory, which a later build deletes.
REBUILD_GRACE_SECONDS = 30.0
ABANDON_SECONDS = 5.0  # then, for the abandoned /reindex to say so and for the gateway to close


def _exit_now(code: int) -> NoReturn:
    """End the process at once, without waiting for worker threads (a rebuild's) as a normal exit would."""
    logging.shutdown()  # flushes the log
    sys.stderr.flush()
    os._exit(code)


def _running_rebuild(bot) -> tuple[asyncio.Task, str] | None:
    job = getattr(bot, "rebuild_job", None)
    if job is None or job.done():
        return None
    status = getattr(bot.service, "rebuild_status", None)
    return job, (status[0] if status and status[0] else "an admin")


async def _rebuild_ended(bot, grace: float, why: str) -> bool:
    """Wait up to `grace` seconds for a running /reindex; False if it is still running then."""
    running = _running_rebuild(bot)
    if running is None:
        return True
    job, who = running
    log.warning(
        "%s: waiting up to %g s for the rebuild started by %s to finish (signal again to stop now)", why, grace, who
    )
    await asyncio.wait({job}, timeout=grace)
    if job.done():
        return True
    log.warning(
        "stopping without waiting any longer for the rebuild started by %s: the live index is untouched (the "
        "unfinished build stays in a builds/*.tmp directory until a later rebuild deletes it)",
        who,
    )
    job.cancel()  # the /reindex response says that it was interrupted
    await asyncio.wait({job}, timeout=ABANDON_SECONDS)
    return False


async def _close(bot) -> None:
    try:
        await asyncio.wait_for(bot.close(), ABANDON_SECONDS)
    except Exception:  # the process ends now anyway
        log.warning("could not close the gateway connection cleanly", exc_info=True)


async def serve(
    bot,
    token: str,
    *,
    stop_signals: Iterable[signal.Signals] = STOP_SIGNALS,
    grace: float | None = None,
    exit_now: Callable[[int], object] = _exit_now,
) -> None:
    """Log in, connect to the gateway and answer until the connection ends for good or one of `stop_signals`
    arrives; then close the gateway connection and the HTTP session. The signal handlers are removed on return.

    A stop during a /reindex first waits, still connected, up to `grace` seconds (REBUILD_GRACE_SECONDS) for it to
    finish and report; a rebuild still running then is abandoned: the connection is closed and `exit_now(0)` ends
    the process, since a normal exit would wait for the rebuild's thread. A second signal calls
    `exit_now(128 + signal)` at once. A connection that ends by itself during a /reindex waits the same way."""
    loop = asyncio.get_running_loop()
    grace = REBUILD_GRACE_SECONDS if grace is None else grace
    installed = []
    stopping: list[asyncio.Future] = []  # referenced, so the stopping task is not collected before it is done

    async def stop_after_rebuild(sig: signal.Signals) -> None:
        if _running_rebuild(bot) is None:
            log.info("received %s: closing the gateway connection", sig.name)
        elif await _rebuild_ended(bot, grace, f"received {sig.name}; stopping"):
            log.info("the rebuild has ended: closing the gateway connection")
        else:
            await _close(bot)
            exit_now(EXIT_OK)
            return
        await bot.close()

    def stop(sig: signal.Signals) -> None:
        if stopping:
            log.warning("received %s again: stopping now, without waiting for the rebuild", sig.name)
            exit_now(128 + sig)
            return
        stopping.append(asyncio.ensure_future(stop_after_rebuild(sig)))

    for sig in stop_signals:
        try:
            loop.add_signal_handler(sig, stop, sig)
        except (NotImplementedError, RuntimeError, ValueError):  # no signal handlers here (Windows, a thread)
            continue
        installed.append(sig)
    try:
        async with bot:
            await bot.start(token)
    finally:
        try:
            if stopping:
                await stopping[0]
            elif not await _rebuild_ended(bot, grace, "the gateway connection has ended"):
                exit_now(EXIT_UNAVAILABLE)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)


def run_bot(
    settings, sync: bool = False, *, service_factory: Callable | None = None, bot_factory: Callable = ThreadBot
) -> int:
    """Start the bot and block until it stops. Returns a process exit code; never raises for a bad token.

    Commands are not synced at start unless `sync` (``threadbot run --sync``, for development) is set; then
    they are synced to the configured dev guild only — never globally (that is ``threadbot sync --global``).
    SIGTERM and SIGINT stop it cleanly: the gateway connection is closed, then the index (exit code 0); during a
    /reindex, see :func:`serve`.
    """
    setup_logging(settings.bot.log_level)
    if sync and not getattr(settings.bot, "dev_guild_id", None):
        _say(
            "--sync syncs the commands to the dev guild, and none is configured: set bot.dev_guild_id "
            "(or THREADBOT_DEV_GUILD_ID), or register them globally once with `threadbot sync --global`."
        )
        return EXIT_USAGE
    token = read_token()
    if token is None:
        return _no_token()
    service = (service_factory or _default_service)(settings)
    try:
        bot = bot_factory(settings, service, sync_on_start=sync)
        asyncio.run(serve(bot, token))
    except discord.LoginFailure:
        return _bad_token()
    except discord.PrivilegedIntentsRequired:
        _say("Discord refused the gateway intents the bot asked for; enable them in the developer portal.")
        return EXIT_BAD_TOKEN
    except (aiohttp.ClientConnectionError, OSError) as exc:
        _say(f"cannot reach Discord: {exc}")
        return EXIT_UNAVAILABLE
    finally:
        if service is not None and service.rebuild_status is None:  # never under a rebuild that still uses it
            service.close()
            log.info("closed the index")
    log.info("stopped")
    return EXIT_OK


async def _sync(settings, global_: bool, bot_factory: Callable) -> int:
    token = read_token()
    if token is None:
        return _no_token()
    bot = bot_factory(settings, None, sync_on_start=False)
    async with bot:
        try:
            await bot.login(token)
        except discord.LoginFailure:
            return _bad_token()
        if global_:
            synced = await bot.tree.sync()
            print(f"synced {len(synced)} commands globally (Discord may take up to an hour to show them everywhere)")
            return EXIT_OK
        guild = bot.dev_guild
        if guild is None:
            _say(
                "no dev guild configured: set bot.dev_guild_id (or THREADBOT_DEV_GUILD_ID), "
                "or sync globally with `threadbot sync --global`."
            )
            return EXIT_USAGE
        bot.tree.copy_global_to(guild=guild)
        synced = await bot.tree.sync(guild=guild)
        print(f"synced {len(synced)} commands to guild {guild.id}")
        return EXIT_OK


def sync_commands(settings, global_: bool = False, *, bot_factory: Callable = ThreadBot) -> int:
    """Register the slash commands with Discord: to the dev guild, or globally with global_=True."""
    setup_logging(settings.bot.log_level)
    try:
        return asyncio.run(_sync(settings, global_, bot_factory))
    except (aiohttp.ClientConnectionError, OSError) as exc:
        _say(f"cannot reach Discord: {exc}")
        return EXIT_UNAVAILABLE


async def command_payloads_async(settings) -> list[dict]:
    bot = ThreadBot(settings, None, sync_on_start=False)
    await bot.load_features()
    return [cmd.to_dict(bot.tree) for cmd in bot.tree.get_commands()]


def command_payloads(settings) -> list[dict]:
    """The JSON a sync would send for each command (dry run: no token, no network, no index)."""
    return asyncio.run(command_payloads_async(settings))
