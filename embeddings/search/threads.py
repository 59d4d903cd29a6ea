"""A passage's thread and its place in it, for the hybrid ranking: how well the thread (its title and opening post)
matches the question, and whether the post answers or asks again.

Read at query time from the columns a build lays out (`index.places`), or, for a build made before those, from
what every build stores (the posts table, the passages' vectors and the keyword postings), for the candidates of
one question only, so any build, old or new, gets them. What each one adds to a
candidate's score, and the figures behind the weights, are in `ranking.Fusion` and docs/retrieval.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..index.datadir import LoadedIndex
from ..index.lexicon import query_tokenizer
from ..index.places import ASKS, BY_OPENER, OPENING
from ..index.sql import OPENING_POSTS, PASSAGE_PLACES, POST_ASKS
from .terms import fts_phrase, query_terms

BATCH = 500  # ids per IN (...) list
_INTERROGATIVE = frozenset(
    "who whom whose what which when where why how is are was were do does did can could should would will "
    "shall may might has have any anyone anybody".split()
)
_SENTENCE_START = re.compile(r"(?:^|[.!?\n]\s*)([^\W\d_]+)", re.UNICODE)


def is_question(query: str) -> bool:
    """Does the query ask something (a '?', or a sentence or line opening with an interrogative word), so that a
    post answering it is wanted rather than one asking the same again?"""
    if "?" in query:
        return True
    return any(m.group(1).lower() in _INTERROGATIVE for m in _SENTENCE_START.finditer(query))


@dataclass(frozen=True)
class Places:
    """For each candidate passage (aligned with the ids given to `places`): its thread's match with the question
    and its post's place in the thread."""

    thread_cosine: np.ndarray  # best cosine of the thread's opening post's passages (own cosine if it has none)
    thread_coverage: np.ndarray  # share of the query's IDF weight held by the thread's title + opening post
    opening: np.ndarray  # bool: the passage is of the thread's opening post
    asks: np.ndarray  # bool: a reply whose own words hold a question mark ending a sentence
    by_opener: np.ndarray  # bool: a reply by the thread's opener
    length: np.ndarray  # characters of the post's own words (from its first passage's start to its last's end)


def _rows(index: LoadedIndex, sql: str, keys: list) -> list:
    out = []
    for i in range(0, len(keys), BATCH):
        part = keys[i : i + BATCH]
        out.extend(index.store.fetch(sql.format(marks=",".join("?" * len(part))), part))
    return out


def passage_threads(index: LoadedIndex, passage_ids: list[int]) -> dict[int, str]:
    """passage id -> its thread's id."""
    return {r[0]: r[2] for r in _rows(index, PASSAGE_PLACES, list(dict.fromkeys(int(p) for p in passage_ids)))}


def places(index: LoadedIndex, query: str, qvec: np.ndarray, passage_ids: list[int], cosine: np.ndarray) -> Places:
    """The `Places` of `passage_ids`, whose cosines to the question are `cosine`: from the columns a build lays
    out (`index.places`), else from three reads of the store (the candidates' posts, their posts' question
    marks, their threads' opening posts); and one exact vector search over the opening posts' passages."""
    laid_out = index.layout.thread_places() if index.layout is not None else None
    if laid_out is not None:
        return _laid_out_places(index, laid_out, query, qvec, passage_ids, cosine)
    ids = [int(p) for p in passage_ids]
    place = {r[0]: (r[1], r[2], r[3], r[4]) for r in _rows(index, PASSAGE_PLACES, ids)}
    post_ids = list(dict.fromkeys(place[p][0] for p in ids))
    asks_rows = _rows(index, POST_ASKS, post_ids)
    asking = {r[0] for r in asks_rows if r[1]}
    extent = {r[0]: r[2] for r in asks_rows}
    thread_ids = list(dict.fromkeys(place[p][1] for p in ids))
    opener: dict[str, str] = {}
    title: dict[str, str] = {}
    opening_passages: dict[str, list[int]] = {}
    for thread_id, author, thread_title, pid in _rows(index, OPENING_POSTS, thread_ids):
        opener[thread_id], title[thread_id] = author, thread_title
        if pid is not None:
            opening_passages.setdefault(thread_id, []).append(pid)
    best = _opening_cosines(index, qvec, opening_passages)
    words, tokens = _query_tokens(query, [title.get(t, "") for t in thread_ids])
    title_tokens = {t: {tok for w in query_terms(title.get(t, "")) for tok in tokens[w]} for t in thread_ids}
    members = [np.array(opening_passages.get(t, []), dtype=np.int64) for t in thread_ids]
    shares = _thread_coverage(
        index, [(w, tokens[w]) for w in words],
        np.concatenate(members) if members else np.zeros(0, dtype=np.int64),
        np.repeat(np.arange(len(thread_ids)), [len(m) for m in members]), len(thread_ids),
        lambda token: np.array([token in title_tokens[t] for t in thread_ids], dtype=bool),
    )  # fmt: skip
    coverage = dict(zip(thread_ids, shares.tolist()))
    threads = [place[p][1] for p in ids]
    return Places(
        thread_cosine=np.array([best.get(t, c) for t, c in zip(threads, np.asarray(cosine).tolist())]),
        thread_coverage=np.array([coverage.get(t, 0.0) for t in threads]),
        opening=np.array([place[p][2] == 0 for p in ids], dtype=bool),
        asks=np.array([place[p][2] > 0 and place[p][0] in asking for p in ids], dtype=bool),
        by_opener=np.array([place[p][2] > 0 and place[p][3] == opener.get(place[p][1]) for p in ids], dtype=bool),
        length=np.array([extent.get(place[p][0], 0) for p in ids], dtype=np.float64),
    )


def _laid_out_places(index, laid_out, query, qvec, passage_ids, cosine) -> Places:
    """`places` from the build's columns (`index.places.ThreadPlaces`): what the store's reads give, as arrays
    (the same values: one opening post's passages are [opening_start, opening_stop) of its thread's key)."""
    ids = np.asarray(passage_ids, dtype=np.int64)
    keys, of_thread = np.unique(laid_out.thread[ids], return_inverse=True)  # the candidates' threads
    starts, stops = laid_out.opening_start[keys].astype(np.int64), laid_out.opening_stop[keys].astype(np.int64)
    sizes = stops - starts
    owner = np.repeat(np.arange(len(keys)), sizes)
    members = np.arange(int(sizes.sum())) + np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
    best = np.full(len(keys), -np.inf)
    if len(members):  # each thread's best opening cosine
        found = dict(index.vectors.search(qvec, len(members), np.sort(members)))
        np.maximum.at(best, owner, np.array([found.get(p, -1.0) for p in members.tolist()]))
    words, tokens = _query_tokens(query, [])
    titled = lambda token: _holds(laid_out.titled(token), keys)  # noqa: E731
    coverage = _thread_coverage(index, [(w, tokens[w]) for w in words], members, owner, len(keys), titled)
    place = laid_out.place[ids]
    opening = (place & OPENING) != 0
    return Places(
        thread_cosine=np.where((sizes > 0)[of_thread], best[of_thread], np.asarray(cosine, dtype=np.float64)),
        thread_coverage=coverage[of_thread],
        opening=opening,
        asks=~opening & ((place & ASKS) != 0),
        by_opener=~opening & ((place & BY_OPENER) != 0),
        length=laid_out.extent[ids].astype(np.float64),
    )


def _holds(sorted_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which of `wanted` are in `sorted_ids` (ascending)."""
    if not len(sorted_ids):
        return np.zeros(len(wanted), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    return sorted_ids[at] == wanted


def _opening_cosines(index: LoadedIndex, qvec: np.ndarray, opening: dict) -> dict:
    """thread -> the best cosine to the question of its opening post's passages (threads that have some)."""
    every = np.array(sorted(p for ps in opening.values() for p in ps), dtype=np.int64)
    cosine = dict(index.vectors.search(qvec, len(every), every)) if len(every) else {}
    return {t: max(cosine.get(p, -1.0) for p in ps) for t, ps in opening.items()}


def _query_tokens(query: str, titles: list[str]) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """The query's words, and each word of the query and of `titles` -> its FTS5 tokens (one tokenizer pass)."""
    words = query_terms(query)
    asked = list(dict.fromkeys([*words, *(w for title in titles for w in query_terms(title))]))
    return words, dict(zip(asked, query_tokenizer().tokens(asked)))


def _thread_coverage(index: LoadedIndex, words, members: np.ndarray, owner: np.ndarray, threads: int, in_title):
    """For each of `threads` threads, the share of the query's IDF weight (as `ranking.term_coverage` weighs it)
    that its title or any passage of its opening post holds: the title is matched with the opening post, so an
    opening post that does not repeat its subject line (a mail) is still found by it. `words`: the query's
    (word, tokens); `members`: the opening posts' passages, `owner` each one's thread; `in_title(token)`: which
    threads hold the token in their title. A build made before postings were stored answers the same from FTS5."""
    from .ranking import idf

    total_passages = max(len(index.vectors), 1)
    shares, total = np.zeros(threads), 0.0
    for word, toks in words:
        if len(toks) != 1:
            continue
        df, holds = _occurrences(index, word, members)
        if not df:
            continue  # absent from the index: says nothing about any thread
        w = idf(total_passages, df)
        total += w
        held = np.zeros(threads, dtype=bool)
        np.logical_or.at(held, owner, holds)
        held |= in_title(toks[0])
        shares += w * held
    return shares / total if total else np.zeros(threads)


def _occurrences(index: LoadedIndex, word: str, passage_ids: np.ndarray) -> tuple[int, np.ndarray]:
    """(how many passages hold `word`, which of `passage_ids` do): from the postings (kept in the lexicon's
    cache), or from FTS5 for a build made before they were stored."""
    if index.lexicon is not None:
        found = index.lexicon.terms(word)
        if not found:
            return 0, np.zeros(len(passage_ids), dtype=bool)
        return len(found[0].ids), found[0].holds(passage_ids)
    match = fts_phrase(word)
    df = index.store.term_frequency(match)
    held = set(index.store.passages_with_term(match, passage_ids.tolist())) if df and len(passage_ids) else set()
    return df, np.array([int(p) in held for p in passage_ids], dtype=bool)


def context_scores(scores: np.ndarray, where: Places, fusion, question: bool) -> np.ndarray:
    """`scores` (the candidates' blended scores) with their thread and place in it (the weights of
    `ranking.Fusion`): a reply gains `thread` x its thread's match (the opening post's cosine + thread_lift x the
    coverage of title + opening post, squared); for a question, an opening post, matched with its title, loses
    opening_lift x (1 - that coverage ^ opening_power), and a reply asking (a '?') or by the thread's opener
    loses `asking` / `opener_reply`; every post gains `length` x log(1 + characters of its own words)."""
    thread = fusion.thread * (where.thread_cosine + fusion.thread_lift * where.thread_coverage**2)
    # an opening post is lowered by what its title + post lack of the question's words (never raised: for a
    # question it restates, and its replies answer); the same shift for every opening post when all hold them
    opening = fusion.opening_lift * (where.thread_coverage**fusion.opening_power - 1.0) if question else 0.0
    out = scores + np.where(where.opening, opening, thread)
    if question:
        out = out - fusion.asking * where.asks - fusion.opener_reply * where.by_opener
    if fusion.length:
        out = out + fusion.length * np.log1p(where.length)
    return out
