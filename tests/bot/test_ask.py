"""/ask end to end: real CommandTree and real SearchService, Discord's transport recorded."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime

import pytest
from bot_harness import User
from discord_rules import check_all_sent

from bot.render import archive_date
from bot.text import escape
from bot.views import NOT_YOURS, FetchingSource, Page, Paginator

QUESTION = "Were the purges aimed at real counter-revolutionary networks?"


def _norm(text: str) -> str:
    return " ".join(text.split())


async def test_ask_embeds_show_author_date_thread_post_and_bold_highlight(discord_sample, sample_service):
    reply = await discord_sample.command("ask", question=QUESTION)
    expected = sample_service.search(QUESTION, 3)
    first = reply.sent[0]
    assert first.callback_type == 5  # deferred before the search ran
    assert not reply.ephemeral  # private_by_default is False
    embeds = reply.embeds
    assert [e["author"]["name"] for e in embeds] == [r.author for r in expected]
    for e, r in zip(embeds, expected):
        fields = {f["name"]: f["value"] for f in e["fields"]}
        assert e["title"] == escape(r.thread_title)
        assert f"<t:{int(r.posted_at.replace(tzinfo=UTC).timestamp())}:f>" in fields["Posted"]
        assert archive_date(r.posted_at) in fields["Posted"]
        assert fields["Post"] == f"post {r.post_index + 1} of {r.post_count}"
        desc = e["description"]
        assert desc.startswith("> ")
        assert f"/post thread:{r.thread_id} number:{r.post_index + 1}" in desc
        assert r.highlights, "the service marks the best sentence"
        s, t = r.highlights[0]
        first_line = next(x for x in r.passage[s:t].split("\n") if x.strip())
        assert f"**{escape(first_line.strip())}**" in desc
        # the passage text itself is shown verbatim (escaped), not paraphrased
        plain = desc.replace("**", "")
        assert _norm(escape(r.passage.strip().split("\n")[0]))[:60] in _norm(plain.replace("> ", ""))
    assert check_all_sent(reply.sent) >= 1


async def test_ask_private_and_config_default(make_discord, sample_service):
    d = await make_discord(sample_service, private_by_default=True)
    reply = await d.command("ask", question=QUESTION)
    assert reply.sent[0].ephemeral and reply.ephemeral
    public = await d.command("ask", question=QUESTION, private=False)
    assert not public.sent[0].ephemeral and not public.ephemeral


async def test_paging_next_prev_only_for_the_asker(discord_sample, sample_service):
    asker, other = User(name="asker"), User(name="someone-else")
    reply = await discord_sample.command("ask", user=asker, question=QUESTION, limit=2)
    buttons = reply.buttons()
    assert buttons["Prev"]["disabled"] is True and buttons["Next"].get("disabled", False) is False
    page1 = [e["author"]["name"] + e["fields"][0]["value"] for e in reply.embeds]

    before = dict(reply.message)
    intruder = await discord_sample.press(reply.message, "Next", other)
    assert intruder.sent[-1].callback_type == 4 and intruder.sent[-1].ephemeral
    assert intruder.sent[-1].data["content"] == NOT_YOURS
    assert reply.message["embeds"] == before["embeds"]  # nothing changed for anyone

    await discord_sample.press(reply.message, "Next", asker)
    expected = sample_service.search(QUESTION, 2, offset=2)
    assert [e["author"]["name"] for e in reply.embeds] == [r.author for r in expected]
    assert [e["footer"]["text"].split(" ")[0] for e in reply.embeds] == ["#3", "#4"]
    assert reply.message["content"].startswith("Results 3–4")
    assert reply.buttons()["Prev"].get("disabled", False) is False

    await discord_sample.press(reply.message, "Prev", asker)
    assert [e["author"]["name"] + e["fields"][0]["value"] for e in reply.embeds] == page1
    assert reply.buttons()["Prev"]["disabled"] is True
    check_all_sent(discord_sample.transport.sent)


async def test_ten_presses_at_once_run_one_search_and_turn_one_page(make_discord, sample_service, monkeypatch):
    d = await make_discord(sample_service, cooldown_burst=1)
    offsets = []
    real = sample_service.search

    def slow(*args, **kwargs):
        offsets.append(kwargs.get("offset", 0))
        time.sleep(0.1)  # the other presses arrive while the page is fetched
        return real(*args, **kwargs)

    monkeypatch.setattr(sample_service, "search", slow)
    asker = User()
    reply = await d.command("ask", user=asker, question=QUESTION, limit=1)
    presses = [d.press_payload(reply.message, "Next", asker) for _ in range(10)]
    for p in presses:
        d.transport.original[p["token"]] = int(reply.message["id"])
    tasks = set().union(*(d.dispatch(p) for p in presses))
    await asyncio.wait_for(asyncio.gather(*tasks), 60)

    assert offsets == [0, 1]  # the first page, then page 2 once
    assert [d.transport.by_token(p["token"])[0].callback_type for p in presses] == [6] * 10  # all acknowledged
    assert reply.message["content"].startswith("Results 2–2")
    check_all_sent(d.transport.sent)


async def test_presses_share_a_running_fetch_of_the_same_page():
    release = asyncio.Event()
    calls = []

    async def fetch(index):
        calls.append(index)
        await release.wait()
        return Page(content=f"page {index}"), True

    source = FetchingSource(fetch, Page(content="page 0"), True)
    waiting = [asyncio.ensure_future(source.get(1)) for _ in range(5)]
    await asyncio.sleep(0.01)
    waiting[0].cancel()  # one presser giving up does not cancel the fetch the others wait for
    release.set()
    pages = await asyncio.gather(*waiting[1:])
    assert calls == [1] and {p.content for p in pages} == {"page 1"} and source.has_next(1)


async def test_last_page_disables_next(discord_sample, sample_service):
    total = len(sample_service.search(QUESTION, 50))
    assert total == 11, "the sample thread has 11 posts"
    asker = User()
    reply = await discord_sample.command("ask", user=asker, question=QUESTION, limit=10)
    assert len(reply.embeds) == 10 and reply.buttons()["Next"].get("disabled", False) is False
    await discord_sample.press(reply.message, "Next", asker)
    assert len(reply.embeds) == 1 and reply.embeds[0]["footer"]["text"].startswith("#11")
    assert reply.buttons()["Next"]["disabled"] is True


async def test_buttons_disable_on_timeout(discord_sample, monkeypatch):
    monkeypatch.setattr(Paginator, "default_timeout", 0.3)
    reply = await discord_sample.command("ask", question=QUESTION, limit=1)
    assert reply.buttons()["Next"].get("disabled", False) is False
    for _ in range(50):
        await asyncio.sleep(0.05)
        if all(b.get("disabled") for b in reply.buttons().values()):
            break
    assert all(b.get("disabled") for b in reply.buttons().values())


async def _until_disabled(reply, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if all(b.get("disabled") for b in reply.buttons().values()):
            return True
        await asyncio.sleep(0.05)
    return False


def _disabling_edits(transport) -> list:
    return [
        s
        for s in transport.sent
        if s.method == "PATCH"
        and s.payload.get("components")
        and all(c.get("disabled") for row in s.payload["components"] for c in row["components"])
    ]


async def test_timeout_after_a_late_press_disables_through_the_press_token(discord_sample, monkeypatch):
    """discord.py restarts the timeout on every press: a press at minute 6 moves it past the command token's
    15 minutes. The buttons must still be disabled, through the press's own (fresh) token."""
    transport = discord_sample.transport
    monkeypatch.setattr(Paginator, "clock", staticmethod(lambda: transport.now))
    monkeypatch.setattr(Paginator, "default_timeout", 1.0)
    asker = User()
    reply = await discord_sample.command("ask", user=asker, question=QUESTION, limit=1)
    transport.now = 6 * 60
    press = await discord_sample.press(reply.message, "Next", asker)
    assert reply.embeds[0]["footer"]["text"].startswith("#2")
    transport.now = 16 * 60  # the command's token is dead, the press's has 5 minutes left
    assert transport.expired(reply.token) and not transport.expired(press.token)
    assert await _until_disabled(reply), "buttons still live after the timeout"
    [edit] = _disabling_edits(transport)
    assert f"/{press.token}/" in edit.path


async def test_timeout_never_uses_an_expired_token(discord_sample, monkeypatch, caplog):
    transport = discord_sample.transport
    monkeypatch.setattr(Paginator, "clock", staticmethod(lambda: transport.now))
    monkeypatch.setattr(Paginator, "default_timeout", 0.3)
    await discord_sample.command("ask", question=QUESTION, limit=1)
    transport.now = 20 * 60  # e.g. the process was suspended: every token is dead when the timer fires
    transport.clear()
    with caplog.at_level(logging.INFO, logger="threadbot.bot"):
        await asyncio.sleep(0.6)
    assert transport.sent == []  # no request with a dead token
    assert any("expired" in r.getMessage() for r in caplog.records)


def test_paginator_timeout_stays_inside_a_tokens_life():
    from bot.views import TOKEN_LIFETIME, StaticSource

    async def make():
        return Paginator(StaticSource([]), owner_id=1, timeout=3600).timeout

    assert asyncio.run(make()) < TOKEN_LIFETIME


async def test_filters_pass_through(discord_sample, sample_service):
    author = "Led Zeppelin"
    reply = await discord_sample.command("ask", question=QUESTION, author=author, limit=5)
    expected = sample_service.search(QUESTION, 5, author=author)
    assert expected and {r.author for r in expected} == {author}
    assert [e["author"]["name"] for e in reply.embeds] == [r.author for r in expected]
    assert "by Led Zeppelin" in reply.message["content"]

    title = sample_service.threads()[0].title
    by_title = await discord_sample.command(
        "ask", question=QUESTION, thread=title.upper(), after="2009-08-16", before="2009-08-18"
    )
    dated = sample_service.search(
        QUESTION,
        3,
        thread=sample_service.threads()[0].thread_id,
        after=datetime(2009, 8, 16),
        before=datetime(2009, 8, 18),
    )
    assert [e["author"]["name"] for e in by_title.embeds] == [r.author for r in dated]
    for e in by_title.embeds:
        day = re.search(r"archive: (\d+) Aug 2009", e["fields"][0]["value"]).group(1)
        assert 16 <= int(day) < 18


@pytest.mark.parametrize(
    "options, needle",
    [
        ({"after": "last tuesday"}, "YYYY-MM-DD"),
        ({"after": "2009-08-18", "before": "2009-08-16"}, "earlier than"),
        ({"thread": "no such thread"}, "/threads"),
        ({"question": "   "}, "empty"),
    ],
)
async def test_user_mistakes_get_short_private_hints(discord_sample, options, needle):
    options = {"question": QUESTION, **options}
    reply = await discord_sample.command("ask", **options)
    assert reply.ephemeral, reply.sent
    assert needle in reply.message["content"]
    assert len(reply.message["content"]) < 300
    assert not reply.embeds


async def test_unexpected_error_gives_reference_and_logs_traceback(discord_sample, monkeypatch, caplog):
    def broken(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(discord_sample.bot.service, "search", broken)
    with caplog.at_level(logging.ERROR, logger="threadbot.bot"):
        reply = await discord_sample.command("ask", question=QUESTION)
    text = reply.message["content"]
    ref = re.search(r"reference `([0-9a-f]{8})`", text).group(1)
    assert reply.ephemeral and "disk on fire" not in text
    record = next(r for r in caplog.records if ref in r.getMessage())
    assert record.exc_info and record.exc_info[0] is RuntimeError


async def test_ask_runs_the_service_off_the_event_loop(discord_sample, monkeypatch):
    import threading

    seen = []
    real = discord_sample.bot.service.search

    def spy(*a, **k):
        seen.append(threading.current_thread() is threading.main_thread())
        return real(*a, **k)

    monkeypatch.setattr(discord_sample.bot.service, "search", spy)
    await discord_sample.command("ask", question=QUESTION)
    assert seen == [False]


async def test_no_results_message(make_discord, special_service):
    d = await make_discord(special_service)
    reply = await d.command("ask", question="orchard vote", author="Nobody At All")
    assert "No posts match" in reply.message["content"] and not reply.embeds
