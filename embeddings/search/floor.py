"""The relevance floor: which results are good matches, and which are only the best of what is there.

A result is a good match when its score is at least the floor. The score is the search's own score of the post
(dense: the cosine similarity of the question and the post's best passage; hybrid: that cosine plus the bounded
lifts of search/ranking.py's blend: the question's rare words in the passage, and its thread), so the floor is on
the cosine scale in both modes and the good matches are always the leading results: "only 2 good matches" are the
first two. Lexical mode ranks by bm25, whose scale changes with every question: no floor there.

Calibrated by benchmarks/relevance_floor.py on the seed questions, name queries on the sample and the SemEval-2016
dev set (figures in docs/retrieval.md): 0.30 keeps every seed answer, every name-query answer ("Ryutin platform"),
every right answer to SemEval's original questions and 99.7 % to its related questions, and drops 86 % of the
results of questions the archive does not answer (52 % of such questions get "no good matches"). From 0.325 the
short name queries start to fall below it (their cosine is low; the lift for their rare words is what makes them
good), and the plain cosine is a worse signal for the same reason. The floor follows the ranking's scale: rerun
the benchmark when the fusion changes.
"""

from __future__ import annotations

RELEVANCE_FLOOR = 0.30  # the default of the `relevance_floor` setting; 0 turns the floor off


def is_good(score: float, mode: str, floor: float) -> bool:
    """Whether a result of `mode` with `score` is a good match under `floor` (0: every result is)."""
    return floor <= 0 or mode == "lexical" or score >= floor
