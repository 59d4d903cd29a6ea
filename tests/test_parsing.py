"""Parsing vBulletin archive text and JSON Lines into threads and posts."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from embeddings.errors import InputError
from embeddings.ingest import ingest
from embeddings.ingest.jsonl import parse_jsonl_file
from embeddings.ingest.vbulletin import parse_file, parse_text

from .conftest import SAMPLE_DIR, SAMPLE_FILE

EXPECTED = [  # (author, posted_at) of the 11 posts of the sample thread, in order
    ("Andrei Kuznetsov", "2009-08-15T14:32"),
    ("Led Zeppelin", "2009-08-15T16:35"),
    ("Andrei Kuznetsov", "2009-08-15T16:45"),
    ("Led Zeppelin", "2009-08-15T16:56"),
    ("Andrei Kuznetsov", "2009-08-16T00:31"),
    ("Revy", "2009-08-16T14:28"),
    ("Ismail", "2009-08-17T11:46"),
    ("Andrei Kuznetsov", "2009-08-17T14:32"),
    ("Led Zeppelin", "2009-08-17T14:41"),
    ("Die Neue Zeit", "2009-08-18T01:50"),
    ("pranabjyoti", "2009-09-26T09:22"),
]


def test_sample_thread_posts_authors_dates():
    thread = parse_file(SAMPLE_FILE)
    assert thread.title == "On Socialist Methods & Stalin-Era Purges"
    assert [(p.author, p.posted_at) for p in thread.posts] == [(a, datetime.fromisoformat(d)) for a, d in EXPECTED]
    assert [p.post_index for p in thread.posts] == list(range(11))
    assert all(p.thread_id == thread.thread_id and p.source == str(SAMPLE_FILE) for p in thread.posts)


def test_sample_thread_first_and_last_body_lines():
    posts = parse_file(SAMPLE_FILE).posts
    lines = SAMPLE_FILE.read_text(encoding="utf-8").split("\n")
    assert (
        posts[0].body.split("\n")[0]
        == "http://mikeely.wordpress.com/2009/07/13/on-socialist-methods-and-the-stalin-era-purges/"
    )
    assert posts[1].body.split("\n")[0].startswith("This is actually a very decent piece.")
    assert posts[10].body.split("\n")[0] == "Comrade Kuznetsov,"
    assert (
        posts[10]
        .body.split("\n")[-1]
        .endswith(
            'Can anybody give me any clue to anything that can prove that trotskytes "self-criticise" themselves.'
        )
    )
    for post in posts:
        # the author line and date line precede the body; the body's last line is followed by
        # a blank line or the next header (never swallowed into the body)
        assert lines[post.line - 1] == post.author
        assert "\n\n" + post.author + "\n" not in post.body
        assert post.body == post.body.strip("\n")
    # blank lines inside a body are kept: the first post has many paragraphs
    assert posts[0].body.count("\n\n") > 10


def test_ids_are_stable_and_unique():
    a, b = parse_file(SAMPLE_FILE), parse_file(SAMPLE_FILE)
    assert a.thread_id == b.thread_id
    assert [p.post_id for p in a.posts] == [p.post_id for p in b.posts]
    assert len({p.post_id for p in a.posts}) == 11


def test_both_date_styles_and_blank_lines_in_body():
    text = (
        "View Full Version : Dates\n\n\nalice\n01-May-2012, 15:54\nfirst paragraph\n\nsecond paragraph\n\n"
        "bob\n2nd June 2012, 09:05\nreply\n"
    )
    thread = parse_text(text, "t.txt")
    assert [(p.author, p.posted_at) for p in thread.posts] == [
        ("alice", datetime(2012, 5, 1, 15, 54)),
        ("bob", datetime(2012, 6, 2, 9, 5)),
    ]
    assert thread.posts[0].body == "first paragraph\n\nsecond paragraph"
    assert thread.posts[1].line == 10


def test_unparseable_date_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("View Full Version : X\n\nalice\n1st May 2012, 10:00\nhi\n\nbob\n31st Febtember 2012, 10:00\nyo\n")
    with pytest.raises(InputError) as err:
        parse_file(bad)
    assert err.value.path == str(bad) and err.value.line == 8
    assert "Febtember" in str(err.value)


def test_file_without_posts_is_an_error(tmp_path):
    empty = tmp_path / "notes.txt"
    empty.write_text("just some notes\nwith no posts\n")
    with pytest.raises(InputError, match="no recognisable post") as err:
        parse_file(empty)
    assert err.value.path == str(empty)


def test_cp1252_fallback_with_warning(tmp_path):
    f = tmp_path / "old.txt"
    f.write_bytes(
        "View Full Version : Caf\xe9\n\nzo\xeb\n1st May 2012, 10:00\nna\xefve \x93quotes\x94\n".encode("latin-1")
    )
    warnings: list[str] = []
    thread = parse_file(f, warnings)
    assert thread.title == "Café" and thread.posts[0].author == "zoë"
    assert thread.posts[0].body == "naïve “quotes”"
    assert len(warnings) == 1 and str(f) in warnings[0] and "cp1252" in warnings[0]


def _jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_jsonl_import_orders_by_date_then_file_order(tmp_path):
    f = _jsonl(
        tmp_path / "posts.jsonl",
        [
            {
                "thread_id": "t1",
                "thread_title": "T",
                "author": "b",
                "posted_at": "2020-01-02T10:00",
                "body": "second",
                "post_id": "p-b",
                "url": "http://x/2",
            },
            {"thread_id": "t1", "thread_title": "T", "author": "a", "posted_at": "2020-01-01T10:00", "body": "first"},
            {"thread_id": "t1", "thread_title": "T", "author": "c", "posted_at": "2020-01-02T10:00", "body": "third"},
        ],
    )
    [thread] = parse_jsonl_file(f)
    assert [p.body for p in thread.posts] == ["first", "second", "third"]
    assert [p.post_index for p in thread.posts] == [0, 1, 2]
    assert thread.posts[1].post_id == "p-b" and thread.posts[1].url == "http://x/2"
    assert thread.posts[0].line == 2


@pytest.mark.parametrize(
    "row, message, line",
    [
        ('{"thread_id": "t", "thread_title": "T", "author": "a", "body": "x"}', "missing field(s): posted_at", 2),
        (
            '{"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": "yesterday", "body": "x"}',
            "not an ISO 8601 date",
            2,
        ),
        ('{"thread_id": "t", ', "bad JSON", 2),
        (
            '{"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": "2020-01-01", "body": "x", "post_id": "p1"}',
            "duplicate of post 'p1' from",
            2,
        ),
        (
            '{"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": "2020-01-01", "body": "y", "post_id": "p1"}',
            "post id 'p1' is already used by",
            2,
        ),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path, row, message, line):
    good = {
        "thread_id": "t",
        "thread_title": "T",
        "author": "a",
        "posted_at": "2020-01-01",
        "body": "x",
        "post_id": "p1",
    }
    f = _jsonl(tmp_path / "bad.jsonl", [good, row])
    with pytest.raises(InputError) as err:
        parse_jsonl_file(f)
    assert message in str(err.value) and err.value.line == line and err.value.path == str(f)


def test_ingest_walks_directories_and_reports_bad_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "sample.txt").write_text(SAMPLE_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "a" / "broken.txt").write_text("nothing here\n")
    _jsonl(
        tmp_path / "a" / "more.jsonl",
        [{"thread_id": "j", "thread_title": "J", "author": "x", "posted_at": "2021-05-05T05:05", "body": "hello"}],
    )
    (tmp_path / "a" / "image.png").write_bytes(b"\x89PNG")
    result = ingest([tmp_path / "a", tmp_path / "missing"])
    assert sorted(t.title for t in result.threads) == ["J", "On Socialist Methods & Stalin-Era Purges"]
    assert result.posts == 12
    (error,) = result.errors
    assert "missing" in str(error) and "no such file" in str(error)
    # a .txt in a folder that is no archive is passed over (tests/test_ingest_passed_over.py)
    assert any("broken.txt" in w and "passed over" in w for w in result.warnings)


def test_same_thread_twice_is_reported_once(tmp_path):
    result = ingest([SAMPLE_DIR, SAMPLE_FILE])
    assert len(result.threads) == 1 and result.errors == []
    assert [w for w in result.warnings if "named twice; read once" in w] == [f"{SAMPLE_FILE}: named twice; read once"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2009-08-16", datetime(2009, 8, 16)),
        ("2009-08-16 14:32", datetime(2009, 8, 16, 14, 32)),
        ("2009-08-16T14:32", datetime(2009, 8, 16, 14, 32)),
        ("2009-08", datetime(2009, 8, 1)),
        ("2009", datetime(2009, 1, 1)),
        ("16th August 2009", datetime(2009, 8, 16)),
        ("16 Aug 2009, 00:31", datetime(2009, 8, 16, 0, 31)),
        ("01-May-2012, 15:54", datetime(2012, 5, 1, 15, 54)),
    ],
)
def test_user_dates_for_filters(text, expected):
    from embeddings.ingest.dates import parse_user_date

    assert parse_user_date(text) == expected


@pytest.mark.parametrize("text", ["last tuesday", "2009-13", "31st February 2009", ""])
def test_unreadable_user_dates_are_usage_errors(text):
    from embeddings.errors import UsageError
    from embeddings.ingest.dates import parse_user_date

    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        parse_user_date(text)


def test_body_lines_that_look_like_headers_stay_in_the_body():
    text = (
        "View Full Version : Meetings\n\nalice\n1st May 2012, 10:00\nWe met on\n5 May 2012, 10:00 sharp.\n"
        "Agenda for\n1st May 2012, 10:00\nfood\n\nbob\n2nd May 2012, 11:00\nok\n"
    )
    thread = parse_text(text, "m.txt")
    assert [p.author for p in thread.posts] == ["alice", "bob"]
    assert thread.posts[0].body == "We met on\n5 May 2012, 10:00 sharp.\nAgenda for\n1st May 2012, 10:00\nfood"


def test_archive_without_blank_lines_between_posts():
    text = "View Full Version : Dense\nalice\n1st May 2012, 10:00\nhello\nbob\n2nd May 2012, 11:00\nhi\n"
    assert [p.author for p in parse_text(text, "d.txt").posts] == ["alice", "bob"]


def test_thread_id_does_not_depend_on_the_file_name():
    text = "alice\n1st May 2012, 10:00\nhello\n\nbob\n2nd May 2012, 11:00\nhi\n"
    a, b = parse_text(text, "/x/a.txt"), parse_text(text, "/y/b.txt")
    assert a.thread_id == b.thread_id and a.posts[0].post_id == b.posts[0].post_id
    assert (a.title, b.title) == ("a", "b")  # the display title falls back to the file name


def _post(tid, author, when, body, **extra):
    return {"thread_id": tid, "thread_title": tid.upper(), "author": author, "posted_at": when, "body": body, **extra}


def test_a_thread_split_over_files_is_one_thread(tmp_path):
    d = tmp_path / "split"
    d.mkdir()
    _jsonl(d / "2020-02.jsonl", [_post("t1", "b", "2020-02-01T10:00", "later")])
    _jsonl(d / "2020-01.jsonl", [_post("t1", "a", "2020-01-01T10:00", "earlier")])
    result = ingest([d])
    assert not result.errors
    [thread] = result.threads
    assert [(p.post_index, p.body) for p in thread.posts] == [(0, "earlier"), (1, "later")]


def test_post_index_orders_an_export_even_against_dates(tmp_path):
    f = _jsonl(
        tmp_path / "export.jsonl",
        [
            _post("t", "bob", "2009-08-14T10:00", "second, though dated earlier", post_index=1, post_id="p2"),
            _post("t", "alice", "2009-08-15T10:00", "first", post_index=0, post_id="p1"),
        ],
    )
    [thread] = parse_jsonl_file(f)
    assert [p.author for p in thread.posts] == ["alice", "bob"]


def test_formats_are_picked_by_content(tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    _jsonl(d / "posts.txt", [_post("t", "a", "2020-01-01", "jsonl content in a .txt file")])
    (d / "archive").write_text(SAMPLE_FILE.read_text(encoding="utf-8"), encoding="utf-8")  # no extension
    (d / "LICENSE").write_text("Permission is hereby granted, free of charge...\n")
    (d / "array.json").write_text('[{"thread_id": "x"}]\n')
    (d / "truth.json").write_text('{\n "posts": []\n}\n')  # a pretty-printed JSON document, not JSON Lines
    _jsonl(d / "lines.json", [_post("u", "b", "2020-01-02", "JSON Lines in a .json file")])
    result = ingest([d])
    assert sorted(t.title for t in result.threads) == ["On Socialist Methods & Stalin-Era Purges", "T", "U"]
    assert result.errors == []  # in a directory, what is not an archive is passed over
    named = ingest([d / "array.json"])  # a file named on purpose is read, and its problem reported
    assert [(e.path.endswith("array.json"), "JSON Lines" in e.message) for e in named.errors] == [(True, True)]


@pytest.mark.parametrize(
    "line, message",
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": 2009, "body": "x"}', "must be a string"),
        (
            '{"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": "2009-01-01", "body": "x", '
            '"post_index": -1}',
            "post_index",
        ),
    ],
)
def test_more_jsonl_errors(tmp_path, line, message):
    f = _jsonl(tmp_path / "bad.jsonl", [line])
    with pytest.raises(InputError, match=message) as err:
        parse_jsonl_file(f)
    assert err.value.line == 1
