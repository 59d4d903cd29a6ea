"""Core data classes → Discord embeds, within Discord's limits.

Everything archived (passages, post bodies, titles, authors in fields) is escaped once, after it is cut, so it
renders as written (see bot/escaping.py); embed author names and footers are plain text in Discord and are not.
Highlights (offsets within a passage) are shown in bold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import discord
from discord.utils import format_dt

from embeddings import OutsideQuote, outside_label, post_segments, segment_text

from .escaping import URL, escape
from .text import (
    AUTHOR_MAX,
    COLOUR,
    DESCRIPTION_MAX,
    EMBEDS_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    MESSAGE_EMBED_CHARS_MAX,
    TITLE_MAX,
    archive_date,
    cut_words,
    date_line,
    fit_embed,
    or_placeholder,
    plain,
    post_pointer,
    posted_line,
    render_passage,
    split_escaped,
)

# --------------------------------------------------------------------------- /ask
MIN_PASSAGE_SHARE = 5  # at least 1/5 of an /ask result's characters go to the passage itself


def result_embed(result, budget: int = 2000) -> discord.Embed:
    """One search hit counting at most `budget` characters in all (title, author, fields, footer, passage and
    the /post pointer): thread title, author, dates, "post N of M", and the passage with its best sentence in
    bold (cut at a word boundary, with a pointer to /post)."""
    number = result.post_index + 1
    budget = max(300, budget)
    embed = discord.Embed(
        title=or_placeholder(plain(result.thread_title, min(TITLE_MAX, max(40, budget // 6))), "(untitled)"),
        colour=COLOUR,
    )
    embed.set_author(
        name=or_placeholder(cut_words(result.author, min(AUTHOR_MAX, max(20, budget // 10))), "(unknown author)")
    )
    embed.add_field(name="Posted", value=posted_line(result), inline=True)
    embed.add_field(name="Post", value=f"post {number} of {result.post_count}", inline=True)
    quoted_by = getattr(result, "quoted_by", None) or []
    if quoted_by:
        embed.add_field(
            name="Quoted by", value=quoted_by_line(quoted_by, min(FIELD_VALUE_MAX, max(60, budget // 6))), inline=False
        )
    embed.set_footer(text=f"#{result.rank} · score {result.score:.2f}")
    min_passage = budget // MIN_PASSAGE_SHARE
    if quoted_by and budget - len(embed) < min_passage + 80:  # no room left for the passage: drop the extra
        embed.remove_field(2)
    # the pointer is measured in its longer ("shortened") wording, so either wording fits what is left
    pointer = post_pointer(result.thread_id, number, True, budget - len(embed) - min_passage)
    room = min(DESCRIPTION_MAX, budget - len(embed)) - len(pointer)
    body, cut = render_passage(result.passage, result.highlights or [], max(1, room))
    embed.description = body + post_pointer(result.thread_id, number, cut, len(pointer))
    return fit_embed(embed, budget)


def quoted_by_line(quoted_by, limit: int = FIELD_VALUE_MAX) -> str:
    items = [
        f"{plain(q.author, 100)} ({archive_date(q.posted_at, getattr(q, 'utc_offset', None))})"
        for q in sorted(quoted_by, key=lambda q: q.posted_at)
    ]
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
    return [result_embed(r, per) for r in results]  # each counts at most `per` characters


def results_header(question: str, offset: int, shown: int, filters: str = "") -> str:
    q = plain(question, 300)
    where = f" ({filters})" if filters else ""
    return f"Results {offset + 1}–{offset + shown} for “{q}”{where}"


# --------------------------------------------------------------------------- /post
def post_body_blocks(view) -> list[tuple[str, str]]:
    """(kind, text) blocks of a post: kind "own" or "quote", quote blocks preceded by a "label" block."""
    blocks: list[tuple[str, str]] = []
    for segment in post_segments(view):
        text = segment_text(view.body, segment)
        span = segment.quote
        if span is None:
            blocks.append(("own", text))
            continue
        if isinstance(span, OutsideQuote):
            label = outside_label(span)
        else:
            when = archive_date(span.source_posted_at, getattr(span, "source_utc_offset", None))
            label = f"quoting {span.source_author}, {when}"
            if span.source_thread_id and span.source_thread_id != view.thread_id:
                label += " (another thread)"
            else:
                label += f" (post {span.source_post_index + 1})"
        blocks.append(("label", label))
        blocks.append(("quote", text))
    return blocks


def _rendered_lines(blocks: list[tuple[str, str]], line_limit: int) -> list[str]:
    """Markdown lines, none longer than `line_limit` (long lines are split at spaces, quotes re-prefixed)."""
    out: list[str] = []
    for kind, text in blocks:
        if kind == "label":
            out.append(f"*↳ {plain(text, min(300, line_limit - 4))}*")
            continue
        text = text.strip("\n")
        if not text.strip():
            continue
        prefix = "> " if kind == "quote" else ""
        for line in text.split("\n"):
            pieces = split_escaped(line, line_limit - len(prefix))
            out += [prefix + piece if piece or not prefix else ">" for piece in pieces]
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
    """A whole post as one embed per page; quoted spans marked "quoting X, date". Each page's description is
    sized so that the whole embed (title, author, fields, footer too) stays within one message's limit."""
    number = view.post_index + 1
    title = or_placeholder(
        plain(f"{view.thread_title} — post {number} of {view.post_count}", TITLE_MAX), f"post {number}"
    )
    author = or_placeholder(cut_words(view.author, AUTHOR_MAX), "(unknown author)")
    # a URL alone autolinks and shows its own address; anything else is archived text like the rest
    link = escape(view.url) if view.url and URL.fullmatch(view.url) else plain(view.url or "", FIELD_VALUE_MAX)
    link = link if link and len(link) <= FIELD_VALUE_MAX else None
    tid = cut_words(" ".join(view.thread_id.split()), 200)

    def page(i: int, n: int, text: str) -> discord.Embed:
        e = discord.Embed(title=title, description=text, colour=COLOUR)
        e.set_author(name=author)
        e.add_field(name="Posted", value=posted_line(view), inline=True)
        if link:
            e.add_field(name="Link", value=link, inline=True)
        e.set_footer(text=f"Page {i}/{n} · {tid} #{number}")
        return e

    fixed = len(page(9999, 9999, ""))
    page_chars = max(200, min(page_chars, DESCRIPTION_MAX, MESSAGE_EMBED_CHARS_MAX - 100 - fixed))
    lines = _rendered_lines(post_body_blocks(view), line_limit=min(page_chars, 1000))
    bodies = paginate_lines(lines, page_chars) or [""]
    return [page(i, len(bodies), text or "*(empty post)*") for i, text in enumerate(bodies, 1)]


# --------------------------------------------------------------------------- /threads, /stats
THREADS_PAGE_BUDGET = MESSAGE_EMBED_CHARS_MAX - 200  # title + footer + fields of one /threads page


def _thread_field(t) -> tuple[str, str]:
    tid = " ".join(t.thread_id.replace("`", "'").split())
    head = f"{t.post_count} posts · {date_line(t.first_posted_at, 'd')}\nlast: {date_line(t.last_posted_at, 'd')}\nid: "
    room = FIELD_VALUE_MAX - len(head) - 2
    ident = f"`{tid}`" if len(tid) <= room else f"`{tid[: room - 1]}…`"
    return or_placeholder(plain(t.title, FIELD_NAME_MAX), "(untitled)"), head + ident


def threads_pages(summaries: Sequence, per_page: int = 10) -> list[discord.Embed]:
    """/threads pages: up to `per_page` threads each, fewer when long titles/ids would break 6000 characters."""
    chunks: list[list[tuple[str, str]]] = [[]]
    used = 0
    for t in summaries:
        name, value = _thread_field(t)
        size = len(name) + len(value)
        if chunks[-1] and (len(chunks[-1]) >= min(per_page, FIELDS_MAX) or used + size > THREADS_PAGE_BUDGET):
            chunks.append([])
            used = 0
        chunks[-1].append((name, value))
        used += size
    total = len(summaries)
    pages = []
    for n, chunk in enumerate(chunks, 1):
        e = discord.Embed(title="Indexed threads", colour=COLOUR)
        if not chunk:
            e.description = "No threads are indexed yet. An admin can run `/reindex`."
        for name, value in chunk:
            e.add_field(name=name, value=value, inline=False)
        e.set_footer(text=f"Page {n}/{len(chunks)} · {total} threads")
        pages.append(e)
    return pages


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def source_names(sources: Sequence[str], configured: Sequence[str] = ()) -> list[str]:
    """The index's sources (absolute paths on the host) as members may see them: relative to the configured
    source that holds them, named by that source's last component (`forum/2009/a.txt`), else by their own name."""
    roots = [Path(c).expanduser().resolve() for c in configured]
    names = []
    for source in sources:
        path = Path(source)
        root = next((r for r in roots if path == r or r in path.parents), None)
        if root is None:
            names.append(path.name or "source")
        else:
            name = (Path(root.name) / path.relative_to(root)).as_posix()  # the root itself: its own name
            names.append(name if name != "." else "source")
    return names


_ELSEWHERE = re.compile(r"(?<![\w.:/~-])/(?:[^/\s:]+/)+(?=[^/\s:]+)")  # the folders of an absolute path


def without_host_paths(text: str, configured: Sequence[str] = (), data_dir: str | Path | None = None) -> str:
    """`text` (an error message) with the host's paths named as /stats names sources (:func:`source_names`):
    under a configured source relative to it, the data directory as `data_dir`, any other absolute path by its
    last component."""
    roots = {}
    for c in configured:
        for form in (Path(c).expanduser(), Path(c).expanduser().resolve()):
            if form.is_absolute():
                roots[str(form)] = form.name or "source"
    if data_dir is not None:
        for form in (Path(data_dir).expanduser(), Path(data_dir).expanduser().resolve()):
            roots[str(form)] = "data_dir"
    for root in sorted(roots, key=len, reverse=True):  # the deepest first: a source may lie in another
        text = re.sub(re.escape(root) + r"(?=[/:\s'\"]|$)", lambda _, name=roots[root]: name, text)
    return _ELSEWHERE.sub("", text)


def stats_embed(stats, rebuild_status=None, configured_sources: Sequence[str] = ()) -> discord.Embed:
    """/stats. Sources are shown by :func:`source_names`, never by their paths on the host."""
    e = discord.Embed(title="Index statistics", colour=COLOUR)
    for name, value in (
        ("Threads", stats.threads),
        ("Posts", stats.posts),
        ("Passages", stats.passages),
        ("Authors", stats.authors),
        ("Quotes", stats.quotes),
    ):
        e.add_field(name=name, value=f"{value:,}", inline=True)
    e.add_field(
        name="Model", value=plain(f"{stats.model} ({stats.dimension} dimensions)", FIELD_VALUE_MAX), inline=False
    )
    e.add_field(name="Index built", value=plain(str(stats.built_at), 200) + f"\nbuild `{stats.build_id}`", inline=True)
    e.add_field(name="Data directory", value=human_bytes(stats.data_dir_bytes), inline=True)
    if stats.sources:
        names = ", ".join(source_names(stats.sources, configured_sources))
        e.add_field(name="Sources", value=plain(names, FIELD_VALUE_MAX), inline=False)
    if rebuild_status:
        who, when = rebuild_status
        since = f" {format_dt(datetime.fromtimestamp(when, UTC), 'R')}" if when else ""
        e.add_field(name="Rebuild running", value=plain(f"started by {who or 'someone'}", 200) + since, inline=False)
    return e


# --------------------------------------------------------------------------- /reindex
STAGES = {
    "parse": "Parsing files",
    "quotes": "Finding quotes",
    "chunk": "Cutting passages",
    "embed": "Embedding passages",
    "write": "Writing the index",
}


def progress_text(stage: str | None, done: int, total: int, elapsed: float) -> str:
    if stage is None:
        return f"Rebuilding the index… starting ({elapsed:.0f}s)"
    label = STAGES.get(stage, stage)
    pct = f" ({100 * done // total}%)" if total else ""
    return f"Rebuilding the index… {label}: {done:,}/{total:,}{pct} · {elapsed:.0f}s elapsed"


def report_embed(report, configured_sources: Sequence[str] = (), data_dir: str | Path | None = None) -> discord.Embed:
    """/reindex's result; the skipped input is named without the host's paths (:func:`without_host_paths`)."""
    e = discord.Embed(title="Rebuild finished", colour=discord.Colour.green())
    e.description = (
        f"{report.threads:,} threads · {report.posts:,} posts · {report.passages:,} passages · "
        f"{report.quotes:,} quotes\n{report.embedded:,} passages embedded, {report.cached:,} from "
        f"the cache · {report.seconds:.1f}s"
    )
    if report.errors:
        more = f"\n… and {len(report.errors) - 10} more" if len(report.errors) > 10 else ""
        listed = "\n".join(report.errors[:10])
        e.add_field(
            name=f"Skipped input ({len(report.errors)})",
            value=or_placeholder(
                plain(without_host_paths(listed, configured_sources, data_dir), FIELD_VALUE_MAX - 30), "(no details)"
            )
            + more,
            inline=False,
        )
        e.colour = discord.Colour.orange()
    e.set_footer(text=f"build {report.build_id}")
    return e


# --------------------------------------------------------------------------- /quote
def quote_embed(trace, budget: int = 1900) -> discord.Embed:
    """One /quote candidate counting at most `budget` characters in all (every part of the embed counts)."""
    o = trace.original
    budget = max(400, budget)
    e = discord.Embed(
        title=or_placeholder(
            plain(f"First written in: {o.thread_title}", min(TITLE_MAX, budget // 6)), "First written in: (untitled)"
        ),
        colour=COLOUR,
    )
    e.set_author(name=or_placeholder(cut_words(o.author, min(AUTHOR_MAX, max(20, budget // 10))), "(unknown author)"))
    e.add_field(name="Original", value=f"{posted_line(o)} · post {o.post_index + 1}", inline=False)
    later = sorted(trace.quoted_by or [], key=lambda q: q.posted_at)
    if later:
        limit = min(FIELD_VALUE_MAX, max(80, budget // 4))
        lines, shown = [], 0
        for q in later:
            where = "" if q.thread_id == o.thread_id else f" in {plain(q.thread_title, 80)}"
            line = (
                f"{or_placeholder(plain(q.author, 80), '?')} — {posted_line(q, 'd')} (post {q.post_index + 1}{where})"
            )
            if sum(len(x) + 1 for x in lines) + len(line) > limit - 30:
                break
            lines.append(line)
            shown += 1
        if shown < len(later):
            lines.append(f"… and {len(later) - shown} more")
        e.add_field(name=f"Quoted later by ({len(later)})", value="\n".join(lines), inline=False)
    else:
        e.add_field(name="Quoted later by", value="nobody in the archive", inline=False)
    e.set_footer(text=f"match {trace.score:.0%}")
    min_passage = budget // 5
    pointer = post_pointer(o.thread_id, o.post_index + 1, False, budget - len(e) - min_passage)
    room = min(DESCRIPTION_MAX, budget - len(e)) - len(pointer)
    hs = [(o.start - trace.context_start, o.end - trace.context_start)]
    body, _ = render_passage(trace.context, hs, max(1, room))
    e.description = body + pointer
    return fit_embed(e, budget)
