"""The SQLite side of an index: threads, posts, passages, quotes and the FTS5 keyword table.

Every SQL statement of the index is a named constant in `sql.py`, run only here, behind an `IndexStore` method
whose name says what it answers. Callers never write SQL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import IndexDamagedError
from ..models import Filters, OutsideQuote, Passage, QuotedBy, QuotedSpan, QuoteRelation, Thread, ThreadSummary
from .layout import write_layout
from .lexicon import write_postings
from .sql import (
    ADDED_POST_COLUMNS,
    ALL_THREADS,
    AUTHOR_COUNT,
    AUTHORS_LIKE,
    DISTINCT_AUTHORS,
    EXPORT_POSTS,
    FILTERED_PASSAGE_IDS,
    HAS_OUTSIDE_QUOTES,
    INSERT_OUTSIDE_QUOTE,
    INSERT_PASSAGE,
    INSERT_POST,
    INSERT_QUOTE,
    INSERT_THREAD,
    KEYWORD_RANKING,
    NEXT_PASSAGE_OF_POST,
    OLD_POSTS_VIEW,
    OUTSIDE_QUOTES_OF_POST,
    PASSAGE_COUNT,
    PASSAGE_POST_IDS,
    PASSAGES_BY_ID,
    PASSAGES_WITH_TERM,
    POST_AT,
    POST_COLUMNS,
    POSTS_OF_THREAD,
    POSTS_WITH_THREADS,
    QUOTE_RELATIONS,
    QUOTED_SPANS_OF_POST,
    QUOTERS_OF_SPAN,
    QUOTES_OF_SPAN,
    QUOTES_OVERLAPPING,
    REBUILD_FTS,
    SCHEMA,
    TERM_FREQUENCY,
    THREAD_BY_ID,
    THREAD_BY_TITLE,
    THREADS_LIKE,
)

BATCH = 500  # ids per IN (...) list, well under SQLite's limit on bound parameters


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def stored_time(value: str) -> datetime:
    """A date as the store holds it (ISO 8601 text) back as a datetime."""
    return datetime.fromisoformat(value)


def stored_spans(value: str | None) -> list[list[int]]:
    """A post's excluded spans as the store holds them (JSON text, NULL for none) back as [start, end] lists."""
    try:
        return json.loads(value) if value else []
    except ValueError:
        raise IndexDamagedError(f"a post's excluded spans {str(value)[:40]!r} are not JSON") from None


def _shown_path(path: str) -> str:
    """A source path as UTF-8 text: bytes of a file name that are not UTF-8 (kept by Python as lone surrogates)
    become U+FFFD, which SQLite can store."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally (used with ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"


def write_store(
    path: Path,
    threads: Sequence[Thread],
    passages: Sequence[Passage],
    quotes: Sequence[QuoteRelation],
    outside: Sequence[OutsideQuote] = (),
    known=None,
) -> None:
    """Write a complete, new index database (never an existing one); `outside`: quotes of messages that are not
    in the archive; `known`: an incremental build's `places.Known`."""
    db = sqlite3.connect(path)
    try:
        db.executescript(SCHEMA)
        with db:
            db.executemany(
                INSERT_THREAD,
                [
                    (
                        t.thread_id,
                        t.title,
                        _shown_path(t.source),
                        len(t.posts),
                        _iso(min(p.posted_at for p in t.posts)),
                        _iso(max(p.posted_at for p in t.posts)),
                    )
                    for t in threads
                    if t.posts
                ],
            )
            db.executemany(  # rows made as they are written: a list of them would be the archive's posts again
                INSERT_POST,
                (
                    (
                        p.post_id,
                        p.thread_id,
                        p.post_index,
                        p.author,
                        _iso(p.posted_at),
                        p.body,
                        _shown_path(p.source),
                        p.line,
                        p.url,
                        p.utc_offset,
                        json.dumps(p.excluded) if p.excluded else None,
                    )
                    for t in threads
                    for p in t.posts
                ),
            )
            db.executemany(INSERT_PASSAGE, ((x.passage_id, x.post_id, x.start, x.end, x.text) for x in passages))
            db.execute(REBUILD_FTS)
            write_layout(db, threads, passages, known)  # filters and ranking read these (layout.py, lexicon.py)
            write_postings(db, max((x.passage_id for x in passages), default=0) + 1)
            db.executemany(
                INSERT_QUOTE,
                (
                    (
                        q.thread_id,
                        q.quoting_post_id,
                        q.quoting_start,
                        q.quoting_end,
                        q.source_post_id,
                        q.source_start,
                        q.source_end,
                        q.text,
                    )
                    for q in quotes
                ),
            )
            db.executemany(
                INSERT_OUTSIDE_QUOTE,
                [(o.post_id, o.start, o.end, o.depth, o.attributed_to, o.in_archive) for o in outside],
            )
        db.execute("PRAGMA optimize")
    finally:
        db.close()


class IndexStore:
    """Read-only access to one index database, safe to share between threads."""

    def __init__(self, path: Path):
        self.path = path
        # a URI, so the file is opened read-only; quoted, so "?", "#" or "%" in the path stay part of it
        uri = f"file:{urllib.parse.quote(str(Path(path).resolve()))}?mode=ro"
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise IndexDamagedError(f"{path} cannot be opened ({exc})") from None
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        try:
            self._add_missing_post_columns()
        except IndexDamagedError:
            self._db.close()
            raise
        self._has_outside: bool | None = None

    def _rows(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:  # not a database, truncated, a table missing
            raise IndexDamagedError(f"{self.path} cannot be read ({exc})") from None

    def _add_missing_post_columns(self) -> None:
        """Read an index made before posts had every column of SCHEMA as a new one (see OLD_POSTS_VIEW)."""
        columns = {r["name"] for r in self._rows(POST_COLUMNS)}
        missing = [f"NULL AS {c}" for c in ADDED_POST_COLUMNS if c not in columns]
        if columns and missing:  # no columns: no posts table, reported by the first statement that reads it
            self._rows(OLD_POSTS_VIEW.format(nulls=", ".join(missing)))

    def _first(self, sql: str, params: Iterable = ()) -> sqlite3.Row | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _rows_in(self, sql: str, ids: Sequence, before: Sequence = ()) -> Iterator[sqlite3.Row]:
        """Rows of `sql` (with an `IN ({marks})` list) for `ids`, in batches of BATCH ids."""
        for i in range(0, len(ids), BATCH):
            part = list(ids[i : i + BATCH])
            yield from self._rows(sql.format(marks=",".join("?" * len(part))), [*before, *part])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- threads and authors -------------------------------------------------------------------
    def threads(self) -> list[ThreadSummary]:
        return [_summary(r) for r in self._rows(ALL_THREADS)]

    def thread(self, ref: str) -> ThreadSummary | None:
        """The thread with this id, else the earliest with this title (any case)."""
        row = self._first(THREAD_BY_ID, (ref,)) or self._first(THREAD_BY_TITLE, (ref,))
        return _summary(row) if row else None

    def threads_matching(self, text: str, limit: int) -> list[ThreadSummary]:
        """Threads whose title or id contains `text`, titles starting with it first, then the longest."""
        like = _like_pattern(text)
        return [_summary(r) for r in self._rows(THREADS_LIKE, (like, like, like[1:], limit))]

    def authors_matching(self, text: str, limit: int) -> list[str]:
        """Authors whose name contains `text`, names starting with it first, then the most prolific."""
        like = _like_pattern(text)
        return [r["author"] for r in self._rows(AUTHORS_LIKE, (like, like[1:], limit))]

    def author_count(self) -> int:
        row = self._first(AUTHOR_COUNT)
        return row[0] if row else 0

    def authors_folded(self, name: str) -> list[str]:
        """Authors equal to `name` under Unicode case folding (SQLite's NOCASE folds ASCII letters only)."""
        folded = name.casefold()
        return [r[0] for r in self._rows(DISTINCT_AUTHORS) if r[0].casefold() == folded]

    # --- posts and passages --------------------------------------------------------------------
    def posts_of_thread(self, thread_id: str) -> list[sqlite3.Row]:
        return self._rows(POSTS_OF_THREAD, (thread_id,))

    def post_at(self, thread_id: str, post_index: int) -> sqlite3.Row | None:
        return self._first(POST_AT, (thread_id, post_index))

    def posts_by_ids(self, post_ids: Sequence[str]) -> dict[str, sqlite3.Row]:
        """post id -> the post's row plus its `thread_title` and `post_count`."""
        ids = list(dict.fromkeys(post_ids))
        return {row["post_id"]: row for row in self._rows_in(POSTS_WITH_THREADS, ids)}

    def passages_by_ids(self, passage_ids: Sequence[int]) -> dict[int, sqlite3.Row]:
        ids = list(dict.fromkeys(int(i) for i in passage_ids))
        return {row["passage_id"]: row for row in self._rows_in(PASSAGES_BY_ID, ids)}

    def next_passage(self, post_id: str, start: int) -> tuple[int, int] | None:
        """(start, end) of the post's passage that starts next after `start`, if any."""
        row = self._first(NEXT_PASSAGE_OF_POST, (post_id, start))
        return (row["start"], row["end"]) if row else None

    def passage_count(self) -> int:
        return self._first(PASSAGE_COUNT)[0]

    def posts_of_passages(self, passage_ids: Sequence[int]) -> dict[int, str]:
        """passage id -> post id, for `passage_ids`."""
        return {r[0]: r[1] for r in self._rows_in(PASSAGE_POST_IDS, list(dict.fromkeys(int(i) for i in passage_ids)))}

    def fetch(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        """The rows of one statement of sql.py, for layout.py, lexicon.py and search/threads.py."""
        return self._rows(sql, params)

    def export_rows(self, thread_id: str | None = None) -> list[sqlite3.Row]:
        """Every post (of one thread) with its thread's title, threads by first date, posts in order."""
        if thread_id:
            return self._rows(EXPORT_POSTS.format(where="WHERE p.thread_id = ?"), (thread_id,))
        return self._rows(EXPORT_POSTS.format(where=""))

    def passage_ids_allowed(self, filters: Filters) -> np.ndarray:
        """Passage ids of the posts `filters` allow, for the vector index's id selector."""
        where, params = self._filter_sql(filters)
        rows = self._rows(FILTERED_PASSAGE_IDS.format(where=where), params)
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def _filter_sql(self, filters: Filters, alias: str = "p") -> tuple[str, list]:
        """The SQL condition on posts (as `alias`) for `filters`, and its parameters."""
        clauses, params = [], []
        if filters.author:
            name = filters.author.strip()
            if name.isascii():
                clauses.append(f"{alias}.author = ? COLLATE NOCASE")
                params.append(name)
            else:  # "ZOË" finds "Zoë"
                names = self.authors_folded(name) or [name]
                clauses.append(f"{alias}.author IN ({','.join('?' * len(names))})")
                params.extend(names)
        if filters.thread_id:
            clauses.append(f"{alias}.thread_id = ?")
            params.append(filters.thread_id)
        if filters.after:
            clauses.append(f"{alias}.posted_at >= ?")
            params.append(_iso(filters.after))
        if filters.before:
            clauses.append(f"{alias}.posted_at < ?")
            params.append(_iso(filters.before))
        return (" AND ".join(clauses) or "1"), params

    # --- keyword search ------------------------------------------------------------------------
    def keyword_ranking(self, match: str, filters: Filters, k: int) -> list[tuple[int, float]]:
        """(passage id, score) of the best `k` FTS5 matches of `match` among allowed posts; higher is better."""
        where, params = self._filter_sql(filters)
        rows = self._rows(KEYWORD_RANKING.format(where=where), [match, *params, k])
        return [(int(r[0]), -float(r[1])) for r in rows]

    def term_frequency(self, match: str) -> int:
        """How many passages match the FTS5 expression `match`."""
        row = self._first(TERM_FREQUENCY, [match])
        return row[0] if row else 0

    def passages_with_term(self, match: str, passage_ids: Sequence[int]) -> list[int]:
        """Those of `passage_ids` that match the FTS5 expression `match`."""
        return [row[0] for row in self._rows_in(PASSAGES_WITH_TERM, list(passage_ids), before=[match])]

    # --- quotes --------------------------------------------------------------------------------
    def quoters_of(self, post_id: str, start: int, end: int) -> list[QuotedBy]:
        """The posts that quote [start, end) of `post_id`, oldest first, each once."""
        return [
            QuotedBy(
                r["post_id"], r["thread_id"], r["post_index"], r["author"], stored_time(r["posted_at"]), r["utc_offset"]
            )
            for r in self._rows(QUOTERS_OF_SPAN, (post_id, end, start))
        ]

    def quotes_of(self, post_id: str, start: int, end: int) -> list[sqlite3.Row]:
        """Every quote of [start, end) of `post_id`: quoting_post_id, quoting_start, quoting_end; oldest first."""
        return self._rows(QUOTES_OF_SPAN, (post_id, end, start))

    def quoted_spans(self, post_id: str) -> list[QuotedSpan]:
        """The spans of a post's body that quote earlier posts, in body order."""
        return [
            QuotedSpan(r[0], r[1], r[2], r[3], r[4], r[5], stored_time(r[6]), r[7])
            for r in self._rows(QUOTED_SPANS_OF_POST, (post_id,))
        ]

    def outside_quotes(self, post_id: str) -> list[OutsideQuote]:
        """The spans of a post's body quoting messages that are not in the archive, in body order (none in an
        index built before they were recorded)."""
        if self._has_outside is None:
            self._has_outside = bool(self._rows(HAS_OUTSIDE_QUOTES))
        if not self._has_outside:
            return []
        return [OutsideQuote(*r[:6], bool(r[6])) for r in self._rows(OUTSIDE_QUOTES_OF_POST, (post_id,))]

    def quotes_overlapping(self, post_id: str, start: int, end: int) -> list[sqlite3.Row]:
        """The quotes in `post_id` that overlap [start, end), the largest overlap first."""
        return self._rows(QUOTES_OVERLAPPING, (post_id, end, start, end, start))

    def quote_relations(self, thread_id: str | None = None) -> list[QuoteRelation]:
        """Every quote relation (in one thread), in date order of the quoting posts."""
        where, params = ("WHERE q.thread_id = ?", (thread_id,)) if thread_id else ("", ())
        return [
            QuoteRelation(
                thread_id=r["thread_id"],
                quoting_post_id=r["quoting_post_id"],
                quoting_post_index=r["quoting_post_index"],
                quoting_author=r["quoting_author"],
                quoting_posted_at=stored_time(r["quoting_posted_at"]),
                source_post_id=r["source_post_id"],
                source_post_index=r["source_post_index"],
                source_author=r["source_author"],
                source_posted_at=stored_time(r["source_posted_at"]),
                text=r["text"],
                quoting_start=r["quoting_start"],
                quoting_end=r["quoting_end"],
                source_start=r["source_start"],
                source_end=r["source_end"],
                source_thread_id=r["source_thread_id"],
                quoting_utc_offset=r["quoting_utc_offset"],
                source_utc_offset=r["source_utc_offset"],
            )
            for r in self._rows(QUOTE_RELATIONS.format(where=where), params)
        ]


def _summary(row: sqlite3.Row) -> ThreadSummary:
    return ThreadSummary(
        thread_id=row["thread_id"],
        title=row["title"],
        source=row["source"],
        post_count=row["post_count"],
        first_posted_at=stored_time(row["first_posted_at"]),
        last_posted_at=stored_time(row["last_posted_at"]),
    )
