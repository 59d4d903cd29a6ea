"""/post: a whole post over as many pages as it needs, and a thread as a list of its posts.

Quoted spans are shown as block quotes under a label saying whose words they are and when ("↳ quoting Andrei
Kuznetsov, <date> (post 8)"); text quoted from a message outside the archive is labelled with the name its
attribution line gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import discord

from embeddings import OutsideQuote, outside_label, post_segments, segment_text

from ..text import (
    COLOUR,
    DESCRIPTION_MAX,
    MESSAGE_EMBED_CHARS_MAX,
    plain,
    plural,
    posted,
    split_escaped,
    when,
    years,
)
from .cards import byline, clip, thread_line

LABEL_NAME_MAX = 200


def post_body_blocks(view) -> list[tuple[str, str]]:
    """(kind, text) blocks of a post: "own" and "quote" blocks hold raw text; a quote block follows a "label"
    block, which is markdown already (its names escaped, its date the bot's own)."""
    blocks: list[tuple[str, str]] = []
    for segment in post_segments(view):
        text = segment_text(view.body, segment)
        span = segment.quote
        if span is None:
            blocks.append(("own", text))
            continue
        if isinstance(span, OutsideQuote):
            name = plain(span.attributed_to, LABEL_NAME_MAX) if span.attributed_to else None
            label = outside_label(replace(span, attributed_to=name))
        else:
            label = f"quoting {plain(span.source_author, LABEL_NAME_MAX)}, "
            label += when(span.source_posted_at, getattr(span, "source_utc_offset", None))
            if span.source_thread_id and span.source_thread_id != view.thread_id:
                label += " (another thread)"
            else:
                label += f" (post {span.source_post_index + 1})"
        blocks.append(("label", label))
        blocks.append(("quote", text))
    return blocks


def _rendered_lines(blocks: list[tuple[str, str]], line_limit: int) -> list[str]:
    """Markdown lines, none longer than `line_limit` (long lines are split at spaces, quotes re-prefixed; every
    quote line, the empty ones too, begins "> ")."""
    out: list[str] = []
    for kind, text in blocks:
        if kind == "label":
            out.append(f"*↳ {text}*")
            continue
        text = text.strip("\n")
        if not text.strip():
            continue
        prefix = "> " if kind == "quote" else ""
        for line in text.split("\n"):
            out += [prefix + piece for piece in split_escaped(line, line_limit - len(prefix))]
        if kind == "quote":
            out.append("")
    return out


def paginate_lines(lines: list[str], limit: int) -> list[str]:
    pages, cur = [], ""
    for line in lines:
        add = line if not cur else "\n" + line
        if len(cur) + len(add) > limit and cur:
            pages.append(cur.rstrip("\n"))
            cur = line
        else:
            cur += add
    if cur.strip() or not pages:
        pages.append(cur.rstrip("\n"))
    return pages


def post_pages(view, page_chars: int = 3800) -> list[discord.Embed]:
    """A whole post as one card per page: "who · when · post N of M", the thread as a small line (a link to the
    post when the archive has its address), then the post; "page i of n" below when it takes more than one. Each description is
    sized so that the whole embed stays within one message's limit."""
    number = view.post_index + 1
    head = byline(view, number, view.post_count) + "\n" + thread_line(view.thread_title, view.url)

    def page(i: int, n: int, text: str) -> discord.Embed:
        e = discord.Embed(description=f"{head}\n{text}", colour=COLOUR)
        if n > 1:
            e.set_footer(text=f"page {i} of {n}")
        return e

    fixed = len(page(9999, 9999, ""))
    page_chars = max(200, min(page_chars, DESCRIPTION_MAX - len(head) - 1, MESSAGE_EMBED_CHARS_MAX - 100 - fixed))
    lines = _rendered_lines(post_body_blocks(view), line_limit=min(page_chars, 1000))
    bodies = paginate_lines(lines, page_chars) or [""]
    return [page(i, len(bodies), text or "*(empty post)*") for i, text in enumerate(bodies, 1)]


# --------------------------------------------------------------------------- a thread's posts
POSTS_PER_PAGE = 10
SNIPPET_CHARS = 90


def own_words(view) -> str:
    """The first words a post writes itself (not what it quotes), on one line."""
    own = " ".join(segment_text(view.body, s) for s in post_segments(view) if s.quote is None)
    return " ".join((own if own.strip() else view.body).split())


def thread_pages(title: str, posts: Sequence, per_page: int = POSTS_PER_PAGE) -> list[discord.Embed]:
    """A thread as a list of its posts, `per_page` a page: "**11 posts** · 2009–2012", the thread as a small line
    (a link to its first post when the archive has its address), then "**7.** author · date — first words…"."""
    chunks = [posts[i : i + per_page] for i in range(0, len(posts), per_page)] or [[]]
    head = f"**{plural(len(posts), 'post')}**"
    if posts:
        head += " · " + years(min(p.posted_at for p in posts), max(p.posted_at for p in posts))
    head += "\n" + thread_line(title, getattr(posts[0], "url", None) if posts else None)
    pages = []
    for n, chunk in enumerate(chunks, 1):
        lines = [
            f"**{p.post_index + 1}.** {plain(p.author, 80)} · {posted(p)} — {plain(own_words(p), SNIPPET_CHARS)}"
            for p in chunk
        ]
        e = discord.Embed(description=head + "\n" + ("\n".join(lines) or "*(no posts)*"), colour=COLOUR)
        e.set_footer(text=f"page {n} of {len(chunks)}")
        pages.append(e)
    return pages


def post_choice(view) -> tuple[str, str]:
    """(label, description) of a post in a thread's menu."""
    return clip(f"{view.post_index + 1}. {view.author}"), clip(own_words(view)) or "(empty post)"
