"""Ranking passages: dense (FAISS), lexical (SQLite FTS5 bm25) and their fusion, with filters applied inside."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .indexdir import LoadedIndex
from .store import iso

MODES = ("dense", "lexical", "hybrid")
STOPWORDS = frozenset(
    "a an and are as at be but by did do does for from had has have he her his how i if in into is it its me my "
    "no not of on or our she so that the their them then there these they this to was we were what when where "
    "which who whom why will with would you your".split()
)
_TERM = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Filters:
    """Restrictions applied inside retrieval: author (any case), thread, posted_at in [after, before)."""

    author: str | None = None
    thread_id: str | None = None
    after: datetime | None = None
    before: datetime | None = None

    def is_empty(self) -> bool:
        return not (self.author or self.thread_id or self.after or self.before)

    def where(self, alias: str = "p") -> tuple[str, list]:
        clauses, params = [], []
        if self.author:
            clauses.append(f"{alias}.author = ? COLLATE NOCASE")
            params.append(self.author.strip())
        if self.thread_id:
            clauses.append(f"{alias}.thread_id = ?")
            params.append(self.thread_id)
        if self.after:
            clauses.append(f"{alias}.posted_at >= ?")
            params.append(iso(self.after))
        if self.before:
            clauses.append(f"{alias}.posted_at < ?")
            params.append(iso(self.before))
        return (" AND ".join(clauses) or "1"), params


def allowed_passage_ids(index: LoadedIndex, filters: Filters) -> np.ndarray | None:
    if filters.is_empty():
        return None
    where, params = filters.where()
    rows = index.db.query(f"SELECT x.passage_id FROM passages x JOIN posts p USING (post_id) WHERE {where}", params)
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def query_terms(query: str) -> list[str]:
    terms = [t.lower() for t in _TERM.findall(query)]
    content = [t for t in terms if t not in STOPWORDS]
    return list(dict.fromkeys(content or terms))


def fts_query(query: str) -> str | None:
    terms = query_terms(query)
    if not terms:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def dense_ranking(index: LoadedIndex, qvec: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
    return index.vectors.search(qvec, k, allowed)


def lexical_ranking(index: LoadedIndex, query: str, k: int, filters: Filters) -> list[tuple[int, float]]:
    match = fts_query(query)
    if match is None:
        return []
    where, params = filters.where()
    rows = index.db.query(
        "SELECT f.rowid, bm25(passages_fts) AS s FROM passages_fts f"
        " JOIN passages x ON x.passage_id = f.rowid JOIN posts p ON p.post_id = x.post_id"
        f" WHERE passages_fts MATCH ? AND {where} ORDER BY s LIMIT ?",
        [match, *params, k],
    )
    return [(int(r[0]), -float(r[1])) for r in rows]


@dataclass(frozen=True)
class FusionWeights:
    """Weighted reciprocal-rank fusion: score = wd/(k+rank_dense) + wl/(k+rank_lexical)."""

    dense: float = 1.0
    lexical: float = 1.0
    k: int = 60


DEFAULT_FUSION = FusionWeights()


def fuse(dense: list[tuple[int, float]], lexical: list[tuple[int, float]],
         weights: FusionWeights = DEFAULT_FUSION) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for rank, (pid, _) in enumerate(dense, start=1):
        scores[pid] = scores.get(pid, 0.0) + weights.dense / (weights.k + rank)
    for rank, (pid, _) in enumerate(lexical, start=1):
        scores[pid] = scores.get(pid, 0.0) + weights.lexical / (weights.k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def rank_passages(index: LoadedIndex, query: str, qvec: np.ndarray | None, k: int, mode: str,
                  filters: Filters, allowed: np.ndarray | None,
                  weights: FusionWeights = DEFAULT_FUSION) -> list[tuple[int, float]]:
    if mode == "dense":
        return dense_ranking(index, qvec, k, allowed)
    if mode == "lexical":
        return lexical_ranking(index, query, k, filters)
    return fuse(dense_ranking(index, qvec, k, allowed), lexical_ranking(index, query, k, filters), weights)
