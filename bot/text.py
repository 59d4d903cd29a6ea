"""Text within Discord's limits: escaping, word-boundary cuts, dates, highlights in bold, embed budgets.

Everything archived is escaped so it renders as written: markdown is neutralised and mentions cannot ping
(the client also uses ``AllowedMentions.none()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import discord
from discord.utils import escape_markdown, escape_mentions, format_dt

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
FIELDS_MAX = 25
EMBEDS_MAX = 10
MESSAGE_EMBED_CHARS_MAX = 6000
CONTENT_MAX = 2000

ELLIPSIS = "…"
COLOUR = discord.Colour.blurple()


# --------------------------------------------------------------------------- text helpers
def escape(text: str) -> str:
    """Archived text → text that renders literally (no markdown, no mentions)."""
    return escape_mentions(escape_markdown(text))


def cut_words(text: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """`text` if it fits in `limit`, else its longest word-boundary prefix + `suffix` that fits."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(suffix))
    head = text[:room]
    space = max(head.rfind(" "), head.rfind("\n"))
    if space >= room // 2:  # a word boundary not too far back; else cut mid-word
        head = head[:space]
    return head.rstrip() + suffix


def plain(text: str, limit: int) -> str:
    """Escape `text` and fit it into `limit` characters, cutting the raw text at a word boundary."""
    out = escape(text)
    raw_limit = limit
    while len(out) > limit and raw_limit > 1:
        raw_limit -= max(1, len(out) - limit)
        out = escape(cut_words(text, raw_limit))
    return out[:limit]


def as_utc(dt: datetime) -> datetime:
    """Archive dates are naive (the forum's clock); Discord timestamps need an instant: read them as UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def archive_date(dt: datetime) -> str:
    return dt.strftime("%d %b %Y, %H:%M").lstrip("0")


def date_line(dt: datetime, style: str = "f") -> str:
    """A Discord timestamp (rendered in the reader's time zone) plus the date as the archive shows it."""
    return f"{format_dt(as_utc(dt), style)} · archive: {archive_date(dt)}"


def post_ref(thread_id: str, number: int) -> str:
    safe = " ".join(thread_id.replace("`", "'").split())
    return f"`/post thread:{safe} number:{number}`"


def post_pointer(thread_id: str, number: int, shortened: bool, room: int) -> str:
    """The "\n*Whole post: `/post …`*" line under a passage, in at most `room` characters when it can be.

    A thread id too long for `room` is left out: the short form names the command and number only (`/post`
    also takes the thread's title)."""
    lead = "Passage shortened. Whole post:" if shortened else "Whole post:"
    full = f"\n*{lead} {post_ref(thread_id, number)}*"
    if len(full) <= room:
        return full
    return f"\n*{lead} `/post` with this thread, `number:{number}`*"


def fit_embed(embed: discord.Embed, budget: int) -> discord.Embed:
    """Last resort so that `embed` counts at most `budget` characters (title, description, fields, footer and
    author all count): cut the description, then the fields' values, then the title. Renderers budget their
    parts up front; this only catches what their arithmetic did not foresee."""
    over = len(embed) - budget
    if over > 0 and embed.description:
        embed.description = cut_words(embed.description, max(1, len(embed.description) - over))
        over = len(embed) - budget
    for i in reversed(range(len(embed.fields))):
        if over <= 0:
            break
        f = embed.fields[i]
        value = cut_words(f.value, max(1, len(f.value) - over))
        embed.set_field_at(i, name=f.name, value=value, inline=f.inline)
        over = len(embed) - budget
    if over > 0 and embed.title:
        embed.title = cut_words(embed.title, max(1, len(embed.title) - over))
    return embed


def or_placeholder(text: str, fallback: str) -> str:
    """Discord rejects empty field names/values and author names: archived text can be blank."""
    return text if text and text.strip() else fallback


# --------------------------------------------------------------------------- passages & highlights
def _merge(spans: Iterable[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted((max(0, s), min(size, e)) for s, e in spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _bold(segment: str) -> str:
    """Bold an escaped segment line by line (markdown bold does not cross lines or hug spaces)."""
    lines = []
    for line in segment.split("\n"):
        core = line.strip()
        if not core:
            lines.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        trail = line[len(line.rstrip()) :]
        lines.append(f"{lead}**{core}**{trail}")
    return "\n".join(lines)


def markup(text: str, highlights: Sequence[tuple[int, int]] = ()) -> str:
    """Escape `text`, with the spans in `highlights` (offsets into `text`) in bold."""
    out, pos = [], 0
    for s, e in _merge(highlights, len(text)):
        out.append(escape(text[pos:s]))
        out.append(_bold(escape(text[s:e])))
        pos = e
    out.append(escape(text[pos:]))
    return "".join(out)


def block_quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def _window(text: str, highlights: Sequence[tuple[int, int]], size: int) -> tuple[int, int]:
    """A word-aligned window of at most `size` raw characters, placed to show the first highlight."""
    if len(text) <= size:
        return 0, len(text)
    start = 0
    if highlights:
        hs, he = min(highlights)
        if he > size:  # the highlight would be cut off: start a little before it
            start = max(0, hs - size // 5)
            space = text.find(" ", start)
            if 0 <= space < hs:
                start = space + 1
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        if space > start + size // 2:
            end = space
    return start, end


def render_passage(text: str, highlights: Sequence[tuple[int, int]], limit: int) -> tuple[str, bool]:
    """Block-quoted, escaped, highlighted passage of at most `limit` characters; True if it was cut."""
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    highlights = [(s - lead, e - lead) for s, e in highlights]
    size = len(text)
    while True:
        start, end = _window(text, highlights, size)
        body = markup(text[start:end], [(s - start, e - start) for s, e in highlights])
        cut = start > 0 or end < len(text)
        rendered = block_quote((ELLIPSIS if start > 0 else "") + body + (ELLIPSIS if end < len(text) else ""))
        if len(rendered) <= limit or size <= 1:
            return rendered[:limit], cut
        size = max(1, size - max(8, len(rendered) - limit))
