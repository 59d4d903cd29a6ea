"""Saved quote-detection state and kept parses: a detector resumed from saved state finds, for the posts it is fed,
exactly what one fed every post finds; a file's kept parse gives what parsing it gives. No model needed."""

from __future__ import annotations

import json
import shutil
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embeddings.ingest import ingest, reuse
from embeddings.ingest.reuse import PARSED_DIR, ParseCache
from embeddings.models import Post
from embeddings.quotes import state_merge
from embeddings.quotes.batched import detect_in_batches
from embeddings.quotes.detector import QuoteDetector, detect_quotes
from embeddings.quotes.resume import SavedState, StateError, detection_order, feed, resumed, write_segment
from embeddings.quotes.resume import _pack as pack_shingles
from embeddings.quotes.state_merge import compact, merge

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
            vocab_start = state.vocab_size
            assert len(state.vocab) == vocab_start
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


def test_saved_state_gives_back_the_detectors_words_origins_and_occurrences_as_32_bit_arrays(mail_posts, tmp_path):
    detector = QuoteDetector(6)
    feed(detector, mail_posts[:15])
    _save(tmp_path, "0000", detector, 0, 0)
    state = SavedState(tmp_path, ["0000"])
    for order, post in enumerate(detector.posts):
        words, (origin_post, origin_word) = state.words(order), state.origins(order, len(post.words))
        # arrays, not lists of int objects: a batch restores thousands of earlier posts, their words by the million
        assert {type(words), type(origin_post), type(origin_word)} == {array}
        assert words.itemsize == origin_post.itemsize == 4
        assert (words.tolist(), origin_post.tolist(), origin_word.tolist()) == (
            list(post.words),
            list(post.origin_post),
            list(post.origin_word),
        )
    quoted = [p for p in detector.posts if any(o != p.order for o in p.origin_post)]
    assert quoted  # some words came from earlier posts: their origins are not the post's own
    shingles = list(detector.shingles)
    keys = pack_shingles(np.array(shingles, dtype=np.uint32))
    found = state.occurrences(keys)
    assert [found[int(k)] for k in keys] == [detector.shingles[s] for s in shingles]
    assert all(type(v) is array and v.itemsize == 4 for v in found.values())


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


def test_a_kept_parse_gives_what_parsing_gives_and_a_damaged_one_is_parsed_again(tmp_path, caplog, monkeypatch):
    def seen(result):
        return [(t.thread_id, t.title, t.posts) for t in result.threads], [str(e) for e in result.errors]

    def cache(previous, target, **kwargs):
        return ParseCache(
            tmp_path / previous / PARSED_DIR if previous else None, tmp_path / target / PARSED_DIR, **kwargs
        )

    def built(parse: ParseCache):
        result = ingest(MAIL, reuse=parse)
        parse.finish()
        return result

    plain = ingest(MAIL)
    first = cache(None, "a")
    assert seen(built(first)) == seen(plain) and (first.parsed, first.reused) == (2, 0)
    assert sorted(p.name for p in (tmp_path / "a" / PARSED_DIR).iterdir()) == ["0000.index.json", "0000.pack"]
    again = cache("a", "b")
    assert seen(built(again)) == seen(plain) and (again.parsed, again.reused) == (0, 2)
    # a small pack is copied into the next build's own, so packs do not pile up; a large one is linked
    assert sorted(p.name for p in (tmp_path / "b" / PARSED_DIR).iterdir()) == ["0001.index.json", "0001.pack"]
    monkeypatch.setattr(reuse, "SMALL_PACK", 0)
    linked = cache("b", "c")
    assert seen(built(linked)) == seen(plain) and linked.reused == 2
    kept = sorted((tmp_path / "c" / PARSED_DIR).iterdir())
    assert [p.name for p in kept] == ["0001.index.json", "0001.pack"] and all(p.stat().st_nlink == 2 for p in kept)

    # damage: one entry's bytes, and another replaced by a pickle that would call os.getpid()
    index = json.loads((tmp_path / "b" / PARSED_DIR / "0001.index.json").read_text())
    pack = bytearray((tmp_path / "b" / PARSED_DIR / "0001.pack").read_bytes())
    (one, (at, n)), (two, (at2, n2)) = sorted(index.items(), key=lambda kv: kv[1][0])
    pack[at : at + n] = b"\x80\x05not a pickle".ljust(n, b".")
    evil = b"\x80\x04\x8c\x02os\x8c\x06getpid\x93)R."
    index[two] = [len(pack), len(evil)]
    (tmp_path / "d" / PARSED_DIR).mkdir(parents=True)
    (tmp_path / "d" / PARSED_DIR / "0001.pack").write_bytes(bytes(pack) + evil)
    (tmp_path / "d" / PARSED_DIR / "0001.index.json").write_text(json.dumps(index))
    damaged = cache("d", "e")
    with caplog.at_level("INFO", logger="embeddings.ingest.reuse"):
        assert seen(built(damaged)) == seen(plain) and (damaged.parsed, damaged.reused) == (2, 0)
    assert "os.getpid is not part of a parse entry" in caplog.text  # refused, never called
    (tmp_path / "f" / PARSED_DIR).mkdir(parents=True)
    (tmp_path / "f" / PARSED_DIR / "0001.pack").write_bytes(b"")
    (tmp_path / "f" / PARSED_DIR / "0001.index.json").write_text("{ not json")
    unreadable = cache("f", "g")
    assert seen(built(unreadable)) == seen(plain) and unreadable.parsed == 2
    other = cache("b", "h", salt="mbox")  # another format
    ingest(MAIL, reuse=other, fmt="mbox")
    assert other.parsed == 2


def _digests(posts) -> dict[str, str]:
    return {p.post_id: f"d{i}" for i, p in enumerate(posts)}


@pytest.mark.parametrize("batch_chars", [1, 3000, 10**9])  # a post a batch (the most merges), a few, one batch
def test_detection_in_batches_finds_what_one_detector_finds(mail_posts, tmp_path, monkeypatch, batch_chars):
    monkeypatch.setattr(state_merge, "CHUNK", 64)  # merges read many key ranges
    everything = detect_quotes(mail_posts)
    calls = []
    found, names = detect_in_batches(
        mail_posts, _digests(mail_posts), tmp_path / "q", 6, lambda d, t: calls.append((d, t)), batch_chars
    )
    assert everything and found == everything
    assert calls[0] == (0, len(mail_posts)) and calls[-1] == (len(mail_posts), len(mail_posts))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == names  # merged segments are removed
    assert len(names) <= len(mail_posts).bit_length() + 1  # few segments, however many batches

    # the saved state is the one a single detector saves: the same occurrences, words and origins
    state = SavedState(tmp_path / "q", names)
    assert state.post_ids == [p.post_id for p in mail_posts] and state.digests == list(_digests(mail_posts).values())
    one = QuoteDetector(6)
    feed(one, mail_posts)
    _save(tmp_path / "one", "0000", one, 0, 0)
    single = SavedState(tmp_path / "one", ["0000"])
    assert state.vocab == single.vocab
    keys = np.asarray(single.segments[0]["keys"])
    assert len(keys) > 1000 and state.occurrences(keys) == single.occurrences(keys)
    for order in range(len(mail_posts)):
        n = len(single.words(order))
        assert state.words(order) == single.words(order) and state.origins(order, n) == single.origins(order, n)


def test_an_incremental_detector_goes_on_from_state_saved_in_batches(mail_posts, tmp_path):
    everything = detect_quotes(mail_posts)
    _, names = detect_in_batches(mail_posts[:21], _digests(mail_posts), tmp_path, 6, batch_chars=2000)
    detector = resumed(SavedState(tmp_path, names), {p.post_id: p for p in mail_posts}, mail_posts[21:], 6)
    later = {p.post_id for p in mail_posts[21:]}
    assert feed(detector, mail_posts[21:]) == [r for r in everything if r.quoting_post_id in later]


def test_a_vocabulary_too_large_for_saved_state_is_detected_in_memory(mail_posts, tmp_path, monkeypatch, caplog):
    from embeddings.quotes import resume

    monkeypatch.setattr(resume, "BITS", 10)  # state holds at most 1,024 words: the list has more
    with caplog.at_level("WARNING", logger="embeddings.quotes.batched"):
        found, names = detect_in_batches(mail_posts, _digests(mail_posts), tmp_path / "q", 6, batch_chars=2000)
    assert found == detect_quotes(mail_posts) and names is None and not (tmp_path / "q").exists()
    assert "its state not kept" in caplog.text


def test_a_segment_that_cannot_be_written_fails_the_detection(mail_posts, tmp_path, monkeypatch):
    from embeddings.errors import StorageError
    from embeddings.quotes import batched

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(batched, "write_segment", full_disk)
    with pytest.raises(StorageError, match="cannot save the quote state .No space left on device"):
        detect_in_batches(mail_posts, _digests(mail_posts), tmp_path / "q", 6, batch_chars=2000)


def test_compaction_merges_like_a_binary_counter(mail_posts, tmp_path):
    """Equal segments merge pairwise; a much larger one stays apart; merging keeps every post in order."""
    sizes = []
    names: list[str] = []
    detector = QuoteDetector(6)
    for start in range(0, 32, 4):
        if names:
            state = SavedState(tmp_path, names)
            detector = resumed(state, {p.post_id: p for p in mail_posts}, mail_posts[start : start + 4], 6)
            vocab_start = state.vocab_size
        else:
            vocab_start = 0
        feed(detector, mail_posts[start : start + 4])
        name = f"{int(names[-1]) + 1:04d}" if names else "0000"
        _save(tmp_path, name, detector, start, vocab_start)
        names = compact(tmp_path, [*names, name])
        sizes.append(len(names))
    assert max(sizes) <= 4 and SavedState(tmp_path, names).post_ids == [p.post_id for p in mail_posts[:32]]


WORDS = "alpha beta gamma delta package check build install error warning vignette cran server".split()


@st.composite
def _archive(draw) -> list[Post]:
    """Posts whose bodies repeat stretches of earlier posts' (quotes, in any thread), among words of their own."""
    posts: list[Post] = []
    for i in range(draw(st.integers(1, 14))):
        own = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=40))
        body = " ".join(own)
        if posts and draw(st.booleans()):
            source = draw(st.sampled_from(posts)).body.split()
            start = draw(st.integers(0, len(source) - 1))
            quoted = " ".join(source[start : start + draw(st.integers(1, 30))])
            body = f"{quoted}\n\n{body}" if draw(st.booleans()) else f"{body}\n{quoted}"
        thread = draw(st.integers(0, 3))
        when = datetime(2021, 1, 1, tzinfo=UTC) + timedelta(hours=i)
        posts.append(Post(f"p{i}", f"t{thread}", i, f"a{i % 3}", when, body, "x.mbox", i + 1))
    return detection_order(posts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(posts=_archive(), batch_chars=st.integers(1, 600))
def test_any_batching_finds_what_one_detector_finds(posts, batch_chars, tmp_path_factory):
    root = tmp_path_factory.mktemp("q")
    found, names = detect_in_batches(posts, _digests(posts), root / "state", 3, batch_chars=batch_chars)
    assert found == detect_quotes(posts, min_words=3)
    assert SavedState(root / "state", names).post_ids == [p.post_id for p in posts]
