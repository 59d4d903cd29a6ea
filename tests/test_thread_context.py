"""Thread context in the hybrid ranking, answers over restatements, and at most N posts of a thread per page: the
real model, real FAISS and real SQLite on two tiny threads (and the sample thread)."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from embeddings.errors import UsageError
from embeddings.index.places import COLUMNS
from embeddings.search.threads import is_question, places
from embeddings.service import SearchService

from .conftest import SAMPLE_DIR, make_settings, run_cli

CARS = "Car engine overheating"
PARTY = "Garden party on Saturday"
POSTS = [
    ("cars", CARS, "ann", "2020-01-01T10:00", "My car engine overheats in traffic after ten minutes."),
    ("cars", CARS, "bob", "2020-01-01T11:00", "To fix an overheating engine, replace the stuck thermostat."),
    ("cars", CARS, "ann", "2020-01-01T12:00", "Thanks, but how would I fix the overheating myself?"),
    ("party", PARTY, "dan", "2020-01-02T10:00", "Who is bringing food to the garden party on Saturday?"),
    ("party", PARTY, "eve", "2020-01-02T11:00", "To fix an overheating engine, replace the stuck thermostat first."),
]
QUESTION = "how do I fix an overheating engine?"


def _write(path, posts) -> None:
    rows = [dict(thread_id=t, thread_title=title, author=a, posted_at=d, body=b) for t, title, a, d, b in posts]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="module")
def threads(tmp_path_factory, embedder, sample_service, shared_cache) -> SearchService:
    root = tmp_path_factory.mktemp("threads")
    _write(root / "threads.jsonl", POSTS)
    service = SearchService(make_settings(root / "data", shared_cache), embedder)
    service.rebuild([str(root / "threads.jsonl")])
    yield service
    service.close()


def _scores(service, query, mode):
    return {(r.thread_id, r.post_index): r.score for r in service.search(query, 10, mode=mode)}


def test_a_reply_in_a_matching_thread_outranks_an_equally_similar_reply_in_an_off_topic_thread(threads):
    dense = _scores(threads, QUESTION, "dense")
    assert abs(dense[("cars", 1)] - dense[("party", 1)]) < 0.01  # the two replies alone match about equally
    hybrid = [(r.thread_id, r.post_index) for r in threads.search(QUESTION, 10)]
    assert hybrid.index(("cars", 1)) < hybrid.index(("party", 1))


def test_for_a_question_the_answer_outranks_the_opener_asking_again(threads):
    dense = [(r.thread_id, r.post_index) for r in threads.search(QUESTION, 10, mode="dense")]
    assert dense[0] == ("cars", 2)  # the follow-up question is the closest text
    hybrid = [(r.thread_id, r.post_index) for r in threads.search(QUESTION, 10)]
    assert hybrid[0] == ("cars", 1)


def test_what_reads_as_a_question():
    assert is_question("how do I fix an overheating engine")
    assert is_question("Good Bank\nWhich is a good bank as per your experience in Doha")
    assert is_question("engine overheating?")
    assert not is_question("Ryutin platform")
    assert not is_question("Trotsky switched to postcards because his letters were being intercepted")


def test_at_most_n_posts_of_a_thread_and_pages_continue_the_same_ranking(threads):
    full = threads.search("engine thermostat garden party", 10)
    capped = threads.search("engine thermostat garden party", 10, per_thread=1)
    assert sorted(r.thread_id for r in capped) == ["cars", "party"]
    first = {}
    for r in full:  # the capped ranking is the full one less each thread's later posts
        first.setdefault(r.thread_id, r.post_id)
    assert [r.post_id for r in capped] == [p for p in (r.post_id for r in full) if p in first.values()]
    two = threads.search("engine thermostat garden party", 4, per_thread=2)
    assert max(sum(r.thread_id == t for r in two) for t in ("cars", "party")) == 2
    paged = threads.search("engine thermostat garden party", 2, per_thread=2) + threads.search(
        "engine thermostat garden party", 2, offset=2, per_thread=2
    )
    assert [r.post_id for r in paged] == [r.post_id for r in two]
    assert [r.rank for r in paged] == [1, 2, 3, 4]
    with pytest.raises(UsageError):
        threads.search("engine", 5, per_thread=0)


def test_per_thread_on_the_command_line(data_dir, capsys):
    code, out, _ = run_cli(capsys, "--data-dir", data_dir, "search", "Stalin purges", "--per-thread", "1", "--json")
    assert code == 0 and len(json.loads(out)) == 1  # the sample is one thread
    with pytest.raises(SystemExit) as caught:
        run_cli(capsys, "--data-dir", data_dir, "search", "Stalin", "--per-thread", "0")
    assert caught.value.code == 2 and "--per-thread" in capsys.readouterr().err


def test_a_build_made_before_postings_and_layouts_still_ranks_with_its_threads(tmp_path, embedder, shared_cache):
    _write(tmp_path / "threads.jsonl", POSTS)
    service = SearchService(make_settings(tmp_path / "data", shared_cache), embedder)
    service.rebuild([str(tmp_path / "threads.jsonl")])
    before = [(r.thread_id, r.post_index) for r in service.search(QUESTION, 10)]
    db = sqlite3.connect(service.data.current_path() / "index.sqlite")
    for table in ("passage_sets", "passage_columns", "postings"):  # as an older threadbot wrote it
        db.execute(f"DROP TABLE {table}")
    db.commit()
    db.close()
    service.close()
    old = SearchService(make_settings(tmp_path / "data", shared_cache), embedder)
    try:
        assert old._current().lexicon is None
        after = [(r.thread_id, r.post_index) for r in old.search(QUESTION, 10)]
        assert after[0] == before[0] == ("cars", 1)
        assert [(r.thread_id) for r in old.search(QUESTION, 10, per_thread=1)] == ["cars", "party"]
    finally:
        old.close()


ASKED = [QUESTION, "garden party food", "who is bringing food to the party?", "stuck thermostat", "Stalin purges"]


def _from_the_store(data) -> None:
    """Drop the thread places a build lays out, as a threadbot made before them wrote the build."""
    db = sqlite3.connect(data.current_path() / "index.sqlite")
    db.execute(f"DELETE FROM passage_columns WHERE name IN ({','.join('?' * len(COLUMNS))})", COLUMNS)
    db.execute("DELETE FROM passage_sets WHERE kind = 'title'")
    db.commit()
    db.close()


def test_the_laid_out_thread_places_are_what_the_store_reads_give(tmp_path, embedder, sample_service, shared_cache):
    _write(tmp_path / "threads.jsonl", POSTS)
    service = SearchService(make_settings(tmp_path / "data", shared_cache), embedder)
    service.rebuild([str(tmp_path / "threads.jsonl"), str(SAMPLE_DIR)])
    index = service._current()
    assert index.layout.thread_places() is not None
    ids = index.vectors.ids().tolist()
    laid_out, ranked = {}, {}
    for query in ASKED:
        qvec = embedder.encode_query(query)
        cosine = np.array([c for _, c in sorted(index.vectors.search(qvec, len(ids)))])
        laid_out[query] = places(index, query, qvec, sorted(ids), cosine)
        ranked[query] = [(r.post_id, r.passage_start, r.score) for r in service.search(query, 10)]
    assert any(p.asks.any() and p.by_opener.any() and p.thread_coverage.any() for p in laid_out.values())
    _from_the_store(service.data)
    service.close()
    old = SearchService(make_settings(tmp_path / "data", shared_cache), embedder)
    try:
        index = old._current()
        assert index.layout is not None and index.layout.thread_places() is None
        for query in ASKED:
            qvec = embedder.encode_query(query)
            cosine = np.array([c for _, c in sorted(index.vectors.search(qvec, len(ids)))])
            stored = places(index, query, qvec, sorted(ids), cosine)
            for field in ("thread_cosine", "thread_coverage", "opening", "asks", "by_opener", "length"):
                mine, theirs = getattr(laid_out[query], field), getattr(stored, field)
                assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), (query, field)
            assert [(r.post_id, r.passage_start, r.score) for r in old.search(query, 10)] == ranked[query]
    finally:
        old.close()
