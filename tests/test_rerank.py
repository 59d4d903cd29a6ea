"""Optional cross-encoder re-ranking (`rerank_model`): the best candidates are re-scored by a real
sentence-transformers CrossEncoder — a tiny one these tests build locally from random weights and the bundled
model's tokenizer, so nothing is downloaded — and the rest keep their order."""

from __future__ import annotations

import pytest

from embeddings.errors import ConfigError
from embeddings.search.rerank import Reranker
from embeddings.vectors.embedder import bundled_model_path

PASSAGES = [
    "The purges were aimed at real networks of conspirators, some historians argue.",
    "I made soup last night with leftover vegetables.",
    "Trotsky was in exile and wrote letters to his supporters.",
    "Bank statements arrive at the start of every month.",
    "The Dewey Commission examined the charges made at the Moscow trials.",
    "Nobody here knows what happened to the old forum.",
    "A late reply: the archive was moved to a new server.",
]


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory):
    """A one-layer BERT cross-encoder (random weights, fixed seed) saved as a model folder."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokenizer = BertTokenizerFast.from_pretrained(str(bundled_model_path()))
    torch.manual_seed(7)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_top_candidates_follow_the_cross_encoders_scores_and_the_rest_keep_their_order(tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    question = "Who examined the charges at the Moscow trials?"
    expected = CrossEncoder(str(tiny_cross_encoder)).predict([(question, p) for p in PASSAGES[:4]])
    reranker = Reranker(str(tiny_cross_encoder), candidates=4)
    items = list(enumerate(PASSAGES))
    reordered = reranker.reorder(question, items, lambda item: item[1])
    head = [i for i, _ in reordered[:4]]
    assert head == sorted(range(4), key=lambda i: -expected[i])
    assert head != [0, 1, 2, 3]  # the seed gives an order the first ranking did not have
    assert reordered[4:] == items[4:]  # beyond the candidates nothing moves
    assert reranker.scores(question, PASSAGES[:4]) == pytest.approx([float(s) for s in expected], abs=1e-5)


def test_fewer_items_than_candidates_and_none_at_all(tiny_cross_encoder):
    reranker = Reranker(str(tiny_cross_encoder), candidates=30)
    two = [(0, PASSAGES[0]), (1, PASSAGES[1])]
    assert sorted(reranker.reorder("soup", two, lambda item: item[1])) == two
    assert reranker.reorder("soup", [], lambda item: item[1]) == []


def test_a_folder_that_is_not_a_cross_encoder_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="not a cross-encoder model folder"):
        Reranker(str(tmp_path)).scores("q", ["a passage"])


# --- in the search service -----------------------------------------------------------------------------------
QUESTION = "Were the purges aimed at real counter-revolutionary networks?"


@pytest.fixture
def reranked(sample_service, embedder, tiny_cross_encoder):
    from dataclasses import replace

    from embeddings.service import SearchService

    settings = replace(sample_service.settings, rerank_model=str(tiny_cross_encoder), rerank_candidates=5)
    service = SearchService(settings, embedder)
    yield service
    service.close()


def test_search_reorders_the_best_five_posts_by_the_cross_encoder_and_keeps_the_rest(
    sample_service, reranked, tiny_cross_encoder
):
    from sentence_transformers import CrossEncoder

    plain = sample_service.search(QUESTION, 8, mode="dense")  # dense: each post is shown by its best passage
    again = reranked.search(QUESTION, 8, mode="dense")
    assert {r.post_id for r in again[:5]} == {r.post_id for r in plain[:5]}
    assert [r.post_id for r in again[5:]] == [r.post_id for r in plain[5:]]  # past the candidates: as before
    model = CrossEncoder(str(tiny_cross_encoder))
    scores = dict(zip([r.post_id for r in plain[:5]], model.predict([(QUESTION, r.passage) for r in plain[:5]])))
    good = [r.post_id for r in again[:5] if r.good]
    weak = [r.post_id for r in again[:5] if not r.good]
    assert [r.post_id for r in again[:5]] == good + weak  # good matches stay ahead of weaker ones
    for tier in (good, weak):  # each in the cross-encoder's order
        assert tier == sorted(tier, key=lambda p: -scores[p])
    assert [r.post_id for r in again[:5]] != [r.post_id for r in plain[:5]]  # it did change something


def test_every_page_is_cut_from_the_same_reranked_ranking(reranked):
    whole = [r.post_id for r in reranked.search(QUESTION, 6)]
    pages = [r.post_id for r in reranked.search(QUESTION, 2, offset=0) + reranked.search(QUESTION, 2, offset=2)]
    pages += [r.post_id for r in reranked.search(QUESTION, 2, offset=4)]
    assert pages == whole
