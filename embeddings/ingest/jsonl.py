"""Generic JSON Lines import: one post per line.

Required fields: thread_id, thread_title, author, posted_at (ISO 8601), body.
Optional: post_id (kept as given; duplicates are an error), url, source (the file
an exported post originally came from) and post_index. Posts of a thread are
ordered by posted_at, then file order — or by post_index when every post of the
thread has one (an export), so an export re-imports to the same thread order.
A thread may be split over several files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import InputError
from ..models import Post, Thread
from .dates import parse_iso
from .ids import post_id_for
from .textfile import read_text

REQUIRED = ("thread_id", "thread_title", "author", "posted_at", "body")


@dataclass(frozen=True)
class Row:
    thread_id: str
    thread_title: str
    author: str
    posted_at: datetime
    body: str
    source: str  # the file read
    line: int
    post_id: str | None
    post_index: int | None
    origin: str | None  # the `source` field of an exported post
    url: str | None


def _row(obj, source: str, lineno: int) -> Row:
    if not isinstance(obj, dict):
        raise InputError(source, lineno, "expected a JSON object (one post per line)")
    missing = [k for k in REQUIRED if obj.get(k) is None or (k != "body" and obj.get(k) == "")]
    if missing:
        raise InputError(source, lineno, f"missing field(s): {', '.join(missing)}")
    for key in REQUIRED:
        if isinstance(obj[key], (dict, list, bool)) or (key in ("body", "posted_at") and not isinstance(obj[key], str)):
            raise InputError(source, lineno, f"field {key!r} must be a string")
    try:
        when = parse_iso(obj["posted_at"])
    except ValueError:
        raise InputError(source, lineno, f"posted_at {obj['posted_at']!r} is not an ISO 8601 date") from None
    index = obj.get("post_index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise InputError(source, lineno, "post_index must be a non-negative integer")
    return Row(
        thread_id=str(obj["thread_id"]),
        thread_title=str(obj["thread_title"]),
        author=str(obj["author"]).strip(),
        posted_at=when,
        body=obj["body"].replace("\r\n", "\n"),
        source=source,
        line=lineno,
        post_id=None if obj.get("post_id") in (None, "") else str(obj["post_id"]),
        post_index=index,
        origin=str(obj["source"]) if obj.get("source") else None,
        url=str(obj["url"]) if obj.get("url") else None,
    )


def read_rows(text: str, source: str, seen_post_ids: set[str]) -> list[Row]:
    """The rows of one file; the first bad line raises (the file is skipped as a whole)."""
    rows: list[Row] = []
    mine: set[str] = set()
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(source, lineno, f"bad JSON: {exc.msg} (column {exc.colno})") from None
        row = _row(obj, source, lineno)
        if row.post_id is not None:
            if row.post_id in seen_post_ids or row.post_id in mine:
                raise InputError(source, lineno, f"duplicate post_id {row.post_id!r}")
            mine.add(row.post_id)
        rows.append(row)
    seen_post_ids |= mine
    return rows


def assemble(rows: Iterable[Row], seen_post_ids: set[str]) -> list[Thread]:
    """Group rows (in file order, files in the order read) into ordered threads with stable post ids."""
    by_thread: dict[str, list[tuple[int, Row]]] = {}
    for order, row in enumerate(rows):
        by_thread.setdefault(row.thread_id, []).append((order, row))
    threads = []
    for tid, items in by_thread.items():
        if all(r.post_index is not None for _, r in items):
            items.sort(key=lambda item: (item[1].post_index, item[0]))
        else:
            items.sort(key=lambda item: (item[1].posted_at, item[0]))
        first = items[0][1]
        thread = Thread(thread_id=tid, title=first.thread_title, source=first.origin or first.source)
        occurrences: dict[tuple[str, datetime], int] = {}
        for index, (_, row) in enumerate(items):
            pid = row.post_id
            if pid is None:
                key = (row.author, row.posted_at)
                occurrences[key] = occurrences.get(key, 0) + 1
                pid = post_id_for(tid, row.author, row.posted_at, occurrences[key] - 1)
                if pid in seen_post_ids:
                    raise InputError(row.source, row.line, f"post collides with an earlier post id {pid!r}")
                seen_post_ids.add(pid)
            thread.posts.append(
                Post(
                    post_id=pid,
                    thread_id=tid,
                    post_index=index,
                    author=row.author,
                    posted_at=row.posted_at,
                    body=row.body,
                    source=row.origin or row.source,
                    line=row.line,
                    url=row.url,
                )
            )
        threads.append(thread)
    return threads


def parse_jsonl_text(text: str, source: str, seen_post_ids: set[str] | None = None) -> list[Thread]:
    seen = set() if seen_post_ids is None else seen_post_ids
    return assemble(read_rows(text, source, seen), seen)


def parse_jsonl_file(
    path: str | Path, seen_post_ids: set[str] | None = None, warnings: list[str] | None = None
) -> list[Thread]:
    return parse_jsonl_text(read_text(path, warnings), str(path), seen_post_ids)
