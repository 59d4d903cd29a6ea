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
from .ranking import display_passages, rank_passages

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
) -> list[Group]:
    """The first `want` posts (fewer when the ranking ends first, never past MAX_RESULTS) with their passages."""
    available = len(index.vectors) if allowed is None else len(allowed)
    want = min(want, MAX_RESULTS)
    k = min(available, SEARCH_DEPTH)
    while True:
        ranked = rank_passages(index, query, qvec, k, mode, filters, allowed)
        per_post: dict[int | str, list[tuple[int, float]]] = {}
        for post, hit in zip(_posts_of(index, [pid for pid, _ in ranked]), ranked):
            per_post.setdefault(post, []).append(hit)
        if len(per_post) >= want or k >= min(available, MAX_DEPTH) or len(ranked) < k:
            groups = list(per_post.items())[:want]
            if groups and isinstance(groups[0][0], int):  # keyed by a passage of each post: read their post ids
                named = index.store.posts_of_passages([key for key, _ in groups])
                groups = [(named[key], passages) for key, passages in groups]
            return groups
        k = min(available, MAX_DEPTH, k * 4)


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
