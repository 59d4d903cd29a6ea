"""From the records every reader yields to threads: the post size cap, duplicates, post ids and order.

A record (`Row`) is one post as read: a JSON line, or one post of a vBulletin file. Records are grouped by
thread_id across files (a thread may be split over several files, or saved twice), then, one record at a time:

- a record whose body is longer than `max_post_chars` is skipped and reported;
- a record without a post id that repeats a record of another file (same thread, author, date and body; the n-th
  such record of a file repeats the n-th of the first file that has it) is a copy: skipped and reported. Inside
  one file, two identical records are two posts (a double post);
- every other record gets a post id: its own, or `ids.post_id_for(thread, author, date, occurrence)` where
  occurrence counts the earlier id-less records of the thread with that author and date (the formula vBulletin
  posts use), so an unchanged source always yields the same ids;
- a post id seen again skips the later record (the first record read wins) and reports it: "duplicate of post X
  from F:L" when thread, author, date and body are the same (the same post read twice, e.g. a `threadbot export`
  saved beside the file it came from), "post id X is already used by F:L for a different post" otherwise;
- a thread's posts are ordered by post_index when every one of them has one (an export, a vBulletin file), else by
  posted_at, then in the order read; post_index is then renumbered 0, 1, 2, ...

Nothing valid is dropped because of another record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..errors import InputError
from ..models import Post, Thread
from .ids import post_id_for


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
    excluded: tuple[tuple[int, int], ...] = ()  # spans of the body passages leave out (see Post.excluded)
    utc_offset: int | None = None  # the poster's zone (see Post.utc_offset)


def rows_of_thread(thread: Thread) -> list[Row]:
    """The posts of a thread read whole (a vBulletin file) as records, ids and order kept."""
    return [
        Row(
            thread_id=p.thread_id,
            thread_title=thread.title,
            author=p.author,
            posted_at=p.posted_at,
            body=p.body,
            source=p.source,
            line=p.line,
            post_id=p.post_id,
            post_index=p.post_index,
            origin=None,
            url=p.url,
            excluded=p.excluded,
            utc_offset=p.utc_offset,
        )
        for p in thread.posts
    ]


def _content(row: Row) -> tuple[str, str, datetime, str]:
    return (row.thread_id, row.author, row.posted_at, row.body)


def _ordered(rows: Sequence[Row], indices: list[int]) -> list[int]:
    """Indices of one thread's records in thread order."""
    if all(rows[i].post_index is not None for i in indices):
        return sorted(indices, key=lambda i: (rows[i].post_index, i))
    return sorted(indices, key=lambda i: (rows[i].posted_at, i))


def _by_thread(rows: Sequence[Row], indices: list[int]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(rows[i].thread_id, []).append(i)
    return groups


def assemble(rows: Sequence[Row], errors: list[InputError], max_post_chars: int | None = None) -> list[Thread]:
    """Threads from `rows` (in the order read: files in order, lines in order); every skipped record goes to `errors`.

    Threads come in the order of their first record.
    """
    problems: list[tuple[int, InputError]] = []  # (record, problem), reported in the order read

    def skip(i: int, message: str) -> None:
        problems.append((i, InputError(rows[i].source, rows[i].line, message)))

    candidates: list[int] = []
    for i, row in enumerate(rows):
        if max_post_chars is not None and len(row.body) > max_post_chars:
            skip(i, f"post of {len(row.body):,} characters, over max_post_chars = {max_post_chars}; skipped")
        else:
            candidates.append(i)

    # Copies of id-less records from another file: they are recognised before ids are given, or the copy would
    # count as one more post by that author at that time and get an id of its own.
    first_of: dict[tuple, int] = {}
    seen_in_file: dict[tuple, int] = {}
    copies: list[tuple[int, int]] = []
    originals: list[int] = []
    for i in candidates:
        row = rows[i]
        if row.post_id is None:
            content = _content(row)
            n = seen_in_file.get((row.source, content), 0)
            seen_in_file[(row.source, content)] = n + 1
            first = first_of.setdefault((content, n), i)
            if first != i:
                copies.append((i, first))
                continue
        originals.append(i)

    ids: dict[int, str] = {}
    for tid, indices in _by_thread(rows, originals).items():
        occurrences: dict[tuple[str, datetime], int] = {}
        for i in _ordered(rows, indices):
            row = rows[i]
            if row.post_id is not None:
                ids[i] = row.post_id
                continue
            key = (row.author, row.posted_at)
            occurrences[key] = occurrences.get(key, 0) + 1
            ids[i] = post_id_for(tid, row.author, row.posted_at, occurrences[key] - 1)

    def where(i: int) -> str:
        return f"{rows[i].source}:{rows[i].line}"

    for i, first in copies:
        skip(i, f"duplicate of post {ids[first]!r} from {where(first)}, skipped")

    owner: dict[str, int] = {}
    kept: list[int] = []
    for i in originals:
        first = owner.setdefault(ids[i], i)
        if first == i:
            kept.append(i)
        elif _content(rows[i]) == _content(rows[first]):
            skip(i, f"duplicate of post {ids[i]!r} from {where(first)}, skipped")
        else:
            skip(i, f"post id {ids[i]!r} is already used by {where(first)} for a different post, skipped")

    threads = []
    for tid, indices in _by_thread(rows, kept).items():
        order = _ordered(rows, indices)
        first_row = rows[order[0]]
        thread = Thread(thread_id=tid, title=first_row.thread_title, source=first_row.origin or first_row.source)
        for index, i in enumerate(order):
            row = rows[i]
            thread.posts.append(
                Post(
                    post_id=ids[i],
                    thread_id=tid,
                    post_index=index,
                    author=row.author,
                    posted_at=row.posted_at,
                    body=row.body,
                    source=row.origin or row.source,
                    line=row.line,
                    url=row.url,
                    excluded=row.excluded,
                    utc_offset=row.utc_offset,
                )
            )
        threads.append(thread)
    problems.sort(key=lambda item: item[0])
    errors.extend(problem for _, problem in problems)
    return threads
