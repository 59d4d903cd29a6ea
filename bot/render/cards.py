"""What every card shares: the line that says who wrote it and when, and the thread it belongs to.

A card leads with its author: "**Andrei Kuznetsov** · <date> · post 7 of 11", the date as :func:`bot.text.when`
shows every post's date. The thread's title is the embed's author line above it, small, and links to the post in
the archive when the archive gave a plausible http(s) address. Embed author names are plain text in Discord
(no markdown, no mentions), so the title is not escaped there; everything in a description is.
"""

from __future__ import annotations

import discord

from ..text import AUTHOR_MAX, ELLIPSIS, URL, cut_words, link_url, or_placeholder, plain, posted

AUTHOR_LINE_MAX = 120  # characters of an author's name on a card


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


def set_thread(embed: discord.Embed, title: str, url: str | None = None, limit: int = AUTHOR_MAX) -> discord.Embed:
    """The thread's title as the card's small top line, linking to `url` when Discord can link to it."""
    name = cut_words(" ".join((title or "").split()), max(10, min(AUTHOR_MAX, limit)))
    embed.set_author(name=or_placeholder(name, "(untitled thread)"), url=link_url(url))
    return embed


def clip(text: str, limit: int = 100) -> str:
    """`text` on one line in at most `limit` characters, for a menu (select labels are plain text)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + ELLIPSIS
