"""Properties of every reader (vBulletin text, JSON Lines, format detection and discovery) on generated input.

Whatever the input: no exception (problems are InputErrors in the result), every error names the file and, for a
record, a line of it; valid records around a bad one are kept; post ids are stable; and every body is what the
file holds (vBulletin: a slice of the text; JSON Lines: the decoded field, "\\r\\n" read as "\\n" and half
characters as U+FFFD).
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from embeddings.errors import InputError
from embeddings.ingest import ingest
from embeddings.ingest.textfile import decode
from embeddings.ingest.vbulletin import FOOTER

FAST = settings(max_examples=40, deadline=5000, database=None, suppress_health_check=[HealthCheck.too_slow])

# Characters readers must survive: NUL, half characters, right-to-left marks and overrides, zero-width
# characters, a BOM in the middle, Unicode line and paragraph separators, other scripts, JSON punctuation.
ODD = '\x00\ud800\udfff\u202e\u202b\u200f\u200e\u200b\u200d\u2060\ufeff\u2028\u2029\x85\x1c\t \xa0é\u05d0\u0627😀{}[]":,\\'
SURROGATE = re.compile("[\ud800-\udfff]")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
MONTHS += ["November", "December"]

any_char = st.one_of(st.characters(), st.sampled_from(ODD))
line_char = any_char.filter(lambda c: c not in "\r\n")  # a reader sees "\r" as a line end
text_char = line_char.filter(lambda c: not SURROGATE.match(c))  # what a UTF-8 text file can hold

edge_dates = st.sampled_from(
    [
        datetime(1, 1, 1),
        datetime(1, 1, 1, 0, 1),
        datetime(9999, 12, 31, 23, 59),
        datetime(2000, 2, 29, 12, 0),
        datetime(2024, 2, 29, 23, 59),
        datetime(1600, 2, 29),
        datetime(1999, 12, 31, 23, 59),
    ]
)
dates = st.one_of(edge_dates, st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)))
minutes = dates.map(lambda d: d.replace(second=0, microsecond=0))


def _ordinal(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def archive_date(d: datetime, style: int) -> str:
    """A date line as vBulletin prints it, in one of its styles."""
    if style == 0:
        return f"{d.day}{_ordinal(d.day)} {MONTHS[d.month - 1]} {d.year:04d}, {d.hour:02d}:{d.minute:02d}"
    if style == 1:
        return f"{d.day:02d}-{MONTHS[d.month - 1][:3]}-{d.year:04d}, {d.hour:02d}:{d.minute:02d}"
    half = "PM" if d.hour >= 12 else "AM"
    return f"{d.day} {MONTHS[d.month - 1][:3]}. {d.year:04d}, {d.hour % 12 or 12}:{d.minute:02d} {half}"


date_lines = st.builds(archive_date, minutes, st.integers(0, 2))
non_leap_years = st.integers(1, 9999).filter(lambda y: not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)))
bad_date_lines = st.one_of(
    non_leap_years.map(lambda y: f"29th February {y:04d}, 10:00"),
    st.sampled_from(
        [
            "31st Febtember 2012, 10:00",
            "30th February 2000, 10:00",
            "1st May 0000, 10:00",
            "0th May 2012, 10:00",
            "1st May 2012, 25:61",
            "1st May 2012, 13:00 PM",
            "31-Apr-2012, 10:00",
        ]
    ),
)


def _plain_author(s: str) -> bool:
    return 0 < len(s) <= 80 and not s.startswith(">") and "View Full Version" not in s


# Authors may look like dates (valid or not): the line after the author decides.
authors = st.one_of(
    st.text(text_char, min_size=1, max_size=20).map(str.strip).filter(_plain_author),
    date_lines,
    bad_date_lines,
)


def _body_line(s: str) -> bool:
    """A body line that cannot start a post: a header needs a date line, and date lines start with a digit."""
    t = s.strip()
    return not t[:1].isdigit() and "View Full Version" not in s and not FOOTER.match(s)


body_lines = st.text(text_char, max_size=30).filter(_body_line)
vb_posts = st.lists(st.tuples(authors, minutes, st.integers(0, 2), st.lists(body_lines, max_size=4)), max_size=6)


def render_thread(title: str | None, posts, bad: tuple[int, str, str] | None = None) -> tuple[str, int | None]:
    """Archive text for `posts` and, with `bad`, a post with an unreadable date inserted at that position;
    returns the text and the line of the bad date."""
    out = [f"View Full Version : {title}", ""] if title else []
    bad_line = None
    items = [(a, archive_date(d, style), lines) for a, d, style, lines in posts]
    if bad is not None:
        position, author, date_line = bad
        items.insert(min(position, len(items)), (author, date_line, ["never read"]))
    for author, date_line, lines in items:
        if bad is not None and date_line == bad[2] and bad_line is None:
            bad_line = len(out) + 2
        out += [author, date_line, *lines, ""]
    return "\n".join(out) + "\n", bad_line


def expected_body(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()


def _write(folder: str, name: str, content: str | bytes) -> Path:
    path = Path(folder) / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


def check_result(result, files: dict[Path, bytes]) -> None:
    """What holds for any input: InputErrors naming a file and a line of it, and bodies that are in the file."""
    texts = {str(p): decode(data, p) for p, data in files.items()}
    for error in result.errors:
        assert isinstance(error, InputError)
        assert error.path in texts or error.path in {str(p.parent) for p in files}
        if error.line is not None and error.path in texts:
            assert 1 <= error.line <= texts[error.path].count("\n") + 1
        assert str(error).startswith(error.path)
    for thread in result.threads:
        assert thread.posts and [p.post_index for p in thread.posts] == list(range(len(thread.posts)))
        for post in thread.posts:
            assert post.thread_id == thread.thread_id
            (post.author + thread.title + post.post_id + post.thread_id).encode("utf-8")  # storable
            text = texts.get(post.source)
            if text is None:
                continue  # a JSON line's own `source` field
            line = text.split("\n")[post.line - 1]
            record = _json_object(line)
            if record is not None and "body" in record:  # a JSON line
                assert post.body == SURROGATE.sub("\ufffd", record["body"].replace("\r\n", "\n"))
            else:  # a vBulletin post: its author line, and its body a slice of the text
                assert line.strip() == post.author and post.body in text


def _json_object(line: str) -> dict | None:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


# --- vBulletin ------------------------------------------------------------------------------------------------------


@FAST
@given(title=st.none() | st.text(text_char, min_size=1, max_size=20).map(str.strip).filter(bool), posts=vb_posts)
def test_vbulletin_threads_read_back_exactly(title, posts):
    text, _ = render_thread(title, posts)
    assume(not text.startswith("\ufeff"))  # that is a byte order mark, which the reader drops
    with tempfile.TemporaryDirectory() as d:
        path = _write(d, "t.txt", text)
        result = ingest([path])
        again = ingest([path])
    check_result(result, {path: text.encode()})
    if not posts:
        assert not result.threads and len(result.errors) == 1 and result.errors[0].path == str(path)
        return
    assert not result.errors
    [thread] = result.threads
    assert [(p.author, p.posted_at, p.body) for p in thread.posts] == [
        (a, d, expected_body(lines)) for a, d, _, lines in posts
    ]
    if title:
        assert thread.title == title
    assert [p.post_id for p in thread.posts] == [p.post_id for p in again.threads[0].posts]
    assert len({p.post_id for p in thread.posts}) == len(posts)


@FAST
@given(
    posts=vb_posts.filter(bool),
    position=st.integers(0, 6),
    bad_author=authors,
    bad_date=bad_date_lines,
)
def test_a_vbulletin_post_with_a_bad_date_costs_only_that_post(posts, position, bad_author, bad_date):
    clean, _ = render_thread("T", posts)
    text, bad_line = render_thread("T", posts, (position, bad_author, bad_date))
    with tempfile.TemporaryDirectory() as d:
        result = ingest([_write(d, "t.txt", text)])
        reference = ingest([_write(d, "clean.txt", clean)])
        path = Path(d) / "t.txt"
    check_result(result, {path: text.encode()})
    assert [(e.path, e.line) for e in result.errors] == [(str(path), bad_line)]
    [thread] = result.threads
    assert [(p.author, p.posted_at, p.body) for p in thread.posts] == [
        (a, d, expected_body(lines)) for a, d, _, lines in posts
    ]
    if position > 0:  # the thread's id comes from its first post: the others keep their ids
        assert [p.post_id for p in thread.posts] == [p.post_id for p in reference.threads[0].posts]


@FAST
@given(
    content=st.one_of(st.binary(max_size=400), st.text(any_char, max_size=400)),
    suffix=st.sampled_from([".txt", ".text", ".jsonl", ".ndjson", ".json", ""]),
)
def test_any_bytes_in_any_file_are_read_or_reported(content, suffix):
    data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
    with tempfile.TemporaryDirectory() as d:
        path = _write(d, "f" + suffix, data)
        result = ingest([path])
        walked = ingest([d])
    check_result(result, {path: data})
    check_result(walked, {path: data})


# --- JSON Lines -----------------------------------------------------------------------------------------------------

offsets = st.one_of(st.none(), st.just("Z"), st.integers(-23 * 60 - 59, 23 * 60 + 59))


def _iso(d: datetime, offset) -> tuple[str, datetime | None]:
    """posted_at text and the naive UTC datetime it means (None: outside the calendar in UTC)."""
    if offset is None:
        return d.isoformat(), d
    if offset == "Z":
        return d.isoformat() + "Z", d
    sign = "+" if offset >= 0 else "-"
    text = f"{d.isoformat()}{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    try:
        return text, d - timedelta(minutes=offset)
    except OverflowError:
        return text, None


hostile = st.text(line_char, max_size=30)
good_records = st.builds(
    lambda tid, title, author, when, body, extra: {
        "thread_id": tid,
        "thread_title": title,
        "author": author,
        "posted_at": when,
        "body": body,
        **extra,
    },
    st.one_of(st.sampled_from(["t1", "t2"]), hostile.filter(bool)),
    hostile.filter(bool),
    hostile.filter(lambda s: s.strip()),
    st.tuples(dates, offsets),
    st.one_of(hostile, st.text(any_char, max_size=300)),
    st.fixed_dictionaries({}, optional={"url": hostile, "source": st.just("elsewhere.txt")}),
)
bad_lines = st.one_of(
    st.text(text_char, max_size=40),
    st.integers(1, 100_000).map(lambda n: "[" * n),
    st.integers(1, 100_000).map(lambda n: '{"a": ' * n),
    st.integers(1, 50_000).map(lambda n: '{"a": [' * n + "]}" * n),  # well formed, but too deep
    st.just('{"post_index": ' + "9" * 5000 + "}"),
    st.sampled_from(["yesterday", "2023-02-29T10:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]).map(
        lambda when: json.dumps({"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": when, "body": "b"})
    ),
    st.just(json.dumps({"thread_id": "t", "author": "a", "posted_at": "2020-01-01", "body": "b"})),
)
jsonl_lines = st.lists(st.one_of(good_records.map(lambda r: ("good", r)), bad_lines.map(lambda b: ("bad", b))))


@FAST
@given(lines=jsonl_lines, ascii_only=st.booleans())
def test_json_lines_keep_every_good_line_and_report_every_bad_one(lines, ascii_only):
    out, expected, bad = [], {}, set()
    for n, (kind, item) in enumerate(lines, start=1):
        if kind == "good":
            when_text, when = _iso(*item["posted_at"])
            record = {**item, "posted_at": when_text, "post_id": f"id-{n}"} if n % 3 == 0 else {**item}
            record["posted_at"] = when_text
            has_surrogate = any(SURROGATE.search(str(v)) for v in record.values())
            out.append(json.dumps(record, ensure_ascii=ascii_only or has_surrogate))
            if when is None:
                bad.add(n)
            else:
                # as JSON reads them back: an escaped surrogate pair is the character it encodes
                author, body = (json.loads(json.dumps(item[k])) for k in ("author", "body"))
                expected[n] = (SURROGATE.sub("\ufffd", author.strip()), when, body)
        else:
            out.append(item)
            if (item[1:] if n == 1 and item.startswith("\ufeff") else item).strip():  # a leading BOM is the encoding's
                bad.add(n)
    text = "\n".join(out) + "\n"
    with tempfile.TemporaryDirectory() as d:
        path = _write(d, "p.jsonl", text)
        result = ingest([path])
        again = ingest([path])
    check_result(result, {path: text.encode()})
    if bad and not any(_json_object(line) is not None for line in out):
        assert [(e.path, e.line) for e in result.errors] == [(str(path), min(bad))]  # not JSON Lines: one report
        return
    assert sorted(e.line for e in result.errors) == sorted(bad)
    posts = {p.line: p for t in result.threads for p in t.posts}
    assert {n: (p.author, p.posted_at, p.body) for n, p in posts.items()} == {
        n: (a, w, SURROGATE.sub("\ufffd", b.replace("\r\n", "\n"))) for n, (a, w, b) in expected.items()
    }
    assert sorted(p.post_id for t in again.threads for p in t.posts) == sorted(p.post_id for p in posts.values())


@FAST
@given(bodies=st.lists(st.integers(0, 3000), min_size=1, max_size=5), cap=st.integers(0, 3000))
def test_posts_over_the_cap_are_skipped_and_the_others_kept(bodies, cap):
    rows = [
        json.dumps(
            {"thread_id": "t", "thread_title": "T", "author": f"a{n}", "posted_at": "2020-01-01", "body": "x" * k}
        )
        for n, k in enumerate(bodies)
    ]
    with tempfile.TemporaryDirectory() as d:
        result = ingest([_write(d, "p.jsonl", "\n".join(rows))], max_post_chars=cap)
    assert sorted(len(p.body) for t in result.threads for p in t.posts) == sorted(k for k in bodies if k <= cap)
    assert [e.line for e in result.errors] == [n + 1 for n, k in enumerate(bodies) if k > cap]


# --- format detection and discovery ---------------------------------------------------------------------------------


@FAST
@given(records=st.lists(good_records, min_size=1, max_size=4), posts=vb_posts.filter(bool), data=st.data())
def test_formats_are_recognised_whatever_the_name(records, posts, data):
    rows = [{**r, "posted_at": _iso(r["posted_at"][0], None)[0]} for r in records]
    jsonl = "\n".join(json.dumps(r) for r in rows) + "\n"
    vb, _ = render_thread("T", posts)
    jsonl_name = "posts" + data.draw(st.sampled_from([".jsonl", ".ndjson", ".json", ".txt", ""]))
    vb_name = "thread" + data.draw(st.sampled_from([".txt", ".text", ""]))
    with tempfile.TemporaryDirectory() as d:
        jp, vp = _write(d, jsonl_name, jsonl), _write(d, vb_name, vb)
        named = ingest([jp, vp])
        walked = ingest([d])
    check_result(named, {jp: jsonl.encode(), vp: vb.encode("utf-8", "surrogatepass")})
    assert not named.errors and named.posts == len(rows) + len(posts)
    assert not walked.errors
    if vb_name == "thread" and "\x00" in vb:  # without an extension, a file with a NUL is taken for binary
        assert walked.posts == len(rows)
    else:
        assert walked.posts == len(rows) + len(posts)


names = st.text(st.characters(categories=["L", "N"]) | st.sampled_from("-_ "), min_size=1, max_size=8)
tree = st.lists(
    st.tuples(
        st.lists(names, max_size=2),  # folders
        names,
        st.sampled_from([".txt", ".jsonl", ".json", "", ".png", ".TXT"]),
        st.one_of(st.binary(max_size=200), st.text(any_char, max_size=200)),
    ),
    max_size=6,
)


@FAST
@given(entries=tree)
def test_discovery_of_a_random_tree_reads_or_reports(entries):
    with tempfile.TemporaryDirectory() as d:
        files: dict[Path, bytes] = {}
        for folders, name, suffix, content in entries:
            folder = Path(d, *folders)
            if any(p.is_file() for p in [folder, *folder.parents] if str(p).startswith(d) and str(p) != d):
                continue  # a file already has that name
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / (name + suffix)
            if path.is_dir():
                continue
            data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
            path.write_bytes(data)
            files[path] = data
        result = ingest([d])
    check_result(result, files)
