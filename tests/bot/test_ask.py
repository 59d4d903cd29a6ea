"""/ask end to end: real CommandTree and real SearchService, Discord's transport recorded."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime

import pytest
from bot_harness import User, components
from card_lines import card_lines, shown_title, unescaped
from discord_rules import check_all_sent

from bot.text import archive_date, escape, link_url
from bot.views import NOT_YOURS, Navigator

QUESTION = "Were the purges aimed at real counter-revolutionary networks?"
KASAMA = "is Kasama breaking out of Stalinist dogma?"  # a question Led Zeppelin's posts answer


def _good(service) -> int:
    """How many of the sample's 11 posts are good matches for QUESTION (the relevance floor: test_floor.py)."""
    return sum(r.good for r in service.search(QUESTION, 11))


TIMESTAMP = re.compile(r"<t:-?\d+(?::\w)?>")


def _norm(text: str) -> str:
    return " ".join(text.split())


async def test_a_card_leads_with_who_wrote_it_when_and_where_and_shows_no_score(discord_sample, sample_service):
    reply = await discord_sample.command("ask", question=QUESTION)
    expected = sample_service.search(QUESTION, 3)
    assert reply.sent[0].callback_type == 5  # deferred before the search ran
    for e, r in zip(reply.embeds, expected, strict=True):
        first, _, rest = card_lines(e["description"])
        passage = rest.split("\n")
        # the forum's clock as written, marked as such, and no Discord timestamp of it: the sample has no zone
        where = f"post {r.post_index + 1} of {r.post_count}"
        assert first == f"**{escape(r.author)}** · {archive_date(r.posted_at)} forum time · {where}"
        title, target = shown_title(e["description"])  # the thread: the small line under the byline
        assert unescaped(title) == r.thread_title and target == link_url(r.url) and "author" not in e
        assert not TIMESTAMP.search(str(e)) and "archive:" not in str(e)
        assert "score" not in str(e) and "footer" not in e and f"{r.score:.2f}" not in str(e)
        assert "/post thread:" not in e["description"]  # nothing to retype: the menu opens the post
        assert passage and all(line.startswith("> ") for line in passage)
        s, t = r.highlights[0]
        first_line = next(x for x in r.passage[s:t].split("\n") if x.strip())
        assert f"**{escape(first_line.strip())}**" in e["description"]
        shown = _norm(" ".join(passage).replace("> ", "").replace("**", "").strip("…"))
        assert shown.strip("… ")[:60] in _norm(escape(r.passage))  # the archive's words, not a paraphrase
    good = _good(sample_service)
    assert reply.message["content"].startswith(f"Only {good} good matches for “{QUESTION}” · page 1 of {-(-good // 3)}")
    assert check_all_sent(reply.sent) >= 1


async def test_answers_are_private_unless_the_config_or_the_member_says_otherwise(make_discord, sample_service):
    d = await make_discord(sample_service)
    assert d.bot.settings.bot.private_by_default
    reply = await d.command("ask", question=QUESTION)
    assert reply.sent[0].ephemeral and reply.ephemeral
    public = await d.command("ask", question=QUESTION, private=False)
    assert not public.sent[0].ephemeral and not public.ephemeral
    open_server = await make_discord(sample_service, private_by_default=False)
    assert not (await open_server.command("ask", question=QUESTION)).ephemeral


async def test_paging_next_prev_only_for_the_asker(discord_sample, sample_service):
    asker, other = User(name="asker"), User(name="someone-else")
    reply = await discord_sample.command("ask", user=asker, question=QUESTION, limit=2)
    buttons = reply.buttons()
    assert buttons["Prev"]["disabled"] is True and buttons["Next"].get("disabled", False) is False
    page1 = [e["description"] for e in reply.embeds]

    before = dict(reply.message)
    intruder = await discord_sample.press(reply.message, "Next", other)
    assert intruder.sent[-1].callback_type == 4 and intruder.sent[-1].ephemeral
    assert intruder.sent[-1].data["content"] == NOT_YOURS
    assert reply.message["embeds"] == before["embeds"]  # nothing changed for anyone

    await discord_sample.press(reply.message, "Next", asker)
    expected = sample_service.search(QUESTION, 2, offset=2)
    assert [e["description"].split("\n")[0].split(" · ")[0] for e in reply.embeds] == [
        f"**{escape(r.author)}**" for r in expected
    ]
    pages = -(-_good(sample_service) // 2)
    assert reply.message["content"].startswith("Only ") and f"page 2 of {pages}" in reply.message["content"]
    assert reply.buttons()["Prev"].get("disabled", False) is False

    await discord_sample.press(reply.message, "Prev", asker)
    assert [e["description"] for e in reply.embeds] == page1
    assert reply.buttons()["Prev"]["disabled"] is True
    check_all_sent(discord_sample.transport.sent)


async def test_one_search_answers_every_page_and_ten_presses_turn_one_page(make_discord, sample_service, monkeypatch):
    d = await make_discord(sample_service, cooldown_burst=1)
    good = _good(sample_service)
    calls = []
    real = sample_service.search

    def counting(*args, **kwargs):
        calls.append(kwargs.get("offset", 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(sample_service, "search", counting)
    asker = User()
    reply = await d.command("ask", user=asker, question=QUESTION, limit=1)
    presses = [d.press_payload(reply.message, "Next", asker) for _ in range(10)]
    for p in presses:
        d.transport.original[p["token"]] = int(reply.message["id"])
    tasks = set().union(*(d.dispatch(p) for p in presses))
    await asyncio.wait_for(asyncio.gather(*tasks), 60)

    assert calls == [0]  # the command's one search; pages are slices of it
    assert [d.transport.by_token(p["token"])[0].callback_type for p in presses] == [6] * 10  # all acknowledged
    assert reply.message["content"].startswith(f"Only {good} good matches for “{QUESTION}” · page 2 of {good}")
    check_all_sent(d.transport.sent)


async def test_presses_while_a_post_is_being_opened_are_acknowledged_and_ignored(discord_sample, monkeypatch):
    service = discord_sample.bot.service
    opened = []
    real = service.post

    def slow(*args):
        opened.append(args)
        time.sleep(0.2)
        return real(*args)

    monkeypatch.setattr(service, "post", slow)
    asker = User()
    reply = await discord_sample.command("ask", user=asker, question=QUESTION)
    choices = [discord_sample.select_payload(reply.message, "Open post…", "r0", asker) for _ in range(5)]
    for p in choices:
        discord_sample.transport.original[p["token"]] = int(reply.message["id"])
    tasks = set().union(*(discord_sample.dispatch(p) for p in choices))
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    assert len(opened) == 1  # one post fetched; the other four choices were acknowledged and ignored
    assert [discord_sample.transport.by_token(p["token"])[0].callback_type for p in choices] == [6] * 5
    assert "Back to results" in reply.buttons()


async def test_the_last_page_disables_next(discord_sample, sample_service):
    total = len(sample_service.search(QUESTION, 50))
    assert total == 11, "the sample thread has 11 posts"
    asker = User()
    reply = await discord_sample.command("ask", user=asker, question=QUESTION, limit=5)
    await discord_sample.press(reply.message, "Show weaker matches", asker)  # all 11, five a page
    assert len(reply.embeds) == 5 and reply.buttons()["Next"].get("disabled", False) is False
    await discord_sample.press(reply.message, "Next", asker)
    await discord_sample.press(reply.message, "Next", asker)
    assert len(reply.embeds) == 1 and reply.message["content"].startswith("Results 11 of 11")
    assert "page 3 of 3" in reply.message["content"] and reply.buttons()["Next"]["disabled"] is True


def _all_disabled(reply) -> bool:
    return all(c.get("disabled") for c in components(reply.message))


async def test_controls_disable_on_timeout(discord_sample, monkeypatch):
    monkeypatch.setattr(Navigator, "default_timeout", 0.3)
    reply = await discord_sample.command("ask", question=QUESTION, limit=1)
    assert not _all_disabled(reply) and reply.menus()
    for _ in range(50):
        await asyncio.sleep(0.05)
        if _all_disabled(reply):
            break
    assert _all_disabled(reply)  # the buttons and the menus


async def _until_disabled(reply, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if _all_disabled(reply):
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
    15 minutes. The controls must still be disabled, through the press's own (fresh) token."""
    transport = discord_sample.transport
    monkeypatch.setattr(Navigator, "clock", staticmethod(lambda: transport.now))
    monkeypatch.setattr(Navigator, "default_timeout", 1.0)
    asker = User()
    reply = await discord_sample.command("ask", user=asker, question=QUESTION, limit=1)
    transport.now = 6 * 60
    press = await discord_sample.press(reply.message, "Next", asker)
    assert "page 2 of" in reply.message["content"]
    transport.now = 16 * 60  # the command's token is dead, the press's has 5 minutes left
    assert transport.expired(reply.token) and not transport.expired(press.token)
    assert await _until_disabled(reply), "controls still live after the timeout"
    [edit] = _disabling_edits(transport)
    assert f"/{press.token}/" in edit.path


async def test_timeout_never_uses_an_expired_token(discord_sample, monkeypatch, caplog):
    transport = discord_sample.transport
    monkeypatch.setattr(Navigator, "clock", staticmethod(lambda: transport.now))
    monkeypatch.setattr(Navigator, "default_timeout", 0.3)
    await discord_sample.command("ask", question=QUESTION, limit=1)
    transport.now = 20 * 60  # e.g. the process was suspended: every token is dead when the timer fires
    transport.clear()
    with caplog.at_level(logging.INFO, logger="threadbot.bot"):
        await asyncio.sleep(0.6)
    assert transport.sent == []  # no request with a dead token
    assert any("expired" in r.getMessage() for r in caplog.records)


def test_the_navigators_timeout_stays_inside_a_tokens_life():
    from bot.views import TOKEN_LIFETIME, Screen

    async def make():
        return Navigator(Screen(), owner_id=1, timeout=3600).timeout

    assert asyncio.run(make()) < TOKEN_LIFETIME


async def test_filters_pass_through(discord_sample, sample_service):
    author = "Led Zeppelin"
    reply = await discord_sample.command("ask", question=KASAMA, author="led zeppelin", limit=5)
    expected = sample_service.search(KASAMA, 5, author=author)
    assert expected and {r.author for r in expected} == {author}
    assert len(reply.embeds) == sum(r.good for r in expected) > 0  # the good matches lead (test_floor.py)
    assert all(e["description"].startswith(f"**{author}** · ") for e in reply.embeds)
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
    assert len(by_title.embeds) == sum(r.good for r in dated) > 0
    for e in by_title.embeds:
        day = re.search(r" · (\d+) Aug 2009, \d\d:\d\d forum time · ", e["description"]).group(1)
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
    options = {"question": QUESTION, **options, "private": False}
    reply = await discord_sample.command("ask", **options)
    assert reply.ephemeral, reply.sent
    assert needle in reply.message["content"]
    assert len(reply.message["content"]) < 300
    assert not reply.embeds


async def test_a_bad_date_names_the_accepted_forms(discord_sample):
    reply = await discord_sample.command("ask", question=QUESTION, before="yesterday")
    text = reply.message["content"]
    assert all(form in text for form in ("`2009-08-15`", "`2009-08-15 14:32`", "`2009-08`", "`2009`"))


async def test_an_unknown_author_is_told_the_closest_names(discord_sample):
    reply = await discord_sample.command("ask", question=QUESTION, author="Zepelin", private=False)
    text = reply.message["content"]
    assert reply.ephemeral and not reply.embeds
    assert text.startswith("No author is named “Zepelin”. Did you mean “Led Zeppelin”")
    assert "threadbot" not in text


async def test_an_author_is_found_whatever_its_case_or_accents(discord_sample, sample_service):
    typed = "LÉD ZÉPPÉLIN"
    reply = await discord_sample.command("ask", question=KASAMA, author=typed, limit=5)
    assert reply.embeds and all(e["description"].startswith("**Led Zeppelin** · ") for e in reply.embeds)


async def test_an_unknown_thread_is_told_the_closest_titles_and_no_command_line(discord_sample, sample_service):
    [thread] = sample_service.threads()
    typed = thread.title.split(" and ")[0] + " and the purges of 1937"
    reply = await discord_sample.command("ask", question=QUESTION, thread=typed)
    text = reply.message["content"]
    assert text.startswith(f"No thread is called “{escape(typed)}”. Did you mean “{escape(thread.title)}”?")
    assert "/threads" in text and "threadbot" not in text and text.count("threads") == 1


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


async def test_nothing_found_is_private_even_when_the_answer_would_be_public(make_discord, special_service):
    d = await make_discord(special_service, private_by_default=False)
    reply = await d.command("ask", question="orchard vote", after="2100-01-01")
    assert reply.sent[0].callback_type == 5 and not reply.sent[0].ephemeral  # the placeholder was public...
    assert reply.ephemeral and "No posts match" in reply.message["content"] and not reply.embeds  # ...the answer not


async def test_per_thread_keeps_one_long_thread_from_filling_the_pages(discord_sample, sample_service):
    question = "Were the purges aimed at real counter-revolutionary networks?"
    capped = await discord_sample.command("ask", question=question, per_thread=2)
    expected = sample_service.search(question, 3, per_thread=2)
    assert len(expected) == 2  # the sample is one thread
    assert len(capped.embeds) == 2 and "at most 2 per thread" in capped.message["content"]
    assert [e["description"].split("\n")[0] for e in capped.embeds] == [
        e["description"].split("\n")[0] for e in (await discord_sample.command("ask", question=question)).embeds[:2]
    ]
