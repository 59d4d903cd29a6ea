"""One mail message or news article → a `Message`: ids, references, subject, author, date, text.

Headers are read by the standard library's `email` package with `policy.default` (RFC 2047 words decoded, dates
parsed). The From header is also kept as written, because `policy.default` drops the comment of
`user@host (Name)`, the form news and pipermail use; `email.utils.parseaddr` reads the name from it.

Pipermail archives obfuscate addresses: `user at host (Name)`, and on the R lists `u@er @end|ng |rom ho@t (Name)`
("sending from"; in the user and host parts "a", "s" and "." are shown as "@", and "i", "l" and "f" as "|", so
they cannot be restored). The name in parentheses is the author; without one, the user part as shown (an address
seen elsewhere with a name gets that name when threads are made, see `mail_threads`).

Dates: the Date header as an aware instant, stored as naive UTC (zone names old mail uses that the email package
does not know, such as CET or MET DST, are read with `ZONES`), and its zone as `utc_offset`, minutes east of UTC:
the poster's own clock, which results show. When it is missing, or its zone is not one (`+9999`, `XYZ`, none at
all), the envelope line's date, then NNTP-Posting-Date, then the last (earliest) Received header is used, with a
warning naming the message; with none of them, a Date without a zone is taken as UTC (a warning too), and a
message with no date at all is reported and skipped. Those dates have no `utc_offset`: a fallback header holds a
server's clock, not the poster's; nor has a Date in `-0000`, which says the local zone is not known (RFC 5322).
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email import headerregistry, policy, utils
from email.header import decode_header, make_header
from email.message import EmailMessage

from ..errors import InputError
from .mailbody import excluded_spans, message_text
from .mbox import RawMessage, envelope_date, envelope_sender

_MSGID = re.compile(r"<([^<>\s]+)>")
_OBFUSCATED = re.compile(
    r"^\s*(?P<user>[^\s()<>]+)\s+(?:at|[@s]end[i|]ng\s+[|f]rom|using)\s+(?P<host>[^\s()<>]+)\s*(?P<rest>\(.*\))?\s*$"
)
_UTC_ZONE = re.compile(r"\s(?:[+-]0000|GMT|UTC?|Z)\s*(?:\(.*\))?\s*$", re.I)
_NO_LOCAL_ZONE = re.compile(r"\s-0000\s*(?:\(.*\))?\s*$")
_VIA_LIST = re.compile(r"\s+via\s+\S+\s*$")
# Zone names old mail and news use that the email package does not know (it knows UT, GMT and the US zones), in
# minutes east of UTC; ambiguous ones (IST, CST outside the US) are left out.
ZONES = {
    "WET": 0, "BST": 60, "WEST": 60, "CET": 60, "MET": 60, "MEZ": 60, "CEST": 120, "MEST": 120, "MESZ": 120,
    "MET DST": 120, "EET": 120, "EEST": 180, "MSK": 180, "HKT": 480, "JST": 540, "KST": 540, "AEST": 600,
    "AEDT": 660, "NZST": 720, "NZDT": 780,
}  # fmt: skip
_ZONE_NAME = re.compile(r"\s(?P<zone>[A-Z]{3,4}(?: DST)?)\s*(?:\(.*\))?\s*$")
MAX_ID_CHARS = 250


class _Registry(headerregistry.HeaderRegistry):
    """`policy.default`'s headers, each also holding its value as written (`written`): the parsed From header
    drops the comment that holds the name in `user@host (Name)`, a parsed Date is shown in a normalised form,
    and 8-bit bytes are kept there to be decoded as UTF-8, else cp1252."""

    def __call__(self, name, value):
        header = super().__call__(name, value)
        header.written = value
        return header


POLICY = policy.default.clone(header_factory=_Registry())


@dataclass(frozen=True)
class Message:
    post_id: str  # the Message-ID without angle brackets, else a content id
    references: tuple[str, ...]  # ids of its ancestors, the oldest first, its parent last
    subject: str
    author: str
    address: str  # the sender's address as written, lower case ("" when none): a key for its name
    named: bool  # the author is a name given in the header, not the user part of an address
    posted_at: datetime  # naive UTC
    body: str
    excluded: tuple[tuple[int, int], ...]
    source: str
    line: int
    number: int
    attachments: tuple[str, ...] = ()
    utc_offset: int | None = None  # the Date header's zone, minutes east of UTC (see the module's docstring)


class NoArchive(Exception):
    """The message asks not to be archived (X-No-Archive: yes)."""


def _text(value: str) -> str:
    """A header value as written, with 8-bit bytes read as UTF-8 (else cp1252) and RFC 2047 words decoded."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        raw = value.encode("ascii", "surrogateescape")
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("cp1252", errors="replace")
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value


def _get(msg: EmailMessage, name: str):
    try:
        return msg.get(name)
    except (ValueError, IndexError, TypeError, AttributeError):  # a header the email package cannot parse
        return None


def _written(msg: EmailMessage, name: str) -> str:
    """A header's value as written (8-bit bytes and RFC 2047 words decoded), spaces collapsed; "" when absent."""
    header = _get(msg, name)
    return "" if header is None else " ".join(_text(getattr(header, "written", str(header))).split())


def _header(msg: EmailMessage, name: str) -> str:
    """A header's value as `policy.default` decodes it, or as written where that holds 8-bit bytes."""
    header = _get(msg, name)
    if header is None:
        return ""
    written = getattr(header, "written", "")
    if any("\udc80" <= ch <= "\udcff" for ch in written):
        return _written(msg, name)
    return " ".join(str(header).split())


def _ids(value: str) -> list[str]:
    return [m for m in _MSGID.findall(value) if len(m) <= MAX_ID_CHARS]


def _clean_name(name: str) -> str:
    name = " ".join(name.split()).strip("\"' ")
    name = _VIA_LIST.sub("", name)  # "Jane Doe via R-package-devel": Mailman's rewriting for DMARC
    return "" if "@" in name and " " not in name else name


def author_of(msg: EmailMessage, envelope: str | None) -> tuple[str, str, bool]:
    """(author, address key, named) from the From header, else the envelope line's sender."""
    header = _get(msg, "From")
    written = _written(msg, "From")
    if not written:
        written = envelope_sender(envelope)
    obfuscated = _OBFUSCATED.match(written)
    if obfuscated:
        user, host, rest = obfuscated["user"], obfuscated["host"], obfuscated["rest"] or ""
        name = _clean_name(rest[1:-1]) if rest else ""
        return (name or user), f"{user}@{host}".lower(), bool(name)
    display = ""
    try:
        addresses = header.addresses if header is not None else ()
        display = addresses[0].display_name if addresses else ""
    except (AttributeError, IndexError, ValueError, TypeError):
        pass
    comment, address = utils.parseaddr(written)
    name = _clean_name(display or comment)
    user = address.split("@")[0] if address else written.split("@")[0].strip("<> ")
    if name:
        return name, address.lower(), True
    return (user.strip() or "unknown"), address.lower(), False


def _zoned(naive: datetime, written: str) -> datetime | None:
    """A naive date parsed from `written` with its zone: UTC for -0000, a name of `ZONES`; None for any other."""
    if _UTC_ZONE.search(written):
        return naive.replace(tzinfo=UTC)
    name = _ZONE_NAME.search(written)
    if name and name["zone"] in ZONES:
        return naive.replace(tzinfo=timezone(timedelta(minutes=ZONES[name["zone"]])))
    return None


def _parsed_date(value: str) -> datetime | None:
    """An aware datetime for a date with a real zone; None for anything else."""
    try:
        when = utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else _zoned(when, value)


def _utc(when: datetime) -> datetime | None:
    try:
        return when.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return None


def _offset(when: datetime, written: str) -> int | None:
    """The zone of the Date header `written`, read as the aware `when`, in minutes east of UTC; None for `-0000`."""
    delta = when.utcoffset()
    if delta is None or _NO_LOCAL_ZONE.search(written):
        return None
    return int(delta.total_seconds()) // 60


def date_of(msg: EmailMessage, envelope: str | None) -> tuple[datetime | None, int | None, str | None]:
    """(the message's date as naive UTC, None when there is none; the poster's zone in minutes east of UTC, None
    when not known; a note when the date is not the Date header's own)."""
    raw = _written(msg, "Date")
    header = _get(msg, "Date") if raw else None
    when = getattr(header, "datetime", None) if header is not None else None
    if when is not None and when.tzinfo is None:
        when = _zoned(when, raw)
    if when is not None and (utc := _utc(when)) is not None:
        return utc, _offset(when, raw), None
    problem = f"Date {raw[:60]!r} has no usable time zone" if raw else "no Date header"
    fallbacks = [("the envelope line's date", envelope_date(envelope))]
    fallbacks.append(("NNTP-Posting-Date", _parsed_date(_written(msg, "NNTP-Posting-Date"))))
    received = msg.get_all("Received") or []
    if received:
        last = getattr(received[-1], "written", str(received[-1]))
        fallbacks.append(("the last Received header", _parsed_date(last.rpartition(";")[2].strip())))
    for what, found in fallbacks:
        if found is not None:
            utc = _utc(found) if found.tzinfo else found
            if utc is not None:
                note = f"{problem}; used {what}" + ("" if found.tzinfo else " (no zone given: taken as UTC)")
                return utc, None, note
    naive = getattr(header, "datetime", None) if header is not None else None
    if naive is not None and naive.tzinfo is None:
        return naive, None, f"{problem}; taken as UTC"
    return None, None, problem


def content_id(author: str, posted_at: datetime, subject: str, body: str) -> str:
    """A stable id for a message without a usable Message-ID."""
    digest = hashlib.sha1("\x1f".join((author, posted_at.isoformat(), subject, body)).encode("utf-8", "replace"))
    return f"content-{digest.hexdigest()[:16]}"


def parse_message(raw: RawMessage, source: str, warnings: list[str], *, in_mbox: bool = True) -> Message:
    """One message. Raises NoArchive for a message marked X-No-Archive, InputError when it has no usable date."""
    where = f"{source}:{raw.line}: message {raw.number}" if in_mbox else f"{source}:{raw.line}"
    msg = email.message_from_bytes(raw.data, policy=POLICY)
    if _header(msg, "X-No-Archive").lower().startswith("yes"):
        raise NoArchive
    posted_at, utc_offset, note = date_of(msg, raw.envelope)
    if posted_at is None:
        raise InputError(source, raw.line, (f"message {raw.number}: " if in_mbox else "") + f"no usable date ({note})")
    if note:
        warnings.append(f"{where}: {note}")
    author, address, named = author_of(msg, raw.envelope)

    def warn(text: str) -> None:
        warnings.append(f"{where}: {text}")

    try:
        body, attachments = message_text(msg, warn)
    except (LookupError, ValueError, TypeError, AssertionError, RecursionError) as exc:  # a MIME structure rejected
        warn(f"unreadable MIME structure ({type(exc).__name__}); its text read as it is")
        body, attachments = raw.data.partition(b"\n\n")[2].decode("utf-8", errors="replace").strip("\n"), []
    subject = _header(msg, "Subject")
    own = _ids(_header(msg, "Message-ID"))
    post_id = own[0] if own else content_id(author, posted_at, subject, body)
    references = [r for r in _ids(_header(msg, "References")) if r != post_id]
    parent = [r for r in _ids(_header(msg, "In-Reply-To")) if r != post_id]
    if parent and parent[0] not in references:
        references.append(parent[0])
    return Message(
        post_id=post_id,
        references=tuple(dict.fromkeys(references)),
        subject=subject,
        author=author,
        address=address,
        named=named,
        posted_at=posted_at,
        body=body,
        excluded=excluded_spans(body),
        source=source,
        line=raw.line,
        number=raw.number,
        attachments=tuple(attachments),
        utc_offset=utc_offset,
    )
