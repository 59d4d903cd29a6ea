"""A build's passage vectors, by position, in memory or in a scratch file, read back in chunks.

A full build's matrix is one float32 row per passage: 1.5 GB at a million passages of 384 dimensions, as much as
everything else the build holds. It goes to a file in the build's directory instead (`RowFile`), each vector
written as it is found in the cache or embedded, and the vector index is filled from it a chunk at a time
(`chunks`), trained on and tuned with samples (`take`). The file is written and read with positioned system
calls, not mapped: its pages stay in the page cache, which the kernel reclaims, not in the process.

`ArrayRows` gives a matrix already in memory (an incremental build's few new vectors, a benchmark's synthetic
ones) the same interface.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CHUNK_ROWS = 16_384  # rows read at a time: 24 MiB of 384 float32s (65,536 rows: a peak 162 MiB higher, no faster)


def as_rows(vectors: np.ndarray | Rows) -> Rows:
    """Rows to read in chunks and samples, whether a matrix or a file of them."""
    return vectors if isinstance(vectors, ArrayRows | RowFile) else ArrayRows(vectors)


class ArrayRows:
    """Rows of a matrix in memory."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.dimension = self.matrix.shape[1] if self.matrix.ndim == 2 else 0

    def __len__(self) -> int:
        return len(self.matrix)

    def take(self, positions: np.ndarray) -> np.ndarray:
        return self.matrix[np.asarray(positions, dtype=np.int64)]

    def chunks(self, size: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        size = size or CHUNK_ROWS
        for start in range(0, len(self.matrix), size):
            yield start, self.matrix[start : start + size]


class RowFile:
    """`count` float32 rows of `dimension` in a file; rows not yet written read as zeros (the file is sparse)."""

    def __init__(self, path: Path, count: int, dimension: int):
        self.path, self.count, self.dimension = Path(path), count, dimension
        self._row = dimension * 4
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _allocate(self._fd, count * self._row)
        except OSError:
            self.close()
            raise

    def __len__(self) -> int:
        return self.count

    def put(self, position: int, vector: np.ndarray) -> None:
        data = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        if len(data) != self._row or not 0 <= position < self.count:
            raise ValueError(f"row {position} of {len(data)} bytes: this file holds {self.count} of {self._row}")
        _write_all(self._fd, data, position * self._row)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1, as a new array."""
        stop = min(stop, self.count)
        out = np.empty((max(0, stop - start), self.dimension), dtype=np.float32)
        if len(out):
            _read_into(self._fd, memoryview(out).cast("B"), start * self._row)
        return out

    def take(self, positions: np.ndarray) -> np.ndarray:
        """The rows at `positions`, in their order (a sample: one read a row)."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.empty((len(positions), self.dimension), dtype=np.float32)
        for i, position in enumerate(positions.tolist()):
            out[i] = self.read(position, position + 1)[0]
        return out

    def chunks(self, size: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(first position, rows) of `size` (CHUNK_ROWS) rows at a time, in position order."""
        size = size or CHUNK_ROWS
        for start in range(0, self.count, size):
            yield start, self.read(start, start + size)

    def close(self, remove: bool = True) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if remove:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> RowFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


Rows = ArrayRows | RowFile  # what a vector index is built from


def _allocate(fd: int, size: int) -> None:
    """The file's whole size, its blocks reserved where the file system can (a disk too full for the vectors
    fails the build before hours of embedding, not after); elsewhere a sparse file of that size."""
    os.ftruncate(fd, size)
    if size and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _read_into(fd: int, buffer: memoryview, offset: int) -> None:
    while buffer:
        got = os.preadv(fd, [buffer], offset)
        if got == 0:
            raise OSError(f"vector rows end early at byte {offset}")
        buffer, offset = buffer[got:], offset + got
