"""Nothing archived or typed renders as markup: one escaping pass over the final text, cuts within budget.

The checker (markup_rules.py) is Discord's rules written independently; it is tested first on what it must catch.
Then every renderer is fed random strings full of markup (hypothesis), and the bot end to end with hostile titles.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from bot_harness import User
from card_lines import shown_title, unescaped
from conftest import LONG_THREAD_TITLE, SPECIAL_THREAD
from discord.utils import escape_markdown, escape_mentions, format_dt
from discord_rules import check_all_sent, check_message
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markup_rules import live_markup, message_problems

from bot.errors import rebuild_running_message, user_message
from bot.hints import (
    bad_date,
    filters_line,
    no_results,
    no_thread_titled,
    post_out_of_range,
    quote_header,
    quote_not_found,
    unknown_author,
    unknown_thread,
)
from bot.render import (
    post_pages,
    quote_embed,
    report_embed,
    results_embeds,
    results_header,
    share_card,
    stats_details_embed,
    stats_embed,
    thread_pages,
    threads_pages,
)
from bot.text import ELLIPSIS, as_utc, escape, markup, plain, render_passage
from embeddings import NotFoundError
from embeddings.models import (
    BuildReport,
    PostView,
    QuotedBy,
    QuotedSpan,
    QuoteOccurrence,
    QuoteTrace,
    Result,
    Stats,
    ThreadSummary,
)

PHISH = "[Read the statement. Click here](https://evil.example/login)"
WHEN = datetime(2009, 8, 15, 14, 32)
REBUILD_STARTED = 1_700_000_000
# the bot's own timestamps: archive dates, and when a running rebuild started
OWN_TIMESTAMPS = frozenset(format_dt(as_utc(WHEN), style) for style in "fdR") | {f"<t:{REBUILD_STARTED}:R>"}


# ------------------------------------------------------------------ the checker catches what it must
@pytest.mark.parametrize(
    "text",
    [
        "[Read the statement. **Click here](https://evil.example/login)**",  # the old output for PHISH
        "see <#123456> and </ask:987> at <t:1700000000:R>",
        "<@123> <@!123> <@&456> @everyone @here <:pepe:789> <a:pepe:789> <id:customize>",
        "# heading",
        "text\n## heading",
        "> # heading in a quote",
        "-# subtext",
        "- item",
        "1. item",
        "> a quote",
        "[a](b)",  # any target, any text
        "https://example.org/[a](https://b)",  # inside an address too: Discord may end the address at the "["
        "https://[Click](https://evil.example/login)",
        "steam://[x](https://evil.example)",
        "[Click\nhere](https://evil.example)",
    ],
)
def test_the_checker_finds_live_markup(text):
    assert live_markup(text)


@pytest.mark.parametrize(
    "text",
    [
        r"\[Read the statement. Click here\](https://evil.example/login)",
        "<\u200b#123456> <\u200b@&456> @\u200beveryone",
        r"\# heading",
        "`<@123>` inside code",
        r"https://example.org/\[a\](https://b)",
        "http://x.example/@everyone",  # a mention inside an address is part of the address
        r"1\. item",
        "*↳ quoting someone*",
    ],
)
def test_the_checker_passes_inert_text(text):
    assert live_markup(text) == []


def test_discord_py_escaping_segment_by_segment_is_what_the_checker_catches():
    start = PHISH.index("Click")
    old = (
        escape_mentions(escape_markdown(PHISH[:start])) + "**" + escape_mentions(escape_markdown(PHISH[start:])) + "**"
    )
    assert live_markup(old)


# ------------------------------------------------------------------ the cases of the issue
def test_a_highlight_inside_a_masked_link_does_not_make_it_live():
    start = PHISH.index("Click")
    out = markup(PHISH, [(start, len(PHISH))])
    assert live_markup(out) == [] and "**Click here" in out
    quoted, _ = render_passage(PHISH, [(start, len(PHISH))], 500)
    assert live_markup(quoted, quotes_allowed=True) == []


@pytest.mark.parametrize(
    "archived", ["<#123456789012345678>", "</ask:123456789012345678>", "<t:1700000000:R>", "<@&234567890123456789>"]
)
def test_channel_command_and_timestamp_markup_stays_text(archived):
    text = f"See {archived} for details."
    out, _ = render_passage(text, [(0, len(text))], 500)
    assert live_markup(out, quotes_allowed=True) == []
    assert out.replace("\u200b", "").replace("**", "").endswith(f"See {archived} for details.")


def test_long_text_is_cut_not_collapsed():
    assert plain(LONG_THREAD_TITLE, 98) != ELLIPSIS
    out = plain(LONG_THREAD_TITLE, 98)
    assert len(out) <= 98 and out.endswith(ELLIPSIS) and LONG_THREAD_TITLE.startswith(out[:-1])
    stars = plain("*" * 400, 98)  # escaping doubles every character
    assert len(stars) <= 98 and stars.count("\\*") >= 40


@given(st.text(min_size=1).filter(lambda t: not t[0].isspace()), st.integers(3, 400))
@settings(max_examples=200, deadline=None)
def test_plain_keeps_its_budget_and_never_collapses(text, limit):
    out = plain(text, limit)
    assert len(out) <= limit
    assert out != ELLIPSIS or text.rstrip() == ELLIPSIS  # something of the text is always shown


# ------------------------------------------------------------------ every renderer, random markup
FRAGMENTS = [
    PHISH, "[", "]", "(", ")", "](https://evil.example/x)", "https://evil.example/a_b*c", "@everyone", "@here",
    "<@123456789012345678>", "<@!1>", "<@&2>", "<#3>", "</ask:4>", "</a b:5>", "<t:1700000000:R>", "<:e:6>",
    "<a:e:7>", "<id:browse>", "<", ">", "@", "# ", "## ", "-# ", "- ", "* ", "+ ", "1. ", "2) ", "> ", ">>> ",
    "\n", "\n\n", "*", "**", "_", "__", "~~", "||", "`", "```", "\\", " ", "  ", "word", "Click here", ".", ":",
    "t:", "\u200b", "\ue000", "\ue001", "\t", "\r", "\r\n", "\u2028", "\x85", "https://", "steam://", "http://",
    "https://a.example", "x.example", "localhost", ":8080", "/path", "?q=", "#frag", "https://a.example/p_a*t~h",
]  # fmt: skip
hostile = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=30).map("".join)
spans = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), max_size=3)
RENDER = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(hostile)
@example("https://[Click](https://evil.example/login)")
@example("steam://[x](https://evil.example)")
@example("https://a.example/\\[x](https://evil.example)")
@settings(max_examples=300, deadline=None)
def test_escaped_text_is_inert(text):
    assert live_markup(escape(text)) == []


def _clean(payload: dict) -> None:
    check_message(payload)
    problems = message_problems(payload, allowed=OWN_TIMESTAMPS)
    assert problems == [], problems


def _embeds(*embeds) -> dict:
    return {"embeds": [e.to_dict() for e in embeds]}


@given(hostile, hostile, hostile, spans, st.lists(hostile, max_size=3), st.integers(1, 10))
@RENDER
def test_ask_results(title, author, passage, highlights, quoters, count):
    quoted_by = [QuotedBy(f"q{i}", "t", i, a, WHEN) for i, a in enumerate(quoters)]
    results = [
        Result(
            i + 1,
            0.5,
            "t" + title[:50],
            title,
            f"p{i}",
            i,
            12,
            author,
            WHEN,
            passage,
            0,
            len(passage),
            highlights=highlights,
            quoted_by=quoted_by,
        )  # fmt: skip
        for i in range(count)
    ]
    _clean(_embeds(*results_embeds(results)))


@given(hostile, hostile, hostile, hostile)
@RENDER
def test_ask_headers_and_hints(question, author, title, value):
    filters = filters_line(author, title, WHEN, None)
    suggested = [ThreadSummary("t", title, "src", 3, WHEN, WHEN)]
    for content in (
        results_header(question, 0, 3, filters, total=12, page=1, pages=4),
        results_header(question, 0, 2, filters, total=12, page=1, pages=1, good=2),
        no_results(question, filters),
        bad_date(value),
        post_out_of_range(title, 12),
        quote_not_found(question),
        quote_header(question),
        unknown_author(value, [author, title]),
        unknown_thread(value, suggested),
        no_thread_titled(value, suggested),
        user_message(NotFoundError(f"no thread {value!r}: `threadbot threads` or /threads lists them")),
        rebuild_running_message(author, REBUILD_STARTED),
    ):
        assert content and len(content) <= 2000
        assert live_markup(content, allowed=OWN_TIMESTAMPS) == [], content


@given(hostile, hostile, hostile, hostile, st.one_of(st.none(), hostile), st.lists(spans, max_size=1))
@RENDER
def test_post_pages(body, title, author, thread_id, url, quoted):
    spans_ = [QuotedSpan(min(s, e), max(s, e), "p0", "t", 0, author, WHEN) for s, e in (quoted[0] if quoted else [])]
    view = PostView("p1", thread_id or "t", title, 1, 2, author, WHEN, body, "src", url=url, quoted_spans=spans_)
    for page in post_pages(view):
        _clean(_embeds(page))


@given(st.lists(st.tuples(hostile, hostile), min_size=1, max_size=12), st.one_of(st.none(), hostile))
@RENDER
def test_threads_pages(threads, matching):
    summaries = [ThreadSummary(tid or "t", title, "src", 3, WHEN, WHEN) for title, tid in threads]
    for page in threads_pages(summaries * 2, matching=matching):  # titles repeated: told apart by their start
        _clean(_embeds(page))


@given(hostile, st.lists(st.tuples(hostile, hostile), min_size=1, max_size=12))
@RENDER
def test_a_threads_posts(title, posts):
    views = [PostView(f"p{i}", "t", title, i, len(posts), a, WHEN, b, "src") for i, (a, b) in enumerate(posts)]
    for page in thread_pages(title, views):
        _clean(_embeds(page))


@given(hostile, st.lists(hostile, max_size=4), hostile, st.lists(hostile, max_size=12))
@RENDER
def test_stats_and_reindex_report(model, sources, who, errors):
    stats = Stats(1, 2, 3, 4, 5, model, 384, WHEN.isoformat(), "b1", "/srv/index", 2048, sources=sources)
    _clean(_embeds(stats_embed(stats, (WHEN, WHEN), (who, REBUILD_STARTED)), stats_details_embed(stats, ["/srv/a"])))
    _clean(_embeds(report_embed(BuildReport("b1", 1, 2, 3, 4, 5, 6, 1.0, errors=errors))))


@given(hostile, hostile, hostile, st.lists(st.tuples(hostile, hostile), max_size=5), st.lists(hostile, max_size=3))
@RENDER
def test_quote_answer(context, title, author, quoters, similar):
    start, end = len(context) // 4, len(context) // 2
    original = QuoteOccurrence("p0", "t0", title, 0, author, WHEN, context[start:end], start, end)
    later = [QuoteOccurrence(f"p{i}", f"t{i}", t, i, a, WHEN, "", 0, 0) for i, (a, t) in enumerate(quoters, 1)]
    trace = QuoteTrace(0.9, original, context, 0, later)
    others = [
        QuoteTrace(0.85, QuoteOccurrence(f"s{i}", "t9", a, 2, a, WHEN, "", 0, 0), a, 0) for i, a in enumerate(similar)
    ]
    _clean(_embeds(quote_embed(trace, similar=others)))
    post = PostView("p0", "t0", title, 0, 1, author, WHEN, context, "src", url="https://a.example/p")
    _clean(_embeds(quote_embed(trace, post=post, similar=others)))


@given(hostile, hostile, hostile, spans)
@RENDER
def test_a_shared_card_pings_nobody_but_names_the_member(title, author, passage, highlights):
    result = Result(1, 0.5, "t", title, "p0", 0, 12, author, WHEN, passage, 0, len(passage), highlights=highlights)
    content, card = share_card(result, 123456789012345678)
    assert content == "Shared by <@123456789012345678>"
    payload = {"content": content, "embeds": [card.to_dict()]}
    check_message(payload)
    assert message_problems(payload, allowed=OWN_TIMESTAMPS | {"<@123456789012345678>"}) == []


# ------------------------------------------------------------------ end to end, hostile archive and members
async def test_post_hints_echo_titles_and_typed_text_escaped(make_discord, special_service):
    d = await make_discord(special_service)
    too_far = await d.command("post", thread=SPECIAL_THREAD, number=99)
    text = too_far.message["content"]
    assert too_far.ephemeral and "has 2 posts" in text and "@\u200beveryone" in text and r"\*\*minutes\*\*" in text
    unknown = await d.command("post", thread="@everyone <@&234567890123456789> [x](https://evil.example)", number=1)
    text = unknown.message["content"]
    assert unknown.ephemeral and "/threads" in text and live_markup(text) == [], text
    check_all_sent(d.transport.sent)


async def test_a_long_question_is_echoed_cut_not_as_a_bare_ellipsis(discord_sample):
    question = "orchard " * 120
    reply = await discord_sample.command("ask", question=question.strip(), after="2100-01-01")
    text = reply.message["content"]
    assert text.startswith("No posts match “orchard orchard") and "…”" in text and len(text) < 500


async def test_an_ask_page_of_five_shows_the_long_title_in_every_embed(make_discord, long_names_service):
    d = await make_discord(long_names_service)
    asker = User()
    reply = await d.command("ask", user=asker, question="the orchard cooperative and the grain levy", limit=5)
    if "Show weaker matches" in reply.buttons():  # the relevance floor: every post, weaker ones too
        await d.press(reply.message, "Show weaker matches", asker)
    titles = [unescaped(shown_title(e["description"])[0]) for e in reply.embeds]  # the line under the byline
    assert len(titles) == 5
    for title in titles:
        assert title != ELLIPSIS and 40 <= len(title) <= 150 and title.endswith(ELLIPSIS)
        assert LONG_THREAD_TITLE.startswith(title[:-1].rstrip())
