"""Text within Discord's limits: escaping, word-boundary cuts, dates, highlights in bold, embed budgets.

Everything archived or typed by a member is escaped in one pass over the final text, after it was cut and its
highlights were chosen, and only then does the bot's own markup (bold, block quotes, pointers) go around it:
markdown, masked links, headings, lists and block quotes at line starts are neutralised, and no mention of any
kind (user, role, channel, command, timestamp, custom emoji, @everyone/@here) renders or pings (the client also
uses ``AllowedMentions.none()``). Cuts are made on the raw text, so an escape is never split from its character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import discord
from discord.utils import format_dt

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

# --------------------------------------------------------------------------- escaping
ZWSP = "\u200b"  # invisible; inside a mention's opening it stops Discord from parsing the mention
# Where a highlight opens and closes while its passage is escaped: private-use characters, never in the input.
OPEN, CLOSE = "\ue000", "\ue001"
_MARK = f"[{OPEN}{CLOSE}]"
# A bare URL as Discord autolinks it: it shows its own address, and a backslash inside it would change it.
URL = re.compile(rf"(?:https?|steam)://[^\s<{OPEN}{CLOSE}]+[^<.,:;\"'\]\s{OPEN}{CLOSE}]")
_MENTION = re.compile(
    rf"(?P<angle><)(?={_MARK}*(?:[@#/:]|[at]:|id:))"  # <@id> <@!id> <@&id> <#id> </cmd:id> <t:…> <:emoji:id> <id:…>
    rf"|(?P<at>@)(?={_MARK}*(?:everyone|here))"
)
_BREAK = "\r\x85\u2028\u2029"  # besides "\n", what a client might take for a line break
_LINE_START = rf"(?:^|(?<=[{_BREAK}]))(?:[^\S\n{_BREAK}]|{_MARK})*"  # and the blanks after it
_MARKDOWN = re.compile(
    # at a line start: headings, "-# " subtext, lists ("- ", "+ ", "1. ", "1) "), block quotes
    rf"(?P<lead>{_LINE_START})(?:(?P<block>[#>+-])|(?P<number>\d{{1,9}})(?P<dot>[.)])(?={_MARK}*(?:\s|$)))"
    r"|(?P<char>[\\*_~|`\[\]])",  # emphasis, spoilers, code, masked links, the escape character itself
    re.MULTILINE,
)


def _markdown(text: str, line_start: bool) -> str:
    def sub(m: re.Match) -> str:
        if m.group("char"):
            return "\\" + m.group("char")
        if m.start() == 0 and not line_start:  # text right after a URL is not at a line start
            return m.group(0)
        if m.group("block"):
            return m.group("lead") + "\\" + m.group("block")
        return m.group("lead") + m.group("number") + "\\" + m.group("dot")

    return _MARKDOWN.sub(sub, text)


def escape(text: str) -> str:
    """Archived or typed text → text that renders literally.

    Markdown characters get a backslash, outside bare URLs (those are kept as written: they show their own
    address); the `@` of `@everyone`/`@here` and the `<` of mention-like markup get an invisible ZWSP after them.
    Line-start markup is escaped at the start of `text` too, so the result is inert wherever it is placed."""
    out, pos = [], 0
    for url in URL.finditer(text):
        out.append(_markdown(text[pos : url.start()], pos == 0))
        out.append(url.group(0))
        pos = url.end()
    out.append(_markdown(text[pos:], pos == 0))
    return _MENTION.sub(lambda m: m.group(0) + ZWSP, "".join(out))


def _unmarked(text: str) -> str:
    """`text` without the private highlight markers (same length, so offsets into it stay valid)."""
    return text.replace(OPEN, "\ufffd").replace(CLOSE, "\ufffd")


# --------------------------------------------------------------------------- cuts
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
    form fits, with an ellipsis."""
    text = _unmarked(text)
    out = escape(text)
    if len(out) <= limit:
        return out
    lo, hi = 0, min(len(text), limit)  # escaping never shortens, so the raw cut is at most `limit` long
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(escape(cut_words(text, mid))) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return escape(cut_words(text, lo)) if lo else ""


def split_escaped(line: str, room: int) -> list[str]:
    """One raw line → escaped pieces of at most `room` characters, split at spaces where possible; each piece is
    escaped on its own, so one that begins a new line cannot begin with live line-start markup."""
    line = _unmarked(line)
    pieces = []
    while len(escape(line)) > room:
        lo, hi = 1, min(len(line), room)
        while lo < hi:  # the longest raw prefix whose escaped form fits
            mid = (lo + hi + 1) // 2
            if len(escape(line[:mid])) <= room:
                lo = mid
            else:
                hi = mid - 1
        cut = line.rfind(" ", 0, lo + 1)
        cut = cut if cut >= lo // 2 else lo
        pieces.append(escape(line[:cut].rstrip(" ")))
        line = line[cut:].lstrip(" ")
    pieces.append(escape(line))
    return pieces


# --------------------------------------------------------------------------- dates, pointers
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


def markup(text: str, highlights: Sequence[tuple[int, int]] = ()) -> str:
    """`text` escaped in one pass, with the spans in `highlights` (offsets into `text`) in bold.

    The spans are marked in the raw text and the bold added only after escaping, so a construct that spans a
    highlight's edge (a masked link, a mention) is escaped as a whole, as if there were no highlight."""
    text = _unmarked(text)
    marked, pos = [], 0
    for s, e in _merge(highlights, len(text)):
        marked += [text[pos:s], OPEN, text[s:e], CLOSE]
        pos = e
    marked.append(text[pos:])
    return _HIGHLIGHTED.sub(lambda m: _bold(m.group(1)), escape("".join(marked)))


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
        if len(rendered) <= limit:
            return rendered, cut
        if size <= 1:  # not even one character fits: the quote mark and an ellipsis
            return block_quote(ELLIPSIS)[:limit], True
        size = max(1, size - max(8, (len(rendered) - limit) // 2))
