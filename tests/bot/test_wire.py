"""The bot over the wire: the real discord.py client and bot.runner against a stand-in Discord on 127.0.0.1.

Everything runs through real HTTP and a real websocket (tests/bot/fake_discord.py); only the two URLs differ from
production, and any connection to another address fails (local_only.py). Each step has its own time limit.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import discord
import pytest
from bot_harness import MANAGE_GUILD, Discord, User, stop_views
from discord_rules import check_message
from fake_discord import GUILDS, OTHER_CHANNEL_ID, TOKEN, FakeDiscord, Hit
from local_only import NonLocalConnection, refuse_non_local_connections
from transport import APP_ID

from bot.client import ThreadBot
from bot.runner import serve
from embeddings.config import BotSettings

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "Were the purges aimed at real counter-revolutionary networks?"
ACK_DEADLINE = 3.0  # Discord drops an interaction not acknowledged within 3 seconds


@dataclass
class Wire:
    fake: FakeDiscord
    bot: ThreadBot
    task: asyncio.Task
    harness: Discord  # builds the interaction payloads (it holds the bot's command tree)

    async def interact(self, payload: dict) -> tuple[float, Hit]:
        """Send an interaction; returns when it was sent and its callback, which must come within 3 seconds."""
        sent = await self.fake.interaction(payload)
        path = f"/interactions/{payload['id']}/{payload['token']}/callback"
        callback = await self.fake.wait_for(lambda: next((h for h in self.fake.hits if h.path == path), None))
        assert callback.at - sent < ACK_DEADLINE, f"acknowledged after {callback.at - sent:.2f}s"
        assert callback.status == 200 and callback.query.get("with_response") == "1"
        return sent, callback

    async def edits(self, token: str, count: int = 1, timeout: float = 20) -> list[Hit]:
        """The first `count` accepted edits of the original response of `token`'s interaction."""
        path = f"/webhooks/{APP_ID}/{token}/messages/@original"

        def accepted() -> list[Hit]:
            hits = [h for h in self.fake.hits if h.method == "PATCH" and h.path == path and h.status == 200]
            return hits[:count] if len(hits) >= count else []

        return await self.fake.wait_for(accepted, timeout)


@pytest.fixture
async def wire(monkeypatch):
    """A factory: a FakeDiscord and a ThreadBot on `service`, connected through `bot.runner.serve`."""
    refuse_non_local_connections(monkeypatch)
    started: list[Wire] = []

    async def start(service, **bot_settings) -> Wire:
        fake = await FakeDiscord().start()
        fake.pointed(monkeypatch)
        settings = replace(service.settings, bot=BotSettings(**bot_settings))
        bot = ThreadBot(settings, service, guild_ready_timeout=0.1)
        task = asyncio.create_task(serve(bot, TOKEN, stop_signals=()))
        w = Wire(fake, bot, task, Discord(bot, fake.transport))
        started.append(w)
        ready = asyncio.ensure_future(bot.wait_until_ready())
        await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        assert bot.is_ready(), task.exception() if task.done() else "not ready after 10 s"
        return w

    yield start
    for w in started:
        stop_views(w.bot)
        await w.bot.close()
        await asyncio.wait_for(w.task, 10)
        await w.fake.stop()


async def test_handshake_heartbeats_and_the_guilds_in_the_log(wire, sample_service, caplog):
    with caplog.at_level(logging.INFO, logger="threadbot.bot"):
        w = await wire(sample_service)
    fake = w.fake
    [identify] = fake.ops(2)
    assert identify.d["token"] == TOKEN
    assert identify.d["intents"] == discord.Intents(guilds=True).value  # no privileged intents
    assert fake.connections[0].zlib is not None  # the client asked for zlib-stream, and read it
    beats = await fake.wait_for(lambda: fake.ops(1) if len(fake.ops(1)) >= 4 else None, 30)
    assert beats[-1].d == fake.seq  # a heartbeat carries the last sequence number received
    # at the interval HELLO gave (0.5 s; the first has jitter): on average, with room for a loaded machine
    mean_gap = (beats[-1].at - beats[1].at) / (len(beats) - 2)
    assert fake.heartbeat_interval / 2 < mean_gap < 3 * fake.heartbeat_interval, [b.at for b in beats]
    assert math.isfinite(w.bot.latency)  # heartbeats were ACKed (it is infinite until the first ACK)
    with pytest.raises(NonLocalConnection):  # and nothing here can reach beyond 127.0.0.1
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    served = next(r.getMessage() for r in caplog.records if "serving 2 guilds" in r.getMessage())
    for guild_id, name in GUILDS.items():
        assert f"{name!r} ({guild_id})" in served


async def test_ask_paging_and_autocomplete_over_the_wire(wire, sample_service):
    w = await wire(sample_service)
    asker = User(name="asker")
    ask = w.harness.command_payload("ask", asker, question=QUESTION, limit=2)
    _, callback = await w.interact(ask)
    assert callback.payload["type"] == 5  # deferred: "thinking…", the search comes after
    [edit] = await w.edits(ask["token"])
    body = edit.payload
    check_message(body)
    assert body["allowed_mentions"] == {"parse": []}
    assert body["content"].startswith("Only ") and " good matches for" in body["content"]  # the floor: test_floor.py
    expected = sample_service.search(QUESTION, 2)
    assert [e["description"].split(" · ")[0] for e in body["embeds"]] == [f"**{r.author}**" for r in expected]
    buttons = {c["label"]: c for row in body["components"] for c in row["components"] if c["type"] == 2}
    assert buttons["Prev"]["disabled"] is True and not buttons["Next"].get("disabled", False)

    press = w.harness.press_payload(w.fake.transport.message_for(ask["token"]), "Next", asker)
    _, callback = await w.interact(press)
    assert callback.payload["type"] == 6  # deferred update of the message with the buttons
    [turn] = await w.edits(press["token"])
    assert " good matches for" in turn.payload["content"] and "page 2 of" in turn.payload["content"]
    page2 = sample_service.search(QUESTION, 2, offset=2)
    assert [e["description"].split(" · ")[0] for e in turn.payload["embeds"]] == [f"**{r.author}**" for r in page2]
    check_message(turn.payload)

    complete = w.harness.autocomplete_payload("ask", "author", asker, question="x", author="Led")
    _, callback = await w.interact(complete)
    assert callback.payload["type"] == 8
    assert [c["value"] for c in callback.payload["data"]["choices"]] == ["Led Zeppelin"]


async def test_a_mistake_after_the_deferral_is_a_private_follow_up(wire, sample_service):
    w = await wire(sample_service)
    [thread] = sample_service.threads()
    post = w.harness.command_payload("post", User(), thread=thread.thread_id, number=99, private=False)
    _, callback = await w.interact(post)
    assert callback.payload["type"] == 5 and not (callback.payload.get("data") or {}).get("flags")  # public...
    hook = f"/webhooks/{APP_ID}/{post['token']}"
    [followup] = await w.fake.wait_for(lambda: w.fake.requests("POST", hook), 10)
    [deleted] = w.fake.requests("DELETE", hook + "/messages/@original")
    assert deleted.at < followup.at  # ...so it is deleted before the private answer takes its place
    assert followup.payload["flags"] & 64 and f"has {thread.post_count} posts" in followup.payload["content"]


async def test_a_429_is_retried_after_its_retry_after(wire, sample_service):
    w = await wire(sample_service)
    w.fake.rate_limit_next("PATCH", lambda path: path.endswith("/messages/@original"), retry_after=0.5)
    ask = w.harness.command_payload("ask", User(), question=QUESTION)
    await w.interact(ask)
    [edit] = await w.edits(ask["token"])
    path = f"/webhooks/{APP_ID}/{ask['token']}/messages/@original"
    limited, retried = [h for h in w.fake.hits if h.method == "PATCH" and h.path == path][:2]
    assert (limited.status, retried.status) == (429, 200) and retried is edit
    assert retried.at - limited.at >= 0.5
    assert retried.payload == limited.payload and len(edit.payload["embeds"]) == 3


async def test_a_dropped_gateway_resumes_with_its_session_and_sequence(wire, sample_service):
    w = await wire(sample_service)
    fake = w.fake
    session, seq = fake.session_id, fake.seq
    await fake.drop(4000)  # resumable
    complete = w.harness.autocomplete_payload("post", "thread", User(), thread="")
    pending = asyncio.ensure_future(w.interact(complete))  # sent while disconnected: replayed on RESUME
    [resume] = await fake.wait_for(lambda: fake.ops(6), 10)
    assert resume.d == {"token": TOKEN, "session_id": session, "seq": seq}
    assert resume.url_path == "/gateway-resume"  # READY's resume_gateway_url, not the default gateway
    assert len(fake.ops(2)) == 1  # no second IDENTIFY
    _, callback = await asyncio.wait_for(pending, 10)
    [thread] = sample_service.threads()
    assert [c["value"] for c in callback.payload["data"]["choices"]] == [thread.thread_id]
    after = w.harness.autocomplete_payload("ask", "author", User(), question="x", author="Led")
    _, callback = await w.interact(after)  # and the resumed session keeps working
    assert callback.payload["data"]["choices"]


async def test_reindex_reports_to_the_invoking_channel_only(wire, rebuild_service):
    w = await wire(rebuild_service, progress_interval_seconds=0.1)
    w.bot.get_cog("ReindexCog").interaction_window = 0  # report the end with a channel message
    w.fake.rate_limit_next("POST", lambda path: path.startswith("/channels/"), retry_after=0.5)
    admin = User(name="admin", permissions=MANAGE_GUILD)
    reindex = w.harness.command_payload("reindex", admin, channel_id=OTHER_CHANNEL_ID)
    _, callback = await w.interact(reindex)
    assert callback.payload["type"] == 4 and callback.payload["data"]["content"].startswith("Rebuilding the index")
    assert not (callback.payload["data"].get("flags") or 0) & 64  # the channel sees that a rebuild runs

    def channel_posts() -> list[Hit]:
        return [h for h in w.fake.hits if h.method == "POST" and h.path.startswith("/channels/") and h.status == 200]

    [post] = await w.fake.wait_for(channel_posts, 60)
    assert post.path == f"/channels/{OTHER_CHANNEL_ID}/messages"
    assert f"<@{admin.id}>" in post.payload["content"] and post.payload["embeds"][0]["title"] == "Rebuild finished"
    assert [int(u) for u in post.payload["allowed_mentions"]["users"]] == [admin.id]
    [limited] = [h for h in w.fake.hits if h.status == 429]
    assert post.at - limited.at >= 0.5 and limited.path == post.path  # the REST client honoured retry_after too
    elsewhere = [
        h
        for h in w.fake.hits
        if h.method != "GET" and reindex["token"] not in h.path and h.path != f"/channels/{OTHER_CHANNEL_ID}/messages"
    ]
    assert elsewhere == []  # nothing to the default channel, the other server or anyone's interactions


async def _lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace"))


async def test_threadbot_run_exits_cleanly_on_sigterm(monkeypatch, rebuild_service, tmp_path):
    """`threadbot run` in a subprocess: connects, warms up, and on SIGTERM closes the gateway and the index."""
    fake = await FakeDiscord().start()
    config = tmp_path / "threadbot.toml"
    config.write_text(f'data_dir = "{rebuild_service.settings.data_dir.as_posix()}"\n[bot]\nlog_level = "INFO"\n')
    env = dict(os.environ, DISCORD_TOKEN=TOKEN, THREADBOT_CONFIG=str(config), HF_HUB_OFFLINE="1")
    env |= {"FAKE_DISCORD_API": fake.api_base, "FAKE_DISCORD_GATEWAY": fake.gateway_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests/bot/wire_launch.py"), "run", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    err: list[str] = []
    reader = asyncio.ensure_future(_lines(proc.stderr, err))
    try:
        await fake.wait_for(lambda: fake.ops(2) and fake.ops(1), 60)  # identified, heartbeating
        for needle in ("serving 2 guilds", "serving 11 posts"):  # on_ready, and the warm-up of model and index
            await fake.wait_for(lambda n=needle: any(n in line for line in err) or proc.returncode is not None, 60)
        assert proc.returncode is None, "".join(err)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0, "".join(err)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await asyncio.wait_for(reader, 10)
        await fake.stop()
    log = "".join(err)
    assert "received SIGTERM" in log and "closed the index" in log and "Traceback" not in log, log
    assert f"index sources: {rebuild_service.stats().sources[0]}" in log  # full paths in the log, not on /stats
    [conn] = [c for c in fake.connections if c.identified]
    # the client closed the gateway connection with a close frame (a killed process sends none); discord.py's
    # code is 4000 when a read is in progress as it closes, which is the usual case
    assert conn.client_close_code in (1000, 4000)
