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
# "01-29-2016, 05:04 PM": vBulletin's default, month first (day first when the first number cannot be a month)
_NUMERIC = re.compile(r"^(?P<first>\d{1,2})-(?P<second>\d{1,2})-(?P<year>\d{4}),? " + _TIME + r"$")
# Loose shape used to tell "a date we failed to read" from ordinary text.
_LOOKS_LIKE = re.compile(
    r"^\d{1,2}(?:st|nd|rd|th)?[ -](?:[A-Za-z]+\.?|\d{1,2})[ -]\d{2,4},? \d{1,2}:\d{2}(?:\s*[AaPp][Mm])?$"
)


def _shown(text: str, limit: int = 60) -> str:
    """`text` quoted for a message, cut short: a hostile file may put a megabyte on one line."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


class DateFormatError(ValueError):
    pass


class DateRangeError(ValueError):
    """A valid date and offset whose UTC time is outside the calendar (before year 1 or after 9999)."""


def parse_archive_date(line: str) -> datetime | None:
    """Return the datetime of a date line, None if the line is not a date line.

    Raises DateFormatError for a line shaped like a date that is not a valid one
    (unknown month, 31st February, 25:61...).
    """
    text = line.strip()
    m = _LONG.match(text) or _SHORT.match(text)
    numeric = None if m else _NUMERIC.match(text)
    if numeric:
        first, second = int(numeric["first"]), int(numeric["second"])
        month, day = (second, first) if first > 12 else (first, second)
        return _at(text, int(numeric["year"]), month, day, numeric)
    if not m:
        if _LOOKS_LIKE.match(text):
            raise DateFormatError(f"unreadable date {_shown(text)}")
        return None
    month = MONTHS.get(m["month"].lower())
    if month is None:
        raise DateFormatError(f"unknown month {_shown(m['month'], 20)} in date {_shown(text)}")
    return _at(text, int(m["year"]), month, int(m["day"]), m)


def _at(text: str, year: int, month: int, day: int, m: re.Match) -> datetime:
    hour = int(m["hour"])
    if m["ampm"]:
        if not 1 <= hour <= 12:
            raise DateFormatError(f"bad hour in date {_shown(text)}")
        hour = hour % 12 + (12 if m["ampm"].lower() == "pm" else 0)
    try:
        return datetime(year, month, day, hour, int(m["minute"]))
    except ValueError as exc:
        raise DateFormatError(f"invalid date {_shown(text)}: {exc}") from None


def parse_iso(value: str) -> datetime:
    """ISO 8601 (with 'Z' accepted); timezone-aware values are converted to naive UTC.

    Raises ValueError for anything else, including a date that has no UTC equivalent in the calendar
    (`0001-01-01T00:00:00+01:00` is in year 0 in UTC, `9999-12-31T23:59:59-01:00` in year 10000).
    """
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if dt.tzinfo is not None:
        try:
            dt = dt.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise DateRangeError(f"{_shown(value)} is outside the calendar in UTC") from None
    return dt


def parse_user_date(value: str) -> datetime:
    """A date typed by a user for a filter: ISO 8601 (`2009-08-16`, `2009-08-16 14:32`),
    a year-month (`2009-08`), a year (`2009`) or an archive date (`16th August 2009, 00:31`).

    Anything else, including a date outside the calendar (year 0, or one that has no UTC equivalent), is a UsageError.
    """
    from ..errors import UsageError

    text = (value or "").strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            return datetime(int(text), 1, 1)
        if re.fullmatch(r"\d{4}-\d{1,2}", text):
            year, month = map(int, text.split("-"))
            return datetime(year, month, 1)
    except ValueError:  # year 0, month 13: not a date in any of the other forms either
        pass
    try:
        return parse_iso(text)
    except ValueError:
        pass
    try:
        parsed = parse_archive_date(text) or parse_archive_date(text + ", 00:00")
    except DateFormatError:
        parsed = None
    if parsed is None:
        raise UsageError(f"cannot read the date {_shown(str(value))}: use YYYY-MM-DD, e.g. 2009-08-16")
    return parsed
