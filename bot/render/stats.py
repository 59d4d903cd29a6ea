"""/threads and /stats: what a member wants to know about the archive, and what only an admin needs.

/threads is one line per thread: its title, post count and the years it covers; titles that repeat are told
apart by when they started. /stats says how big the archive is, the years it covers and when it was last
updated; the technical details (model, build, sources named relative to the configured folders, sizes) are a
separate card, shown to admins only and privately. The host's paths are never shown (:func:`source_names`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import discord
from discord.utils import format_dt

from ..text import COLOUR, FIELD_VALUE_MAX, TITLE_MAX, archive_date, or_placeholder, plain, plural, years
from .cards import clip

THREADS_PER_PAGE = 15
THREAD_TITLE_MAX = 150


def started_marks(summaries: Sequence) -> list[str]:
    """For each thread, what tells it from the others of its title: "" for a title no other thread has, else
    "started 25 Sep 2012, 15:36" (and " (#2)" when even that is shared). The list and its jump menu use the same."""
    titles = Counter(" ".join(t.title.split()).casefold() for t in summaries)
    seen: Counter = Counter()
    marks = []
    for t in summaries:
        key = " ".join(t.title.split()).casefold()
        if titles[key] < 2:
            marks.append("")
            continue
        started = archive_date(t.first_posted_at)
        seen[(key, started)] += 1
        marks.append(f"started {started}" + (f" (#{seen[(key, started)]})" if seen[(key, started)] > 1 else ""))
    return marks


def _thread_lines(summaries: Sequence) -> list[str]:
    """One line per thread; a title shared by several threads gets the date each started (and a number when
    even that is shared)."""
    lines = []
    for t, mark in zip(summaries, started_marks(summaries), strict=True):
        title = or_placeholder(plain(" ".join(t.title.split()), THREAD_TITLE_MAX), "(untitled)")
        line = f"**{title}** — {plural(t.post_count, 'post')} · {years(t.first_posted_at, t.last_posted_at)}"
        lines.append(line + (f" · {mark}" if mark else ""))
    return lines


def threads_pages(summaries: Sequence, per_page: int = THREADS_PER_PAGE, matching: str | None = None) -> list:
    """/threads: `per_page` threads a page, one line each. `matching`: the filter the list was made with."""
    summaries = list(summaries)
    lines = _thread_lines(summaries)
    chunks = [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    title = plural(len(summaries), "thread") + (f" matching “{plain(matching, 100)}”" if matching else "")
    pages = []
    for n, chunk in enumerate(chunks, 1):
        e = discord.Embed(title=title[:TITLE_MAX], colour=COLOUR, description="\n".join(chunk))
        if not chunk:
            e.description = (
                f"No thread title matches “{plain(matching, 100)}”. Try fewer words, or run /threads alone for all."
                if matching
                else "No threads are indexed yet. An admin can run `/reindex`."
            )
        e.set_footer(text=f"page {n} of {len(chunks)}")
        pages.append(e)
    return pages


def thread_choice(t, mark: str = "") -> tuple[str, str]:
    """(label, description) of a thread in /threads' jump menu; `mark`: what tells it from the other threads of
    its title (:func:`started_marks`), so that repeated titles are not identical entries."""
    return clip(t.title) or "(untitled)", clip(
        f"{plural(t.post_count, 'post')} · {years(t.first_posted_at, t.last_posted_at)}"
        + (f" · {mark}" if mark else "")
    )


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


def built_time(stats) -> datetime | None:
    """When the live index was built, as an aware datetime; None when its manifest does not say."""
    try:
        built = datetime.fromisoformat(str(stats.built_at))
    except ValueError:
        return None
    return built if built.tzinfo else built.replace(tzinfo=UTC)


def stats_embed(stats, span: tuple[datetime, datetime] | None = None, rebuild_status=None) -> discord.Embed:
    """/stats for everyone: "12 threads · 3,402 posts · 2009–2012", when it was last updated, a rebuild running.
    `span`: the first and last post's dates."""
    line = f"{plural(stats.threads, 'thread')} · {plural(stats.posts, 'post')}"
    if span:
        line += f" · {years(*span)}"
    built = built_time(stats)
    if built:
        line += f"\nupdated {format_dt(built, 'R')}"
    if rebuild_status:
        who, when = rebuild_status
        since = f" {format_dt(datetime.fromtimestamp(when, UTC), 'R')}" if when else ""
        line += "\n" + plain(f"A rebuild is running, started by {who or 'someone'}", 200) + since
    return discord.Embed(title="The archive", description=line, colour=COLOUR)


def stats_details_embed(stats, configured_sources: Sequence[str] = ()) -> discord.Embed:
    """/stats for admins, privately: passages, authors, quotes, the model, the build, its size and sources (named
    by :func:`source_names`, never by their paths on the host)."""
    e = discord.Embed(title="Index details (admins only)", colour=COLOUR)
    for name, value in (("Passages", stats.passages), ("Authors", stats.authors), ("Quotes", stats.quotes)):
        e.add_field(name=name, value=f"{value:,}", inline=True)
    e.add_field(
        name="Model", value=plain(f"{stats.model} ({stats.dimension} dimensions)", FIELD_VALUE_MAX), inline=False
    )
    built = built_time(stats)
    value = (format_dt(built, "f") if built else plain(str(stats.built_at), 200)) + f"\nbuild `{stats.build_id}`"
    e.add_field(name="Index built", value=value, inline=True)
    e.add_field(name="Data directory", value=human_bytes(stats.data_dir_bytes), inline=True)
    if stats.sources:
        names = ", ".join(source_names(stats.sources, configured_sources))
        e.add_field(name="Sources", value=plain(names, FIELD_VALUE_MAX), inline=False)
    return e
