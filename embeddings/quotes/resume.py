"""Quote detection that goes on where the previous build stopped, so new posts cost only their own detection.

`QuoteDetector` reads posts in date order and keeps, for everything it has read, the vocabulary, the shingle index
(shingle -> the first SHINGLE_CAP (post, word) occurrences), the origin of every word (the post and word where it
was first somebody's own) and the short posts of each thread. None of it changes for a post once later posts are
read: a later post only adds. A build saves it, and the next build, when every post it reads comes after the
posts already read (in the same order), gives a detector that state and feeds it only the new posts; the quotes it
finds are those a detector fed every post would find.

Saved, in the build's `quotes/` directory, as segments (a full build writes one per batch of posts it reads,
`batched`; an incremental build one for its new posts; `state_merge` joins them as they accumulate), each a folder
of:

    meta.json       the posts (ids, in detection order, with the caller's digest of each), the words the
                    segment added to the vocabulary, its short posts (thread, post, word ids)
    keys.npy        the shingles it added occurrences to, three word ids packed in 63 bits, sorted
    starts.npy      where each key's occurrences start in entries.npy (one more than there are keys)
    entries.npy     (post, word position) of each occurrence, per key in the order they were added
    words.npy       every post's word ids, one post after the other
    word_starts.npy where each post's words start in words.npy (one more than there are posts)
    runs.npy        the words' origins, run-length coded: (first word, origin post, origin word) of each run of
                    words whose origins are consecutive words of one post
    run_starts.npy  where each post's runs start in runs.npy

The words' character offsets and lines are not saved: an earlier post's are its body tokenised again, and only
for the posts a new post's quotes are found in (checked to give the saved words).
"""

from __future__ import annotations

import json
import mmap
import os
import weakref
from array import array
from collections import defaultdict
from collections.abc import Sequence
from itertools import chain
from pathlib import Path

import numpy as np

from ..durable import fsync_path
from ..models import Post
from .detector import SHINGLE, IndexedPost, QuoteDetector, new_occurrences
from .order import detection_order, feed  # noqa: F401  (re-exported: the order resumed detection reads)

STATE_DIR = "quotes"
BITS = 21  # bits per word id in a packed shingle: a vocabulary of up to 2 million words
_ARRAYS = ("keys", "starts", "entries", "words", "word_starts", "runs", "run_starts")
LOOKUP_KEYS = 1 << 20  # a segment's keys searched at a time (8 MiB), their pages then dropped (`_lookup`)


class StateError(ValueError):
    """Saved detector state that cannot be used (missing, damaged, or not what the posts need)."""


# --- writing ---------------------------------------------------------------------------------------------
def _pack(words: np.ndarray) -> np.ndarray:
    """(n, SHINGLE) word ids -> n packed keys."""
    words = words.astype(np.uint64)
    return (words[:, 0] << np.uint64(2 * BITS)) | (words[:, 1] << np.uint64(BITS)) | words[:, 2]


def write_segment(directory: Path, detector: QuoteDetector, first: int, vocab_start: int, digests: Sequence[str]):
    """Save what posts `first`... of `detector` added (their `digests` alongside) as a segment in `directory`."""
    if len(detector.vocab) >= 1 << BITS:
        raise StateError(f"a vocabulary of {len(detector.vocab):,} words is more than saved state holds")
    posts = [detector.posts[i] for i in range(first, len(detector.posts))]
    words = list(detector.vocab)
    meta = {
        "first": first,
        "posts": [ip.post.post_id for ip in posts],
        "digests": list(digests),
        "vocab_start": vocab_start,
        "vocab": words[vocab_start:],
        "short": [
            [thread, order, list(key)]
            for thread, shorts in detector.short_posts.items()
            for key, (order, _) in shorts.items()
            if order >= first
        ],
    }
    if len(meta["digests"]) != len(posts):
        raise ValueError("one digest per post")
    # the shingles' occurrences from post `first` on, grouped by key in the order they were added
    table = detector.shingles
    counts = np.fromiter(map(len, table.values()), dtype=np.int64, count=len(table)) // 2  # flat (post, word) pairs
    entries = np.fromiter(chain.from_iterable(table.values()), dtype=np.uint32)
    entries = entries.reshape(-1, 2)
    keys = _pack(np.fromiter(chain.from_iterable(table), dtype=np.uint32).reshape(-1, SHINGLE))
    entry_keys = np.repeat(keys, counts)
    if first:
        kept = entries[:, 0] >= first
        entries, entry_keys = entries[kept], entry_keys[kept]
    order = np.argsort(entry_keys, kind="stable")
    entries, entry_keys = entries[order], entry_keys[order]
    unique, starts = np.unique(entry_keys, return_index=True)
    starts = np.append(starts, len(entry_keys)).astype(np.int64)
    lengths = np.fromiter((len(ip.words) for ip in posts), dtype=np.int64, count=len(posts))
    post_starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    words = np.fromiter(chain.from_iterable(ip.words for ip in posts), dtype=np.uint32, count=int(post_starts[-1]))
    runs, run_starts = _origin_runs(posts, lengths, post_starts)
    arrays = {"keys": unique, "starts": starts, "entries": entries, "words": words, "word_starts": post_starts}
    _save(directory, meta, **arrays, runs=runs, run_starts=run_starts)


def _origin_runs(posts: Sequence[IndexedPost], lengths, post_starts) -> tuple[np.ndarray, np.ndarray]:
    origin = np.fromiter(chain.from_iterable(ip.origin_post for ip in posts), dtype=np.int32)
    word = np.fromiter(chain.from_iterable(ip.origin_word for ip in posts), dtype=np.int32)
    new_run = np.ones(len(origin), dtype=bool)
    new_run[1:] = (origin[1:] != origin[:-1]) | (word[1:] != word[:-1] + 1)
    new_run[post_starts[:-1][lengths > 0]] = True
    at = np.flatnonzero(new_run)
    post_of_run = np.searchsorted(post_starts, at, side="right") - 1
    runs = np.stack([at - post_starts[post_of_run], origin[at], word[at]], axis=1).astype(np.int32)
    run_starts = np.searchsorted(at, post_starts).astype(np.int64)
    return runs.reshape(-1, 3), run_starts


def _save(directory: Path, meta: dict, **arrays: np.ndarray) -> None:
    directory.mkdir(parents=True)
    for name, values in arrays.items():
        with open(directory / f"{name}.npy", "wb") as fh:
            np.save(fh, values, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
    write_meta(directory, meta)


def write_meta(directory: Path, meta: dict) -> None:
    """A segment's meta.json, written last: a segment without one is not read."""
    with open(directory / "meta.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())
    fsync_path(directory)
    fsync_path(directory.parent)


# --- reading ---------------------------------------------------------------------------------------------
class SavedState:
    """The segments of a build's saved state, read back (arrays memory-mapped); StateError if they don't fit."""

    def __init__(self, directory: Path, names: Sequence[str]):
        self.directory = directory
        self.names = list(names)
        self.post_ids: list[str] = []
        self.digests: list[str] = []
        self.vocab_size = 0  # the words are read from the segments when asked for (`vocab`)
        self.short: list[tuple[str, int, tuple[int, ...]]] = []
        self.segments: list[dict[str, np.ndarray]] = []
        self.firsts: list[int] = []
        try:
            for name in self.names:
                self._read(directory / name)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise StateError(f"saved quote state in {directory} cannot be read ({exc})") from None
        if not self.names:
            raise StateError(f"no saved quote state in {directory}")

    @property
    def vocab(self) -> list[str]:
        """Every word of the saved vocabulary, in id order (read from the segments: a build holds it once, in its
        detector)."""
        words: list[str] = []
        for name in self.names:
            words.extend(json.loads((self.directory / name / "meta.json").read_text(encoding="utf-8"))["vocab"])
        return words

    def release(self) -> None:
        """Drop the pages of the mapped arrays this process has read (the file system keeps them cached): reading
        the segments of a whole archive does not grow the process by their size."""
        for arrays in self.segments:
            for mapped in arrays.values():
                drop_pages(mapped)

    def _read(self, path: Path) -> None:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        if meta["first"] != len(self.post_ids) or meta["vocab_start"] != self.vocab_size:
            raise ValueError(f"segment {path.name} does not follow the one before it")
        posts, digests = meta["posts"], meta["digests"]
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _ARRAYS}
        n_keys, n_posts = len(arrays["keys"]), len(posts)
        if (
            len(digests) != n_posts
            or arrays["starts"].shape != (n_keys + 1,)
            or arrays["entries"].shape != (int(arrays["starts"][-1]) if n_keys else 0, 2)
            or arrays["run_starts"].shape != (n_posts + 1,)
            or arrays["word_starts"].shape != (n_posts + 1,)
            or int(arrays["word_starts"][-1]) != len(arrays["words"])
            or arrays["runs"].ndim != 2
            or arrays["runs"].shape[1] != 3
            or int(arrays["run_starts"][-1]) != len(arrays["runs"])
        ):
            raise ValueError(f"segment {path.name} has arrays of the wrong shape")
        self.firsts.append(len(self.post_ids))
        self.post_ids.extend(posts)
        self.digests.extend(digests)
        self.vocab_size += len(meta["vocab"])
        self.short.extend((thread, int(order), tuple(words)) for thread, order, words in meta["short"])
        self.segments.append(arrays)

    def __len__(self) -> int:
        return len(self.post_ids)

    def occurrences(self, keys: np.ndarray) -> dict[int, array]:
        """packed key -> its occurrences in every segment, oldest first (flat, as `detector.new_occurrences`), for
        those of `keys` that have any."""
        found: dict[int, array] = {}
        keys = np.unique(np.asarray(keys, dtype=np.uint64))
        for seg in self.segments:
            at, hit = _lookup(seg["keys"], keys)
            if not len(at):
                continue
            # every hit key's occurrences gathered at once (a batch of a whole build looks up ~10^5 keys)
            lo, hi = np.asarray(seg["starts"][at]), np.asarray(seg["starts"][at + 1])
            counts = hi - lo
            ends = np.cumsum(counts)
            rows = np.arange(int(ends[-1])) + np.repeat(lo - (ends - counts), counts)
            block = np.ascontiguousarray(seg["entries"][rows], dtype=np.uint32).tobytes()
            start = 0
            for key, end in zip(keys[hit].tolist(), (ends * 8).tolist()):  # 8 bytes a (post, word) pair
                if key not in found:
                    found[key] = new_occurrences()
                found[key].frombytes(block[start:end])
                start = end
            drop_pages(seg["starts"])
            drop_pages(seg["entries"])
        return found

    def _segment(self, order: int) -> tuple[dict[str, np.ndarray], int]:
        seg = int(np.searchsorted(self.firsts, order, side="right")) - 1
        return self.segments[seg], order - self.firsts[seg]

    def words(self, order: int) -> array:
        """The saved word ids of post `order` (an array: a batch restores thousands of earlier posts, and as lists
        of int objects their words would be millions of small objects, which leave the heap fragmented when freed)."""
        arrays, local = self._segment(order)
        return _array("I", arrays["words"][arrays["word_starts"][local] : arrays["word_starts"][local + 1]])

    def origins(self, order: int, n_words: int) -> tuple[array, array]:
        """The saved origins (post, word) of the words of post `order`, which has `n_words` words (arrays, as
        `words`)."""
        arrays, local = self._segment(order)
        runs = np.asarray(arrays["runs"][arrays["run_starts"][local] : arrays["run_starts"][local + 1]])
        if (n_words and (not len(runs) or runs[0, 0] != 0 or runs[-1, 0] >= n_words)) or (not n_words and len(runs)):
            raise StateError(f"the saved origins of post {self.post_ids[order]} do not fit its words")
        lengths = np.diff(np.append(runs[:, 0], n_words))
        if (lengths <= 0).any():
            raise StateError(f"the saved origins of post {self.post_ids[order]} are out of order")
        offsets = np.arange(n_words) - np.repeat(runs[:, 0], lengths)
        return _array("i", np.repeat(runs[:, 1], lengths)), _array("i", np.repeat(runs[:, 2], lengths) + offsets)


def _array(code: str, values: np.ndarray) -> array:
    """`values` as an array of C ints ("I" unsigned, "i" signed: 32 bits on the platforms threadbot runs on)."""
    return array(code, np.ascontiguousarray(values, dtype=np.uint32 if code == "I" else np.int32).tobytes())


def _lookup(known: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `keys` (sorted, distinct) is in `known` (a segment's sorted keys), for those it holds, and
    which of `keys` those are (a mask). `known` is searched LOOKUP_KEYS at a time, the pages of each part dropped
    once searched: the keys of a batch are spread over all of a segment, and the process would otherwise hold
    every page of every segment's keys, as many as the archive has words."""
    at, hit = np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    for lo in range(0, len(known), LOOKUP_KEYS):
        part = np.asarray(known[lo : lo + LOOKUP_KEYS])
        first, last = np.searchsorted(keys, part[0]), np.searchsorted(keys, part[-1], side="right")
        where = np.searchsorted(part, keys[first:last])  # each below len(part): none is past part[-1]
        at[first:last], hit[first:last] = where + lo, part[where] == keys[first:last]
        drop_pages(known, lo, lo + len(part))
    return at[hit], hit


def drop_pages(array: np.ndarray, lo: int = 0, hi: int | None = None) -> None:
    """Drop this process's pages of rows [lo, hi) of a memory-mapped array, a whole one as np.load(mmap_mode=...)
    gives it (a view's offset is its parent's); the file system keeps them cached. Nothing for an array in memory,
    or where the system has no MADV_DONTNEED."""
    mapped = getattr(array, "_mmap", None)
    if mapped is None or not hasattr(mmap, "MADV_DONTNEED"):
        return
    row = array.itemsize * int(np.prod(array.shape[1:], dtype=np.int64))
    hi = len(array) if hi is None else hi
    data = array.offset % mmap.ALLOCATIONGRANULARITY  # where numpy's mapping starts its data (np.memmap)
    start = (data + lo * row) // mmap.PAGESIZE * mmap.PAGESIZE
    end = min(len(mapped), -(-(data + hi * row) // mmap.PAGESIZE) * mmap.PAGESIZE)
    if end > start:
        mapped.madvise(mmap.MADV_DONTNEED, start, end - start)


class _Restored(IndexedPost):
    """An earlier post read back from saved state: its words and their origins at once; the words' offsets and
    lines (which only the spans of a quote found in it need) from its body, when first asked for."""

    def __init__(self, detector: QuoteDetector, post: Post, order: int, words: array, origins) -> None:
        self.post, self.order, self.words = post, order, words
        self.origin_post, self.origin_word = origins
        self._detector, self._places = detector, None  # a weak proxy (see _Posts)

    def _where(self) -> tuple[list[int], list[int], list[int]]:
        if self._places is None:
            before = len(self._detector.vocab)
            again = QuoteDetector._indexed(self._detector, self.post)
            if again.words != self.words.tolist() or len(self._detector.vocab) != before:
                raise StateError(f"post {self.post.post_id} does not give the words saved for it")
            self._places = (again.word_starts, again.word_ends, again.word_lines)
        return self._places

    word_starts = property(lambda self: self._where()[0])  # type: ignore[assignment]
    word_ends = property(lambda self: self._where()[1])  # type: ignore[assignment]
    word_lines = property(lambda self: self._where()[2])  # type: ignore[assignment]


class _Posts:
    """The detector's posts: the earlier ones restored from saved state when first asked for, then the new."""

    def __init__(self, detector: QuoteDetector, state: SavedState, posts_by_id: dict[str, Post]):
        # a weak reference, here and in each _Restored: no cycle through the detector's posts, so a detector is freed
        # as soon as it is dropped (a build detects in batches; the cyclic collector seldom looks at its objects)
        self.detector, self.state, self.posts_by_id = weakref.proxy(detector), state, posts_by_id
        self.restored: dict[int, IndexedPost] = {}
        self.new: list[IndexedPost] = []

    def __len__(self) -> int:
        return len(self.state) + len(self.new)

    def append(self, post: IndexedPost) -> None:
        self.new.append(post)

    def __getitem__(self, order: int) -> IndexedPost:
        if order >= len(self.state):
            return self.new[order - len(self.state)]
        if order < 0:
            raise IndexError(order)
        post = self.restored.get(order)
        if post is None:
            post = self.restored[order] = self._restore(order)
        return post

    def _restore(self, order: int) -> IndexedPost:
        words = self.state.words(order)
        origins = self.state.origins(order, len(words))
        return _Restored(self.detector, self.posts_by_id[self.state.post_ids[order]], order, words, origins)


class _Resumed(QuoteDetector):
    """A detector that tokenises each new post once: `resumed` already did, to know the shingles to read."""

    def __init__(self, min_words: int) -> None:
        super().__init__(min_words=min_words)
        self.ready: dict[str, IndexedPost] = {}

    def _indexed(self, post: Post) -> IndexedPost:
        ready = self.ready.pop(post.post_id, None)
        if ready is None:
            return super()._indexed(post)
        ready.order = len(self.posts)
        return ready


def resumed(
    state: SavedState,
    posts_by_id: dict[str, Post],
    new: Sequence[Post],
    min_words: int,
    vocab: dict[str, int] | None = None,
) -> QuoteDetector:
    """A detector in the state `state` saved, ready for the posts `new` (in detection order): the shingles they
    will look up are read from the segments now, the earlier posts when an alignment needs them. `vocab`: the
    saved vocabulary when the caller holds it already (the detector that saved the state's last segment), taken
    over as it is."""
    detector = _Resumed(min_words)
    if vocab is not None and len(vocab) != state.vocab_size:
        raise ValueError(f"a vocabulary of {len(vocab)} words for saved state of {state.vocab_size}")
    if vocab is None:
        vocab = {word: i for i, word in enumerate(state.vocab)}
        if len(vocab) != state.vocab_size:
            raise StateError("the saved vocabulary names a word twice")
    detector.vocab = vocab
    for thread, order, words in state.short:
        detector.short_posts[thread].setdefault(words, (order, 0))
    wanted: set[tuple[int, ...]] = set()
    for post in new:  # tokenised in the order `add` reads them: new words get the ids `add` would give them
        detector.ready[post.post_id] = indexed = QuoteDetector._indexed(detector, post)
        words = indexed.words
        wanted.update(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))
    if len(detector.vocab) >= 1 << BITS:
        raise StateError(f"a vocabulary of {len(detector.vocab):,} words is more than saved state holds")
    shingles = sorted(wanted)
    packed = _pack(np.array(shingles, dtype=np.uint32).reshape(-1, SHINGLE)) if shingles else np.zeros(0, np.uint64)
    found = state.occurrences(packed)
    table: defaultdict[tuple, array] = defaultdict(new_occurrences)
    for shingle, key in zip(shingles, packed.tolist()):
        if key in found:
            table[shingle] = found[key]
    detector.shingles = table
    detector.posts = _Posts(detector, state, posts_by_id)  # type: ignore[assignment]
    return detector
