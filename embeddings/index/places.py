"""Each passage's thread and its place in it, laid out by a build for the hybrid ranking's thread context
(`search.threads.places`), so a question reads arrays instead of the store.

Columns indexed by passage id (in passage_columns, appended like the others by an incremental build):

- "thread" (int32): the thread's key, the id of the thread's first passage;
- "place" (uint8): OPENING (the passage is of the thread's opening post), ASKS (a passage of its post holds a
  "?" ending a sentence) and BY_OPENER (its post's author is the opening post's author), as bits;
- "extent" (int32): characters of its post's own words, from the post's first passage's start to its last's end;
- "opening_start", "opening_stop" (int32), at a thread's key: the ids [start, stop) of its opening post's
  passages (a post's passages are numbered together); 0, 0 when the opening post has none.

And in passage_sets, ("title", an FTS5 token of the query tokenizer) -> the keys of the threads whose title holds
it, ascending: title coverage is then a lookup per query word.

Everything is computed from a thread's own posts, so a new thread's values are all in the build that adds it; an
incremental build gives a new reply to an earlier thread that thread's key and opener (`write_places`' `known`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..models import Passage, Thread
from ..search.terms import query_terms
from .lexicon import query_tokenizer
from .sql import INSERT_PASSAGE_COLUMN, INSERT_PASSAGE_SET, PASSAGE_COLUMN, PASSAGE_SET

OPENING, ASKS, BY_OPENER = 1, 2, 4
COLUMNS = ("thread", "place", "extent", "opening_start", "opening_stop")


@dataclass(frozen=True)
class Known:
    """What an incremental build's new posts need of the earlier ones: thread id -> the thread's key (threads
    holding passages already) and thread id -> its opening post's author."""

    keys: dict[str, int]
    openers: dict[str, str]


def asks(text: str) -> bool:
    """Does a passage hold a "?" ending a sentence (before a space or a line break, or at its end), not one inside
    a URL? (What `sql.POST_ASKS` computes.)"""
    return "? " in text or "?\n" in text or text.endswith("?")


def write_places(
    db: sqlite3.Connection, threads: Sequence[Thread], passages: Sequence[Passage], known: Known | None = None
) -> None:
    """The columns and title sets of the module's docstring for `passages` of `threads`, in the build's
    transaction."""
    known = known or Known({}, {})
    size = max((x.passage_id for x in passages), default=0) + 1
    post_of = {p.post_id: (t, p) for t in threads for p in t.posts}
    openers = {**known.openers, **{t.thread_id: p.author for t in threads for p in t.posts if p.post_index == 0}}
    by_post: dict[str, list[Passage]] = {}
    for x in sorted(passages, key=lambda x: x.passage_id):
        by_post.setdefault(x.post_id, []).append(x)
    keys = dict(known.keys)
    new_keys: dict[str, int] = {}  # threads whose first passage is in this build: posts in order of their ids
    for post_id, xs in by_post.items():
        thread_id = post_of[post_id][0].thread_id
        if thread_id not in keys:
            keys[thread_id] = new_keys[thread_id] = xs[0].passage_id
    columns = {name: np.zeros(size, dtype="<u1" if name == "place" else "<i4") for name in COLUMNS}
    for post_id, xs in by_post.items():
        thread, post = post_of[post_id]
        ids = [x.passage_id for x in xs]
        place = (OPENING if post.post_index == 0 else 0) | (ASKS if any(asks(x.text) for x in xs) else 0)
        place |= BY_OPENER if post.author == openers.get(thread.thread_id) else 0
        columns["thread"][ids] = keys[thread.thread_id]
        columns["place"][ids] = place
        columns["extent"][ids] = max(x.end for x in xs) - min(x.start for x in xs)
        if post.post_index == 0:
            columns["opening_start"][keys[thread.thread_id]] = min(ids)
            columns["opening_stop"][keys[thread.thread_id]] = max(ids) + 1
    for name, column in columns.items():
        db.execute(INSERT_PASSAGE_COLUMN, (name, column.tobytes()))
    titles = {t.thread_id: t.title for t in threads if t.thread_id in new_keys}
    words = {t: query_terms(title) for t, title in titles.items()}
    asked = list(dict.fromkeys(w for ws in words.values() for w in ws))
    tokenized = dict(zip(asked, query_tokenizer().tokens(asked)))
    holders: dict[str, set[int]] = {}
    for thread_id, ws in words.items():
        for token in {tok for w in ws for tok in tokenized[w]}:
            holders.setdefault(token, set()).add(new_keys[thread_id])
    db.executemany(
        INSERT_PASSAGE_SET,
        [("title", token, np.array(sorted(ks), dtype="<i4").tobytes()) for token, ks in sorted(holders.items())],
    )


def known_threads(db: sqlite3.Connection, threads: Sequence[Thread], posts) -> Known:
    """The `Known` of `threads` (holding only their new posts) from the previous build's store `db` and `posts`,
    every post of those threads."""
    keys = {}
    for t in threads:
        row = db.execute(PASSAGE_SET, ("thread", t.thread_id)).fetchone()
        if row is not None and len(row[0]):
            keys[t.thread_id] = int(np.frombuffer(row[0], dtype="<i4")[0])
    return Known(keys, {p.thread_id: p.author for p in posts if p.post_index == 0})


class ThreadPlaces:
    """The columns of one build, read once (None from `load` for a build made before they were laid out)."""

    def __init__(self, store, columns: dict[str, np.ndarray]):
        self._store = store
        self.thread, self.place, self.extent = columns["thread"], columns["place"], columns["extent"]
        self.opening_start, self.opening_stop = columns["opening_start"], columns["opening_stop"]

    @classmethod
    def load(cls, store) -> ThreadPlaces | None:
        columns = {}
        for name in COLUMNS:
            rows = store.fetch(PASSAGE_COLUMN, (name,))
            if not rows:
                return None
            columns[name] = np.frombuffer(rows[0][0], dtype="<u1" if name == "place" else "<i4")
        return cls(store, columns)

    def titled(self, token: str) -> np.ndarray:
        """The keys of the threads whose title holds `token`, ascending."""
        rows = self._store.fetch(PASSAGE_SET, ("title", token))
        return np.frombuffer(rows[0][0], dtype="<i4") if rows else np.zeros(0, dtype="<i4")
