"""The embedding cache: (model id, sha256 of a text) -> vector, in its own SQLite file that outlives builds.

A text is embedded once per model, whatever build, rebuild or query asks for it again. Vectors are committed
as they are embedded, at least every COMMIT_EVERY, so a build killed at any point loses little: the next build
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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import StorageError
from .embedder import Embedder
from .rows import RowFile

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

COMMIT_EVERY = 64  # new vectors waiting before a commit to the cache: a crash loses these and one model call's


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
    into: RowFile | None = None,
) -> tuple[np.ndarray | RowFile, int]:
    """Vectors for texts, embedding only those not cached (each distinct text once), committing new vectors to
    the cache as soon as COMMIT_EVERY are waiting. `light`: texts a search embeds, encoded as queries are
    (`Embedder.encode_queries`: on ONNX Runtime where the model has an export).

    Each vector goes straight into the returned matrix, whether found or embedded, or into the rows of `into` (a
    full build's file, vectors/rows.py): nothing else holds the vectors of all the texts at once. Returns (the
    matrix or `into`, number of texts actually embedded).
    """
    digests = _digests(texts)
    # each distinct text once: its first position; a repeated text's vector is copied from there at the end
    _, first, inverse = np.unique(digests.view(np.dtype((np.void, 32))).ravel(), return_index=True, return_inverse=True)
    origin = first[inverse.ravel()]
    repeats = np.flatnonzero(origin != np.arange(len(texts)))
    first = np.sort(first)
    del inverse
    rows = _Matrix(len(texts)) if into is None else into
    found = np.zeros(len(texts), dtype=bool)
    if cache:
        for i in range(0, len(first), BATCH):
            part = first[i : i + BATCH]
            at = {_hex(digests, p): int(p) for p in part}
            for h, vector in cache.get_many(embedder.model_id, list(at)).items():
                rows.put(at[h], vector)
                found[at[h]] = True
    todo = first[~found[first]]
    later = int(np.count_nonzero(~found[origin[repeats]]))  # repeats of texts still to embed: counted once embedded
    del found
    if progress and len(texts) - len(todo) - later:
        progress(len(texts) - len(todo) - later)
    pending: list[tuple[str, np.ndarray]] = []
    for part, vectors in _encoded(embedder, _Picked(texts, todo), light):
        for j, vector in zip(part, vectors):
            position = int(todo[j])
            rows.put(position, vector)
            pending.append((_hex(digests, position), vector))
        if cache and len(pending) >= COMMIT_EVERY:
            cache.put_many(embedder.model_id, pending)
            pending = []
        if progress:
            progress(len(part))
    if cache and pending:
        cache.put_many(embedder.model_id, pending)
    for position in repeats:
        original = int(origin[position])
        rows.put(int(position), rows.read(original, original + 1)[0])
    if progress and later:
        progress(later)
    if into is not None:
        return into, len(todo)
    matrix = rows.matrix if rows.matrix is not None else np.zeros((len(texts), embedder.dimension), np.float32)
    return matrix, len(todo)


class _Matrix:
    """The result rows, allocated at the first vector (its length is the dimension: a search that finds every
    vector cached never loads the model to ask)."""

    def __init__(self, count: int):
        self.count = count
        self.matrix: np.ndarray | None = None

    def put(self, position: int, vector: np.ndarray) -> None:
        if self.matrix is None:
            self.matrix = np.zeros((self.count, vector.shape[0]), dtype=np.float32)
        self.matrix[position] = vector

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.matrix[start:stop]


def _digests(texts: Sequence[str]) -> np.ndarray:
    """The sha256 of each text (the cache's key, as bytes): 32 bytes a text, where a dict of hex keys would
    take some 200."""
    out = bytearray(32 * len(texts))
    for i, text in enumerate(texts):
        out[32 * i : 32 * i + 32] = hashlib.sha256(text.encode("utf-8")).digest()
    return np.frombuffer(out, dtype=np.uint8).reshape(len(texts), 32)


def _hex(digests: np.ndarray, position) -> str:
    """The cache's key of the text at `position`: its sha256, in hex."""
    return digests[position].tobytes().hex()


class _Picked(Sequence[str]):
    """The texts at `positions` of `texts`, read from it when asked (a build's texts are sliced from its posts
    one at a time: a list of every text to embed would be a copy of the archive's text)."""

    def __init__(self, texts: Sequence[str], positions: np.ndarray):
        self._texts, self._positions = texts, positions

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._texts[int(p)] for p in self._positions[i]]
        return self._texts[int(self._positions[i])]


def _encoded(embedder: Embedder, texts: Sequence[str], light: bool) -> Iterator[tuple[Sequence[int], np.ndarray]]:
    """(positions into `texts`, their vectors) for each model call: length-sorted batches for a build
    (`Embedder.encode_batches`), COMMIT_EVERY texts at a time as queries for a search."""
    if not texts:  # everything was cached: the model is not even loaded
        return
    if not light:
        yield from embedder.encode_batches(texts)
        return
    for i in range(0, len(texts), COMMIT_EVERY):
        part = texts[i : i + COMMIT_EVERY]
        yield range(i, i + len(part)), embedder.encode_queries(part)
