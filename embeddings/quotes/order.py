"""The order quote detection reads posts in, and the loop that feeds them to a detector: shared by a whole build
(`detector.detect_quotes`) and by one that goes on from saved state (`resume`), so both find the same quotes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..collector import collector_paused
from ..models import Post, QuoteRelation

if TYPE_CHECKING:
    from .detector import QuoteDetector

PROGRESS_EVERY = 50  # posts between two progress calls: a post takes milliseconds, a call microseconds


def detection_order(posts: Sequence[Post]) -> list[Post]:
    """By date, then by thread (in the order threads first appear in `posts`), then by position in the thread."""
    thread_rank: dict[str, int] = {}
    for p in posts:
        thread_rank.setdefault(p.thread_id, len(thread_rank))
    return sorted(posts, key=lambda p: (p.posted_at, thread_rank[p.thread_id], p.post_index))


def feed(
    detector: QuoteDetector, ordered: Sequence[Post], progress: Callable[[int, int], None] | None = None
) -> list[QuoteRelation]:
    """Feed `ordered` to `detector` (`progress(done, total)` before the first post, every PROGRESS_EVERY posts and
    after the last); the relations found for them."""
    first = len(detector.relations)
    total = len(ordered)
    if progress:
        progress(0, total)
    with collector_paused():  # the index is millions of small tuples: repeated full passes would be quadratic
        for n, p in enumerate(ordered, start=1):
            detector.add(p)
            if progress and (n % PROGRESS_EVERY == 0 or n == total):
                progress(n, total)
    return detector.relations[first:]
