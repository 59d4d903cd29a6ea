"""A forum's clock made an instant: the time zone configured for a source, applied to the dates its files give
without one.

A vBulletin page or a naive JSON Lines date is the forum's wall clock, with no zone. When a source is given one
(`sources = [{ path = "forum", timezone = "Europe/London" }]`), every such date read from a file under that path
becomes true UTC with the poster's offset in `utc_offset`, as a mail's Date header does; dates that carry their own
zone keep it, and mail and news are never touched (their readers already give UTC). Daylight saving time follows
the zone's rules (zoneinfo):

- a time the clocks skip (01:30 on the night they go forward) is read with the offset in force before the change;
- a time the clocks repeat (01:30 on the night they go back) is read as its first occurrence (`fold=0`);

in both cases the offset kept is the one used, so the post's local time is shown exactly as the archive wrote it.
The zones in effect are recorded in the build's manifest (`timezones`), so a rebuild from the recorded sources
applies them again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .records import Row

MINUTE = timedelta(minutes=1)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone `name` ("Europe/London"); ValueError when there is no such zone on this machine."""
    if not isinstance(name, str) or not name.strip() or "\0" in name:
        raise ValueError("not a time zone name")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # unknown, malformed ("../x"), unreadable
        raise ValueError(f"unknown time zone {name.strip()!r}") from exc


def as_instant(wall: datetime, zone: ZoneInfo) -> tuple[datetime, int] | None:
    """(naive UTC, minutes east of UTC) of the wall-clock time `wall` in `zone`; None when the instant would fall
    outside the calendar. The offset is whole minutes (a zone's local mean time of the 1800s is rounded), and
    `wall` is always that UTC time plus that offset (see the module's docstring for skipped and repeated times)."""
    offset = wall.replace(tzinfo=zone, fold=0).utcoffset()
    minutes = round(offset / MINUTE) if offset is not None else 0
    try:
        return wall - minutes * MINUTE, minutes
    except OverflowError:
        return None


def effective_zones(configured: Iterable[tuple[str, str]], recorded: object = None) -> dict[str, str]:
    """Resolved source path → zone name: the configured zones, over those a previous build recorded (a recorded
    entry that is not a valid zone is left out)."""
    zones: dict[str, str] = {}
    if isinstance(recorded, Mapping):
        for path, name in recorded.items():
            if isinstance(path, str) and isinstance(name, str):
                try:
                    zone_named(name)
                except ValueError:
                    continue
                zones[path] = name
    for path, name in configured:
        zones[str(Path(path).expanduser().resolve())] = name
    return zones


def zone_for(path: Path, zones: Mapping[str, str]) -> tuple[str, ZoneInfo] | None:
    """(root, zone) of the deepest configured source holding `path` (or being it); None when none does."""
    resolved = path.expanduser().resolve()
    best: tuple[str, str] | None = None
    for root, name in zones.items():
        r = Path(root)
        if (resolved == r or r in resolved.parents) and (best is None or len(root) > len(best[0])):
            best = (root, name)
    return None if best is None else (best[0], zone_named(best[1]))


def localised(rows: Sequence[Row], zone: ZoneInfo, warnings: list[str]) -> list[Row]:
    """`rows` of one file, each date without a zone read as `zone`'s wall clock (see the module's docstring)."""
    out = []
    for row in rows:
        if row.utc_offset is not None:
            out.append(row)
            continue
        instant = as_instant(row.posted_at, zone)
        if instant is None:
            warnings.append(
                f"{row.source}:{row.line}: {row.posted_at} in {zone.key} is outside the calendar; kept as written"
            )
            out.append(row)
            continue
        out.append(dataclasses.replace(row, posted_at=instant[0], utc_offset=instant[1]))
    return out
