"""Text within Discord's limits: word-boundary cuts, dates, highlights in bold, embed budgets.

Archived text is cut and its highlights chosen on the raw text, then escaped in one pass (bot/escaping.py), so an
escape is never split from its character; no cut falls and no highlight starts or ends inside a bare URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import discord
from discord.utils import format_dt

from embeddings import local_time

from .escaping import CLOSE, OPEN, URL, ends_in_url, escape, unmarked, url_spans

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


# --------------------------------------------------------------------------- cuts
def _cut_point(text: str, start: int, k: int, spans: Sequence[tuple[int, int]]) -> tuple[int, int | None]:
    """A cut of `text[start:]` at `k`, moved to before the URL it would fall inside: (cut, None). A URL with only
    blanks before it in `text[start:k]` cannot be cut before: (k, where it starts), for escape's `cut_url_at`."""
    for s, e in spans:
        if start <= s < k < e:
            return (s, None) if text[start:s].strip() else (k, s)
    return k, None


def cut_words(text: str, limit: int, suffix: str = ELLIPSIS, *, escaped: bool = False) -> str:
    """`text` if it fits in `limit`, else its longest word-boundary prefix + `suffix` that fits.

    `escaped`: `text` is already escaped (the last-resort cuts of :func:`fit_embed`): the cut never leaves a
    backslash that would escape the suffix."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(suffix))
    head = text[:room]
    space = max(head.rfind(" "), head.rfind("\n"))
    if space >= room // 2:  # a word boundary not too far back; else cut mid-word
        head = head[:space]
    head = head.rstrip()
    if escaped and (len(head) - len(head.rstrip("\\"))) % 2:
        head = head[:-1]
    return head + suffix


def plain(text: str, limit: int) -> str:
    """`text` escaped, in at most `limit` characters: the longest word-boundary cut of the raw text whose escaped
    form fits, with an ellipsis. A cut never falls inside a URL: it moves to before it (or, for a URL that begins
    the text, the URL is shown cut and as text)."""
    text = unmarked(text)
    out = escape(text)
    if len(out) <= limit:
        return out
    spans = url_spans(text)

    def cut(n: int) -> str:
        head = cut_words(text, n)
        if head == text:
            return out
        k, at = _cut_point(text, 0, max(1, len(head) - len(ELLIPSIS)), spans)  # show at least one character
        shown = escape(text[:k].rstrip(), cut_url_at=at)
        return shown + (" " if at is None and ends_in_url(shown) else "") + ELLIPSIS

    lo, hi = 0, min(len(text), limit)  # escaping never shortens, so the raw cut is at most `limit` long
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(cut(mid)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return cut(lo) if lo else ""


def _longest_fitting(window: str, room: int) -> int:
    """The length of the longest prefix of `window` (at most `room` characters) whose escaped form fits `room`."""
    full = len(escape(window))
    if full <= room or len(window) <= 1:
        return len(window)

    def fits(m: int) -> bool:
        return len(escape(window[:m])) <= room

    # escaping lengthens text about evenly: start from the proportional guess and gallop away from it
    lo, hi, step = 1, len(window) - 1, 2
    guess = min(hi, max(lo, len(window) * room // full))
    if fits(guess):
        lo = guess
        while lo + step <= hi and fits(lo + step):
            lo, step = lo + step, step * 2
        hi = min(hi, lo + step - 1)
    else:
        hi = guess - 1
        while hi - step >= lo and not fits(hi - step + 1):
            hi, step = hi - step, step * 2
        lo = max(lo, hi - step + 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def split_escaped(line: str, room: int) -> list[str]:
    """One raw line → escaped pieces of at most `room` characters, split at spaces where possible and never inside
    a URL (a URL longer than `room` is shown cut, as text); each piece is escaped on its own, so one that begins a
    new line cannot begin with live line-start markup. Linear: only a window of `room` characters past the last
    cut is ever escaped (escaping never shortens text, so nothing beyond it can fit)."""
    line = unmarked(line)
    pieces, pos, n = [], 0, len(line)
    while True:
        if n - pos <= room and len(rest := escape(line[pos:])) <= room:
            pieces.append(rest)
            return pieces
        lo = _longest_fitting(line[pos : pos + room], room)
        space = line.rfind(" ", pos, pos + lo + 1)
        k = space if space >= 0 and space - pos >= lo // 2 else pos + lo
        # the URLs that start in this window, to their real ends (each is matched in at most two windows)
        spans = [(m.start(), URL.match(line, m.start()).end()) for m in URL.finditer(line, pos, pos + room + 1)]
        while True:
            k, at = _cut_point(line, pos, k, spans)
            piece = escape(line[pos:k].rstrip(" "), cut_url_at=None if at is None else at - pos)
            if len(piece) <= room or k - pos <= 1:
                break
            k = pos + max(1, k - pos - (len(piece) - room))  # a URL shown as text is longer than it was as a URL
        pieces.append(piece)
        pos = k
        while pos < n and line[pos] == " ":
            pos += 1


# --------------------------------------------------------------------------- dates
FORUM_TIME = "forum time"  # marks a clock as the archive wrote it, in a zone nobody knows


def as_utc(dt: datetime) -> datetime:
    """A stored date (naive UTC) as an aware datetime, for a Discord timestamp."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def archive_date(dt: datetime, utc_offset: int | None = None) -> str:
    """The date as a clock shows it: for a post whose zone is known (`utc_offset`, minutes east of UTC) the
    poster's clock with its offset ("3 Mar 2021, 09:12 -0500"), else the archive's clock as written."""
    if utc_offset is None:
        return dt.strftime("%d %b %Y, %H:%M").lstrip("0")
    return local_time(dt, utc_offset).strftime("%d %b %Y, %H:%M %z").lstrip("0")


def when(dt: datetime, utc_offset: int | None = None) -> str:
    """A post's date, the one way the bot shows it. A known instant (the post's zone is known) is a Discord
    timestamp, which each reader sees in their own zone, with the poster's own clock beside it; an unknown one
    (forum text whose zone is not configured) is the archive's clock as written, marked as the forum's, with no
    timestamp: reading it as UTC would move it by hours."""
    if utc_offset is None:
        return f"{archive_date(dt)} {FORUM_TIME}"
    return f"{format_dt(as_utc(dt), 'f')} ({archive_date(dt, utc_offset)} their time)"


def posted(post) -> str:
    """:func:`when` of a result, post, quoter or quote occurrence."""
    return when(post.posted_at, getattr(post, "utc_offset", None))


def years(first: datetime, last: datetime) -> str:
    """ "2009" or "2009–2012": the years a thread or an archive covers."""
    return f"{first.year}" if first.year == last.year else f"{first.year}–{last.year}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 thread", "12 threads", "1,204 posts"."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def link_url(url: str | None) -> str | None:
    """`url` when Discord can link to it (an embed's url must be http or https, at most 2048 characters) and it is
    a plausible address (see escaping.URL), else None."""
    if not url or len(url) > 2048 or not url.startswith(("http://", "https://")) or not URL.fullmatch(url):
        return None
    return url


def fit_embed(embed: discord.Embed, budget: int) -> discord.Embed:
    """Last resort so that `embed` counts at most `budget` characters (title, description, fields, footer and
    author all count): cut the description, then the fields' values, then the title. Renderers budget their
    parts up front; this only catches what their arithmetic did not foresee."""
    over = len(embed) - budget
    if over > 0 and embed.description:
        embed.description = cut_words(embed.description, max(1, len(embed.description) - over), escaped=True)
        over = len(embed) - budget
    for i in reversed(range(len(embed.fields))):
        if over <= 0:
            break
        f = embed.fields[i]
        value = cut_words(f.value, max(1, len(f.value) - over), escaped=True)
        embed.set_field_at(i, name=f.name, value=value, inline=f.inline)
        over = len(embed) - budget
    if over > 0 and embed.title:
        embed.title = cut_words(embed.title, max(1, len(embed.title) - over), escaped=True)
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
        # an autolinked URL would swallow a closing "**" written right after it
        close = " **" if URL.search(core.rsplit(None, 1)[-1]) else "**"
        lines.append(f"{lead}**{core}{close}{trail}")
    return "\n".join(lines)


_HIGHLIGHTED = re.compile(f"{OPEN}([^{CLOSE}]*){CLOSE}")


def _outside_urls(spans: Sequence[tuple[int, int]], urls: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Highlight spans widened to whole URLs where they start or end inside one (bold markers inside a URL would
    become part of its address)."""
    out = []
    for s, e in spans:
        for us, ue in urls:
            if us < s < ue:
                s = us
            if us < e < ue:
                e = ue
        out.append((s, e))
    return out


def markup(text: str, highlights: Sequence[tuple[int, int]] = (), *, cut_url_at: int | None = None) -> str:
    """`text` escaped in one pass, with the spans in `highlights` (offsets into `text`) in bold.

    The spans are marked in the raw text and the bold added only after escaping, so a construct that spans a
    highlight's edge (a masked link, a mention) is escaped as a whole, as if there were no highlight. A highlight
    never starts or ends inside a URL. `cut_url_at`: as for :func:`escape`."""
    text = unmarked(text)
    spans = _merge(_outside_urls(_merge(highlights, len(text)), url_spans(text)), len(text))
    marked, pos = [], 0
    for s, e in spans:
        marked += [text[pos:s], OPEN, text[s:e], CLOSE]
        pos = e
    marked.append(text[pos:])
    if cut_url_at is not None:  # the same place in the marked text: after the markers at or before it
        cut_url_at += sum((s <= cut_url_at) + (e <= cut_url_at) for s, e in spans)
    return _HIGHLIGHTED.sub(lambda m: _bold(m.group(1)), escape("".join(marked), cut_url_at=cut_url_at))


def block_quote(text: str) -> str:
    """Every line behind "> ": Discord quotes a line only when a blank follows the ">", the empty ones too."""
    return "\n".join("> " + line for line in text.split("\n"))


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+|\n\s*")


def _window(
    text: str, highlights: Sequence[tuple[int, int]], size: int, urls: Sequence[tuple[int, int]]
) -> tuple[int, int, int | None]:
    """A word-aligned window (start, end, cut_url_at) of at most `size` raw characters around the first highlight
    (a third of the room before it, when it fits with room to spare), that neither starts nor ends inside a URL
    (unless the URL is longer than the window: then its start is `cut_url_at`, relative to the window)."""
    if len(text) <= size:
        return 0, len(text), None
    start = 0
    if highlights:
        hs, he = min(highlights)
        before = max(0, size - (he - hs)) // 3
        if hs > before:  # the highlight does not sit near the start: begin a little before it
            start = min(max(0, hs - before), len(text) - size) if he - hs < size else hs  # no room left unused
            boundary = _SENTENCE_END.search(text, start, hs)  # begin with a whole sentence, else a whole word
            space = text.find(" ", start)
            if boundary:
                start = boundary.end()
            elif 0 <= space < hs:
                start = space + 1
            for us, ue in urls:
                if us < start < ue:  # show the whole URL when the highlight is in it, else begin after it
                    start = us if hs < ue else ue
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        if space > start + size // 2:
            end = space
    end, at = _cut_point(text, start, end, urls)
    return start, end, None if at is None else at - start


def _covers(text: str, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether `spans` hold every non-blank character of `text` (a one-sentence passage is all highlight)."""
    marked = [False] * len(text)
    for s, e in spans:
        marked[max(0, s) : max(0, e)] = [True] * (min(len(text), e) - max(0, s))
    return all(m or c.isspace() for m, c in zip(marked, text))


def render_passage(
    text: str,
    highlights: Sequence[tuple[int, int]],
    limit: int,
    around: int | None = None,
    *,
    joined: bool = False,
    goes_on: bool = False,
) -> tuple[str, bool]:
    """Block-quoted, escaped, highlighted passage of at most `limit` characters; True if it was cut. `around`: show
    at most that many characters of it, around the first highlight. A cut is marked with an ellipsis, and so is
    the start of a passage `joined` to words before it in its post and the end of one whose sentence `goes_on` after
    it; the highlight is bold only when what is shown holds more than it (bold throughout says nothing)."""
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    highlights = [(s - lead, e - lead) for s, e in highlights]
    if _covers(text, highlights):
        highlights = []
    urls = url_spans(text)
    size = min(len(text), around or len(text))
    while True:
        start, end, at = _window(text, highlights, size, urls)
        shown = [(s - start, e - start) for s, e in highlights]
        if _covers(text[start:end], shown):  # only the best sentence fits: bold throughout would say nothing
            shown = []
        body = markup(text[start:end], shown, cut_url_at=at)
        cut = start > 0 or end < len(text)
        tail = ""
        if end < len(text) or goes_on:  # a URL right before the ellipsis would take it into its address
            tail = (" " if at is None and ends_in_url(body) else "") + ELLIPSIS
        rendered = block_quote((ELLIPSIS if start > 0 or joined else "") + body + tail)
        if len(rendered) <= limit:
            return rendered, cut
        if size <= 1:  # not even one character fits: the quote mark and an ellipsis
            return block_quote(ELLIPSIS)[:limit], True
        size = max(1, size - max(8, (len(rendered) - limit) // 2))
