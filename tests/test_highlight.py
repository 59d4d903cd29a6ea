"""Highlights: the sentence(s) of a result's passage that best answer the query, from sentence vectors the build
stored (no model call per result at query time), or embedded at query time for a build without them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embeddings import IndexDamagedError, SearchService
from embeddings.index.sentences import SENTENCES_FILE, open_sentence_vectors, write_sentence_vectors
from embeddings.models import Passage
from embeddings.passages.sentences import sentence_spans
from embeddings.search.highlight import best_sentences

from .conftest import SAMPLE_DIR, SEED_QUERIES

PASSAGE = (
    "The weather was grey all week and nobody went out. "
    "My van's engine overheats on hills and then the carburettor floods. "
    "We ate pizza on Friday with the neighbours. "
    "Zinoviev and Kamenev were arrested for knowing about the Ryutin platform."
)


def texts(passage, spans):
    return [passage[s:e] for s, e in spans]


def test_term_overlap_alone_picks_the_sentence_with_the_query_words():
    assert texts(PASSAGE, best_sentences("Ryutin platform", PASSAGE)) == [
        "Zinoviev and Kamenev were arrested for knowing about the Ryutin platform."
    ]


def test_sentence_vectors_find_a_paraphrase_with_no_shared_word(embedder):
    query = "what makes a motor run too hot"
    spans = sentence_spans(PASSAGE)
    vectors = embedder.encode([PASSAGE[s:e] for s, e in spans])
    best = best_sentences(query, PASSAGE, vectors, embedder.encode_query(query), spans)
    assert texts(PASSAGE, best) == ["My van's engine overheats on hills and then the carburettor floods."]
    assert best_sentences(query, PASSAGE) == []  # without vectors nothing overlaps: no bold rather than a guess


def test_several_sentences_come_back_in_passage_order():
    best = best_sentences("pizza Ryutin", PASSAGE, max_sentences=2)
    assert texts(PASSAGE, best) == [
        "We ate pizza on Friday with the neighbours.",
        "Zinoviev and Kamenev were arrested for knowing about the Ryutin platform.",
    ]


def test_a_one_sentence_passage_is_its_own_highlight():
    assert best_sentences("anything", "Just one sentence here.") == [(0, 23)]
    assert best_sentences("anything", "") == []


def test_search_results_highlight_the_answering_sentence(sample_service):
    for query, expected in [
        ("Ryutin platform", "Ryutin platform"),
        ("Trotsky switched to postcards because his letters were being intercepted", "postcards"),
        ("how many Russians died because of Nazi atrocities?", "22 million"),
    ]:
        top = sample_service.search(query, 3)[0]
        assert top.highlights, query
        assert all(0 <= s < e <= len(top.passage) for s, e in top.highlights)
        bold = " ".join(top.passage[s:e] for s, e in top.highlights)
        assert expected in bold, (query, bold)


# --- sentence vectors stored with the build: no model call for highlights at query time ------------------------
def _seed_queries() -> list[dict]:
    return [json.loads(line) for line in SEED_QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]


def _highlighted(service, queries, limit=10) -> list[list[str]]:
    """The bold text of every result of every query."""
    return [[r.passage[s:e] for s, e in r.highlights] for q in queries for r in service.search(q, limit)]


def _count_model_calls(service, monkeypatch) -> list[list[str]]:
    """The texts of each call to the service's model from now on; the embedding cache made unreachable, so a
    sentence embedded at query time cannot hide behind it."""
    asked: list[list[str]] = []
    light, full = service.embedder.encode_queries, service.embedder.encode
    monkeypatch.setattr(service.embedder, "encode_queries", lambda texts: asked.append(list(texts)) or light(texts))
    monkeypatch.setattr(service.embedder, "encode", lambda texts, **kw: asked.append(list(texts)) or full(texts, **kw))
    monkeypatch.setattr(service, "_sentence_cache", lambda: None)
    return asked


def test_a_search_asks_the_model_for_its_question_and_nothing_for_highlights(sample_service, monkeypatch):
    asked = _count_model_calls(sample_service, monkeypatch)
    for q in _seed_queries():
        results = sample_service.search(q["query"], 10)
        assert asked == [[q["query"]]], q["query"]
        assert results[0].highlights
        asked.clear()


def test_stored_sentence_vectors_bold_what_embedding_the_sentences_at_query_time_bolds(sample_service, monkeypatch):
    queries = _seed_queries()
    index = sample_service._current()
    assert index.sentences is not None and index.manifest["sentences"]["passages"] > 100
    stored = _highlighted(sample_service, [q["query"] for q in queries])
    tops = [(q["must_contain"], sample_service.search(q["query"], 1)[0]) for q in queries]
    held = [(needle, r) for needle, r in tops if needle in r.passage]
    bold = [needle for needle, r in held if any(needle in r.passage[s:e] for s, e in r.highlights)]
    # 11 of the 12 top passages hold the answer; all but one of those bold it ("ruling class" is in another sentence
    # than the one closest to the question, with either vectors)
    assert len(held) >= 10 and len(bold) >= len(held) - 1, [n for n, _ in held if n not in bold]

    asked = _count_model_calls(sample_service, monkeypatch)
    monkeypatch.setattr(index, "sentences", None)  # as a build without them: sentences embedded per search
    embedded = _highlighted(sample_service, [q["query"] for q in queries])
    assert sum(len(texts) for texts in asked) > 10 * len(queries)  # the sentences really were embedded
    assert stored == embedded


def test_an_index_built_before_sentence_vectors_still_highlights(fresh_service, monkeypatch):
    queries = [q["query"] for q in _seed_queries()[:4]]
    service = fresh_service()
    service.rebuild([str(SAMPLE_DIR)])
    with_vectors = _highlighted(service, queries)
    build = service.data.current_path()
    (build / SENTENCES_FILE).unlink()
    manifest = json.loads((build / "manifest.json").read_text())
    del manifest["sentences"]
    (build / "manifest.json").write_text(json.dumps(manifest))
    service.close()

    older = SearchService(service.settings, service.embedder)
    try:
        assert older._current().sentences is None
        asked = _count_model_calls(older, monkeypatch)
        assert _highlighted(older, queries) == with_vectors
        assert len(asked) > len(queries)  # each search embedded its results' sentences
        assert older.check().ok
    finally:
        older.close()


def test_a_row_is_used_only_for_the_passage_text_it_was_made_from(tmp_path, embedder):
    several, single = Passage(1, "p", 0, len(PASSAGE), PASSAGE), Passage(2, "p", 0, 9, "One only.")
    written = write_sentence_vectors(tmp_path / SENTENCES_FILE, [several, single], embedder, None)
    assert written["passages"] == 1 and written["sentences"] == 4  # a one-sentence passage is its own highlight
    store = open_sentence_vectors(tmp_path, embedder.model_id, embedder.dimension)
    try:
        row = store.get({1: PASSAGE, 2: "One only."})
        assert list(row) == [1] and row[1].spans == sentence_spans(PASSAGE)
        exact = embedder.encode(texts(PASSAGE, row[1].spans))
        assert np.all(np.sum(row[1].vectors * exact, axis=1) > 0.999)  # int8 keeps the cosine
        assert store.get({1: PASSAGE.replace("pizza", "pasta")}) == {}  # the passage changed: embed it again
    finally:
        store.close()
    with pytest.raises(IndexDamagedError, match="does not hold sentence vectors"):
        open_sentence_vectors(tmp_path, "another/model", embedder.dimension)


VAN_POSTS = [
    "We bought the blue van in spring. Its clutch slipped within a week. The dealer replaced it for free.",
    "Rust ate through the sills last winter. A welder patched both sides. Now it passes inspection again.",
    "The radio only picks up one station. I fitted a new aerial on the roof. Reception is still poor downtown.",
    "Our second van has a diesel engine that overheats on hills. The carburettor floods after long climbs. "
    "A mechanic suspects the thermostat.",
    "Tyres wear unevenly on the front axle. Tracking was off by two degrees. Alignment fixed the pull to the left.",
]


def _posts(path, first: int, last: int) -> None:
    """Posts `first`..`last` (from 1) of one thread, a day apart, each of three sentences of its own."""
    rows = [
        {
            "thread_id": "vans",
            "thread_title": "Old vans",
            "author": f"owner{n % 3}",
            "posted_at": f"2020-01-{n:02d}T10:00:00",
            "body": VAN_POSTS[n - 1],
        }
        for n in range(first, last + 1)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_an_incremental_build_keeps_its_parents_sentence_vectors_and_adds_its_own(fresh_service, tmp_path, monkeypatch):
    _posts(tmp_path / "a.jsonl", 1, 3)
    _posts(tmp_path / "b.jsonl", 4, 5)
    service = fresh_service()
    try:
        service.rebuild([str(tmp_path / "a.jsonl")])
        added = service.rebuild([str(tmp_path / "b.jsonl")], add=True)
        assert added.kind == "incremental"
        index = service._current()
        assert (
            index.manifest["sentences"] == {"file": SENTENCES_FILE, "passages": 5, "sentences": 15, "encoding": "int8"}
            and index.sentences.count() == 5
        )
        assert service.check().ok
        asked = _count_model_calls(service, monkeypatch)
        top = service.search("what makes a motor run too hot", 1)[0]  # a post of the added file
        assert asked == [["what makes a motor run too hot"]]
        assert [top.passage[s:e] for s, e in top.highlights] == [
            "Our second van has a diesel engine that overheats on hills."
        ]
    finally:
        service.close()
