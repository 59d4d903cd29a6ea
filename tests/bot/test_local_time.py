"""The bot's dates: the Discord timestamp of the UTC instant as always, and for a post whose zone is known the
poster's local time with its offset; posts without a known zone keep "archive: <date>"."""

from __future__ import annotations

from datetime import UTC, datetime

from discord.utils import format_dt
from discord_rules import check_message
from hypothesis import given, settings
from hypothesis import strategies as st
from markup_rules import message_problems

from bot.render import post_body_blocks, post_pages, quote_embed, quoted_by_line, results_embeds
from bot.text import archive_date, date_line
from embeddings.models import PostView, QuotedBy, QuotedSpan, QuoteOccurrence, QuoteTrace, Result

WHEN = datetime(2021, 3, 3, 14, 12, 44)  # UTC, as stored: 09:12:44 -0500
STAMPS = {style: format_dt(WHEN.replace(tzinfo=UTC), style) for style in "fd"}
ALLOWED = frozenset(STAMPS.values())


def _result(utc_offset, quoted_by=()) -> Result:
    return Result(
        1, 0.9, "t", "Thread", "p1", 0, 3, "Duncan", WHEN, "Some passage here.", 0, 18,
        utc_offset=utc_offset, quoted_by=list(quoted_by),
    )  # fmt: skip


def _posted(embed) -> str:
    return next(f.value for f in embed.fields if f.name == "Posted")


def test_a_post_with_a_known_zone_shows_the_timestamp_and_the_posters_local_time():
    [embed] = results_embeds([_result(-300)])
    assert _posted(embed) == f"{STAMPS['f']} · 3 Mar 2021, 09:12 -0500 local"
    assert date_line(WHEN, "d", 330) == f"{STAMPS['d']} · 3 Mar 2021, 19:42 +0530 local"


def test_a_post_without_a_known_zone_is_shown_as_the_archive_gives_it():
    [embed] = results_embeds([_result(None)])
    assert _posted(embed) == f"{STAMPS['f']} · archive: 3 Mar 2021, 14:12"
    assert archive_date(WHEN) == "3 Mar 2021, 14:12" and archive_date(WHEN, 0) == "3 Mar 2021, 14:12 +0000"


def test_quoters_quoted_spans_and_traces_show_each_posters_zone():
    quoters = [QuotedBy("q1", "t", 1, "Jeff", WHEN, -480), QuotedBy("q2", "t", 2, "Ann", WHEN)]
    assert quoted_by_line(quoters) == "Jeff (3 Mar 2021, 06:12 -0800), Ann (3 Mar 2021, 14:12)"
    body = "> quoted words\nmy answer"
    span = QuotedSpan(0, 15, "p0", "t", 0, "Krishan", WHEN, source_utc_offset=330)
    view = PostView("p1", "t", "Thread", 1, 2, "Duncan", WHEN, body, "src", quoted_spans=[span], utc_offset=-300)
    assert ("label", "quoting Krishan, 3 Mar 2021, 19:42 +0530 (post 1)") in post_body_blocks(view)
    [page] = post_pages(view)
    assert _posted(page) == f"{STAMPS['f']} · 3 Mar 2021, 09:12 -0500 local"
    original = QuoteOccurrence("p0", "t", "Thread", 0, "Krishan", WHEN, "quoted words", 2, 14, utc_offset=330)
    later = [QuoteOccurrence("p1", "t", "Thread", 1, "Duncan", WHEN, "quoted words", 2, 14, utc_offset=-300)]
    embed = quote_embed(QuoteTrace(0.95, original, body, 0, later))
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Original"] == f"{STAMPS['f']} · 3 Mar 2021, 19:42 +0530 local · post 1"
    assert fields["Quoted later by (1)"] == f"Duncan — {STAMPS['d']} · 3 Mar 2021, 09:12 -0500 local (post 2)"


hostile = st.text(alphabet="*_~`|>#-+@<:[]()\\ \nab", max_size=40)
offsets = st.none() | st.integers(-1439, 1439)


@settings(max_examples=60, deadline=None)
@given(hostile, hostile, offsets, st.lists(st.tuples(hostile, offsets), max_size=4))
def test_any_offset_renders_no_markup_and_keeps_the_timestamp(author, title, offset, quoters):
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
    shown = _posted(embeds[0])
    assert shown.startswith(STAMPS["f"] + " · ")
    assert shown.endswith(" local") == (offset is not None)
