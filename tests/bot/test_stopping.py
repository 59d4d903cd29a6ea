"""Stopping during a /reindex: a stop waits, still connected, up to the grace for the rebuild to finish and
report; a rebuild outlasting it is abandoned (the process exits without waiting for its thread); a second signal
stops at once. In-process through `bot.runner.serve` (its exit replaced by a recorder, its stop signal SIGUSR1),
then `threadbot run` in a subprocess with real SIGTERMs against the stand-in Discord on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from bot_harness import MANAGE_GUILD, Discord, User, stop_views
from conftest import make_settings
from fake_discord import TOKEN, FakeDiscord
from local_only import refuse_non_local_connections

from bot.client import ThreadBot
from bot.cogs.reindex import INTERRUPTED
from bot.runner import serve
from embeddings.config import BotSettings

ROOT = Path(__file__).resolve().parents[2]
SIG = signal.SIGUSR1  # in-process: pytest itself must not get a SIGTERM
ADMIN = User(name="admin", permissions=MANAGE_GUILD)
WAITING = "for the rebuild started by admin to finish (signal again to stop now)"


def hold_rebuild(service) -> tuple[threading.Event, threading.Event]:
    """Hold the real rebuild (and its lock) at its first progress report until `release` is set."""
    entered, release = threading.Event(), threading.Event()
    real = service.rebuild

    def rebuild(*args, progress=None, **kwargs):
        def held(stage, done, total):
            if progress:
                progress(stage, done, total)
            entered.set()
            release.wait(120)

        return real(*args, progress=held, **kwargs)

    service.rebuild = rebuild
    return entered, release


async def _until(condition, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return value


def _logged(caplog, needle: str) -> bool:
    return any(needle in r.getMessage() for r in caplog.records)


@dataclass
class Run:
    fake: FakeDiscord
    bot: ThreadBot
    task: asyncio.Task
    exits: list[int]
    reindex: dict  # the /reindex interaction

    def final(self) -> dict:
        """The /reindex response as Discord now shows it."""
        return self.fake.transport.message_for(self.reindex["token"])


class Stoppable:
    """Starts the bot on a service whose rebuilds are held, served (stop signal SIG) against a FakeDiscord, and
    runs a /reindex; `release` lets the held rebuild go on."""

    def __init__(self, fake: FakeDiscord, service) -> None:
        self.fake, self.service, self.runs = fake, service, []
        self.entered, self.release = hold_rebuild(service)

    async def start(self, grace: float) -> Run:
        settings = replace(self.service.settings, bot=BotSettings(progress_interval_seconds=0.1))
        bot = ThreadBot(settings, self.service, guild_ready_timeout=0.1)
        exits: list[int] = []
        task = asyncio.create_task(serve(bot, TOKEN, stop_signals=(SIG,), grace=grace, exit_now=exits.append))
        await _until(lambda: bot.is_ready() or task.done(), 10)
        assert bot.is_ready()
        reindex = Discord(bot, self.fake.transport).command_payload("reindex", ADMIN)
        self.runs.append(run := Run(self.fake, bot, task, exits, reindex))
        await self.fake.interaction(reindex)
        assert await asyncio.to_thread(self.entered.wait, 30), "the rebuild did not start"
        return run


@pytest.fixture
async def stoppable(monkeypatch, rebuild_service):
    refuse_non_local_connections(monkeypatch)
    fake = await FakeDiscord().start()
    fake.pointed(monkeypatch)
    s = Stoppable(fake, rebuild_service)
    yield s
    s.release.set()
    for run in s.runs:
        stop_views(run.bot)
        await run.bot.close()
        await asyncio.wait_for(run.task, 30)
    await _until(lambda: rebuild_service.rebuild_status is None, 60)  # the service is closed after the rebuild
    await fake.stop()


async def test_a_stop_lets_a_rebuild_finish_and_report_before_closing(stoppable, caplog):
    with caplog.at_level(logging.INFO, logger="threadbot.bot"):
        run = await stoppable.start(grace=30)
        os.kill(os.getpid(), SIG)
        await _until(lambda: _logged(caplog, f"stopping: waiting up to 30 s {WAITING}"))
        await asyncio.sleep(0.3)
        assert not run.bot.is_closed()  # still connected, so that the rebuild can report
        stoppable.release.set()
        await asyncio.wait_for(run.task, 60)
    assert run.exits == [] and run.bot.is_closed()
    assert run.final()["embeds"][0]["title"] == "Rebuild finished"
    messages = [r.getMessage() for r in caplog.records]
    finished = next(i for i, m in enumerate(messages) if m.startswith("rebuild by admin") and "finished" in m)
    assert finished < messages.index("the rebuild has ended: closing the gateway connection")


async def test_a_rebuild_outlasting_the_grace_is_abandoned(stoppable, rebuild_service, caplog):
    with caplog.at_level(logging.INFO, logger="threadbot.bot"):
        run = await stoppable.start(grace=0.5)
        started = time.monotonic()
        os.kill(os.getpid(), SIG)
        await _until(lambda: run.exits, 20)
        elapsed = time.monotonic() - started
    assert run.exits == [0] and elapsed < 0.5 + 10  # the grace, then at most the abandoning's own bounds
    assert _logged(caplog, f"stopping: waiting up to 0.5 s {WAITING}")
    assert _logged(caplog, "stopping without waiting any longer for the rebuild started by admin")
    assert run.final()["content"] == INTERRUPTED
    assert run.bot.is_closed()
    assert rebuild_service.rebuild_status is not None  # still building: the process would now exit under it


async def test_a_second_signal_stops_at_once(stoppable, caplog):
    with caplog.at_level(logging.INFO, logger="threadbot.bot"):
        run = await stoppable.start(grace=30)
        os.kill(os.getpid(), SIG)
        await _until(lambda: _logged(caplog, WAITING))
        os.kill(os.getpid(), SIG)
        await _until(lambda: run.exits, 5)
    assert run.exits == [128 + SIG]
    assert _logged(caplog, f"received {SIG.name} again: stopping now")


# ------------------------------------------------------------------ threadbot run, real signals
async def _lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace"))


@pytest.mark.parametrize("how", ["the grace runs out", "a second SIGTERM"])
async def test_threadbot_run_stops_during_a_rebuild(how, rebuild_service, tmp_path):
    grace = 2 if how == "the grace runs out" else 60
    fake = await FakeDiscord().start()
    config = tmp_path / "threadbot.toml"
    config.write_text(f'data_dir = "{rebuild_service.settings.data_dir.as_posix()}"\n[bot]\nlog_level = "INFO"\n')
    env = dict(os.environ, DISCORD_TOKEN=TOKEN, THREADBOT_CONFIG=str(config), HF_HUB_OFFLINE="1")
    env |= {"FAKE_DISCORD_API": fake.api_base, "FAKE_DISCORD_GATEWAY": fake.gateway_url}
    env |= {"WIRE_HOLD_REBUILD": "1", "WIRE_REBUILD_GRACE": str(grace)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests/bot/wire_launch.py"), "run", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    err: list[str] = []
    reader = asyncio.ensure_future(_lines(proc.stderr, err))

    def said(needle: str):
        return lambda: any(needle in line for line in err) or proc.returncode is not None

    payloads = ThreadBot(make_settings(tmp_path / "unused", []), None)
    await payloads.load_features()  # only for its command tree, to write the interaction
    reindex = Discord(payloads, fake.transport).command_payload("reindex", ADMIN)
    try:
        await fake.wait_for(said("serving 2 guilds"), 60)
        await fake.interaction(reindex)
        await fake.wait_for(said("wire_launch: rebuild held"), 60)
        assert proc.returncode is None, "".join(err)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await fake.wait_for(said(WAITING), 10)
        if how == "a second SIGTERM":
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
        elapsed = time.monotonic() - signalled
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await asyncio.wait_for(reader, 10)
        await fake.stop()
    log = "".join(err)
    assert f"received SIGTERM; stopping: waiting up to {grace} s {WAITING}" in log, log
    assert "closed the index" not in log and "Traceback" not in log, log  # not closed under the rebuild
    if how == "the grace runs out":
        assert code == 0 and elapsed < grace + 10, (code, elapsed, log)
        assert "stopping without waiting any longer" in log
        assert fake.transport.message_for(reindex["token"])["content"] == INTERRUPTED
    else:
        assert code == 128 + signal.SIGTERM and elapsed < 5, (code, elapsed, log)
        assert "received SIGTERM again: stopping now" in log
