"""Joining segments of saved quote state (`resume`) into one, and the rule that says when.

`merge` streams: the occurrences are read and written one range of shingle keys at a time (CHUNK occurrences of
each segment at most), the words and origins CHUNK rows at a time, each array written straight to its file, so
merging the segments of a whole archive takes memory of a chunk, not of the archive. `compact` keeps the number of
segments logarithmic in the posts they hold: after a segment is added, the last two are merged while the earlier
is not much larger than the later (equal batches merge like a binary counter), and whenever there are more than
MAX_SEGMENTS. Every lookup reads each segment once (`SavedState.occurrences`), so few segments keep lookups cheap,
and each occurrence is rewritten about log2(segments) times over a build's life.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .resume import SavedState, write_meta

CHUNK = 1 << 20  # rows read at a time from one segment's array
MERGE_RATIO = 1.5  # the last two segments are merged while the earlier holds at most this many times the later's words
MAX_SEGMENTS = 16  # more, and the last two are merged whatever their sizes


def compact(root: Path, names: Sequence[str]) -> list[str]:
    """Merge the last segments of the state in `root` (named `names`, in order) as the rule above says; the names
    after it. A merged segment gets the number after the last one; the segments it replaces are removed."""
    names = list(names)
    while len(names) >= 2 and (
        len(names) > MAX_SEGMENTS or _words(root / names[-2]) <= MERGE_RATIO * _words(root / names[-1])
    ):
        joined = f"{int(names[-1]) + 1:04d}"
        state = SavedState(root, names)
        merge(state, names[-2:], root / joined)
        del state  # its mapped files are about to be removed
        for old in names[-2:]:
            shutil.rmtree(root / old)
        names[-2:] = [joined]
    return names


def _words(segment: Path) -> int:
    """A segment's size, as the bytes of its words (every word read; the other arrays follow them)."""
    return (segment / "words.npy").stat().st_size


def merge(state: SavedState, names: Sequence[str], directory: Path) -> None:
    """Write the segments `names` of `state` (consecutive) as one segment in `directory`."""
    chosen = [state.names.index(name) for name in names]
    if chosen != list(range(chosen[0], chosen[0] + len(chosen))):
        raise ValueError("only consecutive segments are merged")
    metas = [json.loads((state.directory / n / "meta.json").read_text(encoding="utf-8")) for n in names]
    segments = [state.segments[i] for i in chosen]
    meta = {
        "first": metas[0]["first"],
        "posts": [p for m in metas for p in m["posts"]],
        "digests": [d for m in metas for d in m["digests"]],
        "vocab_start": metas[0]["vocab_start"],
        "vocab": [w for m in metas for w in m["vocab"]],
        "short": [s for m in metas for s in m["short"]],
    }
    del metas
    directory.mkdir(parents=True)
    bounds = _key_bounds(segments)
    ranges = _ranges(segments, bounds, with_entries=False)
    n_keys = sum(len(np.unique(np.concatenate([keys for keys, _, _ in parts]))) for parts in ranges)
    n_entries = sum(len(s["entries"]) for s in segments)
    with (
        _Npy(directory / "keys.npy", np.uint64, (n_keys,)) as keys_out,
        _Npy(directory / "starts.npy", np.int64, (n_keys + 1,)) as starts_out,
        _Npy(directory / "entries.npy", np.uint32, (n_entries, 2)) as entries_out,
    ):
        written = 0
        for parts in _ranges(segments, bounds):
            # a key's occurrences stay in the order they were added: segments in order, then a stable sort
            entry_keys = np.concatenate([np.repeat(keys, counts) for keys, counts, _ in parts])
            entries = np.concatenate([block for _, _, block in parts]).reshape(-1, 2)
            order = np.argsort(entry_keys, kind="stable")
            unique, starts = np.unique(entry_keys[order], return_index=True)
            keys_out.write(unique)
            starts_out.write(starts + written)
            entries_out.write(entries[order])
            written += len(order)
            state.release()
        starts_out.write(np.array([written]))
    for name, dtype, width in (("words", np.uint32, None), ("runs", np.int32, 3)):
        rows = sum(len(s[name]) for s in segments)
        with _Npy(directory / f"{name}.npy", dtype, (rows,) if width is None else (rows, width)) as out:
            for s in segments:
                for at in range(0, len(s[name]), CHUNK):
                    out.write(s[name][at : at + CHUNK])
                state.release()
    for name in ("word_starts", "run_starts"):
        with _Npy(directory / f"{name}.npy", np.int64, (len(meta["posts"]) + 1,)) as out:
            out.write(_offsets([s[name] for s in segments]))
    write_meta(directory, meta)


def _key_bounds(segments: Sequence[dict[str, np.ndarray]]) -> np.ndarray:
    """Shingle keys that cut the segments' keys into ranges of about CHUNK occurrences of each segment at most
    (a key has at most SHINGLE_CAP occurrences)."""
    step = max(1, CHUNK // 16)
    samples = [np.asarray(s["keys"][step::step]) for s in segments if len(s["keys"]) > step]
    return np.unique(np.concatenate(samples)) if samples else np.zeros(0, np.uint64)


def _ranges(segments, bounds: np.ndarray, with_entries: bool = True) -> Iterator[list[tuple]]:
    """For each range of keys between `bounds`, each segment's (keys, occurrence counts, occurrences) in it (without
    `with_entries`, the keys only)."""
    cuts = [np.concatenate([[0], np.searchsorted(s["keys"], bounds), [len(s["keys"])]]) for s in segments]
    for r in range(len(bounds) + 1):
        parts = []
        for s, cut in zip(segments, cuts):
            lo, hi = int(cut[r]), int(cut[r + 1])
            if not with_entries:
                parts.append((np.asarray(s["keys"][lo:hi]), None, None))
                continue
            starts = np.asarray(s["starts"][lo : hi + 1])
            block = (
                np.asarray(s["entries"][int(starts[0]) : int(starts[-1])]) if hi > lo else np.zeros((0, 2), np.uint32)
            )
            parts.append((np.asarray(s["keys"][lo:hi]), np.diff(starts), block))
        yield parts


def _offsets(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Offset arrays (each starting at 0, one more than its items) of consecutive segments, as one."""
    out, base = [np.zeros(1, np.int64)], 0
    for part in parts:
        out.append(np.asarray(part[1:], dtype=np.int64) + base)
        base += int(part[-1])
    return np.concatenate(out)


class _Npy:
    """An .npy file of a known shape written in parts (np.save wants the whole array in memory), synced on close;
    a part count that does not add up to the shape is a ValueError."""

    def __init__(self, path: Path, dtype, shape: tuple[int, ...]) -> None:
        self.dtype, self.shape, self.rows = np.dtype(dtype), shape, 0
        self.fh = open(path, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(self.fh, header)

    def write(self, rows) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.shape[1:]:
            raise ValueError(f"rows of shape {rows.shape[1:]} for an array of {self.shape}")
        self.fh.write(rows.tobytes())
        self.rows += len(rows)

    def __enter__(self) -> _Npy:
        return self

    def __exit__(self, kind, *_) -> None:
        try:
            if kind is None:
                if self.rows != self.shape[0]:
                    raise ValueError(f"{self.rows} rows written of {self.shape[0]}")
                self.fh.flush()
                os.fsync(self.fh.fileno())
        finally:
            self.fh.close()
