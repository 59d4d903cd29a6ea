"""A question's posts, best first, and one page of them: passages ranked once, grouped by post, then sliced.

Pages are slices of one ranking: the best SEARCH_DEPTH passages whatever the page, widened (x4, to at most
MAX_DEPTH passages) only while they hold fewer posts than the page needs. A question's results stop at its
MAX_RESULTS-th post: an offset at or past it is refused (`SearchService.search` says so), a page reaching past
it ends there, so the deepest page costs one ranking of at most MAX_DEPTH passages. The Discord pager never asks
past the end: it shows Next only while a page holds one result more than it shows.
"""

from __future__ import annotations

import numpy as np

from ..index.datadir import LoadedIndex
from ..models import Filters
from ..vectors.allowed import Allowed
from .duplicates import collapse
from .ranking import display_passages, rank_passages
from .threads import passage_threads

SEARCH_DEPTH = 400  # passages ranked for a question, whatever the page; more only when they hold too few posts
MAX_DEPTH = 6400  # passages ranked at most, for the deepest pages
MAX_RESULTS = 1000  # posts a question's results hold at most

Group = tuple[str, list[tuple[int, float]]]  # a post id and its ranked passages (id, score), best first


def ranked_posts(
    index: LoadedIndex,
    query: str,
    qvec: np.ndarray | None,
    mode: str,
    filters: Filters,
    allowed: Allowed | None,
    want: int,
    per_thread: int | None = None,
) -> list[Group]:
    """The first `want` posts (fewer when the ranking ends first, never past MAX_RESULTS) with their passages;
    with `per_thread`, at most that many posts of one thread (the best ones: later posts of a thread that has
    them all are passed over, and the ranking goes on with the next thread's, so every page is cut from the
    same capped ranking)."""
    available = len(index.vectors) if allowed is None else len(allowed)
    want = min(want, MAX_RESULTS)
    k = min(available, SEARCH_DEPTH)
    while True:
        ranked = rank_passages(index, query, qvec, k, mode, filters, allowed)
        per_post: dict[int | str, list[tuple[int, float]]] = {}
        for post, hit in zip(_posts_of(index, [pid for pid, _ in ranked]), ranked):
            per_post.setdefault(post, []).append(hit)
        if per_thread is not None:
            per_post = _capped(index, per_post, per_thread)
        if len(per_post) >= want or k >= min(available, MAX_DEPTH) or len(ranked) < k:
            groups = list(per_post.items())[:want]
            if groups and isinstance(groups[0][0], int):  # keyed by a passage of each post: read their post ids
                named = index.store.posts_of_passages([key for key, _ in groups])
                groups = [(named[key], passages) for key, passages in groups]
            return groups
        k = min(available, MAX_DEPTH, k * 4)


def distinct_posts(
    index: LoadedIndex,
    query: str,
    qvec: np.ndarray | None,
    mode: str,
    filters: Filters,
    allowed: Allowed | None,
    want: int,
    per_thread: int | None = None,
) -> tuple[list[Group], dict[str, list[str]]]:
    """Like `ranked_posts`, with posts whose best passage is the same text as a better one's folded into it:
    (the first `want` distinct posts, post id -> the post ids of its copies, best first)."""
    asked = want
    while True:
        groups = ranked_posts(index, query, qvec, mode, filters, allowed, asked, per_thread)
        texts = index.store.passages_by_ids([passages[0][0] for _, passages in groups])
        authors = index.store.posts_by_ids([post for post, _ in groups])
        kept = collapse(
            [texts[passages[0][0]]["text"] for _, passages in groups], [authors[post]["author"] for post, _ in groups]
        )
        if len(kept) >= want or len(groups) < asked or asked >= MAX_RESULTS:
            kept = kept[:want]
            copies = {groups[i][0]: [groups[j][0] for j in later] for i, later in kept if later}
            return [groups[i] for i, _ in kept], copies
        asked = min(MAX_RESULTS, asked * 2)


def _capped(index: LoadedIndex, per_post: dict, per_thread: int) -> dict:
    """`per_post` (in rank order) keeping at most `per_thread` posts of each thread, the first ones."""
    firsts = [passages[0][0] for passages in per_post.values()]
    laid_out = index.layout.thread_places() if index.layout is not None else None
    if laid_out is not None:  # a thread's key in the build's columns: no store read
        thread_of = dict(zip(firsts, laid_out.thread[np.asarray(firsts, dtype=np.int64)].tolist()))
    else:
        thread_of = passage_threads(index, firsts)
    seen: dict[str, int] = {}
    kept = {}
    for (post, passages), first in zip(per_post.items(), firsts):
        thread = thread_of[first]
        if seen.get(thread, 0) < per_thread:
            seen[thread] = seen.get(thread, 0) + 1
            kept[post] = passages
    return kept


def _posts_of(index: LoadedIndex, passage_ids: list[int]) -> list[int | str]:
    """Each passage's post: a key from the layout (no store read), else its post id from the store."""
    keys = index.layout.post_keys(passage_ids) if index.layout is not None else None
    if keys is not None:
        return keys
    post_of = index.store.posts_of_passages(passage_ids)
    return [post_of[pid] for pid in passage_ids]


def page_hits(
    index: LoadedIndex, query: str, mode: str, groups: list[Group], offset: int, limit: int
) -> list[tuple[str, tuple[int, float]]]:
    """The page [offset, offset + limit) of `groups` (cut at MAX_RESULTS): each post with the passage to show."""
    page = groups[offset : min(offset + limit, MAX_RESULTS)]
    candidates = [passages for _, passages in page]
    shown = display_passages(index, query, candidates) if mode == "hybrid" else [c[0] for c in candidates]
    return [(post_id, best) for (post_id, _), best in zip(page, shown)]
