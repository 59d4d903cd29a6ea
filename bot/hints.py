"""Short replies that echo what a member typed or what the archive holds, escaped like every archived text."""

from __future__ import annotations

from collections.abc import Sequence
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


def bad_date(value: str) -> str:
    return (
        f"I can't read {quoted(value, 60)} as a date. Dates are YYYY-MM-DD (`2009-08-15`), optionally with a time "
        "(`2009-08-15 14:32`), or a month (`2009-08`), or a year (`2009`)."
    )


def post_out_of_range(title: str, post_count: int) -> str:
    return f"{quoted(title, 200)} has {post_count} posts: pick a number from 1 to {post_count}."


def quote_not_found(text: str) -> str:
    return f"I found no post containing {quoted(text)}. Check the wording, or try `/ask`."


def _one_of(names: Sequence[str]) -> str:
    """ "“A”", "“A” or “B”", "“A”, “B” or “C”"."""
    shown = [quoted(n, 100) for n in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def unknown_author(typed: str, suggestions: Sequence[str]) -> str:
    """No author has the name a member typed: the closest names, matched as autocomplete matches them."""
    head = f"No author is named {quoted(typed, 100)}."
    if suggestions:
        return f"{head} Did you mean {_one_of(suggestions)}?"
    return f"{head} Pick a name from the suggestions as you type."


def _titles(suggestions: Sequence) -> list[str]:
    """The suggested threads' titles, each once (copies of a thread share one)."""
    return list(dict.fromkeys(" ".join(t.title.split()) for t in suggestions))


def unknown_thread(typed: str, suggestions: Sequence) -> str:
    """No thread has the id or title a member typed: the closest titles, matched as autocomplete matches them."""
    head = f"No thread is called {quoted(typed, 100)}."
    if suggestions:
        head += f" Did you mean {_one_of(_titles(suggestions))}?"
    return f"{head} Pick one from the suggestions as you type, or see `/threads` for the list."


def no_thread_titled(words: str, suggestions: Sequence) -> str:
    """/threads' `title` filter kept nothing: the closest titles, and how to see them all."""
    head = f"No thread title has the words {quoted(words, 100)}."
    if suggestions:
        head += f" Did you mean {_one_of(_titles(suggestions))}?"
    return f"{head} Run `/threads` without a title for the whole list."


def quote_header(text: str) -> str:
    return f"Who wrote {quoted(text, 200)} first"
