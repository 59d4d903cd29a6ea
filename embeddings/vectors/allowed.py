"""Which passage ids a filtered search may return: a range of ids or a sorted list of them.

Passages are numbered in date order (see `passages.make_passages`), so a date window is a range whatever the
archive holds; an author or a thread is the list of its passages' ids, read as one stored array. Both the vector
index and the keyword index take an `Allowed` and spend time in proportion to what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MASK_FROM = 4096  # allowed ids from which membership is read from a bitmap rather than by binary search


@dataclass(frozen=True, eq=False)
class Allowed:
    """The ids in [start, stop) when `ids` is None, else exactly `ids` (sorted, unique, int64)."""

    start: int = 0
    stop: int = 0
    ids: np.ndarray | None = None
    _mask: list = field(default_factory=list, repr=False)  # the bitmap of `ids`, made once when first asked

    @classmethod
    def span(cls, start: int, stop: int) -> Allowed:
        return cls(int(start), max(int(start), int(stop)))

    @classmethod
    def of(cls, ids) -> Allowed:
        return cls(ids=np.unique(np.asarray(ids, dtype=np.int64)))

    @property
    def is_range(self) -> bool:
        return self.ids is None

    def __len__(self) -> int:
        return self.stop - self.start if self.ids is None else len(self.ids)

    def to_array(self) -> np.ndarray:
        """Every allowed id, ascending."""
        return np.arange(self.start, self.stop, dtype=np.int64) if self.ids is None else self.ids

    def __and__(self, other: Allowed) -> Allowed:
        if self.is_range and other.is_range:
            return Allowed.span(max(self.start, other.start), min(self.stop, other.stop))
        if self.is_range:
            return other & self
        if other.is_range:
            return Allowed(ids=self.ids[(self.ids >= other.start) & (self.ids < other.stop)])
        return Allowed(ids=np.intersect1d(self.ids, other.ids, assume_unique=True))

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """A boolean mask: which of `ids` are allowed."""
        if self.is_range:
            return (ids >= self.start) & (ids < self.stop)
        if not len(self.ids):
            return np.zeros(len(ids), bool)
        if len(self.ids) >= MASK_FROM:  # a gather from a bitmap: no binary search per id (a million ids: 40 ms)
            bitmap = self._bitmap()
            inside = (ids >= 0) & (ids < len(bitmap))
            return inside & bitmap[np.where(inside, ids, 0)]
        at = np.searchsorted(self.ids, ids)
        return self.ids[np.minimum(at, len(self.ids) - 1)] == ids

    def _bitmap(self) -> np.ndarray:
        """bitmap[i]: is id i allowed (for ids up to the highest allowed one)."""
        if not self._mask:
            bitmap = np.zeros(int(self.ids[-1]) + 1, dtype=bool)
            bitmap[self.ids] = True
            self._mask.append(bitmap)
        return self._mask[0]

    def positions_in(self, sorted_ids: np.ndarray) -> tuple[int, int] | np.ndarray:
        """Where the allowed ids stand in `sorted_ids` (the ids of an index, ascending): a (lo, hi) slice for a
        range, else the positions of those allowed ids that `sorted_ids` holds."""
        if self.is_range:
            lo, hi = np.searchsorted(sorted_ids, [self.start, self.stop])
            return int(lo), int(hi)
        if not len(sorted_ids):
            return np.zeros(0, dtype=np.int64)
        first = int(sorted_ids[0])
        if int(sorted_ids[-1]) - first == len(sorted_ids) - 1:  # consecutive ids (the usual index): arithmetic
            return self.ids[(self.ids >= first) & (self.ids <= int(sorted_ids[-1]))] - first
        at = np.searchsorted(sorted_ids, self.ids)
        found = sorted_ids[np.minimum(at, len(sorted_ids) - 1)] == self.ids
        return at[found].astype(np.int64)


def top_k(scores: np.ndarray, k: int, order: np.ndarray | None = None) -> np.ndarray:
    """Indexes of the k highest scores, unordered; ties at the cut go to the lowest `order` (default: index)."""
    if k >= len(scores):
        return np.arange(len(scores))
    cut = np.partition(scores, len(scores) - k)[len(scores) - k]
    better = np.flatnonzero(scores > cut)
    tied = np.flatnonzero(scores == cut)
    if order is not None:
        tied = tied[np.argsort(order[tied], kind="stable")]
    return np.concatenate([better, tied[: k - len(better)]])
