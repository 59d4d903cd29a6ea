"""One honest date. A post whose zone is known shows a Discord timestamp of its instant (each reader sees it in
their own zone) with the poster's own clock beside it; a post whose zone is not known (forum text) shows the
archive's clock as written, marked as the forum's, and no timestamp, which would read that clock as UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from discord.utils import format_dt
from discord_rules import check_message
from hypothesis import given, settings
from hypothesis import strategies as st
from markup_rules import message_problems

from bot.render import post_body_blocks, post_pages, quote_embed, quoted_by_line, results_embeds
from bot.text import archive_date, when
from embeddings.models import PostView, QuotedBy, QuotedSpan, QuoteOccurrence, QuoteTrace, Result

WHEN = datetime(2021, 3, 3, 14, 12, 44)  # UTC, as stored: 09:12:44 -0500
STAMP = format_dt(WHEN.replace(tzinfo=UTC), "f")
ALLOWED = frozenset({STAMP})
TIMESTAMP = re.compile(r"<t:-?\d+(?::\w)?>")


def _result(utc_offset, quoted_by=()) -> Result:
    return Result(
        1, 0.9, "t", "Thread", "p1", 0, 3, "Duncan", WHEN, "Some passage here.", 0, 18,
        utc_offset=utc_offset, quoted_by=list(quoted_by),
    )  # fmt: skip


def _everything(embed) -> str:
    d = embed.to_dict()
    return "\n".join([d.get("description", ""), *(f["name"] + "\n" + f["value"] for f in d.get("fields", []))])


def test_a_post_with_a_known_zone_shows_one_timestamp_and_the_posters_local_time():
    [embed] = results_embeds([_result(-300)])
    assert (
        embed.description.split("\n")[0] == f"**Duncan** · {STAMP} (3 Mar 2021, 09:12 -0500 their time) · post 1 of 3"
    )
    assert TIMESTAMP.findall(_everything(embed)) == [STAMP]
    assert when(WHEN, 330) == f"{STAMP} (3 Mar 2021, 19:42 +0530 their time)"


def test_a_post_without_a_known_zone_shows_the_forums_clock_and_no_timestamp():
    [embed] = results_embeds([_result(None)])
    assert embed.description.split("\n")[0] == "**Duncan** · 3 Mar 2021, 14:12 forum time · post 1 of 3"
    assert TIMESTAMP.findall(_everything(embed)) == []
    assert archive_date(WHEN) == "3 Mar 2021, 14:12" and archive_date(WHEN, 0) == "3 Mar 2021, 14:12 +0000"


def test_quoters_quoted_spans_and_traces_show_each_posters_zone_one_way():
    quoters = [QuotedBy("q1", "t", 1, "Jeff", WHEN, -480), QuotedBy("q2", "t", 2, "Ann", WHEN)]
    assert quoted_by_line(quoters) == (
        f"Jeff — {STAMP} (3 Mar 2021, 06:12 -0800 their time)\nAnn — 3 Mar 2021, 14:12 forum time"
    )
    body = "> quoted words\nmy answer"
    span = QuotedSpan(0, 15, "p0", "t", 0, "Krishan", WHEN, source_utc_offset=330)
    view = PostView("p1", "t", "Thread", 1, 2, "Duncan", WHEN, body, "src", quoted_spans=[span], utc_offset=-300)
    label = f"quoting Krishan, {STAMP} (3 Mar 2021, 19:42 +0530 their time) (post 1)"
    assert ("label", label) in post_body_blocks(view)
    [page] = post_pages(view)
    assert page.description.startswith(f"**Duncan** · {STAMP} (3 Mar 2021, 09:12 -0500 their time) · post 2 of 2\n")
    original = QuoteOccurrence("p0", "t", "Thread", 0, "Krishan", WHEN, "quoted words", 2, 14, utc_offset=330)
    later = [QuoteOccurrence("p1", "t", "Thread", 1, "Duncan", WHEN, "quoted words", 2, 14, utc_offset=None)]
    embed = quote_embed(QuoteTrace(0.95, original, body, 0, later))
    assert embed.description.startswith(f"**Krishan** wrote this first · {STAMP} (3 Mar 2021, 19:42 +0530 their time)")
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Quoted later by (1)"] == "3 Mar 2021, 14:12 forum time — Duncan (post 2)"


hostile = st.text(alphabet="*_~`|>#-+@<:[]()\\ \nab", max_size=40)
offsets = st.none() | st.integers(-1439, 1439)


@settings(max_examples=60, deadline=None)
@given(hostile, hostile, offsets, st.lists(st.tuples(hostile, offsets), max_size=4))
def test_any_offset_renders_no_markup_and_a_timestamp_only_for_a_known_zone(author, title, offset, quoters):
    quoted_by = [QuotedBy(f"q{i}", "t", i, a, WHEN, o) for i, (a, o) in enumerate(quoters)]
    result = Result(1, 0.5, "t", title, "p1", 0, 3, author, WHEN, title + " passage", 0, 8, utc_offset=offset,
                    quoted_by=quoted_by)  # fmt: skip
    view = PostView("p1", "t", title, 0, 1, author, WHEN, title, "src", utc_offset=offset)
    original = QuoteOccurrence("p1", "t", title, 0, author, WHEN, "passage", 0, 7, utc_offset=offset)
    later = [QuoteOccurrence(q.post_id, "t", title, q.post_index, q.author, WHEN, "", 0, 0, q.utc_offset)
             for q in quoted_by]  # fmt: skip
    embeds = [*results_embeds([result]), *post_pages(view), quote_embed(QuoteTrace(0.9, original, "passage", 0, later))]
    for embed in embeds:
        payload = {"embeds": [embed.to_dict()]}
        check_message(payload)
        assert message_problems(payload, allowed=ALLOWED) == []
    first_line = embeds[0].description.split("\n")[0]
    assert (STAMP in first_line) == (offset is not None)
    assert ("forum time" in first_line) == (offset is None)


async def test_a_forum_source_given_a_zone_shows_its_posts_as_instants(make_discord, rebuild_service):
    import asyncio
    from dataclasses import replace

    from embeddings.service import SearchService

    [source] = rebuild_service.settings.sources
    settings = replace(rebuild_service.settings, source_timezones=((source, "Europe/London"),))
    zoned = SearchService(settings, rebuild_service.embedder)
    try:
        await asyncio.to_thread(zoned.rebuild)
        d = await make_discord(zoned)
        question = "Were the purges aimed at real counter-revolutionary networks?"
        reply = await d.command("ask", question=question, limit=1)
        [r] = zoned.search(question, 1)
        assert r.utc_offset == 60  # August in London
        stamp = format_dt(r.posted_at.replace(tzinfo=UTC), "f")
        local = archive_date(r.posted_at, 60)
        assert reply.embeds[0]["description"].split("\n")[0] == (
            f"**{r.author}** · {stamp} ({local} their time) · post {r.post_index + 1} of {r.post_count}"
        )
        assert "forum time" not in reply.text
    finally:
        zoned.close()
