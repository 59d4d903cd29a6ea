"""Paging through a query gives exactly the posts, in the order, of one large query — in every mode."""

from __future__ import annotations

import pytest

from .conftest import SEED_QUERIES

QUESTIONS = [
    "Who brought up the Dewey Commission inquiry into the Moscow trials?",
    "Stalin purges",
    "what did Trotsky think about the party",
    "Ryutin platform",
    "show trials confessions torture",
    "the kulaks and collectivisation",
    "Bukharin",
    "is there any evidence for that",
]


def _seed_questions() -> list[str]:
    import json

    return [json.loads(line)["query"] for line in SEED_QUERIES.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
@pytest.mark.parametrize("page_size", [1, 3, 4])
def test_pages_are_slices_of_one_ranking(sample_service, mode, page_size):
    for question in QUESTIONS + _seed_questions():
        whole = sample_service.search(question, 12, mode=mode)
        paged = []
        for offset in range(0, len(whole), page_size):
            paged += sample_service.search(question, page_size, offset=offset, mode=mode)
        assert [(r.post_id, r.passage_start) for r in paged[: len(whole)]] == [
            (r.post_id, r.passage_start) for r in whole
        ], question
        assert [r.rank for r in paged[: len(whole)]] == list(range(1, len(whole) + 1))
        assert len({r.post_id for r in whole}) == len(whole)  # one result per post
