"""A card's description read as the bot lays it out: the byline, the thread line, then the rest."""

from __future__ import annotations

import re

# "-# [title](target)" or "-# title": the thread's title in Discord's subtext, a masked link when it has an address
THREAD_LINE = re.compile(r"-# (?:\[(?P<label>.*)\]\((?P<target>[^()\s]+)\)|(?P<plain>.*))\Z")


def card_lines(description: str) -> tuple[str, str, str]:
    """(byline, thread line, everything after them) of a card's description."""
    first, thread, *rest = description.split("\n")
    assert THREAD_LINE.match(thread), f"no thread line under the byline: {thread!r}"
    return first, thread, "\n".join(rest)


def shown_title(description: str) -> tuple[str, str | None]:
    """(the thread line's title as written in markdown, its link's target or None)."""
    m = THREAD_LINE.match(card_lines(description)[1])
    return (m.group("plain"), None) if m.group("label") is None else (m.group("label"), m.group("target"))


def unescaped(markdown: str) -> str:
    """What Discord shows for escaped text: each backslash escape becomes its character, ZWSPs disappear."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")
