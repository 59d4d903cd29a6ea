"""Highlights: the sentence(s) of a result's passage that best answer the query."""

from __future__ import annotations

from embeddings.passages.sentences import sentence_spans
from embeddings.search.highlight import best_sentences

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
