"""The embedding cache: (model id, sha256 of a text) -> vector, in its own SQLite file that outlives builds.

A text is embedded once per model, whatever build, rebuild or query asks for it again. Vectors are committed
batch by batch as they are embedded, so a build killed at any point loses at most one batch: the next build
finds the rest here. A cache file that is not a database is moved aside (with a warning) and started afresh:
it only ever holds work that can be redone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import StorageError
from .embedder import Embedder

log = logging.getLogger(__name__)

# The cache's own SQLite file and every statement run on it (the index's are in index/store.py).
CREATE_VECTORS = (
    "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, hash TEXT NOT NULL, dim INTEGER NOT NULL,"
    " vector BLOB NOT NULL, PRIMARY KEY (model, hash)) WITHOUT ROWID"
)
PROBE = "SELECT 1 FROM vectors LIMIT 1"
VECTORS_BY_HASH = "SELECT hash, vector FROM vectors WHERE model = ? AND hash IN ({marks})"
PUT_VECTOR = "INSERT OR REPLACE INTO vectors (model, hash, dim, vector) VALUES (?, ?, ?, ?)"
BATCH = 500  # hashes per IN (...) list

COMMIT_EVERY = 64  # texts embedded between two commits to the cache: the most a crash can lose


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """(model id, sha256 of text) → vector, in its own SQLite file that outlives index builds.

    ``best_effort``: for lookups on the query path: a cache that is busy (another process writing) or broken is
    skipped after `timeout` seconds instead of failing the search; vectors are then computed, not cached.
    """

    def __init__(self, path: str | Path, *, best_effort: bool = False, timeout: float = 30.0):
        self.path = Path(path)
        self.best_effort = best_effort
        self._lock = threading.Lock()
        self._timeout = timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open(timeout)
        except sqlite3.Error as exc:
            if best_effort or not self._is_damage(exc):
                raise StorageError(self.path, f"cannot be opened ({exc})") from None
            self._db = self._reopen_new(exc)
        except OSError as exc:
            raise StorageError(self.path, exc.strerror or str(exc)) from None

    def _is_damage(self, exc: sqlite3.Error) -> bool:
        """A file that is not a sound cache (corrupt, not a database, another schema, a directory), as opposed
        to one that cannot be used now (a full disk, a read-only file, a busy writer): only damage is replaced."""
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        return (
            code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
            or "no such column" in str(exc)
            or "no such table" in str(exc)
            or self.path.is_dir()
        )

    def _reopen_new(self, exc: sqlite3.Error) -> sqlite3.Connection:
        self._move_aside(exc)
        try:
            return self._open(self._timeout)
        except sqlite3.Error as again:
            raise StorageError(self.path, f"cannot be created ({again})") from None

    def _open(self, timeout: float) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(CREATE_VECTORS)
            db.execute(PROBE).fetchall()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _move_aside(self, exc: Exception) -> None:
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
        log.warning("%s is damaged (%s): moved to %s, starting a new cache", self.path, exc, aside.name)
        try:
            if getattr(self, "_db", None) is not None:
                self._db.close()
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        except OSError as err:
            raise StorageError(self.path, f"damaged and cannot be moved aside: {err.strerror or err}") from None

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        try:
            with self._lock:
                for i in range(0, len(unique), BATCH):
                    part = unique[i : i + BATCH]
                    sql = VECTORS_BY_HASH.format(marks=",".join("?" * len(part)))
                    rows = self._db.execute(sql, [model_id, *part]).fetchall()
                    for h, blob in rows:
                        found[h] = np.frombuffer(blob, dtype=np.float32)
        except sqlite3.Error as exc:
            if self.best_effort:
                log.debug("embedding cache skipped: %s", exc)
            elif self._is_damage(exc):  # found damaged past its first page: start afresh, embed again
                with self._lock:
                    self._db = self._reopen_new(exc)
                return {}
            else:
                raise StorageError(self.path, f"cannot be read ({exc})") from None
        return found

    def put_many(self, model_id: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        try:
            with self._lock, self._db:
                self._db.executemany(
                    PUT_VECTOR,
                    [(model_id, h, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for h, v in items],
                )
        except sqlite3.Error as exc:  # a full disk, a read-only file, a busy writer; or damage
            if self.best_effort:
                log.debug("embedding cache not updated: %s", exc)
            elif self._is_damage(exc):
                with self._lock:
                    self._db = self._reopen_new(exc)
                self.put_many(model_id, items)
            else:
                raise StorageError(self.path, f"cannot be written ({exc})") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def embed_with_cache(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    texts: Sequence[str],
    progress: Callable[[int], None] | None = None,
    *,
    light: bool = False,
) -> tuple[np.ndarray, int]:
    """Vectors for texts, embedding only those not cached (each distinct text once), committing each batch of
    COMMIT_EVERY new vectors to the cache as soon as it is embedded. `light`: texts a search embeds, encoded as
    queries are (`Embedder.encode_queries`: on ONNX Runtime where the model has an export).

    Returns (matrix, number of texts actually embedded).
    """
    hashes = [text_hash(t) for t in texts]
    known = cache.get_many(embedder.model_id, hashes) if cache else {}
    todo: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in known and h not in todo:
            todo[h] = t
    if progress and known:
        progress(sum(1 for h in hashes if h in known))
    keys = list(todo)
    for i in range(0, len(keys), COMMIT_EVERY):
        batch = keys[i : i + COMMIT_EVERY]
        part = [todo[k] for k in batch]
        fresh = dict(zip(batch, embedder.encode_queries(part) if light else embedder.encode(part, progress=progress)))
        if cache:
            cache.put_many(embedder.model_id, list(fresh.items()))
        known.update(fresh)
    dim = next(iter(known.values())).shape[0] if known else embedder.dimension
    matrix = np.zeros((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        matrix[i] = known[h]
    return matrix, len(todo)
