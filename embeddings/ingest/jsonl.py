"""Generic JSON Lines import: one post per line.

Required fields: thread_id, thread_title, author, posted_at (ISO 8601), body.
Optional: post_id (kept as given), url, source (the file an exported post originally came from), post_index,
utc_offset and excluded (as `threadbot export` writes them, see `Post`):

- utc_offset: the poster's zone, whole minutes east of UTC (-1439 to 1439), or null. Without it, a posted_at with
  an offset (`2021-03-03T09:12:44-05:00`, `Z`) gives that offset (none when it is not whole minutes); a naive
  posted_at is UTC with no zone known;
- excluded: spans of the body kept out of passages, `[[start, end], ...]`: integers with 0 <= start <= end <=
  len(body); read sorted, empty spans dropped, overlapping or touching ones merged. Offsets count the body as
  written in the line, a `\\r\\n` in it included (the body is read with `\\n` and the spans moved with it).

Posts of a thread are ordered by posted_at, then file order — or by post_index when every post of the thread has
one (an export), so an export re-imports to the same thread order. A thread may be split over several files.

Each line is judged alone: a bad line (bad JSON, nested too deeply, a missing field, a date that is not ISO 8601
or has no UTC equivalent, a bad utc_offset or excluded) is skipped and reported as `file:line: problem`, and the
other lines are read.
A lone UTF-16 surrogate (`"\\ud800"` escaped in JSON: half of a character, which no file can store as text) is
replaced by U+FFFD in every field, with a warning naming the line; the post is kept. Duplicate post ids are
resolved per record when the threads are assembled (see `records`).
"""

from __future__ import annotations

import bisect
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from ..errors import InputError
from ..models import Thread
from .dates import DateRangeError, parse_iso
from .records import Row, assemble
from .textfile import read_text

REQUIRED = ("thread_id", "thread_title", "author", "posted_at", "body")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SCALAR = (str, int, float)


def _load(line: str, source: str, lineno: int):
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(source, lineno, f"bad JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise InputError(source, lineno, "bad JSON: nested too deeply") from None
    except ValueError:  # a number of more than 4,300 digits
        raise InputError(source, lineno, "bad JSON: a number too long to read") from None


def _shown(value: str, limit: int = 60) -> str:
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _written_offset(value: str) -> int | None:
    """The offset a valid ISO 8601 date is written with, in minutes east of UTC; None when naive or not whole
    minutes (`+05:30:15`)."""
    delta = datetime.fromisoformat(value.strip().replace("Z", "+00:00")).utcoffset()
    if delta is None or delta.total_seconds() % 60:
        return None
    return int(delta.total_seconds()) // 60


def _utc_offset(obj: dict, when: datetime, source: str, lineno: int) -> int | None:
    """The record's utc_offset field, else posted_at's own offset; one that puts the local time outside the
    calendar is reported."""
    value = obj.get("utc_offset")
    if value is None:
        return _written_offset(obj["posted_at"])
    if not _is_int(value) or not -1440 < value < 1440:
        raise InputError(source, lineno, "utc_offset must be whole minutes east of UTC, from -1439 to 1439")
    try:
        when.replace(tzinfo=UTC).astimezone(timezone(timedelta(minutes=value)))
    except OverflowError:
        raise InputError(source, lineno, f"utc_offset {value} puts posted_at outside the calendar") from None
    return value


def _excluded(value, body: str, source: str, lineno: int) -> tuple[tuple[int, int], ...]:
    """The excluded spans of a record, checked against `body` as written, normalised, and moved to the body
    read (`\\r\\n` → `\\n`)."""
    if value is None:
        return ()
    pairs = value if isinstance(value, list) else None
    if pairs is None or not all(isinstance(p, list) and len(p) == 2 and all(map(_is_int, p)) for p in pairs):
        raise InputError(source, lineno, "excluded must be a list of [start, end] pairs of integers")
    spans: list[tuple[int, int]] = []
    for start, end in sorted(pairs):
        if not 0 <= start <= end <= len(body):
            raise InputError(
                source, lineno, f"excluded span [{start}, {end}] is not within the body (0 to {len(body)} characters)"
            )
        if start == end:
            continue
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    returns = [m.start() for m in re.finditer("\r\n", body)]  # each of these "\r" is dropped from the body
    if not returns:
        return tuple(spans)
    moved = [(s - bisect.bisect_left(returns, s), e - bisect.bisect_left(returns, e)) for s, e in spans]
    return tuple((s, e) for s, e in moved if s < e)


def _row(obj, source: str, lineno: int, warnings: list[str] | None) -> Row:
    if not isinstance(obj, dict):
        raise InputError(source, lineno, "expected a JSON object (one post per line)")
    missing = [k for k in REQUIRED if obj.get(k) is None or (k != "body" and obj.get(k) == "")]
    if missing:
        raise InputError(source, lineno, f"missing field(s): {', '.join(missing)}")
    for key in REQUIRED:
        if not isinstance(obj[key], _SCALAR) or isinstance(obj[key], bool):
            raise InputError(source, lineno, f"field {key!r} must be a string")
        if key in ("body", "posted_at") and not isinstance(obj[key], str):
            raise InputError(source, lineno, f"field {key!r} must be a string")
    optional = {}
    for key in ("post_id", "source", "url"):
        value = obj.get(key)
        if value is not None and (not isinstance(value, _SCALAR) or isinstance(value, bool)):
            raise InputError(source, lineno, f"field {key!r} must be a string")
        optional[key] = None if value in (None, "") else str(value)
    try:
        when = parse_iso(obj["posted_at"])
    except DateRangeError:
        raise InputError(
            source, lineno, f"posted_at {_shown(obj['posted_at'])} is outside the calendar in UTC"
        ) from None
    except ValueError:
        raise InputError(source, lineno, f"posted_at {_shown(obj['posted_at'])} is not an ISO 8601 date") from None
    index = obj.get("post_index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise InputError(source, lineno, "post_index must be a non-negative integer")
    utc_offset = _utc_offset(obj, when, source, lineno)
    excluded = _excluded(obj.get("excluded"), obj["body"], source, lineno)
    fields = {
        "thread_id": str(obj["thread_id"]),
        "thread_title": str(obj["thread_title"]),
        "author": str(obj["author"]).strip(),
        "body": obj["body"].replace("\r\n", "\n"),
        **optional,
    }
    if not fields["author"]:
        raise InputError(source, lineno, "missing field(s): author")
    damaged = [key for key, value in fields.items() if value is not None and _SURROGATE.search(value)]
    if damaged:
        for key in damaged:
            fields[key] = _SURROGATE.sub("\ufffd", fields[key])
        if warnings is not None:
            warnings.append(
                f"{source}:{lineno}: half a character (lone surrogate) in {', '.join(damaged)}, read as U+FFFD"
            )
    return Row(
        thread_id=fields["thread_id"],
        thread_title=fields["thread_title"],
        author=fields["author"],
        posted_at=when,
        body=fields["body"],
        source=source,
        line=lineno,
        post_id=fields["post_id"],
        post_index=index,
        origin=fields["source"],
        url=fields["url"],
        excluded=excluded,
        utc_offset=utc_offset,
    )


def read_rows(
    text: str, source: str, errors: list[InputError], warnings: list[str] | None = None, *, sniffed: bool = True
) -> list[Row]:
    """The good rows of one file; each bad line is appended to `errors` and skipped.

    With sniffed=False (the format comes from the file name alone), a file in which no line is a JSON object
    is not JSON Lines at all (a text file misnamed): it raises one InputError instead of one per line.
    """
    rows: list[Row] = []
    problems: list[InputError] = []
    objects = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = _load(line, source, lineno)
            objects += isinstance(obj, dict)
            rows.append(_row(obj, source, lineno, warnings))
        except InputError as exc:
            problems.append(exc)
    if problems and not objects and not sniffed:
        raise InputError(source, problems[0].line, "expected JSON Lines: one JSON object per line")
    errors.extend(problems)
    return rows


def parse_jsonl_text(text: str, source: str, warnings: list[str] | None = None) -> list[Thread]:
    """All or nothing, for callers that want one file exactly: the first problem of any line raises InputError.

    `ingest()` reads leniently instead: it keeps the good lines and reports the others.
    """
    errors: list[InputError] = []
    threads = assemble(read_rows(text, source, errors, warnings), errors)
    if errors:
        raise errors[0]
    return threads


def parse_jsonl_file(path: str | Path, warnings: list[str] | None = None) -> list[Thread]:
    return parse_jsonl_text(read_text(path, warnings), str(path), warnings)
