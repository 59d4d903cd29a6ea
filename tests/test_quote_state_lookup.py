"""The saved quote state's key lookup (quotes/resume.py): a segment's keys searched a part at a time, each part's
pages dropped once searched, find exactly the keys a search of the whole array finds; dropping pages of a mapped
array never changes what it reads."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.quotes import resume
from embeddings.quotes.resume import _lookup, drop_pages

KEYS = st.lists(st.integers(0, 2**64 - 1), unique=True, max_size=60).map(lambda k: np.array(sorted(k), np.uint64))


@settings(max_examples=200, deadline=None)
@given(KEYS, KEYS, st.integers(1, 8))
def test_a_lookup_in_parts_finds_what_one_search_finds(known, keys, part):
    resume.LOOKUP_KEYS, before = part, resume.LOOKUP_KEYS
    try:
        at, hit = _lookup(known, keys)
    finally:
        resume.LOOKUP_KEYS = before
    expected_hit = np.isin(keys, known)
    assert hit.tolist() == expected_hit.tolist()
    assert known[at].tolist() == keys[hit].tolist()  # each found key's own place


def test_a_lookup_in_a_mapped_segment_reads_the_same_after_its_pages_are_dropped(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    known = np.unique(rng.integers(0, 2**63, 200_000, dtype=np.uint64))
    np.save(tmp_path / "keys.npy", known)
    mapped = np.load(tmp_path / "keys.npy", mmap_mode="r")
    keys = np.unique(np.concatenate([rng.choice(known, 5_000), rng.integers(0, 2**63, 5_000, dtype=np.uint64)]))
    monkeypatch.setattr(resume, "LOOKUP_KEYS", 7_919)  # parts that end mid-page
    at, hit = _lookup(mapped, keys)
    assert hit.tolist() == np.isin(keys, known).tolist() and hit.sum() >= 4_000
    assert np.array_equal(mapped[at], keys[hit])
    pairs = np.arange(30_001 * 2, dtype=np.int64).reshape(-1, 2)
    np.save(tmp_path / "entries.npy", pairs)
    entries = np.load(tmp_path / "entries.npy", mmap_mode="r")
    for lo, hi in [(0, 1), (5, 4_099), (29_000, None), (0, None)]:
        drop_pages(entries, lo, hi)
        assert np.array_equal(entries, pairs)  # read back from the file as they were
    drop_pages(pairs)  # an array in memory: nothing to drop
    assert pairs[-1].tolist() == [60_000, 60_001]
