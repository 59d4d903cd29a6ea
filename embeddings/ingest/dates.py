"""Dates as vBulletin archive pages print them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?:\s*(?P<ampm>[AaPp][Mm]))?"
# "15th August 2009, 14:32"
_LONG = re.compile(r"^(?P<day>\d{1,2})(?:st|nd|rd|th)? (?P<month>[A-Za-z]+)\.? (?P<year>\d{4}),? " + _TIME + r"$")
# "01-May-2012, 15:54"
_SHORT = re.compile(r"^(?P<day>\d{1,2})-(?P<month>[A-Za-z]+)-(?P<year>\d{4}),? " + _TIME + r"$")
# Loose shape used to tell "a date we failed to read" from ordinary text.
_LOOKS_LIKE = re.compile(r"^\d{1,2}(?:st|nd|rd|th)?[ -][A-Za-z]+\.?[ -]\d{2,4},? \d{1,2}:\d{2}(?:\s*[AaPp][Mm])?$")


class DateFormatError(ValueError):
    pass


def parse_archive_date(line: str) -> datetime | None:
    """Return the datetime of a date line, None if the line is not a date line.

    Raises DateFormatError for a line shaped like a date that is not a valid one
    (unknown month, 31st February, 25:61...).
    """
    text = line.strip()
    m = _LONG.match(text) or _SHORT.match(text)
    if not m:
        if _LOOKS_LIKE.match(text):
            raise DateFormatError(f"unreadable date {text!r}")
        return None
    month = MONTHS.get(m["month"].lower())
    if month is None:
        raise DateFormatError(f"unknown month {m['month']!r} in date {text!r}")
    hour = int(m["hour"])
    if m["ampm"]:
        if not 1 <= hour <= 12:
            raise DateFormatError(f"bad hour in date {text!r}")
        hour = hour % 12 + (12 if m["ampm"].lower() == "pm" else 0)
    try:
        return datetime(int(m["year"]), month, int(m["day"]), hour, int(m["minute"]))
    except ValueError as exc:
        raise DateFormatError(f"invalid date {text!r}: {exc}") from None


def parse_iso(value: str) -> datetime:
    """ISO 8601 (with 'Z' accepted); timezone-aware values are converted to naive UTC."""

    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def parse_user_date(value: str) -> datetime:
    """A date typed by a user for a filter: ISO 8601 (`2009-08-16`, `2009-08-16 14:32`),
    a year-month (`2009-08`), a year (`2009`) or an archive date (`16th August 2009, 00:31`)."""
    from ..errors import UsageError

    text = (value or "").strip()
    if re.fullmatch(r"\d{4}", text):
        return datetime(int(text), 1, 1)
    if re.fullmatch(r"\d{4}-\d{1,2}", text):
        year, month = map(int, text.split("-"))
        if 1 <= month <= 12:
            return datetime(year, month, 1)
    try:
        return parse_iso(text)
    except ValueError:
        pass
    try:
        parsed = parse_archive_date(text) or parse_archive_date(text + ", 00:00")
    except DateFormatError:
        parsed = None
    if parsed is None:
        raise UsageError(f"cannot read the date {value!r}: use YYYY-MM-DD, e.g. 2009-08-16")
    return parsed
