"""`quote TEXT`: find who wrote a passage first, and every later post that quoted it.

Candidates come from the index (hybrid search over passages, where quoted spans
are credited to their source), then each candidate post is aligned with the asked
text word by word (rapidfuzz partial alignment on normalised words), so a slightly
misremembered passage still finds its original.
"""

from __future__ import annotations

from datetime import datetime

from rapidfuzz import fuzz

from ..index.datadir import LoadedIndex
from ..models import QuoteOccurrence, QuoteTrace
from ..passages.sentences import sentence_spans
from .text import tokenize

CANDIDATE_POSTS = 25
MIN_SCORE = 0.7  # below it nothing is named the original (benchmarks/quote_candidates.py, docs/quotes.md)
CONTEXT_CHARS = 240
MAX_WIDEN = 400


def align(text: str, body: str) -> tuple[float, int, int] | None:
    """(score 0..1, start, end) of the part of `body` that best matches `text`, in body offsets."""
    q = [w for w, _, _ in tokenize(text)]
    words = tokenize(body)
    if not q or not words:
        return None
    joined, starts = [], []
    pos = 0
    for w, _, _ in words:
        starts.append(pos)
        joined.append(w)
        pos += len(w) + 1
    body_norm = " ".join(joined)
    query_norm = " ".join(q)
    if len(query_norm) > len(body_norm):
        score = fuzz.ratio(query_norm, body_norm) / 100
        return score, words[0][1], words[-1][2]
    alignment = fuzz.partial_ratio_alignment(query_norm, body_norm)
    if alignment is None:
        return None
    first = _word_at(starts, alignment.dest_start)
    last = _word_at(starts, max(alignment.dest_start, alignment.dest_end - 1))
    return alignment.score / 100, words[first][1], words[last][2]


def to_sentences(body: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to the sentences it touches, so a trace shows whole sentences —
    but never by more than MAX_WIDEN characters on a side (a post may be one endless sentence)."""
    lo, hi = max(0, start - MAX_WIDEN), min(len(body), end + MAX_WIDEN)
    for s, e in sentence_spans(body, lo, hi):
        if s <= start < e:
            start = s
        if s < end <= e:
            end = e
    return start, end


def _word_at(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _occurrence(row, start: int, end: int) -> QuoteOccurrence:
    return QuoteOccurrence(
        post_id=row["post_id"],
        thread_id=row["thread_id"],
        thread_title=row["thread_title"],
        post_index=row["post_index"],
        author=row["author"],
        posted_at=datetime.fromisoformat(row["posted_at"]),
        text=row["body"][start:end],
        start=start,
        end=end,
    )


def _context(body: str, start: int, end: int) -> tuple[str, int]:
    s = max(0, start - CONTEXT_CHARS)
    e = min(len(body), end + CONTEXT_CHARS)
    if s > 0:
        s = body.find(" ", s, start) + 1 or s
    if e < len(body):
        cut = body.rfind(" ", end, e)
        e = cut if cut > 0 else e
    return body[s:e], s


def trace_quote(service, index: LoadedIndex, text: str, limit: int = 5) -> list[QuoteTrace]:
    hits = service.search(text, CANDIDATE_POSTS, mode="hybrid")
    rows = index.store.posts_by_ids([h.post_id for h in hits])
    found: dict[tuple[str, int], tuple[float, object, int, int]] = {}
    for hit in hits:
        row = rows[hit.post_id]
        match = align(text, row["body"])
        if match is None or match[0] < MIN_SCORE:
            continue
        score, start, end = match
        origin = _follow_to_source(index, row, start, end)
        if origin is not None:
            row, start, end = origin
        start, end = to_sentences(row["body"], start, end)
        key = (row["post_id"], start // 200)
        if key not in found or found[key][0] < score:
            found[key] = (score, row, start, end)
    ranked = sorted(found.values(), key=lambda item: (-item[0], item[1]["posted_at"]))[:limit]
    traces = []
    for score, row, start, end in ranked:
        context, context_start = _context(row["body"], start, end)
        traces.append(
            QuoteTrace(
                score=round(score, 3),
                original=_occurrence(row, start, end),
                context=context,
                context_start=context_start,
                context_cut=context_start + len(context) < len(row["body"].rstrip()),
                quoted_by=_quoters(index, row["post_id"], start, end),
            )
        )
    return traces


def _follow_to_source(index: LoadedIndex, row, start: int, end: int):
    """If [start, end) of this post is mostly a quote, the source post and span instead."""
    quotes = index.store.quotes_overlapping(row["post_id"], start, end)
    if not quotes:
        return None
    q = quotes[0]
    overlap = min(q["quoting_end"], end) - max(q["quoting_start"], start)
    if overlap < 0.5 * (end - start):
        return None
    source = index.store.posts_by_ids([q["source_post_id"]])[q["source_post_id"]]
    # map the asked span into the source span proportionally to where it sits in the quote
    qlen = max(1, q["quoting_end"] - q["quoting_start"])
    slen = q["source_end"] - q["source_start"]
    s = q["source_start"] + int(slen * max(0, start - q["quoting_start"]) / qlen)
    e = q["source_start"] + int(slen * min(qlen, end - q["quoting_start"]) / qlen)
    refined = align(row["body"][max(start, q["quoting_start"]) : min(end, q["quoting_end"])], source["body"])
    if refined is not None and refined[0] >= MIN_SCORE:
        s, e = refined[1], refined[2]
    return source, s, e


def _quoters(index: LoadedIndex, post_id: str, start: int, end: int) -> list[QuoteOccurrence]:
    rows = index.store.quotes_of(post_id, start, end)
    posts = index.store.posts_by_ids([r["quoting_post_id"] for r in rows])
    seen, out = set(), []
    for r in rows:
        if r["quoting_post_id"] in seen:
            continue
        seen.add(r["quoting_post_id"])
        out.append(_occurrence(posts[r["quoting_post_id"]], r["quoting_start"], r["quoting_end"]))
    return out
