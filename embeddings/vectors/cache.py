"""The embedding cache: (model id, sha256 of a text) -> vector, in its own SQLite file that outlives builds.

A text is embedded once per model, whatever build, rebuild or query asks for it again.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .embedder import Embedder


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """(model id, sha256 of text) → vector, in its own SQLite file that outlives index builds."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, hash TEXT NOT NULL, dim INTEGER NOT NULL,"
            " vector BLOB NOT NULL, PRIMARY KEY (model, hash)) WITHOUT ROWID"
        )

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            for i in range(0, len(unique), 500):
                part = unique[i : i + 500]
                rows = self._db.execute(
                    f"SELECT hash, vector FROM vectors WHERE model = ? AND hash IN ({','.join('?' * len(part))})",
                    [model_id, *part],
                ).fetchall()
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model_id: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (model, hash, dim, vector) VALUES (?, ?, ?, ?)",
                [(model_id, h, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for h, v in items],
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def embed_with_cache(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    texts: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for texts, embedding only those not cached (each distinct text once).

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
    if todo:
        keys = list(todo)
        vecs = embedder.encode([todo[k] for k in keys], progress=progress)
        fresh = dict(zip(keys, vecs))
        if cache:
            cache.put_many(embedder.model_id, list(fresh.items()))
        known.update(fresh)
    dim = next(iter(known.values())).shape[0] if known else embedder.dimension
    matrix = np.zeros((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        matrix[i] = known[h]
    return matrix, len(todo)
