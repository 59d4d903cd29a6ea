"""Vector indexes behind one small interface: exact search below a size, an IVF index with 8-bit codes above it.

`build_vector_index` picks the backend from the number of vectors (the `ann_threshold` setting) and, for the
IVF index, tunes how many lists a query probes (`vectors/tuning.py`); `load_vector_index` reads either back,
memory-mapped (FAISS's IO_FLAG_MMAP_IFC maps the codes of both instead of copying them: a load costs
milliseconds and only the pages a search touches are read).

Every backend keeps the vectors by position (0..n-1, passage ids ascending) in a FAISS index, inside an
IndexIDMap that holds the passage ids (the file format). A filter's id range is then a range of positions and a
list of ids becomes positions by binary search. A filtered search is ranked exactly from the allowed vectors
alone when they are few (cost in proportion to what the filter selects), else through the index with an id
selector, the IVF probing as many more lists as the filter leaves out (cost about that of an unfiltered search).
Scores are inner products of normalised vectors (cosine); equal scores come in id order.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import faiss
import numpy as np

from .allowed import Allowed
from .rows import Rows, as_rows


class VectorIndex:
    """Exact search (IndexFlatIP); the base of every backend."""

    kind = "exact"

    def __init__(self, id_map: faiss.Index, read_only: bool = False):
        self._map = id_map
        self._index = faiss.downcast_index(id_map.index)
        self.dimension = id_map.d
        self._ids = faiss.vector_to_array(id_map.id_map).astype(np.int64)
        self.read_only = read_only  # memory-mapped: FAISS aborts the process on a write, so `add` refuses

    @classmethod
    def empty(cls, dimension: int) -> VectorIndex:
        return cls(faiss.IndexIDMap(faiss.IndexFlatIP(dimension)))

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> np.ndarray:
        """The ids of every vector, ascending (storage order)."""
        return self._ids.copy()

    def params(self) -> dict:
        """What the manifest records about this index."""
        return {"kind": self.kind}

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Append vectors; their ids ascending and above every id already held (passage order)."""
        if self.read_only:
            raise ValueError("a memory-mapped vector index is read-only: load it with mmap=False to add to it")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.ascontiguousarray(ids, dtype=np.int64).ravel()
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}, got {vectors.shape}")
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids) and (np.any(np.diff(ids) <= 0) or (len(self._ids) and ids[0] <= self._ids[-1])):
            raise ValueError("ids must be ascending and above those already in the index")
        self._map.add_with_ids(vectors, ids)
        self._ids = np.concatenate([self._ids, ids])

    def search(self, query: np.ndarray, k: int, allowed: Allowed | np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, score) pairs, best first; only allowed ids when `allowed` is given."""
        if len(self) == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if allowed is None:
            scores, positions = self._search(q, min(k, len(self)), None, 1.0)
        else:
            allowed = allowed if isinstance(allowed, Allowed) else Allowed.of(allowed)
            where = allowed.positions_in(self._ids)
            count = where[1] - where[0] if isinstance(where, tuple) else len(where)
            if count == 0:
                return []
            k = min(k, count)
            if self._exact_subset(where, count):
                scores, positions = self._ranked_subset(q[0], k, where)
            else:
                selector, keep_alive = _selector(where, len(self))
                scores, positions = self._search(q, k, selector, count / len(self))
                del keep_alive
        found = positions >= 0
        hits = zip(self._ids[positions[found]].tolist(), scores[found].tolist())
        return sorted(hits, key=lambda hit: (-hit[1], hit[0]))  # equal scores in id order, whatever k is

    def save(self, path: str | Path) -> None:
        tmp = f"{path}.tmp"
        faiss.write_index(self._map, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    # --- what a backend provides -------------------------------------------------------------------
    def _search(self, q: np.ndarray, k: int, selector, fraction: float) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions) of the k best, through the FAISS index; `fraction`: the share `selector` allows."""
        params = faiss.SearchParameters(sel=selector) if selector is not None else None
        scores, positions = self._index.search(q, k, params=params)
        return scores[0], positions[0]

    def _exact_subset(self, where, count: int) -> bool:
        """Rank the allowed vectors on their own? A range is a slice of the stored vectors: always; a list of
        positions is gathered: when it is a small part of the index."""
        return isinstance(where, tuple) or count <= len(self) // 4

    def _vectors(self, where) -> np.ndarray:
        stored = faiss.rev_swig_ptr(self._index.get_xb(), len(self) * self.dimension).reshape(-1, self.dimension)
        return stored[where[0] : where[1]] if isinstance(where, tuple) else stored[where]

    def _ranked_subset(self, q: np.ndarray, k: int, where) -> tuple[np.ndarray, np.ndarray]:
        # FAISS's own scan over the allowed vectors (a view of a range, a copy of a list of positions)
        scores, chosen = faiss.knn(q[None], np.ascontiguousarray(self._vectors(where)), k, faiss.METRIC_INNER_PRODUCT)
        chosen = chosen[0]
        return scores[0], chosen + where[0] if isinstance(where, tuple) else where[chosen]


class IVFIndex(VectorIndex):
    """Inverted lists of 8-bit scalar-quantised vectors (IndexIVFScalarQuantizer, inner product): 1 byte a
    dimension, a quarter of the exact index; a query scans `nprobe` of `nlist` lists."""

    kind = "ivf"

    def __init__(self, id_map: faiss.Index, read_only: bool = False):
        super().__init__(id_map, read_only)
        self._lock = threading.Lock()
        self._direct_map = False

    @classmethod
    def trained(cls, vectors: np.ndarray | Rows, nlist: int | None = None, seed: int = 1234) -> IVFIndex:
        """An empty index whose lists and codes are trained on `vectors` (a matrix or a file of rows; a sample of
        at most 64 a list)."""
        rows = as_rows(vectors)
        n, dimension = len(rows), rows.dimension
        nlist = nlist or lists_for(n)
        quantizer = faiss.IndexFlatIP(dimension)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, dimension, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        ivf.cp.seed = seed
        chosen = np.arange(n)
        if n > 64 * nlist:
            chosen = np.sort(np.random.default_rng(seed).choice(n, 64 * nlist, replace=False))
        sample = rows.take(chosen)
        ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
        ivf.nprobe = max(1, nlist // 16)
        index = cls(faiss.IndexIDMap(ivf))
        index._quantizer = quantizer  # the IVF index does not own it: keep it alive as long as the index
        return index

    @property
    def nlist(self) -> int:
        return int(self._index.nlist)

    @property
    def nprobe(self) -> int:
        return int(self._index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._index.nprobe = max(1, min(int(value), self.nlist))  # saved with the index

    def params(self) -> dict:
        return {"kind": self.kind, "nlist": self.nlist, "nprobe": self.nprobe, "codes": "SQ8"}

    def probe(self, queries: np.ndarray, k: int, nprobe: int) -> np.ndarray:
        """Positions of the k best for each of `queries`, probing `nprobe` lists (for tuning)."""
        params = faiss.SearchParametersIVF(nprobe=int(nprobe))
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)[1]

    def _search(self, q: np.ndarray, k: int, selector, fraction: float) -> tuple[np.ndarray, np.ndarray]:
        # as many more lists as the filter leaves out, so as many allowed vectors are scanned as unfiltered; a
        # filter allowing at most nprobe/nlist of the index probes every list: its allowed vectors ranked exactly
        # (up to the 8-bit codes). A range is cheap however many lists: positions are added in order, so each list
        # holds its ids ascending and FAISS finds the range in it by binary search (assume_sorted)
        nprobe = min(self.nlist, math.ceil(self.nprobe / max(fraction, 1e-9)))
        if selector is None:
            params = faiss.SearchParametersIVF(nprobe=nprobe)
        else:
            params = faiss.SearchParametersIVF(nprobe=nprobe, sel=selector)
        scores, positions = self._index.search(q, k, params=params)
        return scores[0], positions[0]

    def _exact_subset(self, where, count: int) -> bool:
        # decoding a vector costs about 4 us, a list scan about 25 ns a vector (a million: 1.6 ms for 400 vectors
        # decoded, 25 ms for every list scanned), so a few allowed vectors are decoded and ranked on their own
        return count <= len(self) // 160

    def _ranked_subset(self, q: np.ndarray, k: int, where) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if not self._direct_map:  # position -> (list, offset): 8 bytes a vector, built once (46 ms a million)
                self._index.make_direct_map(True)
                self._direct_map = True
        positions = np.arange(where[0], where[1], dtype=np.int64) if isinstance(where, tuple) else where
        vectors = self._index.reconstruct_batch(positions)
        scores, chosen = faiss.knn(q[None], vectors, k, faiss.METRIC_INNER_PRODUCT)
        return scores[0], positions[chosen[0]]


def lists_for(n: int) -> int:
    """The IVF's number of lists for n vectors: the power of two nearest sqrt(n), and at most n / 39 (k-means
    wants 39 training vectors a list)."""
    return max(1, min(2 ** round(math.log2(max(1.0, math.sqrt(n)))), n // 39))


def search_in_one_thread() -> None:
    """One FAISS thread a search: a query is one vector, and FAISS's threads inside it only wait on each other
    and on the other searches (measured on 2 busy cores: 10k vectors exact, 60 ms with 2 threads, 0.3 ms with 1).
    Process-wide: the service calls it once; a build in the same process then trains its IVF in one thread."""
    faiss.omp_set_num_threads(1)


def _selector(where, n: int):
    """A FAISS id selector over positions, and what must stay alive while it is used."""
    if isinstance(where, tuple):
        return faiss.IDSelectorRange(where[0], where[1], True), None  # ids in each IVF list are ascending
    mask = np.zeros(n, dtype=bool)
    mask[where] = True
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits)), bits


def new_vector_index(dimension: int, vectors: np.ndarray | Rows, threshold: int) -> VectorIndex:
    """An empty index for `vectors`: exact below `threshold` vectors, else an IVF index trained on them."""
    if len(vectors) < threshold:
        return VectorIndex.empty(dimension)
    return IVFIndex.trained(vectors)


def load_vector_index(path: str | Path, mmap: bool = True) -> VectorIndex:
    """An index written by `save` (or by an older threadbot: exact search in an IndexIDMap2). Memory-mapped
    unless `mmap` is False; a mapped index is read-only."""
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
    index = faiss.read_index(str(path), flags)
    if not isinstance(index, faiss.IndexIDMap | faiss.IndexIDMap2):
        raise RuntimeError(f"{type(index).__name__} is not a threadbot vector index")
    inner = faiss.downcast_index(index.index)
    if isinstance(inner, faiss.IndexIVFScalarQuantizer):
        return IVFIndex(index, read_only=mmap)
    if isinstance(inner, faiss.IndexFlatIP):
        return VectorIndex(index, read_only=mmap)
    raise RuntimeError(f"{type(inner).__name__} is not a threadbot vector index")
