"""Per-member cooldowns on /ask, /quote, /post and the cap on concurrent searches, alone and under load."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from bot_harness import MANAGE_GUILD, User
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cooldowns import PRUNE_EVERY, TokenBuckets

QUESTION = "Were the purges aimed at real counter-revolutionary networks?"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ the token bucket
def test_a_burst_then_one_every_ten_seconds():
    clock = Clock()
    buckets = TokenBuckets(per_minute=6, burst=3, clock=clock)
    assert [buckets.take(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take(1) == 10.0  # empty: one token comes back every 10 s
    assert buckets.take(2) == 0.0  # another member has their own bucket
    clock.now = 4.0
    assert buckets.take(1) == pytest.approx(6.0)  # a refused take costs nothing
    clock.now = 10.0
    assert buckets.take(1) == 0.0 and buckets.take(1) == 10.0
    clock.now = 1000.0
    assert [buckets.take(1) for _ in range(4)][-1] > 0  # refilled to the burst, not beyond


def test_zero_per_minute_turns_cooldowns_off():
    buckets = TokenBuckets(per_minute=0, burst=1)
    assert not buckets.enabled and all(buckets.take(1) == 0.0 for _ in range(100))


def test_full_buckets_are_forgotten():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock)
    for member in range(PRUNE_EVERY - 1):
        buckets.take(member)
    assert len(buckets) == PRUNE_EVERY - 1
    clock.now = 10.0  # everyone has refilled
    buckets.take(-1)
    assert len(buckets) == 1


@given(
    st.floats(0.5, 120),
    st.integers(1, 10),
    st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=80),
)
@settings(max_examples=200, deadline=None)
def test_never_more_than_the_burst_plus_the_rate(per_minute, burst, gaps):
    clock = Clock()
    buckets = TokenBuckets(per_minute, burst, clock=clock)
    granted = []
    for gap in gaps:
        clock.now += gap
        retry = buckets.take(7)
        if retry == 0:
            granted.append(clock.now)
        else:  # the promise is kept: a token is there after retry_after
            probe = TokenBuckets(per_minute, burst, clock=clock)
            probe._buckets = dict(buckets._buckets)
            clock.now += retry
            assert probe.take(7) == 0.0
            clock.now -= retry
    for i, start in enumerate(granted):  # in any window, at most burst + rate × window
        in_window = [t for t in granted[i:] if t - start <= 30]
        assert len(in_window) <= burst + per_minute / 60 * 30 + 1e-9


# ------------------------------------------------------------------ through the commands
async def test_a_member_over_the_limit_is_told_privately_when_to_retry(make_discord, sample_service, monkeypatch):
    d = await make_discord(sample_service, cooldown_per_minute=6, cooldown_burst=1)
    d.bot.cooldowns.clock = Clock()  # frozen: the first search takes no time for the bucket
    calls = []
    real = sample_service.search
    monkeypatch.setattr(sample_service, "search", lambda *a, **k: calls.append(1) or real(*a, **k))
    member = User()
    first = await d.command("ask", user=member, question=QUESTION)
    second = await d.command("ask", user=member, question=QUESTION)
    assert first.embeds and first.ephemeral
    assert second.sent[0].callback_type == 4 and second.ephemeral  # refused before any public placeholder
    assert second.message["content"] == "Slow down: try again in 10 s."
    assert len(calls) == 1  # the refused one never searched
    other = await d.command("ask", user=User(), question=QUESTION)
    assert other.embeds


async def test_ask_quote_and_post_share_one_bucket(make_discord, sample_service):
    d = await make_discord(sample_service, cooldown_per_minute=6, cooldown_burst=2)
    member = User()
    thread = sample_service.threads()[0]
    relation = sample_service.quotes()[0]
    assert (await d.command("post", user=member, thread=thread.thread_id, number=1)).embeds
    assert (await d.command("quote", user=member, text=" ".join(relation.text.split()[:14]))).embeds
    refused = await d.command("ask", user=member, question=QUESTION)
    assert refused.ephemeral and refused.message["content"].startswith("Slow down")
    assert (await d.command("threads", user=member)).embeds  # the cheap listings are not limited
    assert (await d.command("stats", user=member)).embeds
    for _ in range(5):  # nor is autocomplete
        await d.autocomplete("ask", "author", user=member, question="x", author="Led")


async def test_admins_are_exempt_when_configured(make_discord, sample_service):
    thread = sample_service.threads()[0]
    admin = User(name="admin", permissions=MANAGE_GUILD)
    exempt = await make_discord(sample_service, cooldown_burst=1)
    replies = [await exempt.command("post", user=admin, thread=thread.thread_id, number=1) for _ in range(4)]
    assert all(r.embeds for r in replies)
    strict = await make_discord(sample_service, cooldown_burst=1, cooldown_exempt_admins=False)
    await strict.command("post", user=admin, thread=thread.thread_id, number=1)
    refused = await strict.command("post", user=admin, thread=thread.thread_id, number=1)
    assert refused.ephemeral and refused.message["content"].startswith("Slow down")


# ------------------------------------------------------------------ under load
class Concurrency:
    """Wraps the real search: counts the calls running at once (in worker threads)."""

    def __init__(self, fn):
        self.fn, self.running, self.peak, self.calls = fn, 0, 0, 0
        self.lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(0.02)  # long enough for the others to pile up behind the cap
            return self.fn(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


async def test_fifty_members_at_once_stay_under_the_cap_and_all_get_a_reply(make_discord, sample_service, monkeypatch):
    cap, members = 2, 50
    d = await make_discord(sample_service, cooldown_per_minute=1, cooldown_burst=1, max_concurrent_searches=cap)
    spy = Concurrency(sample_service.search)
    monkeypatch.setattr(sample_service, "search", spy)
    users = [User(name=f"member{i}") for i in range(members)]
    payloads = [d.command_payload("ask", u, question=QUESTION) for u in users for _ in range(2)]  # 2 each
    tasks = set().union(*(d.dispatch(p) for p in payloads))
    # autocomplete does not wait behind the searches: the bot answers empty after 2 s (AUTOCOMPLETE_TIMEOUT), so
    # an answer with the choice proves it came in time, however loaded the machine running the test
    choices = await asyncio.wait_for(d.autocomplete("ask", "author", question="x", author="Led"), 30)
    assert [c["value"] for c in choices] == ["Led Zeppelin"]
    await asyncio.wait_for(asyncio.gather(*tasks), 120)

    assert spy.peak == cap, spy.peak  # the cap was reached, and never exceeded
    assert spy.calls == members  # one search per member: the second /ask of each was refused
    for user, pair in zip(users, zip(payloads[::2], payloads[1::2])):
        messages = [d.transport.message_for(p["token"]) for p in pair]
        answers = [m for m in messages if m["embeds"] and m["content"].startswith(("Results 1–3", "Only "))]
        cooled = [m for m in messages if m["flags"] & 64 and m["content"].startswith("Slow down")]
        assert len(answers) == 1 and len(cooled) == 1, (user.name, messages)


class Held(Concurrency):
    """Like Concurrency, but every search waits for `release` first."""

    def __init__(self, fn):
        super().__init__(fn)
        self.release = threading.Event()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
        try:
            self.release.wait(60)
            return self.fn(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


async def _until(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_a_cap_above_the_default_thread_pool_leaves_autocomplete_free(make_discord, sample_service, monkeypatch):
    cap = 64  # more than asyncio's default pool has threads (min(32, cores + 4))
    d = await make_discord(sample_service, cooldown_per_minute=0, max_concurrent_searches=cap)
    spy = Held(sample_service.search)
    monkeypatch.setattr(sample_service, "search", spy)
    tasks = set().union(*(d.dispatch(d.command_payload("ask", User(), question=QUESTION)) for _ in range(cap)))
    try:
        assert await _until(lambda: spy.running == cap), f"{spy.running} of {cap} searches running"
        choices = await asyncio.wait_for(d.autocomplete("ask", "author", question="x", author="Led"), 30)
        assert [c["value"] for c in choices] == ["Led Zeppelin"]  # not queued behind the held searches
    finally:
        spy.release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    assert spy.peak == cap


async def test_a_cancelled_search_keeps_its_place_under_the_cap(make_discord, sample_service, monkeypatch):
    cap = 2
    d = await make_discord(sample_service, cooldown_per_minute=0, max_concurrent_searches=cap)
    spy = Held(sample_service.search)
    monkeypatch.setattr(sample_service, "search", spy)
    first = set().union(*(d.dispatch(d.command_payload("ask", User(), question=QUESTION)) for _ in range(cap)))
    later: set[asyncio.Task] = set()
    try:
        assert await _until(lambda: spy.running == cap)
        for task in first:  # e.g. the bot closing; their threads go on searching
            task.cancel()
        await asyncio.gather(*first, return_exceptions=True)
        later = set().union(*(d.dispatch(d.command_payload("ask", User(), question=QUESTION)) for _ in range(cap)))
        await asyncio.sleep(0.3)
        assert spy.running == cap and spy.calls == cap  # the later ones wait for those threads
    finally:
        spy.release.set()
    await asyncio.wait_for(asyncio.gather(*later), 120)
    assert spy.peak == cap and spy.calls == 2 * cap
