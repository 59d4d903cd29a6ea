"""A build's sentence vectors, so that highlighting a result embeds nothing at query time.

Each passage of more than one sentence has one row in the build's own SQLite file, ``sentences.sqlite``: its
sentence offsets (``sentence_spans`` of the passage text, as the query side would compute them), one vector per
sentence and a digest of the passage text. On a CPU they are embedded as a search embeds text
(`Embedder.encode_queries`: the ONNX export, verified against sentence-transformers, 1.2-1.6× faster than it on
these short texts), on a GPU by sentence-transformers; through the embedding cache either way, so a sentence is
embedded once whatever passage or build holds it. They are stored as int8 with one float32 scale per sentence,
4× smaller than float32: on the labelled data (benchmarks/highlight.py) they pick the sentence query-time
embedding picks in 308 of 311 examples, with as many hits or more on every set. A one-sentence passage needs no
row: it is its own highlight.

Rows are keyed by passage id, so a build that keeps passages of an earlier one can keep their rows. A passage
without a row, or whose text no longer matches the row's digest, is highlighted the way a build without this file
is (its sentences embedded at query time): an index built before sentence vectors still answers.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..durable import fsync_path
from ..errors import IndexDamagedError
from ..models import Passage
from ..passages.sentences import sentence_spans
from ..vectors.cache import EmbeddingCache, embed_with_cache
from ..vectors.embedder import Embedder

SENTENCES_FILE = "sentences.sqlite"
CHUNK = 128  # passages whose sentences are embedded and written together: bounds the build's memory

# The file's own schema and every statement run on it.
CREATE = """
CREATE TABLE meta (model TEXT NOT NULL, dimension INTEGER NOT NULL);
CREATE TABLE sentences (
    passage_id INTEGER PRIMARY KEY, digest BLOB NOT NULL, spans BLOB NOT NULL, scales BLOB NOT NULL,
    vectors BLOB NOT NULL
);
"""
INSERT_META = "INSERT INTO meta VALUES (?, ?)"
INSERT_ROW = "INSERT OR REPLACE INTO sentences VALUES (?, ?, ?, ?, ?)"
META = "SELECT model, dimension FROM meta"
ROWS_BY_ID = "SELECT passage_id, digest, spans, scales, vectors FROM sentences WHERE passage_id IN ({marks})"
ROW_COUNT = "SELECT COUNT(*) FROM sentences"
TOTALS = "SELECT COUNT(*), COALESCE(SUM(length(scales)) / 4, 0) FROM sentences"  # passages, sentences
QUICK_CHECK = "PRAGMA quick_check"
# rows whose blobs disagree in size: two int32 offsets and one float32 scale per sentence, `dimension` int8 each
MISSHAPEN_ROWS = (
    "SELECT COUNT(*) FROM sentences WHERE length(spans) != 2 * length(scales) OR length(scales) % 4 != 0"
    " OR length(vectors) * 4 != length(scales) * ?"
)
BATCH = 500  # ids per IN (...) list


def passage_digest(text: str) -> bytes:
    """What a row records of its passage's text, to tell a stale row from a sound one."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:8]


def quantize(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 rows, float32 scale per row) with rows ≈ int8 * scale."""
    scales = np.abs(matrix).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    return np.round(matrix / scales[:, None]).astype(np.int8), scales.astype(np.float32)


@dataclass(frozen=True)
class StoredSentences:
    spans: list[tuple[int, int]]
    vectors: np.ndarray  # float32, one row per span (not normalised again: ≈ unit length)


def write_sentence_vectors(
    path: Path,
    passages: Sequence[Passage],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Embed the sentences of `passages` and write their rows to `path` (created, or added to when it is there).
    Returns what the manifest records: the passages and sentences the file holds."""
    fresh = not path.exists()
    db = sqlite3.connect(path)
    try:
        if fresh:
            db.executescript(CREATE)
            with db:
                db.execute(INSERT_META, (embedder.model_id, embedder.dimension))
        if progress:
            progress(0, len(passages))
        for start in range(0, len(passages), CHUNK):
            chunk = passages[start : start + CHUNK]
            split = [(p, sentence_spans(p.text)) for p in chunk]
            split = [(p, spans) for p, spans in split if len(spans) > 1]
            texts = [p.text[s:e] for p, spans in split for s, e in spans]
            matrix = embed_by_length(embedder, cache, texts)
            ints, scales = quantize(matrix)
            pos, batch = 0, []
            for p, spans in split:
                n = len(spans)
                batch.append(
                    (
                        p.passage_id,
                        passage_digest(p.text),
                        np.asarray(spans, dtype=np.int32).tobytes(),
                        scales[pos : pos + n].tobytes(),
                        ints[pos : pos + n].tobytes(),
                    )
                )
                pos += n
            with db:
                db.executemany(INSERT_ROW, batch)
            if progress:
                progress(start + len(chunk), len(passages))
        rows, sentences = db.execute(TOTALS).fetchone()  # with the rows of a parent build it was copied from
    finally:
        db.close()
    fsync_path(path)
    return {"file": SENTENCES_FILE, "passages": rows, "sentences": sentences, "encoding": "int8"}


def embed_by_length(embedder: Embedder, cache: EmbeddingCache | None, texts: list[str]) -> np.ndarray:
    """Vectors of `texts` in their order, shortest first (batches of like lengths pad less): on ONNX Runtime where
    the model runs on a CPU, by sentence-transformers where it has a GPU."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    on_cpu = embedder.model.device.type == "cpu"
    matrix, _ = embed_with_cache(embedder, cache, [texts[i] for i in order], light=on_cpu)
    out = np.empty_like(matrix)
    out[order] = matrix
    return out


class SentenceVectors:
    """Read-only access to a build's sentences file, safe to share between threads."""

    def __init__(self, path: Path, model: str | None, dimension: int | None):
        self.path = path
        uri = f"file:{urllib.parse.quote(str(Path(path).resolve()))}?mode=ro"
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            found = self._db.execute(META).fetchall()
        except sqlite3.Error as exc:
            raise IndexDamagedError(f"{path} cannot be read ({exc})") from None
        if len(found) != 1 or tuple(found[0]) != (model, dimension):
            self._db.close()
            raise IndexDamagedError(f"{path} does not hold sentence vectors of {model!r} (dimension {dimension})")
        self.dimension = dimension

    def get(self, passages: dict[int, str]) -> dict[int, StoredSentences]:
        """passage id -> its stored sentences, for those of `passages` (id -> text) with a row matching the text."""
        ids = list(passages)
        found: dict[int, StoredSentences] = {}
        try:
            with self._lock:
                rows = [
                    row
                    for i in range(0, len(ids), BATCH)
                    for row in self._db.execute(
                        ROWS_BY_ID.format(marks=",".join("?" * len(ids[i : i + BATCH]))), ids[i : i + BATCH]
                    ).fetchall()
                ]
        except sqlite3.Error as exc:
            raise IndexDamagedError(f"{self.path} cannot be read ({exc})") from None
        for pid, digest, spans, scales, vectors in rows:
            if digest != passage_digest(passages[pid]):
                continue
            try:
                offsets = np.frombuffer(spans, dtype=np.int32).reshape(-1, 2)
                scale = np.frombuffer(scales, dtype=np.float32)
                matrix = np.frombuffer(vectors, dtype=np.int8).reshape(len(offsets), self.dimension)
                matrix = matrix.astype(np.float32) * scale[:, None]
            except ValueError:  # a blob of the wrong size
                raise IndexDamagedError(f"{self.path}: the row of passage {pid} is not whole") from None
            found[pid] = StoredSentences([(int(s), int(e)) for s, e in offsets], matrix)
        return found

    def count(self) -> int:
        with self._lock:
            return self._db.execute(ROW_COUNT).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def check_sentence_vectors(build: Path, manifest: dict) -> tuple[str | None, str]:
    """(a problem, or None; what was checked) of a build's sentences file, for `threadbot check`."""
    path = build / SENTENCES_FILE
    if not path.is_file():
        return None, f"{SENTENCES_FILE}: none (a build made before them: highlights embed sentences at query time)"
    try:
        vectors = SentenceVectors(path, manifest.get("model"), manifest.get("dimension"))
    except IndexDamagedError as exc:
        return exc.problem, ""
    try:
        with vectors._lock:
            verdict = vectors._db.execute(QUICK_CHECK).fetchone()[0]
            misshapen = vectors._db.execute(MISSHAPEN_ROWS, (vectors.dimension,)).fetchone()[0]
            rows = vectors._db.execute(ROW_COUNT).fetchone()[0]
    except sqlite3.DatabaseError as exc:
        verdict, misshapen, rows = str(exc), 0, 0
    finally:
        vectors.close()
    recorded = (manifest.get("sentences") or {}).get("passages")
    if verdict != "ok":
        return f"{path} is damaged ({verdict})", ""
    if misshapen:
        return f"{path}: {misshapen} rows whose vectors do not match their sentences", ""
    if isinstance(recorded, int) and recorded != rows:
        return f"{path} holds sentences of {rows} passages, the manifest says {recorded}", ""
    return None, f"{SENTENCES_FILE}: sentence vectors of {rows} passages"


def open_sentence_vectors(build: Path, model: str | None, dimension: int | None) -> SentenceVectors | None:
    """The build's sentence vectors; None for a build made without them."""
    path = build / SENTENCES_FILE
    return SentenceVectors(path, model, dimension) if path.is_file() else None
