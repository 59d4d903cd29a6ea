"""The poster's zone: read from a mail's Date header or a JSON Lines date, kept beside the UTC instant, and turned
back into the poster's own clock by `local_time`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.errors import InputError
from embeddings.ingest import ingest
from embeddings.ingest.jsonl import parse_jsonl_text, read_rows
from embeddings.models import local_time

from .test_ingest_mail import NEWS, PIPERMAIL, message, posts, write

MAX_OFFSET = 24 * 60 - 1  # a zone is less than a day from UTC


# --- local_time ---------------------------------------------------------------------------------------------------
def test_local_time_is_the_same_instant_on_the_posters_clock():
    shown = local_time(datetime(2021, 3, 3, 14, 12, 44), -300)
    assert shown == datetime(2021, 3, 3, 14, 12, 44, tzinfo=UTC)
    assert shown.strftime("%Y-%m-%d %H:%M %z") == "2021-03-03 09:12 -0500"
    assert local_time(datetime(2019, 3, 3, 21, 11), 330).strftime("%d %b %H:%M %z") == "04 Mar 02:41 +0530"


@pytest.mark.parametrize(
    ("posted_at", "offset"),
    [
        (datetime(2021, 3, 3, 14, 12), None),  # no zone known
        (datetime(2021, 3, 3, 14, 12), 1440),  # a day: no zone
        (datetime(9999, 12, 31, 23, 30), 60),  # the poster's clock would be in year 10000
        (datetime(1, 1, 1, 0, 10), -60),
    ],
)
def test_local_time_is_utc_when_the_zone_is_unknown_or_impossible(posted_at, offset):
    shown = local_time(posted_at, offset)
    assert shown.utcoffset() == timedelta(0) and shown.replace(tzinfo=None) == posted_at


@given(st.datetimes(), st.integers(-MAX_OFFSET, MAX_OFFSET))
def test_local_time_keeps_the_instant_and_takes_the_offset_when_the_calendar_allows(posted_at, offset):
    shown = local_time(posted_at, offset)
    assert shown == posted_at.replace(tzinfo=UTC)
    try:
        local = posted_at + timedelta(minutes=offset)
    except OverflowError:  # the poster's clock would be outside the calendar: UTC
        assert shown.utcoffset() == timedelta(0)
    else:
        assert shown.utcoffset() == timedelta(minutes=offset) and shown.replace(tzinfo=None) == local


# --- mail and news ------------------------------------------------------------------------------------------------
def test_the_real_archives_keep_each_posters_zone():
    mail = [(p.author, p.posted_at, p.utc_offset) for p in posts(ingest([PIPERMAIL]))]
    assert mail == [
        ("Krishan Gupta", datetime(2019, 3, 3, 21, 11, 45), 330),  # Mon, 4 Mar 2019 02:41:45 +0530
        ("Duncan Murdoch", datetime(2019, 3, 3, 21, 39, 55), -300),
        ("Jeff Newmiller", datetime(2019, 3, 3, 21, 57, 18), -480),
    ]
    news = posts(ingest([NEWS]))
    assert [p.utc_offset for p in news] == [0, 0, -240]  # "GMT" twice, then "-0400"


@pytest.mark.parametrize(
    ("date", "offset"),
    [
        ("Thu, 15 Apr 1993 09:49:09 +0200", 120),
        ("Thu, 15 Apr 1993 09:49:09 CET", 60),  # zone names of `mail.ZONES`
        ("Thu, 15 Apr 1993 09:49:09 MET DST", 120),
        ("15 Apr 93 09:49:09 EDT", -240),  # one the email package knows
        ("Thu, 15 Apr 1993 09:49:09 GMT", 0),
        ("Thu, 15 Apr 1993 09:49:09 +0000", 0),
        ("Thu, 15 Apr 1993 09:49:09 -0000", None),  # RFC 5322: UTC, the local zone not known
        ("Thu, 15 Apr 1993 09:49:09 -0000 (GMT)", None),
    ],
)
def test_the_date_headers_zone_is_the_posts_offset(tmp_path, date, offset):
    [post] = posts(ingest([write(tmp_path / "a.eml", message("a@x", date=date, envelope=None))]))
    assert post.utc_offset == offset


@pytest.mark.parametrize(
    ("date", "extra"),
    [
        ("Tue, 1 Jan 2019 16:09:38 +9999", ""),  # the envelope line's date: its machine's clock
        (None, "Received: from a by b; Wed, 2 Jan 2019 09:00:00 +0100"),  # a server's clock
        ("Thu, 1 Apr 1993 10:00:00 XYZ", "NNTP-Posting-Date: Thu, 1 Apr 1993 08:30:00 GMT"),
        ("15 Apr 93 18:30:59", ""),  # no zone at all, taken as UTC
    ],
)
def test_a_date_from_a_fallback_or_without_a_zone_has_no_offset(tmp_path, date, extra):
    envelope = "From alice@example.org  Tue Jan  1 11:39:38 2019" if "+9999" in (date or "") else None
    result = ingest([write(tmp_path / "a.eml", message("a@x", date=date, envelope=envelope, extra=extra))])
    [post] = posts(result)
    assert post.utc_offset is None and result.warnings  # the fallback is reported as before


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)),
    st.sampled_from("+-"),
    st.integers(0, 23),
    st.integers(0, 59),
)
def test_any_numeric_zone_is_read_as_written(tmp_path_factory, local, sign, hours, minutes):
    local = local.replace(microsecond=0)
    zone = f"{sign}{hours:02d}{minutes:02d}"
    date = local.strftime("%a, %d %b %Y %H:%M:%S ") + zone
    path = write(tmp_path_factory.mktemp("zone") / "a.eml", message("a@x", date=date, envelope=None))
    [post] = posts(ingest([path]))
    offset = (-1 if sign == "-" else 1) * (hours * 60 + minutes)
    assert post.posted_at == local - timedelta(minutes=offset)
    assert post.utc_offset == (None if zone == "-0000" else offset)
    if post.utc_offset is not None:
        assert local_time(post.posted_at, post.utc_offset).replace(tzinfo=None) == local


# --- JSON Lines ---------------------------------------------------------------------------------------------------
def _line(**fields) -> str:
    row = {"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": "2021-03-03T09:12:44", "body": "b"}
    return json.dumps({**row, **fields})


def _post(**fields):
    [thread] = parse_jsonl_text(_line(**fields), "x.jsonl")
    return thread.posts[0]


@pytest.mark.parametrize(
    ("fields", "utc", "offset"),
    [
        ({"posted_at": "2021-03-03T09:12:44-05:00"}, datetime(2021, 3, 3, 14, 12, 44), -300),
        ({"posted_at": "2021-03-03T09:12:44+05:30"}, datetime(2021, 3, 3, 3, 42, 44), 330),
        ({"posted_at": "2021-03-03T14:12:44Z"}, datetime(2021, 3, 3, 14, 12, 44), 0),
        ({"posted_at": "2021-03-03T09:12:44"}, datetime(2021, 3, 3, 9, 12, 44), None),  # naive: UTC, zone unknown
        ({"posted_at": "2021-03-03T09:12:44+05:30:15"}, datetime(2021, 3, 3, 3, 42, 29), None),  # not whole minutes
        ({"posted_at": "2021-03-03T14:12:44", "utc_offset": -300}, datetime(2021, 3, 3, 14, 12, 44), -300),  # export
        ({"posted_at": "2021-03-03T14:12:44Z", "utc_offset": 60}, datetime(2021, 3, 3, 14, 12, 44), 60),
        ({"posted_at": "2021-03-03T09:12:44-05:00", "utc_offset": None}, datetime(2021, 3, 3, 14, 12, 44), -300),
    ],
)
def test_a_json_line_gives_the_instant_in_utc_and_the_posters_offset(fields, utc, offset):
    post = _post(**fields)
    assert (post.posted_at, post.utc_offset) == (utc, offset)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"utc_offset": True}, "utc_offset must be whole minutes east of UTC, from -1439 to 1439"),
        ({"utc_offset": -300.0}, "utc_offset must be whole minutes east of UTC"),
        ({"utc_offset": "-0500"}, "utc_offset must be whole minutes east of UTC"),
        ({"utc_offset": 1440}, "utc_offset must be whole minutes east of UTC"),
        ({"utc_offset": -1440}, "utc_offset must be whole minutes east of UTC"),
        ({"posted_at": "9999-12-31T23:30:00", "utc_offset": 60}, "utc_offset 60 puts posted_at outside the calendar"),
        ({"excluded": "0-1"}, "excluded must be a list of [start, end] pairs of integers"),
        ({"excluded": [[0]]}, "excluded must be a list of [start, end] pairs of integers"),
        ({"excluded": [0, 1]}, "excluded must be a list of [start, end] pairs of integers"),
        ({"excluded": [[0, 1, 2]]}, "excluded must be a list of [start, end] pairs of integers"),
        ({"excluded": [[False, 1]]}, "excluded must be a list of [start, end] pairs of integers"),
        ({"excluded": [[0, 1.0]]}, "excluded must be a list of [start, end] pairs of integers"),
        ({"excluded": [[-1, 1]]}, "excluded span [-1, 1] is not within the body (0 to 5 characters)"),
        ({"excluded": [[0, 6]]}, "excluded span [0, 6] is not within the body (0 to 5 characters)"),
        ({"excluded": [[3, 2]]}, "excluded span [3, 2] is not within the body"),
    ],
)
def test_a_bad_offset_or_excluded_costs_only_its_line(fields, problem):
    text = "\n".join([_line(body="hello", **fields), _line(body="fine", post_id="ok")])
    errors: list[InputError] = []
    rows = read_rows(text, "x.jsonl", errors)
    assert [r.post_id for r in rows] == ["ok"]
    assert [(e.line, problem in e.message) for e in errors] == [(1, True)], errors[0].message


def test_excluded_spans_are_sorted_merged_and_follow_the_bodys_line_ends():
    body = "one two three four five six"
    post = _post(body=body, excluded=[[14, 18], [0, 3], [2, 7], [7, 8], [20, 20]])
    assert post.excluded == ((0, 8), (14, 18))  # overlapping and touching spans merged, the empty one dropped
    post = _post(body="ab\r\ncd\r\nef", excluded=[[4, 6], [8, 10]])
    assert post.body == "ab\ncd\nef" and [post.body[s:e] for s, e in post.excluded] == ["cd", "ef"]


spans_json = st.lists(st.lists(st.integers(-3, 40) | st.booleans() | st.floats(0, 5) | st.none(), max_size=3))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), spans_json | st.integers() | st.text(max_size=3) | st.none(), st.integers() | st.none())
def test_any_excluded_or_offset_is_read_valid_or_reported(body, excluded, offset):
    errors: list[InputError] = []
    rows = read_rows(_line(body=body, excluded=excluded, utc_offset=offset), "x.jsonl", errors)
    assert len(rows) + len(errors) == 1
    if rows:
        [row] = rows
        assert row.utc_offset == offset and (offset is None or -1440 < offset < 1440)
        ends = [0, *[x for span in row.excluded for x in span], len(row.body)]
        assert all(s < e for s, e in row.excluded) and ends == sorted(ends)
        assert all(end < start for end, start in zip(ends[2:-1:2], ends[3:-1:2]))  # touching spans are merged
    else:
        assert errors[0].line == 1 and ("utc_offset" in errors[0].message or "excluded" in errors[0].message)


@given(st.text(alphabet="ab \n", max_size=30), st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30))))
def test_valid_excluded_spans_keep_exactly_the_characters_they_cover(body, pairs):
    pairs = [[min(s, e, len(body)), min(max(s, e), len(body))] for s, e in pairs]
    post = _post(body=body, excluded=pairs)
    covered = {i for s, e in pairs for i in range(s, e)}
    assert {i for s, e in post.excluded for i in range(s, e)} == covered
    assert tuple(sorted(post.excluded)) == post.excluded


def test_an_offset_read_from_json_is_the_same_local_time_again():
    post = _post(posted_at="2021-03-03T09:12:44-05:00")
    assert local_time(post.posted_at, post.utc_offset) == datetime(
        2021, 3, 3, 9, 12, 44, tzinfo=timezone(timedelta(hours=-5))
    )
    assert local_time(post.posted_at, post.utc_offset).utcoffset() == timedelta(hours=-5)
