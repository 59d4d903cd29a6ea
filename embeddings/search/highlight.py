"""Which sentence(s) of a passage answer the query: used for bold in Discord and in the CLI."""

from __future__ import annotations

import re

import numpy as np

from ..passages.sentences import sentence_spans
from .terms import query_terms

_WORD = re.compile(r"\w+", re.UNICODE)


def _stem(word: str) -> str:
    return word.lower()[:6]


def lexical_sentence_scores(query: str, passage: str, spans: list[tuple[int, int]]) -> list[float]:
    terms = {_stem(t) for t in query_terms(query)}
    scores = []
    for s, e in spans:
        words = {_stem(w) for w in _WORD.findall(passage[s:e])}
        scores.append(len(terms & words) / (len(terms) or 1))
    return scores


def best_sentences(
    query: str,
    passage: str,
    sentence_vectors: np.ndarray | None = None,
    query_vector: np.ndarray | None = None,
    spans: list[tuple[int, int]] | None = None,
    max_sentences: int = 1,
) -> list[tuple[int, int]]:
    """(start, end) offsets within `passage` of its best sentence(s), in passage order.

    With sentence vectors, cosine similarity to the query is blended with term overlap
    (names and numbers that embeddings blur); without them, term overlap alone decides.
    """
    spans = sentence_spans(passage) if spans is None else spans
    if len(spans) <= 1:
        return spans
    lexical = np.array(lexical_sentence_scores(query, passage, spans))
    if sentence_vectors is not None and query_vector is not None:
        scores = sentence_vectors @ query_vector + 0.3 * lexical
    else:
        scores = lexical
    if not np.any(scores > 0):
        return []
    order = np.argsort(-scores, kind="stable")[:max_sentences]
    return sorted(spans[i] for i in order)
