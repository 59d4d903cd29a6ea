"""A search request's arguments checked before any work: each mistake a UsageError that says how to fix it."""

from __future__ import annotations

from datetime import datetime

from ..errors import UsageError
from . import pages
from .ranking import MODES

MAX_LIMIT = 1000  # results a page holds at most
MAX_QUERY_CHARS = 2000


def checked_request(
    query: str | None,
    limit: int,
    offset: int,
    mode: str,
    per_thread: int | None,
    after: datetime | None,
    before: datetime | None,
) -> tuple[str, str]:
    """(the question without surrounding space, the mode) of a valid request; a UsageError otherwise."""
    query = (query or "").strip()
    if not query:
        raise UsageError("the question is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise UsageError(f"the question is too long ({len(query)} characters, at most {MAX_QUERY_CHARS})")
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}")
    if not 0 <= offset < pages.MAX_RESULTS:  # read at call time: tests lower the cap
        last = pages.MAX_RESULTS - 1
        raise UsageError(f"offset must be between 0 and {last}: results stop at the {last + 1}th post")
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}")
    if per_thread is not None and not 1 <= per_thread <= MAX_LIMIT:
        raise UsageError(f"per_thread must be between 1 and {MAX_LIMIT}")
    if after and before and after > before:
        raise UsageError("`after` is later than `before`")
    return query, mode
