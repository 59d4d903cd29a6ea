"""/quote: one original, named as such, and the later posts that quoted it as a timeline.

"**Author** wrote this first · <date> · post 3", the thread as a small line (a link to the post when the archive
has its address), then the passage in its context (the asked words in
bold, cuts marked "…"), then "Quoted later by": one line per later post, oldest first. Other candidates are never
presented as originals: those close enough to be worth a look are listed below as "Similar, not the source".
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from ..text import (
    COLOUR,
    DESCRIPTION_MAX,
    ELLIPSIS,
    FIELD_VALUE_MAX,
    MESSAGE_EMBED_CHARS_MAX,
    fit_embed,
    or_placeholder,
    plain,
    posted,
    render_passage,
)
from .cards import byline, clip, thread_line

CONTEXT_CHARS = 600  # characters of the original post shown around the asked words
EXACT = 0.95  # a match at least this close is "the same words"


def _where(o, original=None) -> str:
    """ "post 3" of the original's thread, or "post 3 in “Other thread”"."""
    where = f"post {o.post_index + 1}"
    if original is None or o.thread_id != original.thread_id:
        where += f" in “{plain(o.thread_title, 80)}”"
    return where


def _lines(items: Sequence[str], limit: int) -> str:
    """`items` one a line within `limit` characters, the rest counted ("… and 4 more")."""
    lines: list[str] = []
    for n, line in enumerate(items):
        if sum(len(x) + 1 for x in lines) + len(line) > limit - 30:
            lines.append(f"… and {len(items) - n} more")
            break
        lines.append(line)
    return "\n".join(lines)


def quote_embed(
    trace, budget: int = MESSAGE_EMBED_CHARS_MAX - 100, *, post=None, similar: Sequence = ()
) -> discord.Embed:
    """The answer to /quote, counting at most `budget` characters. `post`: the original's whole post (its body
    places the cuts exactly, its address links the thread line); without it the trace's context is shown, cut
    where the trace cut it. `similar`: weaker candidates, listed as not the source."""
    o = trace.original
    budget = max(400, budget)
    e = discord.Embed(colour=COLOUR)
    head = byline(o, verb="wrote this first") + f" · post {o.post_index + 1}"
    head += "\n" + thread_line(o.thread_title, getattr(post, "url", None), budget // 4)
    if trace.score < EXACT:
        head += "\n*a close match: the words you gave differ a little from the original's*"
    later = sorted(trace.quoted_by or [], key=lambda q: q.posted_at)
    limit = min(FIELD_VALUE_MAX, max(80, budget // 4))
    if later:
        timeline = [f"{posted(q)} — {or_placeholder(plain(q.author, 80), '?')} ({_where(q, o)})" for q in later]
        e.add_field(name=f"Quoted later by ({len(later)})", value=_lines(timeline, limit), inline=False)
    else:
        e.add_field(name="Quoted later by", value="nobody in the archive", inline=False)
    others = [t.original for t in similar if t.original.post_id != o.post_id]
    if others:
        lines = [f"{or_placeholder(plain(s.author, 80), '?')} · {posted(s)} · {_where(s)}" for s in others]
        e.add_field(name="Similar, not the source", value=_lines(lines, limit), inline=False)
    room = max(1, min(DESCRIPTION_MAX, budget - len(e)) - len(head) - 1)
    if post is not None:
        body, _ = render_passage(post.body, [(o.start, o.end)], room, around=CONTEXT_CHARS)
    else:
        at = o.start - trace.context_start
        lead = ELLIPSIS if trace.context_start > 0 else ""
        body, _ = render_passage(
            lead + trace.context, [(at + len(lead), o.end - trace.context_start + len(lead))], room
        )
    e.description = head + "\n" + body
    return fit_embed(e, budget)


def occurrence_choice(o, first: bool = False) -> tuple[str, str]:
    """(label, description) of the original or a quoting post in the answer's menu."""
    label = clip(f"{o.author} · post {o.post_index + 1}" + (" (the original)" if first else ""))
    return label, clip(o.thread_title) or "(untitled thread)"
