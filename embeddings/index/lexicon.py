"""Keyword ranking from postings a build stores: FTS5's own bm25, computed with numpy.

FTS5 ranks an OR-query by computing bm25 for every passage matching any term: for common words at a million
passages, a second or more. So a build stores, for each token of the FTS5 index (read back through fts5vocab,
so the tokens are exactly FTS5's: porter-stemmed, diacritics removed), the passages holding it and how often,
and each passage's length in tokens. A query's terms are tokenized by FTS5 itself (an in-memory table with the
same tokenizer), their postings read in one statement (and kept in a small cache), and bm25 is computed as
FTS5's fts5Bm25Function does it (k1 = 1.2, b = 0.75, idf = log((N - n + 0.5) / (n + 0.5)), at least 1e-6,
summed over the query's terms in order), so scores and order equal FTS5's. A term FTS5 reads as several tokens
(a phrase, such as "foo_bar") is scored by FTS5 alone. Filters restrict each posting list by binary search, so a
filtered query costs what it selects.

A question's cost is bounded: its terms are taken rarest first while their postings total at most
MAX_POSTINGS; the commonest words of a long question past that (their idf is the smallest) are left out of its
keyword ranking and term coverage. Below that bound, which no question of a few words reaches at a million
passages, the ranking is FTS5's exactly.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..search.terms import fts_phrase, query_terms
from ..vectors.allowed import Allowed, top_k
from .sql import (
    CLEAR_TERMS,
    DROP_FTS_INSTANCES,
    FTS_INSTANCES,
    FTS_TOKENIZE,
    INSERT_PASSAGE_COLUMN,
    INSERT_POSTING,
    INSERT_TERM,
    PASSAGE_COLUMN,
    PHRASE_SCORES,
    POSTING_SIZES,
    POSTINGS_OF,
    QUERY_TOKENIZER,
    TERM_TOKENS,
    TOKEN_POSTINGS,
)

K1, B = 1.2, 0.75  # FTS5's bm25 constants
MAX_POSTINGS = 1_000_000  # postings a question's keyword ranking reads at most
CACHE_BYTES = 64 * 2**20  # decoded postings kept between queries (the common words of recent questions)
FLUSH = 2_000_000  # postings per pass when summing passage lengths at build time


def write_postings(db: sqlite3.Connection, size: int) -> None:
    """Store the postings of every token of passages_fts and each passage's length (`size`: highest passage id
    + 1), in the transaction of the build that wrote the FTS5 index."""
    lengths = np.zeros(size, dtype=np.int64)
    pending_ids, pending_tfs, pending = [], [], 0
    db.execute(FTS_INSTANCES)
    try:
        batch = []
        for token, docs, counts in db.execute(TOKEN_POSTINGS):
            ids = np.array(docs.split(","), dtype=np.int64)
            tfs = np.array(counts.split(","), dtype=np.int64)
            if np.any(np.diff(ids) < 0):  # SQLite hands them over in order; do not rely on it
                order = np.argsort(ids, kind="stable")
                ids, tfs = ids[order], tfs[order]
            batch.append((token, ids.astype("<i4").tobytes(), np.minimum(tfs, 65535).astype("<u2").tobytes()))
            pending_ids.append(ids)
            pending_tfs.append(tfs)
            pending += len(ids)
            if pending >= FLUSH:
                lengths += np.bincount(np.concatenate(pending_ids), np.concatenate(pending_tfs), size).astype(np.int64)
                pending_ids, pending_tfs, pending = [], [], 0
            if len(batch) >= 1000:
                db.executemany(INSERT_POSTING, batch)
                batch = []
        db.executemany(INSERT_POSTING, batch)
    finally:
        db.execute(DROP_FTS_INSTANCES)
    if pending_ids:
        lengths += np.bincount(np.concatenate(pending_ids), np.concatenate(pending_tfs), size).astype(np.int64)
    db.execute(INSERT_PASSAGE_COLUMN, ("length", lengths.astype("<i4").tobytes()))


class QueryTokenizer:
    """Query terms as FTS5 tokenizes them, from an in-memory FTS5 table with passages_fts's tokenizer."""

    KEEP = 50_000  # terms remembered

    def __init__(self):
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.executescript(QUERY_TOKENIZER.format(tokenize=FTS_TOKENIZE))
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str, ...]] = {}

    def tokens(self, terms: list[str]) -> list[tuple[str, ...]]:
        with self._lock:
            if len(self._known) > self.KEEP:  # before looking: every term asked must still be known after
                self._known.clear()
            missing = [t for t in dict.fromkeys(terms) if t not in self._known]
            if missing:
                self._db.executemany(INSERT_TERM, [(i + 1, t) for i, t in enumerate(missing)])
                found: dict[int, list[str]] = {}
                for doc, token in self._db.execute(TERM_TOKENS):
                    found.setdefault(doc, []).append(token)
                self._db.execute(CLEAR_TERMS)
                for i, term in enumerate(missing):
                    self._known[term] = tuple(found.get(i + 1, ()))
            return [self._known[t] for t in terms]


_TOKENIZER: QueryTokenizer | None = None
_TOKENIZER_LOCK = threading.Lock()


def query_tokenizer() -> QueryTokenizer:
    global _TOKENIZER
    with _TOKENIZER_LOCK:
        if _TOKENIZER is None:
            _TOKENIZER = QueryTokenizer()
        return _TOKENIZER


@dataclass(frozen=True)
class Term:
    """One query term: the passages matching it (ascending) and each one's share of bm25 (computed from the
    postings, or from FTS5 for a term it reads as a phrase)."""

    ids: np.ndarray
    scores: np.ndarray

    def restricted(self, allowed: Allowed | None) -> np.ndarray | slice:
        """Which entries of `ids` are allowed: a slice for a range, else an index array."""
        if allowed is None:
            return slice(None)
        if allowed.is_range:
            lo, hi = np.searchsorted(self.ids, [allowed.start, allowed.stop])
            return slice(int(lo), int(hi))
        if len(allowed) * 32 < len(self.ids):  # few allowed ids: each one found among the term's
            at = np.searchsorted(self.ids, allowed.ids)
            inside = at < len(self.ids)
            at, wanted = at[inside], allowed.ids[inside]
            return at[self.ids[at] == wanted]
        return np.flatnonzero(allowed.contains(self.ids))

    def holds(self, passage_ids: np.ndarray) -> np.ndarray:
        """A mask: which of `passage_ids` match the term."""
        if not len(self.ids):
            return np.zeros(len(passage_ids), dtype=bool)
        at = np.minimum(np.searchsorted(self.ids, passage_ids), len(self.ids) - 1)
        return self.ids[at] == passage_ids


class Lexicon:
    """The keyword side of one index, from its postings (see the module's docstring)."""

    def __init__(self, store):
        self._store = store
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Term] = OrderedDict()
        self._cached = 0
        self._stats: tuple[int, np.ndarray] | None = None

    def passage_stats(self) -> tuple[int, np.ndarray]:
        """(passages, k1 * (1 - b + b * length / average length) by passage id), read once."""
        with self._lock:
            if self._stats is None:
                row = self._store.fetch(PASSAGE_COLUMN, ("length",))
                lengths = np.frombuffer(row[0][0], dtype="<i4") if row else np.zeros(1, dtype="<i4")
                passages = int(np.count_nonzero(lengths))
                average = float(lengths.sum(dtype=np.int64)) / max(1, passages)
                self._stats = passages, K1 * ((1 - B) + ((B * lengths.astype(np.float64)) / max(average, 1e-9)))
            return self._stats

    def terms(self, query: str) -> list[Term]:
        """The query's terms (`query_terms`), in order, less the commonest beyond MAX_POSTINGS."""
        words = query_terms(query)
        tokens = query_tokenizer().tokens(words)
        wanted = self._within_budget([t[0] for t in tokens if len(t) == 1])
        postings = self._postings(wanted)
        empty = Term(np.zeros(0, dtype=np.int64), np.zeros(0))
        out = []
        for word, toks in zip(words, tokens):
            if len(toks) == 1:
                if toks[0] in wanted:
                    out.append(postings.get(toks[0], empty))
            elif not toks:
                out.append(empty)
            else:  # a phrase of several tokens: FTS5 scores it (rare: words joined by "_" and the like)
                rows = self._store.fetch(PHRASE_SCORES, (fts_phrase(word),))
                ids = np.array([r[0] for r in rows], dtype=np.int64)
                out.append(Term(ids, scores=np.array([r[1] for r in rows], dtype=np.float64)))
        return out

    def _within_budget(self, tokens: list[str]) -> set[str]:
        """The tokens kept: rarest first while their postings total at most MAX_POSTINGS (all, below it)."""
        with self._lock:
            cached = {t: len(self._cache[t].ids) for t in tokens if t in self._cache}
        unknown = sorted(set(tokens) - cached.keys())
        sizes = dict(cached)
        for start in range(0, len(unknown), 500):
            part = unknown[start : start + 500]
            sizes.update(self._store.fetch(POSTING_SIZES.format(marks=",".join("?" * len(part))), part))
        if sum(sizes.values()) <= MAX_POSTINGS:
            return set(tokens)
        kept, total = set(), 0
        for token in sorted(sizes, key=lambda t: (sizes[t], t)):
            total += sizes[token]
            if total > MAX_POSTINGS and kept:
                break
            kept.add(token)
        return kept

    def _postings(self, tokens: set[str]) -> dict[str, Term]:
        found: dict[str, Term] = {}
        with self._lock:
            for token in tokens:
                if token in self._cache:
                    self._cache.move_to_end(token)
                    found[token] = self._cache[token]
        wanted = sorted(tokens - found.keys())
        fresh = {}
        passages, norms = self.passage_stats()
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            for token, ids, tfs in self._store.fetch(POSTINGS_OF.format(marks=",".join("?" * len(part))), part):
                ids = np.frombuffer(ids, dtype="<i4").astype(np.int64)
                f = np.frombuffer(tfs, dtype="<u2").astype(np.float64)
                idf = math.log((passages - len(ids) + 0.5) / (len(ids) + 0.5))
                idf = idf if idf > 0.0 else 1e-6
                # each passage's share of bm25, as fts5Bm25Function computes it (fixed for a loaded index)
                fresh[token] = Term(ids, scores=idf * ((f * (K1 + 1.0)) / (f + norms[ids])))
        with self._lock:
            for token, term in fresh.items():
                self._cache[token] = term
                self._cached += term.ids.nbytes + term.scores.nbytes
            while self._cached > CACHE_BYTES and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cached -= old.ids.nbytes + old.scores.nbytes
        return found | fresh

    def rank(self, query: str, k: int, allowed: Allowed | None = None) -> list[tuple[int, float]]:
        """(passage id, bm25) of the best k passages matching any term of `query`, among `allowed`; higher is
        better, equal scores in id order (as FTS5's ``ORDER BY bm25, rowid``)."""
        if k <= 0:
            return []
        size = len(self.passage_stats()[1])
        ids_parts, score_parts = [], []
        for term in self.terms(query):
            keep = term.restricted(allowed)
            ids_parts.append(term.ids[keep])
            score_parts.append(term.scores[keep])
        if not ids_parts or not sum(len(p) for p in ids_parts):
            return []
        ids, scores = np.concatenate(ids_parts), np.concatenate(score_parts)
        # summed in the query's order of terms, as FTS5 sums them; every share is positive (idf >= 1e-6)
        if len(ids) * 16 < size:  # few postings: over the passages they hold
            matched, at = np.unique(ids, return_inverse=True)
            totals = np.bincount(at, weights=scores)
            chosen = top_k(totals, k, matched)
        else:  # many: over every passage id, then only those at least the k-th best of a sample can be
            totals = np.bincount(ids, weights=scores, minlength=size)
            sample = totals[np.unique(ids[: 8 * k])]  # (a lower bound of the k-th best of all)
            low = np.partition(sample, len(sample) - k)[len(sample) - k] if len(sample) >= k else 0.0
            matched = np.flatnonzero(totals >= max(low, np.finfo(np.float64).tiny))
            totals = totals[matched]
            chosen = top_k(totals, k, matched)
        return sorted(zip(matched[chosen].tolist(), totals[chosen].tolist()), key=lambda hit: (-hit[1], hit[0]))
