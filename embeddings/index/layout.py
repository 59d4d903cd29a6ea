"""Filters as the ids they allow, from arrays a build lays out: each author's and each thread's passage ids, and
each passage's date and post.

Passages are numbered in date order (`passages.make_passages`), so a date window is found by binary search in
the date column: a range of ids, whatever it spans. An author or a thread is one stored array of its passages'
ids. A filter therefore costs what it selects (the date column, 8 bytes a passage, is read once per loaded index).
An index made before builds laid these out answers filters with SQL over its posts instead.
"""

from __future__ import annotations

import sqlite3
import string
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from ..models import Filters, Passage, Thread
from ..vectors.allowed import Allowed
from .places import Known, ThreadPlaces, write_places
from .sql import INSERT_PASSAGE_COLUMN, INSERT_PASSAGE_SET, PASSAGE_COLUMN, PASSAGE_SET

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_EPOCH = datetime(1970, 1, 1)
_NONE = np.iinfo(np.int64).min  # the date of a passage id that no passage has (id 0)


def author_key(name: str) -> str:
    """An author's name as SQLite's NOCASE compares it: ASCII letters lowered, nothing else changed."""
    return name.translate(_ASCII_LOWER)


def epoch_seconds(when: datetime) -> int:
    """Whole seconds since 1970 of a stored date (naive UTC; an aware one is converted), as the store's ISO text
    keeps them (to the second)."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return (when - _EPOCH) // timedelta(seconds=1)


def _blob(ids: Sequence[int]) -> bytes:
    return np.asarray(ids, dtype="<i4").tobytes()


def write_layout(
    db: sqlite3.Connection, threads: Sequence[Thread], passages: Sequence[Passage], known: Known | None = None
) -> None:
    """Each author's and thread's passage ids, each passage's date and post, and its thread and place in it
    (`places.write_places`; `known`: what an incremental build's new posts need of the earlier ones), in the
    build's transaction."""
    posts = {p.post_id: p for t in threads for p in t.posts}
    size = max((x.passage_id for x in passages), default=0) + 1
    posted = np.full(size, _NONE, dtype=np.int64)
    sets: dict[tuple[str, str], list[int]] = {}
    first = np.zeros(size, dtype=np.int64)  # each passage's post, as the id of the post's first passage
    firsts: dict[str, int] = {}
    for x in sorted(passages, key=lambda x: x.passage_id):
        post = posts[x.post_id]
        first[x.passage_id] = firsts.setdefault(x.post_id, x.passage_id)
        posted[x.passage_id] = epoch_seconds(post.posted_at)
        sets.setdefault(("author", author_key(post.author)), []).append(x.passage_id)
        sets.setdefault(("thread", post.thread_id), []).append(x.passage_id)
    db.executemany(INSERT_PASSAGE_SET, [(kind, key, _blob(ids)) for (kind, key), ids in sets.items()])
    db.execute(INSERT_PASSAGE_COLUMN, ("posted_at", posted.astype("<i8").tobytes()))
    db.execute(INSERT_PASSAGE_COLUMN, ("post", first.astype("<i4").tobytes()))
    write_places(db, threads, passages, known)


class Layout:
    """Filters -> allowed passage ids for one index (see the module's docstring)."""

    def __init__(self, store):
        self._store = store
        self._lock = threading.Lock()
        self._posted: np.ndarray | None = None
        self._posts: np.ndarray | None = None
        self._in_order = False
        self._places: ThreadPlaces | None | bool = False  # False: not read yet

    def allowed(self, filters: Filters) -> Allowed | None:
        """The passage ids `filters` allow; None when there is no filter."""
        if filters.is_empty():
            return None
        parts = []
        if filters.after or filters.before:
            parts.append(self._dates(filters.after, filters.before))
        if filters.thread_id:
            parts.append(self._set("thread", filters.thread_id))
        if filters.author:
            parts.append(self._author(filters.author))
        parts.sort(key=len)
        allowed = parts[0]
        for part in parts[1:]:
            allowed = allowed & part
        return allowed

    def _set(self, kind: str, key: str) -> Allowed:
        rows = self._store.fetch(PASSAGE_SET, (kind, key))
        ids = np.frombuffer(rows[0][0], dtype="<i4").astype(np.int64) if rows else np.zeros(0, dtype=np.int64)
        return Allowed(ids=ids)

    def _author(self, name: str) -> Allowed:
        name = name.strip()
        names = [name] if name.isascii() else self._store.authors_folded(name) or [name]  # "ZOË" finds "Zoë"
        keys = dict.fromkeys(author_key(n) for n in names)
        sets = [self._set("author", key).ids for key in keys]
        return Allowed(ids=sets[0]) if len(sets) == 1 else Allowed.of(np.concatenate(sets))

    def _dates(self, after: datetime | None, before: datetime | None) -> Allowed:
        posted, in_order = self._posted_column()
        low = epoch_seconds(after) if after else _NONE + 1
        high = epoch_seconds(before) if before else np.iinfo(np.int64).max
        if in_order:  # posted_at >= after and < before, as the SQL filter compares them
            start, stop = np.searchsorted(posted, [low, high], side="left")
            return Allowed.span(max(1, int(start)), int(stop))
        return Allowed(ids=np.flatnonzero((posted >= low) & (posted < high)).astype(np.int64))

    def post_keys(self, passage_ids: list[int]) -> list[int] | None:
        """For each passage, its post as the id of the post's first passage (a post's passages are numbered
        together), so ranked passages are grouped by post without reading the store; None for a build made
        before the column was laid out."""
        with self._lock:
            if self._posts is None:
                rows = self._store.fetch(PASSAGE_COLUMN, ("post",))
                self._posts = np.frombuffer(rows[0][0], dtype="<i4") if rows else np.zeros(0, dtype="<i4")
        if not len(self._posts):
            return None
        return self._posts[np.asarray(passage_ids, dtype=np.int64)].tolist()

    def thread_places(self) -> ThreadPlaces | None:
        """Each passage's thread and place in it (`places.ThreadPlaces`), read on first use; None for a build
        made before they were laid out."""
        with self._lock:
            if self._places is False:
                self._places = ThreadPlaces.load(self._store)
            return self._places

    def _posted_column(self) -> tuple[np.ndarray, bool]:
        with self._lock:
            if self._posted is None:
                rows = self._store.fetch(PASSAGE_COLUMN, ("posted_at",))
                self._posted = np.frombuffer(rows[0][0], dtype="<i8") if rows else np.full(1, _NONE)
                self._in_order = bool(np.all(self._posted[1:] >= self._posted[:-1]))
            return self._posted, self._in_order
