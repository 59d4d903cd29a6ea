"""Which sources a rebuild reads, when sources of the live index are gone or are removed on purpose.

A source of the live index whose file or folder is gone (deleted, or a disk not mounted) is never dropped silently:
a rebuild that would read it stops and says so, and the previous index keeps serving. `threadbot index --prune`
(`/reindex prune`) drops such sources and their threads; `threadbot remove SOURCE...` drops named ones.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import IndexDamagedError, UsageError
from .datadir import DataDir

log = logging.getLogger(__name__)


def recorded_sources(data: DataDir) -> list[str]:
    """The sources the live index was built from ([] when there is none, or it cannot be read)."""
    try:
        manifest = data.read_manifest() or {}
    except IndexDamagedError:
        return []
    sources = manifest.get("sources")
    return [s for s in sources if isinstance(s, str)] if isinstance(sources, list) else []


def _resolved(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def present_sources(chosen: Sequence[str], recorded: Sequence[str], prune: bool) -> list[str]:
    """`chosen` (resolved paths) without the sources that are gone: with `prune`, dropped; else, for a source of
    the live index, a UsageError (its threads would leave the index unasked)."""
    gone = [s for s in chosen if not os.path.lexists(s)]
    if not prune:
        lost = [s for s in gone if s in set(recorded)]
        if lost:
            one = len(lost) == 1
            raise UsageError(
                f"{'a source' if one else 'sources'} of the index {'is' if one else 'are'} gone: {', '.join(lost)}. "
                f"Put {'it' if one else 'them'} back, or drop the threads read from {'it' if one else 'them'} with "
                "`threadbot index --prune` (/reindex prune) or `threadbot remove PATH`; the index is unchanged"
            )
        return list(chosen)
    for source in gone:
        log.warning("pruned %s: it is gone, and so are its threads", source)
    kept = [s for s in chosen if s not in gone]
    if not kept:
        raise UsageError("every source of the index is gone: pruning would leave nothing to index")
    return kept


def sources_after_removal(targets: Sequence[str], recorded: Sequence[str], configured: Sequence[str]) -> list[str]:
    """The sources of the live index (`recorded`) without `targets`; a UsageError naming the first target that is
    not one of them, or one the configuration names (a rebuild would read it again)."""
    if not recorded:
        raise UsageError("the index records no sources to remove: `threadbot stats` shows what it holds")
    listed = {_resolved(s) for s in configured}
    chosen = list(dict.fromkeys(_resolved(t) for t in targets))
    for target in chosen:
        if target in listed:
            raise UsageError(f"{target} is in the configured `sources`: remove it there, then run `threadbot index`")
        if target not in recorded:
            holder = next((s for s in recorded if Path(s) in Path(target).parents), None)
            if holder:
                raise UsageError(
                    f"{target} is read as part of the source {holder}: move it out of that folder (or delete it), "
                    "then run `threadbot index`"
                )
            raise UsageError(f"{target} is not a source of the index; its sources: {', '.join(recorded)}")
    remaining = [s for s in recorded if s not in chosen]
    if not remaining:
        raise UsageError("removing every source would leave nothing to index: build a new index with `--replace`")
    return remaining
