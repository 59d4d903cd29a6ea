"""Identical and near-identical passages, collapsed into one result ("also in: <thread>").

An archive can hold the same post twice: a thread copied into another, a message cross-posted to two lists.
Two passages of one author are the same text when their words are equal ignoring case, punctuation and spacing, or when they
share at least NEAR_IDENTICAL of their word 3-shingles (Jaccard). Measured on the SemEval-2016 dev set's 1,650
posts: 143 posts are copies of 59 texts, all equal as words; the closest pair of different texts shares 0.84 of
its shingles (two replies ending in the same long signature), so 0.9 collapses only texts that differ in a word
or two, never two replies that merely sign alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ..models import Copy

NEAR_IDENTICAL = 0.9
SHINGLE = 3
_WORD = re.compile(r"\w+")


def words(text: str) -> tuple[str, ...]:
    """The text's words, case-folded: what two copies of one post have in common whatever their spacing."""
    return tuple(_WORD.findall(text.casefold()))


def shingles(tokens: Sequence[str], n: int = SHINGLE) -> frozenset[tuple[str, ...]]:
    if len(tokens) <= n:
        return frozenset([tuple(tokens)])
    return frozenset(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def similarity(a: frozenset, b: frozenset) -> float:
    """Jaccard similarity of two shingle sets."""
    return len(a & b) / len(a | b) if a or b else 1.0


def _prefix(shingle_set: frozenset) -> list:
    """The shingles two sets at NEAR_IDENTICAL or more must share one of (prefix filtering: in one fixed order, a
    set's first |x| - ceil(t|x|) + 1), so only texts sharing one are compared."""
    ordered = sorted(shingle_set, key=hash)  # any order both sides agree on: hashes are fixed within a process
    return ordered[: len(ordered) - math.ceil(NEAR_IDENTICAL * len(ordered)) + 1]


def collapse(texts: Sequence[str], authors: Sequence[str] | None = None) -> list[tuple[int, list[int]]]:
    """`texts` (best first) grouped by sameness: (the first of each text, the later copies of it), in order.
    With `authors` (one per text), only texts of the same author (ignoring case) are copies: two members who
    both wrote "Thanks, that worked." are two answers, one member's post in two threads is one.

    Greedy in order, so collapsing a longer list starts with the collapse of its prefix: pages cut from it agree.
    """
    kept: list[tuple[int, list[int]]] = []
    exact: dict[tuple[str, ...], int] = {}  # (author, words) -> position in `kept`
    sets: list[frozenset] = []  # shingles of each kept text
    owners: list[str] = []  # author of each kept text
    holders: dict[tuple[str, ...], list[int]] = {}  # a shingle of a kept text's prefix -> those texts' positions
    for i, text in enumerate(texts):
        owner = " ".join(authors[i].casefold().split()) if authors is not None else ""
        key = words(text)
        at = exact.get((owner, *key))
        mine = shingles(key)
        prefix = _prefix(mine) if key else []
        if at is None and key:
            candidates = sorted({k for s in prefix for k in holders.get(s, ()) if owners[k] == owner})
            at = next((k for k in candidates if similarity(mine, sets[k]) >= NEAR_IDENTICAL), None)
        if at is not None:
            kept[at][1].append(i)
            continue
        exact[(owner, *key)] = len(kept)
        for s in prefix:
            holders.setdefault(s, []).append(len(kept))
        kept.append((i, []))
        sets.append(mine)
        owners.append(owner)
    return kept


def with_copies(index, results: list, copies: dict[str, list[str]]) -> list:
    """`results` with each one's copies (post id -> the post ids of its copies) listed in its `also_in`."""
    wanted = [c for r in results for c in copies.get(r.post_id, ())]
    if not wanted:
        return results
    posts = index.store.posts_by_ids(wanted)
    for r in results:
        r.also_in = [
            Copy(c, posts[c]["thread_id"], posts[c]["thread_title"], posts[c]["post_index"])
            for c in copies.get(r.post_id, ())
        ]
    return results
