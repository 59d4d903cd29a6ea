"""What every card shares: the line that says who wrote it and when, and the thread it belongs to.

A card leads with its author: "**Andrei Kuznetsov** · <date> · post 7 of 11", the date as :func:`bot.text.when`
shows every post's date. The thread's title is the description's second line, in Discord's subtext (`-# `: small
and muted), a masked link to the post in the archive when the archive gave a plausible http(s) address
(:func:`thread_line`). The title is archived text: escaped in the same single pass as everything else, every
address in it written as text (a link's text must not look like another link), and the link's target
percent-encoded where a character could end the link.
"""

from __future__ import annotations

from ..escaping import escape, unmarked
from ..text import ELLIPSIS, URL, cut_words, link_url, or_placeholder, plain, posted

AUTHOR_LINE_MAX = 120  # characters of an author's name on a card
TITLE_CHARS = 150  # characters of a thread's title on a card, before escaping
THREAD_LINE_MAX = 1200  # characters a card's thread line may take, the link's target included
SUBTEXT = "-# "  # Discord's subtext: the rest of the line small and muted
# Characters that could end a masked link's target, open its hover title or be taken for an escape, encoded.
_IN_TARGET = str.maketrans({c: f"%{ord(c):02X}" for c in ' ()<>[]\\"`'})


def strong(escaped: str) -> str:
    """Escaped text in bold; a space before the closing marker when it ends in an address, which would take it in."""
    words = escaped.rsplit(None, 1)
    close = " **" if words and URL.search(words[-1]) else "**"
    return f"**{escaped}{close}"


def byline(post, number: int | None = None, count: int | None = None, *, verb: str = "") -> str:
    """ "**Author** · <date> · post 7 of 11" for a result, post or quote occurrence (`verb`: words after the
    name, "wrote this first")."""
    name = strong(or_placeholder(plain(" ".join(post.author.split()), AUTHOR_LINE_MAX), "(unknown author)"))
    parts = [f"{name}{' ' + verb if verb else ''}", posted(post)]
    if number is not None:
        parts.append(f"post {number} of {count}" if count else f"post {number}")
    return " · ".join(parts)


def title_label(title: str, limit: int) -> str:
    """A thread's title on one line, cut at a word boundary to about TITLE_CHARS characters (an ellipsis marks the
    cut), then escaped with every address in it as text: at most `limit` characters."""
    flat = " ".join(unmarked(title or "").split())  # every kind of line break and blank run becomes one space

    def shown(n: int) -> str:
        return escape(cut_words(flat, n), cut_url_at=0) if n else ""

    lo, hi = 0, min(len(flat), TITLE_CHARS)
    while lo < hi:  # the longest cut whose escaped form fits
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if len(shown(mid)) <= limit else (lo, mid - 1)
    return shown(lo)


def link_target(url: str | None) -> str | None:
    """`url` as a masked link's target when Discord can link to it (:func:`bot.text.link_url`), else None."""
    return link_url(url) and url.translate(_IN_TARGET)


def thread_line(title: str, url: str | None = None, room: int = THREAD_LINE_MAX) -> str:
    """ "-# [title](url)": the thread as a card's small second line, in at most `room` characters; a link to the
    post when the archive has a linkable address and it fits, else the title alone."""
    label = title_label(title, max(10, min(2 * TITLE_CHARS, room // 2)))
    label = or_placeholder(label, "(untitled thread)")
    target = link_target(url)
    linked = f"{SUBTEXT}[{label}]({target})" if target else ""
    return linked if linked and len(linked) <= room else SUBTEXT + label


def clip(text: str, limit: int = 100) -> str:
    """`text` on one line in at most `limit` characters, for a menu (select labels are plain text)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + ELLIPSIS
