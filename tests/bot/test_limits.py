"""Discord's per-message limits with hostile sizes: ~400-character thread ids and titles, long authors,
very long option values typed by users. Every message the bot sends is checked by discord_rules."""

from __future__ import annotations

from datetime import datetime

import pytest
from bot_harness import User
from card_lines import card_lines
from conftest import LONG_THREAD_ID, LONG_THREAD_POSTS, LONG_THREAD_TITLE
from discord_rules import check_all_sent, check_message, embed_chars

from bot.render import MESSAGE_EMBED_CHARS_MAX, post_pages, quote_embed, results_embeds, threads_pages
from embeddings.models import Result

QUESTION = "What did the orchard cooperative say about the grain levy?"


def _payload(embeds) -> dict:
    return {"embeds": [e.to_dict() for e in embeds]}


@pytest.mark.parametrize("quoted", [False, True])
def test_ten_results_with_400_char_thread_id_and_title_fit_one_message(quoted):
    from types import SimpleNamespace

    body = ("word " * 3000).strip()
    later = [SimpleNamespace(author="Q" * 150, posted_at=datetime(2010, 1, n + 1)) for n in range(20)]
    results = [
        Result(
            rank=i + 1,
            score=0.5,
            thread_id="i" * 400,
            thread_title="T " * 200,
            post_id=f"p{i}",
            post_index=i,
            post_count=10,
            author="A" * 300,
            posted_at=datetime(2009, 8, 15, 14, 32),
            passage=body,
            passage_start=0,
            passage_end=len(body),
            highlights=[(10, 400)],
        )
        for i in range(10)
    ]
    if quoted:
        for r in results:
            r.quoted_by = later
    embeds = results_embeds(results)
    check_message(_payload(embeds))  # every per-part limit, and the 6000 total with every part counted
    assert sum(embed_chars(e.to_dict()) for e in embeds) <= MESSAGE_EMBED_CHARS_MAX
    for i, e in enumerate(embeds):
        head, thread, passage = card_lines(e.description)
        assert head.endswith(f" · post {i + 1} of 10")  # who, when and where survive every cut
        assert thread.startswith("-# T T T") and thread.endswith("…")  # the title, cut and marked
        # and some of the passage: here only its highlight fits, so it is not bold (bold throughout says nothing)
        assert passage.startswith("> ") and "word word" in passage and "**" not in passage


def _text(page) -> str:
    """A post page's text: its description below the lines that say who wrote the post, when and where."""
    return card_lines(page.description)[2]


def _end_to_end_checked(d) -> int:
    return check_all_sent(d.transport.sent)


async def test_ask_page_of_five_with_long_thread_id_and_title(make_discord, long_names_service):
    [thread] = long_names_service.threads()
    assert thread.thread_id == LONG_THREAD_ID and len(LONG_THREAD_ID) >= 400 and len(LONG_THREAD_TITLE) >= 400
    d = await make_discord(long_names_service)
    asker = User()
    reply = await d.command("ask", user=asker, question=QUESTION, limit=5)  # a page holds at most five
    if "Show weaker matches" in reply.buttons():  # the relevance floor: every post, weaker ones too
        await d.press(reply.message, "Show weaker matches", asker)
    assert len(reply.embeds) == 5, reply.message["content"]
    assert sum(embed_chars(e) for e in reply.embeds) <= MESSAGE_EMBED_CHARS_MAX
    await d.press(reply.message, "Next", asker)
    await d.press(reply.message, "Next", asker)  # the last page (posts 11-12) too
    assert len(reply.embeds) == LONG_THREAD_POSTS - 10
    assert _end_to_end_checked(d) >= 2


async def test_post_threads_and_thread_filter_with_long_names(make_discord, long_names_service):
    d = await make_discord(long_names_service)
    post = await d.command("post", thread=LONG_THREAD_ID, number=1)
    assert post.embeds and post.ephemeral
    by_title = await d.command("post", thread=LONG_THREAD_TITLE, number=2)
    assert f"· post 2 of {LONG_THREAD_POSTS}\n" in by_title.embeds[0]["description"]
    threads = await d.command("threads")
    assert threads.embeds[0]["description"].startswith("**The orchard cooperative")
    asker = User()
    filtered = await d.command("ask", user=asker, question=QUESTION, thread=LONG_THREAD_ID, limit=5)
    if "Show weaker matches" in filtered.buttons():
        await d.press(filtered.message, "Show weaker matches", asker)
    assert len(filtered.embeds) == 5 and len(filtered.message["content"]) <= 2000
    assert _end_to_end_checked(d) >= 4


def test_threads_pages_stay_under_6000_with_long_titles_and_ids():
    from types import SimpleNamespace

    when = datetime(2010, 1, 1)
    summaries = [
        SimpleNamespace(thread_id="x" * 1200, title="T" * 400, post_count=3, first_posted_at=when, last_posted_at=when)
        for _ in range(30)
    ]
    pages = threads_pages(summaries, per_page=10)
    for p in pages:
        check_message(_payload([p]))
    assert sum(len(p.description.split("\n")) for p in pages) == 30


def test_post_pages_stay_under_6000_with_a_huge_thread_id_and_link():
    from types import SimpleNamespace

    view = SimpleNamespace(
        body="lorem ipsum " * 3000,
        quoted_spans=[],
        thread_id="y" * 3000,
        thread_title="T" * 400,
        post_index=0,
        post_count=1,
        author="A" * 300,
        posted_at=datetime(2010, 1, 1),
        url="https://example.org/" + "p" * 1000,
    )
    pages = post_pages(view)
    for p in pages:
        check_message(_payload([p]))
        thread = card_lines(p.description)[1]
        assert thread.startswith("-# [" + "T" * 100) and thread.endswith(f"…]({view.url})")  # cut title, whole link
    assert " ".join(" ".join(_text(p) for p in pages).split()) == " ".join(view.body.split())


def test_three_quote_candidates_with_long_names_fit_one_message():
    from types import SimpleNamespace

    when = datetime(2010, 1, 1)
    original = SimpleNamespace(
        thread_title="T" * 400, author="A" * 300, thread_id="z" * 400, post_index=0, posted_at=when, start=100, end=400
    )
    later = [
        SimpleNamespace(author="Q" * 120, posted_at=when, thread_id="other", thread_title="O" * 200, post_index=n)
        for n in range(40)
    ]
    trace = SimpleNamespace(original=original, quoted_by=later, context="word " * 1000, context_start=0, score=0.9)
    embeds = [quote_embed(trace, budget=(MESSAGE_EMBED_CHARS_MAX - 100) // 3) for _ in range(3)]
    check_message(_payload(embeds))


# ------------------------------------------------------------------ very long option values: answers, not crashes
async def test_a_very_long_author_filter_still_gets_an_answer(discord_sample):
    reply = await discord_sample.command("ask", question="anything at all", author="@everyone " * 400)
    text = reply.message["content"]
    assert text.startswith("No author is named “@\u200beveryone") and "reference" not in text
    assert len(text) <= 2000 and "@everyone" not in text and reply.ephemeral
    check_all_sent(reply.sent)


async def test_a_very_long_unknown_thread_gets_a_short_hint(discord_sample):
    reply = await discord_sample.command("post", thread="no-such-thread " * 300, number=1)
    text = reply.message["content"]
    assert reply.ephemeral and "/threads" in text and len(text) <= 600
    check_all_sent(reply.sent)


@pytest.mark.parametrize("value", ["0000", "0000-01"])
async def test_an_impossible_year_is_a_user_mistake_not_a_bug(discord_sample, value):
    reply = await discord_sample.command("ask", question="anything at all", after=value)
    text = reply.message["content"]
    assert reply.ephemeral and "YYYY-MM-DD" in text and "reference" not in text


# ------------------------------------------------------------------ a million characters on one line
MILLION = 1_000_000
ONE_LINE_BODIES = {
    "prose": "The assembly debated the grain levy again and again ",
    "markdown": "*_[x](y) @everyone <@1> ",  # every character escaped: the escaped text is twice as long
    "no spaces": "a",
    "addresses": "https://a.example/x_y[1] ",
}


@pytest.mark.parametrize("kind", ONE_LINE_BODIES)
def test_a_million_character_line_pages_in_linear_time(kind, monkeypatch):
    """Each piece of a long line is found by escaping a window of about a piece's size, never the whole rest of
    the line: the characters escaped stay a small multiple of the body (quadratic would be ~500 times it)."""
    from types import SimpleNamespace

    import bot.text

    body = (ONE_LINE_BODIES[kind] * MILLION)[:MILLION]
    escaped = [0]
    real = bot.text.escape

    def counting(text: str, **kwargs) -> str:
        escaped[0] += len(text)
        assert escaped[0] <= 20 * MILLION, "escaping is not linear in the length of the line"
        return real(text, **kwargs)

    monkeypatch.setattr(bot.text, "escape", counting)
    view = SimpleNamespace(
        body=body,
        quoted_spans=[],
        thread_id="t",
        thread_title="A long line",
        post_index=0,
        post_count=1,
        author="A",
        posted_at=datetime(2010, 1, 1),
        url=None,
    )
    pages = post_pages(view)
    for p in pages:
        check_message(_payload([p]))
    assert len(pages) >= MILLION // 4096
    if kind in ("prose", "no spaces"):  # nothing to escape: the pages hold the body, split at spaces
        assert "".join(_text(p).replace("\n", " ") for p in pages).replace(" ", "") == body.replace(" ", "")


async def test_post_renders_its_pages_off_the_event_loop(discord_sample, sample_service, monkeypatch):
    import threading

    import bot.screens

    threads = []
    real = bot.screens.post_pages
    monkeypatch.setattr(
        bot.screens, "post_pages", lambda view: threads.append(threading.current_thread()) or real(view)
    )
    thread = sample_service.threads()[0]
    reply = await discord_sample.command("post", thread=thread.thread_id, number=1)
    assert reply.embeds and threads and threads[0] is not threading.main_thread()
