"""A passage's thread and its place in it, for the hybrid ranking: how well the thread (its title and opening post)
matches the question, and whether the post answers or asks again.

Read at query time from what every build stores (the posts table, the passages' vectors and the keyword
postings), for the candidates of one question only, so any build, old or new, gets them. What each one adds to a
candidate's score, and the figures behind the weights, are in `ranking.Fusion` and docs/retrieval.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..index.datadir import LoadedIndex
from ..index.lexicon import query_tokenizer
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
    thread: list[str]  # thread ids


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
    """The `Places` of `passage_ids`, whose cosines to the question are `cosine`: three reads of the store (the
    candidates' posts, their posts' question marks, their threads' opening posts) and one exact vector search
    over the opening posts' passages."""
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
    every_opening = np.array(sorted(p for ps in opening_passages.values() for p in ps), dtype=np.int64)
    opening_cosine = dict(index.vectors.search(qvec, len(every_opening), every_opening)) if len(every_opening) else {}
    best = {t: max(opening_cosine.get(p, -1.0) for p in ps) for t, ps in opening_passages.items()}
    coverage = _thread_coverage(index, query, thread_ids, title, opening_passages)
    threads = [place[p][1] for p in ids]
    return Places(
        thread_cosine=np.array([best.get(t, c) for t, c in zip(threads, np.asarray(cosine).tolist())]),
        thread_coverage=np.array([coverage.get(t, 0.0) for t in threads]),
        opening=np.array([place[p][2] == 0 for p in ids], dtype=bool),
        asks=np.array([place[p][2] > 0 and place[p][0] in asking for p in ids], dtype=bool),
        by_opener=np.array([place[p][2] > 0 and place[p][3] == opener.get(place[p][1]) for p in ids], dtype=bool),
        length=np.array([extent.get(place[p][0], 0) for p in ids], dtype=np.float64),
        thread=threads,
    )


def _thread_coverage(
    index: LoadedIndex, query: str, thread_ids: list[str], title: dict[str, str], opening: dict[str, list[int]]
) -> dict[str, float]:
    """thread id -> share of the query's IDF weight (as `ranking.term_coverage` weighs it) that the thread's title
    or any passage of its opening post holds: the title is matched with the opening post, so an opening post
    that does not repeat its subject line (a mail) is still found by it. A build made before postings were
    stored answers the same from FTS5."""
    from .ranking import idf

    tokenizer = query_tokenizer()
    words = query_terms(query)
    title_words = {t: query_terms(title.get(t, "")) for t in thread_ids}
    asked = list(dict.fromkeys([*words, *(w for ws in title_words.values() for w in ws)]))
    tokenized = dict(zip(asked, tokenizer.tokens(asked)))  # one tokenizer pass for the question and every title
    tokens = [tokenized[w] for w in words]
    title_tokens = {t: {tok for w in ws for tok in tokenized[w]} for t, ws in title_words.items()}
    total_passages = max(len(index.vectors), 1)
    members = [np.array(opening.get(t, []), dtype=np.int64) for t in thread_ids]
    flat = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(thread_ids)), [len(m) for m in members])
    shares, total = np.zeros(len(thread_ids)), 0.0
    for word, toks in zip(words, tokens):
        if len(toks) != 1:
            continue
        df, holds = _occurrences(index, word, flat)
        if not df:
            continue  # absent from the index: says nothing about any thread
        w = idf(total_passages, df)
        total += w
        held = np.zeros(len(thread_ids), dtype=bool)
        np.logical_or.at(held, owner, holds)
        held |= np.array([toks[0] in title_tokens[t] for t in thread_ids], dtype=bool)
        shares += w * held
    return {t: s / total for t, s in zip(thread_ids, shares.tolist())} if total else {}


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
