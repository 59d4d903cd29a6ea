"""A new build's files as the previous build's plus what new posts add: the SQLite store and the vector index.

The store: the previous build's database is copied into the new build, the new threads, posts, passages, quotes
and outside quotes are written by `write_store` into a small database of their own (the delta), and the delta is
added to the copy table by table (`RULES`): rows appended, threads that gained posts given their new post count
and last date, the new passages added to the FTS5 index. A table `RULES` does not know (one a later schema adds)
that has rows in the delta stops the build from being incremental (`CannotAppend`): the builder then makes a full
build, so what an incremental build writes is always what a full build writes. The vector index: the previous
build's, read whole, with the new vectors added (their passage ids above every earlier one).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..models import OutsideQuote, Passage, Post, QuoteRelation, Thread
from .places import known_threads
from .sql import (
    APPEND_FTS,
    APPEND_QUOTES,
    APPEND_ROWS,
    APPEND_THREADS,
    ATTACH_DELTA,
    DELTA_HAS_ROWS,
    DELTA_ROWS,
    DELTA_TABLES,
    DETACH_DELTA,
    MAIN_ROW,
    PASSAGES_HELD,
    PUT_ROW,
)
from .store import write_store

DELTA_FILE = "delta.sqlite"


class CannotAppend(Exception):
    """The previous build cannot be extended (its store has something an incremental build cannot extend, or
    does not match its manifest); the message says what."""


def _rows(table: str) -> Callable[[sqlite3.Connection], None]:
    return lambda db: db.execute(APPEND_ROWS.format(table=table))


def _joined(table: str, keys: tuple[str, ...], arrays: tuple[str, ...], by_id: bool = False):
    """Rows of `keys` holding `arrays` about passages: lists in passage id order (each delta list goes after the
    copy's: its ids are higher), or, `by_id`, columns indexed by passage id (the delta's from where the copy's
    end)."""
    keys_sql, arrays_sql = ", ".join(keys), ", ".join(arrays)
    delta = DELTA_ROWS.format(columns=f"{keys_sql}, {arrays_sql}", table=table)
    kept = MAIN_ROW.format(columns=arrays_sql, table=table, match=" AND ".join(f"{k} = ?" for k in keys))
    put = PUT_ROW.format(
        table=table, columns=f"{keys_sql}, {arrays_sql}", marks=", ".join("?" * (len(keys) + len(arrays)))
    )

    def rule(db: sqlite3.Connection) -> None:
        for row in db.execute(delta).fetchall():
            key, new = tuple(row[: len(keys)]), tuple(bytes(v) for v in row[len(keys) :])
            old = db.execute(kept, key).fetchone()
            if old is not None:
                old = tuple(bytes(v) for v in old)
                new = tuple(a + b[len(a) :] if by_id else a + b for a, b in zip(old, new))
            db.execute(put, (*key, *new))

    return rule


# table -> how the delta's rows join the copy, in this order (passages before the FTS5 index that reads them);
# passage_sets, passage_columns and postings are what layout.py and lexicon.py lay out for filters and ranking
RULES: dict[str, Callable[[sqlite3.Connection], None]] = {
    "threads": lambda db: db.execute(APPEND_THREADS),
    "posts": _rows("posts"),
    "passages": _rows("passages"),
    "passages_fts": lambda db: db.execute(APPEND_FTS),
    "quotes": lambda db: db.execute(APPEND_QUOTES),
    "outside_quotes": _rows("outside_quotes"),
    "passage_sets": _joined("passage_sets", ("kind", "key"), ("ids",)),
    "postings": _joined("postings", ("token",), ("ids", "tfs")),
    "passage_columns": _joined("passage_columns", ("name",), ("data",), by_id=True),
}


def copy_store(previous: Path, target: Path, passages: int) -> int:
    """Copy the previous build's database to `target`; the highest passage id it holds. CannotAppend when it
    does not hold the `passages` passages its manifest counts."""
    shutil.copyfile(previous, target)
    db = sqlite3.connect(target)
    try:
        count, highest = db.execute(PASSAGES_HELD).fetchone()
    except sqlite3.DatabaseError as exc:
        raise CannotAppend(f"the previous build's {previous.name} cannot be read ({exc})") from None
    finally:
        db.close()
    if count != passages:
        raise CannotAppend(f"the previous build's {previous.name} holds {count} passages, its manifest {passages}")
    return int(highest or 0)


def numbered(passages: Sequence[Passage], first_id: int) -> list[Passage]:
    """`passages` with ids from `first_id` on, in their order."""
    return [replace(p, passage_id=first_id + i) for i, p in enumerate(passages)]


def append_store(
    target: Path,
    threads: Sequence[Thread],
    passages: Sequence[Passage],
    quotes: Sequence[QuoteRelation],
    outside: Sequence[OutsideQuote],
    thread_posts: Sequence[Post] = (),
) -> None:
    """Add the new posts (`threads` holding only those) with their passages, quotes and outside quotes to the
    copied database at `target`; `thread_posts`: every post of those threads, old and new (their openers)."""
    delta = target.with_name(DELTA_FILE)
    delta.unlink(missing_ok=True)
    db = sqlite3.connect(target)
    try:
        known = known_threads(db, threads, thread_posts)  # the earlier threads' keys, from the copy
    finally:
        db.close()
    write_store(delta, threads, passages, quotes, outside, known)
    db = sqlite3.connect(target)
    try:
        db.execute(ATTACH_DELTA, (str(delta),))
        tables = [row[0] for row in db.execute(DELTA_TABLES)]
        for table in tables:
            if table not in RULES and db.execute(DELTA_HAS_ROWS.format(table=table)).fetchone()[0]:
                raise CannotAppend(f"an incremental build cannot extend the store's table {table!r}")
        with db:
            for table, rule in RULES.items():
                if table in tables:
                    rule(db)
        db.execute(DETACH_DELTA)
        db.execute("PRAGMA optimize")
    except sqlite3.IntegrityError as exc:  # a table whose rows are not what RULES expects of it
        raise CannotAppend(f"the new rows do not fit the previous build's store ({exc})") from None
    finally:
        db.close()
        delta.unlink(missing_ok=True)


def append_vectors(index, ids: np.ndarray, matrix: np.ndarray, target: Path) -> None:
    """Add the new vectors to the previous build's vector index (read whole, not mapped) and save it."""
    if len(ids):
        index.add(np.asarray(ids, dtype=np.int64), matrix)
    index.save(target)
