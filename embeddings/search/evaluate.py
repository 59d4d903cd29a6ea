"""Retrieval quality on labelled queries.

A query file is JSON Lines with `query`, the expected post's `author` and
`posted_at` (ISO 8601, minute precision is enough) and optionally
`must_contain`, text the returned passage should hold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import InputError
from ..ingest.dates import parse_iso
from ..models import Result


@dataclass
class QueryOutcome:
    query: str
    rank: int | None  # 1-based rank of the expected post in the results, None if absent
    contains: bool  # the expected post's returned passage holds must_contain
    top_author: str | None
    top_posted_at: datetime | None


@dataclass
class EvalReport:
    queries: int
    mode: str
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    map: float
    ndcg_at_10: float
    passage_contains: float
    outcomes: list[QueryOutcome] = field(default_factory=list)


def load_queries(path: str | Path) -> list[dict]:
    queries = []
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), None, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(str(path), lineno, f"bad JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise InputError(str(path), lineno, "expected a JSON object")
        missing = [k for k in ("query", "author", "posted_at") if not isinstance(obj.get(k), str) or not obj[k]]
        if missing:
            raise InputError(str(path), lineno, f"missing or non-text field(s): {', '.join(missing)}")
        try:
            obj["posted_at"] = parse_iso(str(obj["posted_at"]))
        except ValueError:
            raise InputError(str(path), lineno, f"bad posted_at {obj['posted_at']!r}") from None
        queries.append(obj)
    if not queries:
        raise InputError(str(path), None, "no queries")
    return queries


def _is_expected(result: Result, q: dict) -> bool:
    return result.author.casefold() == q["author"].casefold() and result.posted_at.replace(
        second=0, microsecond=0
    ) == q["posted_at"].replace(second=0, microsecond=0)


def average_precision(relevance: Sequence[bool], total_relevant: int) -> float:
    """AP of one ranked list (binary relevance); 0 when nothing is relevant."""
    if total_relevant <= 0:
        return 0.0
    hits, score = 0, 0.0
    for i, rel in enumerate(relevance, start=1):
        if rel:
            hits += 1
            score += hits / i
    return score / total_relevant


def ndcg(relevance: Sequence[bool], total_relevant: int, k: int = 10) -> float:
    dcg = sum(1.0 / math.log2(i + 1) for i, rel in enumerate(relevance[:k], start=1) if rel)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(total_relevant, k) + 1))
    return dcg / ideal if ideal else 0.0


def evaluate(service, queries: Sequence[dict], mode: str | None = None, depth: int = 10) -> EvalReport:
    outcomes = []
    ap = nd = 0.0
    for q in queries:
        results = service.search(q["query"], depth, mode=mode)
        relevance = [_is_expected(r, q) for r in results]
        rank = relevance.index(True) + 1 if any(relevance) else None
        contains = bool(rank and q.get("must_contain", "").casefold() in results[rank - 1].passage.casefold())
        ap += average_precision(relevance, 1)
        nd += ndcg(relevance, 1, depth)
        top = results[0] if results else None
        outcomes.append(
            QueryOutcome(q["query"], rank, contains, top.author if top else None, top.posted_at if top else None)
        )
    n = len(queries)
    return EvalReport(
        queries=n,
        mode=mode or service.settings.search_mode,
        hit_at_1=sum(o.rank == 1 for o in outcomes) / n,
        hit_at_5=sum(bool(o.rank and o.rank <= 5) for o in outcomes) / n,
        mrr_at_10=sum(1.0 / o.rank for o in outcomes if o.rank and o.rank <= 10) / n,
        map=ap / n,
        ndcg_at_10=nd / n,
        passage_contains=sum(o.contains for o in outcomes) / n,
        outcomes=outcomes,
    )
