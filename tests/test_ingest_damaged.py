"""Damaged and hostile input: a bad record is skipped and reported as `file:line: problem`, never more than that
record, and never a traceback; duplicates are resolved one record at a time."""

from __future__ import annotations

import inspect
import json
import shutil
from datetime import datetime

import pytest

from embeddings.errors import InputError, UsageError
from embeddings.ingest import ingest
from embeddings.ingest.dates import parse_iso, parse_user_date

from .conftest import SAMPLE_FILE


def _post(tid="t", author="a", when="2020-01-01T10:00", body="x", **extra):
    return {"thread_id": tid, "thread_title": tid.upper(), "author": author, "posted_at": when, "body": body, **extra}


def _jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _export(result) -> list[dict]:
    """What `threadbot export` writes for these threads (embeddings.service.SearchService.export)."""
    return [
        {
            "thread_id": p.thread_id,
            "thread_title": t.title,
            "post_id": p.post_id,
            "post_index": p.post_index,
            "author": p.author,
            "posted_at": p.posted_at.isoformat(),
            "body": p.body,
            "source": p.source,
        }
        for t in result.threads
        for p in t.posts
    ]


def _posts(result) -> list[tuple[str, str, str]]:
    return [(p.post_id, p.author, p.body) for t in result.threads for p in t.posts]


def _where(result) -> list[tuple[str, int | None]]:
    return [(e.path.rsplit("/", 1)[-1], e.line) for e in result.errors]


# --- 1. one bad JSON line costs that line only ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        (json.dumps(_post(when="yesterday", body="bad")), "not an ISO 8601 date"),
        (json.dumps({k: v for k, v in _post(body="bad").items() if k != "author"}), "missing field(s): author"),
        ('{"thread_id": "t", "body": ', "bad JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps(_post(author="   ", body="bad")), "missing field(s): author"),
        (json.dumps(_post(post_id={"a": 1}, body="bad")), "field 'post_id' must be a string"),
    ],
)
@pytest.mark.parametrize("position", [0, 1, 2])  # first, middle, last line
def test_a_bad_jsonl_line_skips_that_line_only(tmp_path, bad, message, position):
    lines = [json.dumps(_post(author="alice", body="one")), json.dumps(_post(author="bob", body="two"))]
    lines.insert(position, bad)
    f = _jsonl(tmp_path / "posts.jsonl", lines)
    result = ingest([f])
    assert [b for _, _, b in _posts(result)] == ["one", "two"]
    assert [(e.path, e.line) for e in result.errors] == [(str(f), position + 1)]
    assert message in result.errors[0].message and str(result.errors[0]).startswith(f"{f}:{position + 1}: ")


# --- 2. duplicates, resolved one record at a time -------------------------------------------------------------------


def test_an_export_beside_its_jsonl_source_changes_nothing(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _jsonl(src / "posts.jsonl", [_post(author="alice", body="one"), _post(author="bob", body="two")])
    _jsonl(src / "other.jsonl", [_post(tid="u", body="another thread")])
    before = ingest([src])
    assert not before.errors
    _jsonl(src / "export-t.jsonl", [row for row in _export(before) if row["thread_id"] == "t"])
    after = ingest([src])
    assert sorted(_posts(after)) == sorted(_posts(before))  # nothing lost, nothing doubled
    assert sorted(t.thread_id for t in after.threads) == ["t", "u"]
    # export-t.jsonl is read first: the original's two lines are the duplicates
    assert _where(after) == [("posts.jsonl", 1), ("posts.jsonl", 2)]
    assert all("duplicate of post" in e.message and "export-t.jsonl:" in e.message for e in after.errors)


def test_an_export_beside_its_vbulletin_source_changes_nothing(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(SAMPLE_FILE, src / "thread.txt")
    _jsonl(src / "more.jsonl", [_post(tid="j", body="json lines thread")])
    before = ingest([src])
    _jsonl(src / "thread-export.jsonl", [row for row in _export(before) if row["thread_id"] != "j"])
    after = ingest([src])
    assert sorted(_posts(after)) == sorted(_posts(before)) and len(after.threads) == 2
    assert len(after.errors) == 11  # one per duplicate post, each naming its line and the kept copy
    assert all(e.line and "duplicate of post" in e.message for e in after.errors)


def test_a_reused_post_id_keeps_the_first_and_skips_the_later(tmp_path):
    a = _jsonl(tmp_path / "a.jsonl", [_post(post_id="p1", body="first"), _post(author="b", body="kept")])
    b = _jsonl(tmp_path / "b.jsonl", [_post(post_id="p1", body="different"), _post(author="c", body="also kept")])
    result = ingest([a, b])
    assert sorted(body for _, _, body in _posts(result)) == ["also kept", "first", "kept"]
    [error] = result.errors
    assert (error.path, error.line) == (str(b), 1)
    assert f"post id 'p1' is already used by {a}:1 for a different post, skipped" in str(error)


def test_the_same_post_twice_with_its_id_is_one_post(tmp_path):
    a = _jsonl(tmp_path / "a.jsonl", [_post(post_id="p1"), _post(post_id="p2", author="b")])
    b = _jsonl(tmp_path / "b.jsonl", [_post(post_id="p1"), _post(post_id="p3", author="c")])
    result = ingest([a, b])
    assert sorted(pid for pid, _, _ in _posts(result)) == ["p1", "p2", "p3"]
    assert [str(e) for e in result.errors] == [f"{b}:1: duplicate of post 'p1' from {a}:1, skipped"]


def test_a_copied_jsonl_file_is_read_once_with_a_warning(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    _jsonl(d / "a.jsonl", [_post(author="alice"), _post(author="bob")])
    shutil.copy(d / "a.jsonl", d / "b.jsonl")
    result = ingest([d])
    assert result.posts == 2 and all(p.source.endswith("a.jsonl") for t in result.threads for p in t.posts)
    assert result.errors == []  # nothing was lost
    assert f"{d / 'b.jsonl'}: same content as {d / 'a.jsonl'}; read once" in result.warnings


def test_a_copy_with_one_more_line_adds_only_that_line(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    rows = [_post(author="alice"), _post(author="bob"), _post(author="alice")]  # alice double-posted: two posts
    _jsonl(d / "a.jsonl", rows)
    _jsonl(d / "b.jsonl", [*rows, _post(author="carol", body="new")])
    result = ingest([d])
    assert [a for _, a, _ in _posts(result)] == ["alice", "bob", "alice", "carol"]
    assert _where(result) == [("b.jsonl", 1), ("b.jsonl", 2), ("b.jsonl", 3)]
    assert ingest([d / "a.jsonl"]).threads[0].posts == result.threads[0].posts[:3]  # the same ids as alone


def test_a_vbulletin_file_twice_keeps_the_first_copy(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(SAMPLE_FILE, d / "a.txt")
    shutil.copy(SAMPLE_FILE, d / "b.txt")
    result = ingest([d])
    [thread] = result.threads
    assert len(thread.posts) == 11 and thread.source == str(d / "a.txt")
    assert result.errors == [] and f"{d / 'b.txt'}: same content as {d / 'a.txt'}; read once" in result.warnings


def test_a_vbulletin_thread_saved_again_later_adds_only_the_new_post(tmp_path):
    old = "View Full Version : T\n\nalice\n1st May 2012, 10:00\nhello\n\nbob\n2nd May 2012, 11:00\nhi\n"
    (tmp_path / "a.txt").write_text(old)
    (tmp_path / "b.txt").write_text(old + "\ncarol\n3rd May 2012, 12:00\nlate reply\n")
    result = ingest([tmp_path / "a.txt", tmp_path / "b.txt"])
    [thread] = result.threads
    assert [(p.author, p.post_index, p.source[-5:]) for p in thread.posts] == [
        ("alice", 0, "a.txt"),
        ("bob", 1, "a.txt"),
        ("carol", 2, "b.txt"),
    ]
    assert _where(result) == [("b.txt", 3), ("b.txt", 7)]


# --- 3. records that used to raise ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"a": ' * 100_000, "nested too deeply"),
        ('{"post_index": ' + "9" * 5000 + "}", "number too long"),
        (json.dumps(_post(when="0001-01-01T00:00:00+01:00")), "outside the calendar"),
        (json.dumps(_post(when="9999-12-31T23:59:59-01:00")), "outside the calendar"),
        (json.dumps(_post(when="2021-02-29T10:00")), "not an ISO 8601 date"),
        (json.dumps(_post(when="x" * 1_000_000)), "not an ISO 8601 date"),
    ],
)
def test_hostile_json_lines_are_reported_not_raised(tmp_path, bad, message):
    f = _jsonl(tmp_path / "p.jsonl", [_post(body="good"), bad, _post(author="b", body="good too")])
    result = ingest([f])
    assert [b for _, _, b in _posts(result)] == ["good", "good too"]
    [error] = result.errors
    assert error.line == 2 and message in error.message and len(str(error)) < 300


@pytest.mark.parametrize("field", ["body", "author", "thread_title", "thread_id"])
def test_a_lone_surrogate_is_replaced_with_a_warning(tmp_path, field):
    row = _post(author="alice", body="broken")
    row[field] = row[field] + "\ud800"
    f = tmp_path / "p.jsonl"
    # json.dumps writes the half character as the escape \ud800, as a buggy exporter would
    f.write_text(json.dumps(_post(tid="other", body="ok")) + "\n" + json.dumps(row) + "\n")
    result = ingest([f])
    assert not result.errors and result.posts == 2
    post = next(p for t in result.threads for p in t.posts if p.line == 2)
    thread = next(t for t in result.threads if post in t.posts)
    value = {"thread_title": thread.title, "thread_id": post.thread_id}.get(field) or getattr(post, field)
    assert value.endswith("\ufffd")
    for text in (post.body, post.author, post.thread_id, post.post_id, thread.title):
        text.encode("utf-8")  # what SQLite and hashing will do
    assert [w for w in result.warnings if f"{f}:2:" in w and field in w]


def test_a_json_encoded_emoji_is_not_a_surrogate(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps(_post(body="\U0001f600")) + "\n")  # written as "\ud83d\ude00": a valid pair
    result = ingest([f])
    assert result.threads[0].posts[0].body == "\U0001f600" and not result.warnings


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0001-01-01T00:00:00", datetime(1, 1, 1)),
        ("0001-01-01T00:00:00-01:00", datetime(1, 1, 1, 1)),
        ("9999-12-31T23:59:59+01:00", datetime(9999, 12, 31, 22, 59, 59)),
        ("2020-02-29T12:00Z", datetime(2020, 2, 29, 12)),
    ],
)
def test_iso_dates_at_the_edges_of_the_calendar(text, expected):
    assert parse_iso(text) == expected


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2021-02-29"])
def test_iso_dates_outside_the_calendar_are_value_errors(text):
    with pytest.raises(ValueError):
        parse_iso(text)


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0000", "0000-01", "2021-02-29", "x" * 10_000]
)
def test_user_dates_outside_the_calendar_are_usage_errors(text):
    with pytest.raises(UsageError, match="YYYY-MM-DD") as err:
        parse_user_date(text)
    assert len(str(err.value)) < 200


# --- 5. size caps ---------------------------------------------------------------------------------------------------


def test_the_caps_default_to_the_settings_defaults():
    params = inspect.signature(ingest).parameters
    assert params["max_file_bytes"].default == 512 * 2**20 and params["max_post_chars"].default == 1_000_000


def test_a_file_over_the_cap_is_reported_without_being_read(tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(700 * 2**20)  # sparse: no disk used, and reading it would take a while
    small = _jsonl(tmp_path / "small.jsonl", [_post()])
    result = ingest([big, small])
    assert result.posts == 1
    assert [str(e) for e in result.errors] == [f"{big}: 700 MB, over max_file_mb = 512; skipped"]


def test_a_cap_in_bytes_is_reported_in_bytes(tmp_path):
    f = _jsonl(tmp_path / "p.jsonl", [_post(body="x" * 3000)])
    [error] = ingest([f], max_file_bytes=1000).errors
    assert error.line is None and error.message.endswith("bytes, over max_file_bytes = 1000; skipped")
    assert ingest([f], max_file_bytes=None).posts == 1


def test_a_post_over_max_post_chars_is_skipped_with_its_line(tmp_path):
    f = _jsonl(tmp_path / "p.jsonl", [_post(body="short"), _post(author="b", body="y" * 101), _post(author="c")])
    vb = tmp_path / "t.txt"
    vb.write_text(f"View Full Version : T\n\nalice\n1st May 2012, 10:00\n{'z' * 200}\n\nbob\n2nd May 2012, 11:00\nhi\n")
    result = ingest([f, vb], max_post_chars=100)
    assert sorted(a for _, a, _ in _posts(result)) == ["a", "bob", "c"]
    assert [(e.path, e.line) for e in result.errors] == [(str(f), 2), (str(vb), 3)]
    assert all("over max_post_chars = 100; skipped" in e.message for e in result.errors)
    assert ingest([f, vb], max_post_chars=None).posts == 5


# --- 6. every skipped record is an error; what is kept but altered is a warning --------------------------------------


def test_a_vbulletin_post_with_an_unreadable_date_is_skipped_alone(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text(
        "View Full Version : X\n\nalice\n1st May 2012, 10:00\nhi\n\nbob\n31st Febtember 2012, 10:00\nyo\n\n"
        "carol\n3rd May 2012, 10:00\nbye\n"
    )
    result = ingest([f])
    assert [(a, b) for _, a, b in _posts(result)] == [("alice", "hi"), ("carol", "bye")]
    [error] = result.errors
    assert (error.path, error.line) == (str(f), 8) and "Febtember" in error.message and "skipped" in error.message


def test_a_cp1252_file_is_a_warning_not_an_error(tmp_path):
    f = tmp_path / "old.txt"
    f.write_bytes("View Full Version : Caf\xe9\n\nzo\xeb\n1st May 2012, 10:00\nna\xefve\n".encode("latin-1"))
    result = ingest([f])
    assert result.posts == 1 and not result.errors and len(result.warnings) == 1


def test_errors_are_input_errors_naming_the_file():
    result = ingest(["/nonexistent/threadbot/x.txt", "bad\x00name.txt"])
    assert all(isinstance(e, InputError) and e.path for e in result.errors) and len(result.errors) == 2
