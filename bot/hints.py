"""Short replies that echo what a member typed or what the archive holds, escaped like every archived text."""

from __future__ import annotations

from datetime import datetime

from .text import plain

ECHO_MAX = 300  # characters of an echoed question, passage or title (options can hold up to 6000)


def quoted(text: str, limit: int = ECHO_MAX) -> str:
    """“text”, on one line, escaped and cut to `limit` characters."""
    return f"“{plain(' '.join(text.split()), limit)}”"


def filters_line(author: str | None, thread_title: str | None, after: datetime | None, before: datetime | None) -> str:
    """The filters of an /ask in words: "by X, in “T”, from D, before D" (empty without filters)."""
    parts = (
        f"by {plain(' '.join(author.split()), 100)}" if author else "",
        f"in {quoted(thread_title, 150)}" if thread_title else "",
        f"from {after:%Y-%m-%d}" if after else "",
        f"before {before:%Y-%m-%d}" if before else "",
    )
    return ", ".join(p for p in parts if p)


def no_results(question: str, filters: str) -> str:
    hint = " Try fewer filters or other words." if filters else " Try other words."
    return f"No posts match {quoted(question)}{' (' + filters + ')' if filters else ''}.{hint}"


def no_more_results(question: str) -> str:
    return f"No more results for {quoted(question)}."


def bad_date(value: str) -> str:
    return f"I can't read {quoted(value, 60)} as a date. Use YYYY-MM-DD, e.g. `2009-08-15` (or `2009-08-15 14:32`)."


def post_out_of_range(title: str, post_count: int) -> str:
    return f"{quoted(title, 200)} has {post_count} posts: pick a number from 1 to {post_count}."


def quote_not_found(text: str) -> str:
    return f"I found no post containing {quoted(text)}. Check the wording, or try `/ask`."


def quote_header(candidates: int, text: str) -> str:
    head = "Best match" if candidates == 1 else f"{candidates} candidate originals, best first"
    return f"{head} for {quoted(text, 200)}"
