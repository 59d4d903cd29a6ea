"""Which sentence(s) of a passage answer the query: used for bold in Discord and in the CLI.

A sentence's score is its cosine to the query plus term overlap. Its vector comes from the build
(index/sentences.py: embedded once, when the passage was indexed), so answering makes no model call for
highlights; a passage the build holds no sentence vectors for (an index built before them) has its sentences
embedded at query time, through the embedding cache, for the first FALLBACK_TOP results.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..models import Result
from ..passages.sentences import sentence_spans
from ..vectors.cache import EmbeddingCache, embed_with_cache
from ..vectors.embedder import Embedder
from .terms import query_terms

if TYPE_CHECKING:
    from ..index.datadir import LoadedIndex

FALLBACK_TOP = 10  # results whose sentences are embedded at query time when the build has no vectors for them

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


def highlight_results(
    index: LoadedIndex,
    embedder: Embedder,
    cache: Callable[[], EmbeddingCache | None],
    query: str,
    qvec: np.ndarray | None,
    results: Sequence[Result],
    passage_ids: Sequence[int],
) -> None:
    """Set each result's `highlights` (`passage_ids`: the id of each result's passage; `cache`: the embedding
    cache for the fallback, opened only when a passage needs it). Lexical searches (no `qvec`) use term overlap."""
    stored = {}
    if qvec is not None and index.sentences is not None:
        stored = index.sentences.get({int(pid): r.passage for pid, r in zip(passage_ids, results)})
    spans, vectors = [], {}
    for i, (pid, r) in enumerate(zip(passage_ids, results)):
        row = stored.get(int(pid))
        spans.append(row.spans if row else sentence_spans(r.passage))
        if row:
            vectors[i] = row.vectors
    embed = [i for i in range(min(FALLBACK_TOP, len(results))) if i not in vectors and len(spans[i]) > 1]
    if qvec is not None and embed:
        texts = [results[i].passage[s:e] for i in embed for s, e in spans[i]]
        matrix, _ = embed_with_cache(embedder, cache(), texts, light=True)
        pos = 0
        for i in embed:
            vectors[i] = matrix[pos : pos + len(spans[i])]
            pos += len(spans[i])
    for i, r in enumerate(results):
        with_vectors = qvec if i in vectors else None
        r.highlights = best_sentences(query, r.passage, vectors.get(i), with_vectors, spans[i])
