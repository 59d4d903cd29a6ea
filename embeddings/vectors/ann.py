"""A small approximate-nearest-neighbour interface with FAISS behind it.

Exact inner-product search over normalised vectors (cosine), ids = passage ids.
Filters are applied inside the search with a FAISS id selector, so a filtered
query ranks exactly the allowed subset however small it is.
"""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np


class VectorIndex:
    def __init__(self, dimension: int, index: faiss.Index | None = None):
        self.dimension = dimension
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}, got {vectors.shape}")
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def ids(self) -> np.ndarray:
        """The ids of every vector, in storage order."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def search(self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, score) pairs, best first; only ids in `allowed_ids` when given."""
        if len(self) == 0 or k <= 0:
            return []
        k = min(k, len(self))
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed_ids is not None:
            if len(allowed_ids) == 0:
                return []
            k = min(k, len(allowed_ids))
            params = faiss.SearchParameters(
                sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed_ids, dtype=np.int64))
            )
        scores, ids = self._index.search(q, k, params=params)
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]
        return sorted(hits, key=lambda hit: (-hit[1], hit[0]))  # equal scores in id order, whatever k is

    def save(self, path: str | Path) -> None:
        tmp = f"{path}.tmp"
        faiss.write_index(self._index, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        index = faiss.read_index(str(path))
        return cls(index.d, index)
