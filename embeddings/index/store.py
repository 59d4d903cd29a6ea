"""The SQLite side of an index: threads, posts, passages, quotes and the FTS5 table."""
from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

from ..models import Passage, QuoteRelation, Thread

SCHEMA = """
CREATE TABLE threads (
    thread_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL,
    post_count INTEGER NOT NULL, first_posted_at TEXT NOT NULL, last_posted_at TEXT NOT NULL
);
CREATE TABLE posts (
    post_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL REFERENCES threads(thread_id),
    post_index INTEGER NOT NULL, author TEXT NOT NULL, posted_at TEXT NOT NULL,
    body TEXT NOT NULL, source TEXT NOT NULL, line INTEGER NOT NULL, url TEXT
);
CREATE INDEX posts_thread ON posts(thread_id, post_index);
CREATE INDEX posts_author ON posts(author COLLATE NOCASE);
CREATE INDEX posts_date ON posts(posted_at);
CREATE TABLE passages (
    passage_id INTEGER PRIMARY KEY, post_id TEXT NOT NULL REFERENCES posts(post_id),
    start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX passages_post ON passages(post_id);
CREATE TABLE quotes (
    quote_id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL,
    quoting_post_id TEXT NOT NULL, quoting_start INTEGER NOT NULL, quoting_end INTEGER NOT NULL,
    source_post_id TEXT NOT NULL, source_start INTEGER NOT NULL, source_end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX quotes_quoting ON quotes(quoting_post_id);
CREATE INDEX quotes_source ON quotes(source_post_id);
CREATE VIRTUAL TABLE passages_fts USING fts5(text, content='passages', content_rowid='passage_id',
                                             tokenize='porter unicode61 remove_diacritics 2');
"""


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def write_index_db(path: Path, threads: Sequence[Thread], passages: Sequence[Passage],
                   quotes: Sequence[QuoteRelation]) -> None:
    """Write a complete, new index database (never an existing one)."""
    db = sqlite3.connect(path)
    try:
        db.executescript(SCHEMA)
        with db:
            db.executemany(
                "INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?)",
                [(t.thread_id, t.title, t.source, len(t.posts), iso(min(p.posted_at for p in t.posts)),
                  iso(max(p.posted_at for p in t.posts))) for t in threads if t.posts],
            )
            db.executemany(
                "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(p.post_id, p.thread_id, p.post_index, p.author, iso(p.posted_at), p.body, p.source, p.line, p.url)
                 for t in threads for p in t.posts],
            )
            db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?)",
                           [(x.passage_id, x.post_id, x.start, x.end, x.text) for x in passages])
            db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
            db.executemany(
                "INSERT INTO quotes (thread_id, quoting_post_id, quoting_start, quoting_end, source_post_id,"
                " source_start, source_end, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(q.thread_id, q.quoting_post_id, q.quoting_start, q.quoting_end, q.source_post_id,
                  q.source_start, q.source_end, q.text) for q in quotes],
            )
        db.execute("PRAGMA optimize")
    finally:
        db.close()


class IndexDB:
    """Read-only access to one index database, safe to share between threads."""

    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def one(self, sql: str, params: Iterable = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Iterable = ()):
        row = self.one(sql, params)
        return row[0] if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def posts_by_ids(self, post_ids: Sequence[str]) -> dict[str, sqlite3.Row]:
        out: dict[str, sqlite3.Row] = {}
        ids = list(dict.fromkeys(post_ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for row in self.query(
                "SELECT p.*, t.title AS thread_title, t.post_count FROM posts p JOIN threads t USING (thread_id)"
                f" WHERE p.post_id IN ({','.join('?' * len(part))})", part):
                out[row["post_id"]] = row
        return out

    def passages_by_ids(self, passage_ids: Sequence[int]) -> dict[int, sqlite3.Row]:
        out: dict[int, sqlite3.Row] = {}
        ids = list(dict.fromkeys(int(i) for i in passage_ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for row in self.query(f"SELECT * FROM passages WHERE passage_id IN ({','.join('?' * len(part))})", part):
                out[row["passage_id"]] = row
        return out
