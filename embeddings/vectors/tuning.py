"""How many lists the IVF index probes: the fewest that find RECALL_TARGET of the exact top 10 for tuning
queries made from the indexed vectors.

A stored vector is a poor query for this: it sits in its own list with its neighbours, so two lists find its
top 10 where a question needs many more (recall 0.97 for stored vectors as queries, 0.74 for new points of the
same distribution, at the same nprobe). Each tuning query is therefore a sampled vector moved by a random
vector, to cosine 0.4 with it, and its exact top 10 is computed among all the vectors. Measured against real
questions (mailing-list thread subjects, whose best passage is at cosine 0.57 median): on real passage vectors
these queries need the same nprobe as the questions; on synthetic vectors blended from real ones they need
fewer, hence the target of 0.97 rather than 0.95 (docs/scaling.md has the figures). Run once per build on the
build's own embeddings; the chosen nprobe is saved in the index file and recorded, with the recall measured, in
the manifest.
"""

from __future__ import annotations

import faiss
import numpy as np

from .ann import IVFIndex, VectorIndex, new_vector_index
from .rows import Rows, as_rows

RECALL_TARGET = 0.97  # on the tuning queries; questions then reach 0.95 (docs/scaling.md)
QUERY_COSINE = 0.4  # of a tuning query with the vector it is made from
SAMPLE = 256
K = 10


def exact_neighbours(vectors: np.ndarray | Rows, queries: np.ndarray, k: int) -> np.ndarray:
    """Positions of the exact k best (inner product) of each query among `vectors` (a matrix, or rows read a chunk
    at a time: each chunk's best merged with the best so far)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best = np.full((len(queries), k), -1, dtype=np.int64)
    for start, chunk in as_rows(vectors).chunks():
        scores, positions = faiss.knn(
            queries, np.ascontiguousarray(chunk), min(k, len(chunk)), metric=faiss.METRIC_INNER_PRODUCT
        )
        positions = np.where(positions >= 0, positions + start, -1)
        scores = np.where(positions >= 0, scores, -np.inf)
        both_scores = np.concatenate([best_scores, scores], axis=1)
        both = np.concatenate([best, positions], axis=1)
        keep = np.argsort(-both_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(both_scores, keep, axis=1)
        best = np.take_along_axis(both, keep, axis=1)
    return best


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = K, leave_out: np.ndarray | None = None) -> float:
    """Mean share of each row's first k of `truth` that the first k of `found` hold (`leave_out`: a position per
    row dropped from both first, the query's own vector)."""
    total = 0.0
    for i in range(len(truth)):
        own = leave_out[i] if leave_out is not None else -2
        want = [p for p in truth[i] if p != own and p >= 0][:k]
        got = [p for p in found[i] if p != own and p >= 0][:k]
        total += len(set(want) & set(got)) / max(1, len(want))
    return total / max(1, len(truth))


def tune_nprobe(index: IVFIndex, vectors: np.ndarray | Rows, target: float = RECALL_TARGET, seed: int = 0) -> dict:
    """Set `index.nprobe` to the fewest lists reaching `target` recall@10 on a sample of `vectors` (all of them
    indexed, in position order); return what was measured."""
    rng = np.random.default_rng(seed)
    rows = as_rows(vectors)
    n, dimension = len(rows), rows.dimension
    queries = rows.take(rng.choice(n, min(SAMPLE, n), replace=False))
    spread = np.sqrt((1 / QUERY_COSINE**2 - 1) / dimension)  # a random vector of that length: cosine QUERY_COSINE
    queries = queries + rng.standard_normal(queries.shape).astype(np.float32) * spread
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = exact_neighbours(rows, queries, K)

    def measured(nprobe: int) -> float:
        return recall_at(index.probe(queries, K, nprobe), truth, K)

    high = 1
    while measured(high) < target and high < index.nlist:
        high = min(index.nlist, high * 2)
    low = high // 2  # below target (or 0): the answer is in (low, high]
    while high - low > max(1, high // 8):
        middle = (low + high) // 2
        if measured(middle) >= target:
            high = middle
        else:
            low = middle
    index.nprobe = high
    return {"recall_at_10": round(measured(high), 4), "recall_target": target, "tuned_on": len(queries)}


def build_vector_index(
    ids: np.ndarray, vectors: np.ndarray | Rows, dimension: int, threshold: int
) -> tuple[VectorIndex, dict]:
    """The index of a build (exact below `threshold` vectors, else IVF, tuned) and what the manifest records;
    `vectors` a matrix, or a file of rows (vectors/rows.py) added a chunk at a time."""
    rows = as_rows(vectors)
    if len(ids) != len(rows):
        raise ValueError(f"{len(ids)} ids for {len(rows)} vectors")
    index = new_vector_index(dimension, rows, threshold)
    for start, chunk in rows.chunks():
        index.add(ids[start : start + len(chunk)], chunk)
    params = index.params()
    if isinstance(index, IVFIndex):
        params |= tune_nprobe(index, rows)
        params["nprobe"] = index.nprobe
    return index, params | {"threshold": threshold}
