"""Saved quote-detection state and kept parses: a detector resumed from saved state finds, for the posts it is fed,
exactly what one fed every post finds; a file's kept parse gives what parsing it gives. No model needed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from embeddings.ingest import ingest
from embeddings.ingest.reuse import PARSED_DIR, ParseCache
from embeddings.quotes.detector import QuoteDetector, detect_quotes
from embeddings.quotes.resume import SavedState, StateError, detection_order, feed, merge, resumed, write_segment

from .conftest import DATA

MAIL = [DATA / "pipermail" / "2019q4-part1.txt", DATA / "pipermail" / "2019q4-part2.txt"]


@pytest.fixture(scope="module")
def mail_posts():
    result = ingest(MAIL)
    assert not result.errors
    return detection_order([p for t in result.threads for p in t.posts])


def _save(root: Path, name: str, detector: QuoteDetector, first: int, vocab_start: int) -> None:
    write_segment(root / name, detector, first, vocab_start, [f"d{i}" for i in range(first, len(detector.posts))])


def test_a_resumed_detector_finds_what_one_fed_every_post_finds(mail_posts, tmp_path):
    everything = detect_quotes(mail_posts)
    cuts = [0, 12, 21, 22, 27, len(mail_posts)]  # an empty step, a one-post step, then the rest
    names, found = [], []
    for i, (start, stop) in enumerate(zip(cuts, cuts[1:])):
        if names:
            state = SavedState(tmp_path, names)
            assert state.post_ids == [p.post_id for p in mail_posts[:start]]
            detector = resumed(state, {p.post_id: p for p in mail_posts}, mail_posts[start:stop], 6)
            vocab_start = len(state.vocab)
        else:
            detector, vocab_start = QuoteDetector(6), 0
        found += feed(detector, mail_posts[start:stop])
        names.append(f"{i:04d}")
        _save(tmp_path, names[-1], detector, start, vocab_start)
    assert everything and found == everything
    assert any(r.source_post_id in {p.post_id for p in mail_posts[:21]} for r in found[-20:])  # across the steps

    # the small segments merged into one read back as they were
    state = SavedState(tmp_path, names)
    merge(state, names[1:], tmp_path / "merged")
    joined = SavedState(tmp_path, [names[0], "merged"])
    assert joined.post_ids == state.post_ids and joined.vocab == state.vocab and joined.digests == state.digests
    keys = np.concatenate([np.asarray(s["keys"]) for s in state.segments])
    assert joined.occurrences(keys) == state.occurrences(keys)
    for order in range(len(mail_posts)):
        n = len(QuoteDetector(6)._indexed(mail_posts[order]).words)  # a fresh vocabulary: only the count matters
        assert joined.origins(order, n) == state.origins(order, n)
        assert joined.words(order) == state.words(order) and len(state.words(order)) == n


def test_saved_state_that_does_not_fit_is_refused(mail_posts, tmp_path):
    detector = QuoteDetector(6)
    feed(detector, mail_posts[:10])
    _save(tmp_path, "0000", detector, 0, 0)
    assert len(SavedState(tmp_path, ["0000"])) == 10
    with pytest.raises(StateError, match="no saved quote state"):
        SavedState(tmp_path, [])
    with pytest.raises(StateError, match="cannot be read"):
        SavedState(tmp_path, ["0000", "0001"])  # a segment that is not there
    (tmp_path / "0000" / "entries.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(StateError, match="cannot be read"):
        SavedState(tmp_path, ["0000"])
    shutil.rmtree(tmp_path / "0000")
    _save(tmp_path, "0000", detector, 0, 0)
    meta = json.loads((tmp_path / "0000" / "meta.json").read_text())
    meta["digests"].pop()
    (tmp_path / "0000" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(StateError, match="wrong shape"):
        SavedState(tmp_path, ["0000"])


def test_a_kept_parse_gives_what_parsing_gives_and_a_damaged_one_is_parsed_again(tmp_path, caplog):
    def seen(result):
        return [(t.thread_id, t.title, t.posts) for t in result.threads], [str(e) for e in result.errors]

    plain = ingest(MAIL)
    first = ParseCache(None, tmp_path / "a" / PARSED_DIR)
    assert seen(ingest(MAIL, reuse=first)) == seen(plain) and (first.parsed, first.reused) == (2, 0)
    again = ParseCache(tmp_path / "a" / PARSED_DIR, tmp_path / "b" / PARSED_DIR)
    assert seen(ingest(MAIL, reuse=again)) == seen(plain) and (again.parsed, again.reused) == (0, 2)
    kept = sorted((tmp_path / "b" / PARSED_DIR).iterdir())
    assert len(kept) == 2 and all(p.stat().st_nlink == 2 for p in kept)  # linked, not copied

    kept[0].unlink()
    kept[0].write_bytes(b"\x80\x05not a pickle")
    kept[1].unlink()
    kept[1].write_bytes(b"\x80\x04\x8c\x02os\x8c\x06getpid\x93)R.")  # a pickle that calls os.getpid()
    damaged = ParseCache(tmp_path / "b" / PARSED_DIR, tmp_path / "c" / PARSED_DIR)
    with caplog.at_level("INFO", logger="embeddings.ingest.reuse"):
        assert seen(ingest(MAIL, reuse=damaged)) == seen(plain) and (damaged.parsed, damaged.reused) == (2, 0)
    assert "os.getpid is not part of a parse entry" in caplog.text  # refused, never called
    other = ParseCache(tmp_path / "c" / PARSED_DIR, tmp_path / "d" / PARSED_DIR, salt="mbox")  # another format
    ingest(MAIL, reuse=other, fmt="mbox")
    assert other.parsed == 2
