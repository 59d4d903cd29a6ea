"""Ranking passages: dense (FAISS), lexical (FTS5's bm25, from the build's postings) and their fusion, with
filters applied inside: both sides take the same allowed ids."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..index.datadir import LoadedIndex
from ..models import Filters
from ..vectors.allowed import Allowed
from .terms import fts_phrase, fts_query, query_terms
from .threads import context_scores, is_question, places

MODES = ("dense", "lexical", "hybrid")


def allowed_passage_ids(index: LoadedIndex, filters: Filters) -> Allowed | None:
    """Passage ids of the posts the filters allow (None: no filter), for both rankings."""
    if filters.is_empty():
        return None
    if index.layout is not None:
        return index.layout.allowed(filters)
    return Allowed.of(index.store.passage_ids_allowed(filters))  # a build made before filters were laid out


def dense_ranking(index: LoadedIndex, qvec: np.ndarray, k: int, allowed: Allowed | None) -> list[tuple[int, float]]:
    return index.vectors.search(qvec, k, allowed)


def lexical_ranking(
    index: LoadedIndex, query: str, k: int, filters: Filters, allowed: Allowed | None = None
) -> list[tuple[int, float]]:
    if index.lexicon is not None:
        return index.lexicon.rank(query, k, allowed if allowed is not None else allowed_passage_ids(index, filters))
    match = fts_query(query)  # a build made before postings were stored: FTS5 ranks
    return [] if match is None else index.store.keyword_ranking(match, filters, k)


@dataclass(frozen=True)
class Fusion:
    """How hybrid mode combines the two rankings.

    method "blend" (the default): score = cosine + lift * coverage ** power, where coverage is the share of the
    query's IDF weight that the passage contains (each distinct query term once; terms absent from the index are
    ignored). Candidates are the union of the dense and the lexical top-k; a lexical-only candidate gets its exact
    cosine. The dense order stands unless a passage holds most of the query's rare words: a full match ("Ryutin
    platform") lifts by `lift`, half of the query's weight by lift/4, so the partial overlaps every long, chatty
    question has with many comments barely move it. Tuned on the dev data (benchmarks/semeval_cqa.py).

    Then each candidate is read with its thread (threads.context_scores: the thread's match for a reply, the
    title for an opening post, replies asking again moved down for a question); the fields below weigh it.

    method "rrf": plain weighted reciprocal rank fusion, wd/(k+rank_dense) + wl/(k+rank_lexical), kept for
    comparison (it falls below dense-only on comment ranking).
    """

    method: str = "blend"
    lift: float = 0.15
    power: float = 2.0
    rrf_k: int = 60
    rrf_dense: float = 1.0
    rrf_lexical: float = 1.0
    # the candidate's thread and place in it (threads.context_scores; 0 turns each off): the setting 5-fold
    # cross-validation over the SemEval dev questions chose most often, fitted on all of them, among those that
    # keep every seed question at hit@1 (benchmarks/thread_context.py, docs/retrieval.md)
    thread: float = 0.02
    thread_lift: float = 0.0
    opening_lift: float = 1.0
    opening_power: float = 1.0
    asking: float = 0.05
    opener_reply: float = 0.1
    length: float = 0.01

    @property
    def in_context(self) -> bool:
        """Does the blend read the candidates' threads (any weight of thread context set)?"""
        return any((self.thread, self.opening_lift, self.asking, self.opener_reply, self.length))


DEFAULT_FUSION = Fusion()


def reciprocal_rank_fusion(
    dense: list[tuple[int, float]], lexical: list[tuple[int, float]], fusion: Fusion = Fusion(method="rrf")
) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for rank, (pid, _) in enumerate(dense, start=1):
        scores[pid] = scores.get(pid, 0.0) + fusion.rrf_dense / (fusion.rrf_k + rank)
    for rank, (pid, _) in enumerate(lexical, start=1):
        scores[pid] = scores.get(pid, 0.0) + fusion.rrf_lexical / (fusion.rrf_k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def idf(passages: int, df: int) -> float:
    """BM25's (always positive) inverse document frequency."""
    return math.log(1.0 + (passages - df + 0.5) / (df + 0.5))


def term_coverage(index: LoadedIndex, query: str, passage_ids) -> dict[int, float]:
    """passage id -> share (0..1) of the query's IDF weight that the passage contains, for `passage_ids`."""
    wanted = list(dict.fromkeys(int(p) for p in passage_ids))
    if not wanted:
        return {}
    total_passages = max(len(index.vectors), 1)
    if index.lexicon is not None:
        ids, shares, total = np.array(wanted, dtype=np.int64), np.zeros(len(wanted)), 0.0
        for term in index.lexicon.terms(query):
            if len(term.ids):  # absent from the index: says nothing about any passage
                w = idf(total_passages, len(term.ids))
                total += w
                shares += w * term.holds(ids)
        return {pid: w / total for pid, w in zip(wanted, shares.tolist()) if w} if total else {}
    weight: dict[int, float] = {}
    total = 0.0
    for term in query_terms(query):
        match = fts_phrase(term)
        df = index.store.term_frequency(match)
        if not df:  # absent from the index: says nothing about any passage
            continue
        w = idf(total_passages, df)
        total += w
        for pid in index.store.passages_with_term(match, wanted):
            weight[pid] = weight.get(pid, 0.0) + w
    return {pid: w / total for pid, w in weight.items()} if total else {}


def blend(
    index: LoadedIndex,
    query: str,
    qvec: np.ndarray,
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    fusion: Fusion = DEFAULT_FUSION,
) -> list[tuple[int, float]]:
    cosine = dict(dense)
    missing = np.array([pid for pid, _ in lexical if pid not in cosine], dtype=np.int64)
    if len(missing):  # exact cosine for candidates only the lexical side found (they passed the filters)
        cosine.update(index.vectors.search(qvec, len(missing), missing))
    coverage = term_coverage(index, query, cosine)  # every candidate, also dense ones beyond the lexical top-k
    scores = {pid: cos + fusion.lift * coverage.get(pid, 0.0) ** fusion.power for pid, cos in cosine.items()}
    if fusion.in_context and scores:
        ids = list(scores)
        where = places(index, query, qvec, ids, np.array([cosine[p] for p in ids]))
        fused = context_scores(np.array([scores[p] for p in ids]), where, fusion, is_question(query))
        scores = dict(zip(ids, fused.tolist()))
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def display_passages(
    index: LoadedIndex, query: str, groups: list[list[tuple[int, float]]], extra_lift: float = 0.15
) -> list[tuple[int, float]]:
    """For each post's candidate passages (id, fused score), best first, the (passage, post score) to show.

    Posts are ranked by their best fused score; within a post, a passage holding more of the query's rare words
    is preferred a little more strongly (extra_lift on top of the fusion's lift), so the passage shown is the
    one that contains what was asked about. The post's score is unchanged. Term coverage is looked up once for
    all the posts' candidates.
    """
    several = [pid for group in groups if len(group) > 1 for pid, _ in group]
    coverage = term_coverage(index, query, several) if several else {}
    shown = []
    for group in groups:
        pid, _ = max(group, key=lambda c: c[1] + extra_lift * coverage.get(c[0], 0.0) ** 2)
        shown.append((pid, group[0][1]))
    return shown


def rank_passages(
    index: LoadedIndex,
    query: str,
    qvec: np.ndarray | None,
    k: int,
    mode: str,
    filters: Filters,
    allowed: Allowed | None,
    fusion: Fusion | None = None,
) -> list[tuple[int, float]]:
    """(passage id, score) best first: at least the top k of `mode` (hybrid: of the union of both top-k)."""
    if mode == "dense":
        return dense_ranking(index, qvec, k, allowed)
    if mode == "lexical":
        return lexical_ranking(index, query, k, filters, allowed)
    fusion = fusion or DEFAULT_FUSION
    dense, lexical = dense_ranking(index, qvec, k, allowed), lexical_ranking(index, query, k, filters, allowed)
    if fusion.method == "rrf":
        return reciprocal_rank_fusion(dense, lexical, fusion)
    return blend(index, query, qvec, dense, lexical, fusion)
