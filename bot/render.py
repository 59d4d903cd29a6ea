"""Core data classes → Discord embeds, within Discord's limits.

Everything archived (passages, post bodies, titles) is escaped so it renders as
written: markdown is neutralised and mentions cannot ping (the client also uses
``AllowedMentions.none()``). Highlights (offsets within a passage) are shown in bold.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Sequence

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
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def archive_date(dt: datetime) -> str:
    return dt.strftime("%d %b %Y, %H:%M").lstrip("0")


def date_line(dt: datetime, style: str = "f") -> str:
    """A Discord timestamp (rendered in the reader's time zone) plus the date as the archive shows it."""
    return f"{format_dt(as_utc(dt), style)} · archive: {archive_date(dt)}"


def post_ref(thread_id: str, number: int) -> str:
    safe = thread_id.replace("`", "'")
    return f"`/post thread:{safe} number:{number}`"


def message_chars(embeds: Iterable[discord.Embed]) -> int:
    """Characters Discord counts against the 6000 limit of one message."""
    return sum(len(e) for e in embeds)


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
        trail = line[len(line.rstrip()):]
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


# --------------------------------------------------------------------------- /ask
def result_embed(result, budget: int = 2000) -> discord.Embed:
    """One search hit in at most `budget` characters: thread title, author, dates, "post N of M",
    and the passage with its best sentence in bold (cut at a word boundary, with a pointer to /post)."""
    number = result.post_index + 1
    budget = max(300, budget)
    embed = discord.Embed(title=plain(result.thread_title, min(TITLE_MAX, max(40, budget // 5))), colour=COLOUR)
    embed.set_author(name=cut_words(result.author, min(AUTHOR_MAX, max(30, budget // 8))))
    embed.add_field(name="Posted", value=date_line(result.posted_at), inline=True)
    embed.add_field(name="Post", value=f"post {number} of {result.post_count}", inline=True)
    quoted_by = getattr(result, "quoted_by", None) or []
    if quoted_by:
        embed.add_field(name="Quoted by", value=quoted_by_line(quoted_by, min(FIELD_VALUE_MAX, max(60, budget // 4))),
                        inline=False)
    embed.set_footer(text=f"#{result.rank} · score {result.score:.2f}")
    pointer = f"\n*Passage shortened. Whole post: {post_ref(result.thread_id, number)}*"
    room = min(DESCRIPTION_MAX, budget - len(embed)) - len(pointer)
    body, cut = render_passage(result.passage, result.highlights or [], max(60, room))
    embed.description = body + (pointer if cut else f"\n*Whole post: {post_ref(result.thread_id, number)}*")
    return embed


def quoted_by_line(quoted_by, limit: int = FIELD_VALUE_MAX) -> str:
    items = [f"{plain(q.author, 100)} ({archive_date(q.posted_at)})" for q in
             sorted(quoted_by, key=lambda q: q.posted_at)]
    out = ""
    for i, item in enumerate(items):
        piece = (", " if out else "") + item
        if len(out) + len(piece) > limit - 20:
            return (out + f", … and {len(items) - i} more") if out else f"{len(items)} later posts"
        out += piece
    return out


def results_embeds(results: Sequence, budget: int = MESSAGE_EMBED_CHARS_MAX - 100) -> list[discord.Embed]:
    """Embeds for one page of results, sharing the 6000-character message budget fairly."""
    results = list(results)[:EMBEDS_MAX]
    if not results:
        return []
    per = budget // len(results)
    embeds = [result_embed(r, per) for r in results]
    while message_chars(embeds) > budget and per > 300:  # safety net; result_embed already fits `per`
        per -= 50
        embeds = [result_embed(r, per) for r in results]
    return embeds


def results_header(question: str, offset: int, shown: int, filters: str = "") -> str:
    q = plain(question, 300)
    where = f" ({filters})" if filters else ""
    return f"Results {offset + 1}–{offset + shown} for “{q}”{where}"


# --------------------------------------------------------------------------- /post
def post_body_blocks(view) -> list[tuple[str, str]]:
    """(kind, text) blocks of a post: kind "own" or "quote", quote blocks preceded by a "label" block."""
    body = view.body
    blocks: list[tuple[str, str]] = []
    pos = 0
    for span in sorted(view.quoted_spans or [], key=lambda s: s.start):
        if span.start < pos:
            continue
        if span.start > pos:
            blocks.append(("own", body[pos:span.start]))
        label = f"quoting {span.source_author}, {archive_date(span.source_posted_at)}"
        if span.source_thread_id and span.source_thread_id != view.thread_id:
            label += " (another thread)"
        else:
            label += f" (post {span.source_post_index + 1})"
        blocks.append(("label", label))
        blocks.append(("quote", body[span.start:span.end]))
        pos = span.end
    if pos < len(body):
        blocks.append(("own", body[pos:]))
    return blocks


def _rendered_lines(blocks: list[tuple[str, str]], line_limit: int) -> list[str]:
    """Markdown lines, none longer than `line_limit` (long lines are split at spaces, quotes re-prefixed)."""
    out: list[str] = []
    for kind, text in blocks:
        if kind == "label":
            out.append(f"*↳ {escape(text)}*")
            continue
        text = text.strip("\n")
        if not text.strip():
            continue
        prefix = "> " if kind == "quote" else ""
        for line in escape(text).split("\n"):
            room = line_limit - len(prefix)
            while len(line) > room:
                cut = line.rfind(" ", 0, room)
                if cut < room // 2:
                    cut = room
                out.append(prefix + line[:cut])
                line = line[cut:].lstrip(" ")
            out.append(prefix + line if line or not prefix else ">")
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
    """A whole post as one embed per page; quoted spans marked "quoting X, date"."""
    lines = _rendered_lines(post_body_blocks(view), line_limit=min(page_chars, 1000))
    bodies = paginate_lines(lines, page_chars) or [""]
    number = view.post_index + 1
    title = plain(f"{view.thread_title} — post {number} of {view.post_count}", TITLE_MAX)
    embeds = []
    for i, text in enumerate(bodies, 1):
        e = discord.Embed(title=title, description=text or "*(empty post)*", colour=COLOUR)
        e.set_author(name=cut_words(view.author, AUTHOR_MAX))
        e.add_field(name="Posted", value=date_line(view.posted_at), inline=True)
        if view.url and len(view.url) <= FIELD_VALUE_MAX:
            e.add_field(name="Link", value=view.url, inline=True)
        e.set_footer(text=f"Page {i}/{len(bodies)} · {view.thread_id} #{number}"[:FOOTER_MAX])
        embeds.append(e)
    return embeds


# --------------------------------------------------------------------------- /threads, /stats
def threads_pages(summaries: Sequence, per_page: int = 10) -> list[discord.Embed]:
    summaries = list(summaries)
    pages = []
    chunks = [summaries[i:i + per_page] for i in range(0, len(summaries), per_page)] or [[]]
    for n, chunk in enumerate(chunks, 1):
        e = discord.Embed(title="Indexed threads", colour=COLOUR)
        if not chunk:
            e.description = "No threads are indexed yet. An admin can run `/reindex`."
        for t in chunk:
            value = (f"{t.post_count} posts · {date_line(t.first_posted_at, 'd')}\n"
                     f"last: {date_line(t.last_posted_at, 'd')}\nid: `{t.thread_id.replace('`', '')}`")
            e.add_field(name=plain(t.title, FIELD_NAME_MAX), value=value[:FIELD_VALUE_MAX], inline=False)
        e.set_footer(text=f"Page {n}/{len(chunks)} · {len(summaries)} threads")
        pages.append(e)
    return pages


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def stats_embed(stats, rebuild_status=None) -> discord.Embed:
    e = discord.Embed(title="Index statistics", colour=COLOUR)
    for name, value in (("Threads", stats.threads), ("Posts", stats.posts), ("Passages", stats.passages),
                        ("Authors", stats.authors), ("Quotes", stats.quotes)):
        e.add_field(name=name, value=f"{value:,}", inline=True)
    e.add_field(name="Model", value=plain(f"{stats.model} ({stats.dimension} dimensions)", FIELD_VALUE_MAX),
                inline=False)
    e.add_field(name="Index built", value=plain(str(stats.built_at), 200) + f"\nbuild `{stats.build_id}`",
                inline=True)
    e.add_field(name="Data directory", value=human_bytes(stats.data_dir_bytes), inline=True)
    if stats.sources:
        e.add_field(name="Sources", value=plain(", ".join(stats.sources), FIELD_VALUE_MAX), inline=False)
    if rebuild_status:
        who, when = rebuild_status
        since = f" {format_dt(datetime.fromtimestamp(when, timezone.utc), 'R')}" if when else ""
        e.add_field(name="Rebuild running", value=plain(f"started by {who or 'someone'}", 200) + since,
                    inline=False)
    return e


# --------------------------------------------------------------------------- /reindex
STAGES = {"parse": "Parsing files", "embed": "Embedding passages", "write": "Writing the index"}


def progress_text(stage: str | None, done: int, total: int, elapsed: float) -> str:
    if stage is None:
        return f"Rebuilding the index… starting ({elapsed:.0f}s)"
    label = STAGES.get(stage, stage)
    pct = f" ({100 * done // total}%)" if total else ""
    return f"Rebuilding the index… {label}: {done:,}/{total:,}{pct} · {elapsed:.0f}s elapsed"


def report_embed(report) -> discord.Embed:
    e = discord.Embed(title="Rebuild finished", colour=discord.Colour.green())
    e.description = (f"{report.threads:,} threads · {report.posts:,} posts · {report.passages:,} passages · "
                     f"{report.quotes:,} quotes\n{report.embedded:,} passages embedded, {report.cached:,} from "
                     f"the cache · {report.seconds:.1f}s")
    if report.errors:
        shown = "\n".join(escape(x) for x in report.errors[:10])
        more = f"\n… and {len(report.errors) - 10} more" if len(report.errors) > 10 else ""
        e.add_field(name=f"Skipped input ({len(report.errors)})", value=cut_words(shown, FIELD_VALUE_MAX - 30) + more,
                    inline=False)
        e.colour = discord.Colour.orange()
    e.set_footer(text=f"build {report.build_id}")
    return e


# --------------------------------------------------------------------------- /quote
def quote_embed(trace, budget: int = 1800) -> discord.Embed:
    o = trace.original
    e = discord.Embed(title=plain(f"First written in: {o.thread_title}", TITLE_MAX), colour=COLOUR)
    e.set_author(name=cut_words(o.author, AUTHOR_MAX))
    hs = [(o.start - trace.context_start, o.end - trace.context_start)]
    body, cut = render_passage(trace.context, hs, budget)
    e.description = body + f"\n*Whole post: {post_ref(o.thread_id, o.post_index + 1)}*"
    e.add_field(name="Original", value=f"{date_line(o.posted_at)} · post {o.post_index + 1}", inline=False)
    later = sorted(trace.quoted_by or [], key=lambda q: q.posted_at)
    if later:
        lines, shown = [], 0
        for q in later:
            where = "" if q.thread_id == o.thread_id else f" in {plain(q.thread_title, 80)}"
            line = f"{plain(q.author, 80)} — {date_line(q.posted_at, 'd')} (post {q.post_index + 1}{where})"
            if sum(len(x) + 1 for x in lines) + len(line) > FIELD_VALUE_MAX - 30:
                break
            lines.append(line)
            shown += 1
        if shown < len(later):
            lines.append(f"… and {len(later) - shown} more")
        e.add_field(name=f"Quoted later by ({len(later)})", value="\n".join(lines), inline=False)
    else:
        e.add_field(name="Quoted later by", value="nobody in the archive", inline=False)
    e.set_footer(text=f"match {trace.score:.0%}")
    return e
