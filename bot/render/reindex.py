"""/reindex: its progress line and its report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import discord

from ..text import FIELD_VALUE_MAX, or_placeholder, plain
from .stats import without_host_paths

STAGES = {
    "parse": "Parsing files",
    "quotes": "Finding quotes",
    "chunk": "Cutting passages",
    "embed": "Embedding passages",
    "sentences": "Embedding sentences for highlights",
    "write": "Writing the index",
    "vectors": "Building the vector index",
    "state": "Recording the build",
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
    if report.kind == "up to date":  # no build: the sources are as the live index read them
        e.title = "Index up to date"
        e.description = f"No source changed since the last build.\n{e.description.split(chr(10))[0]}"
    elif report.kind == "incremental" and not report.new_posts:
        e.title = "Index up to date"
        e.description = f"No new posts: the sources' files changed, their posts are all indexed.\n{e.description}"
    elif report.kind == "incremental":
        e.title = "Index extended"
        e.description = f"{report.new_posts:,} new posts added.\n{e.description}"
    elif report.note:
        why = plain(without_host_paths(report.note, configured_sources, data_dir), 300)
        e.description += f"\nA full rebuild: {why}"
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
