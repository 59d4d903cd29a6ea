"""Mail archives as files: mbox (mboxo, mboxrd, pipermail's text archives) split into messages, and the shape test
that tells a file of mail (an mbox, or one RFC 822 / NNTP article) from other text.

Python's `mailbox` is not used: it crashes on an envelope line that is not ASCII, and pipermail archives do not
escape "From " at the start of a body line. A message starts at a "From " line that opens the file or follows a
blank line, and that is followed by a block of header lines (`Name: value`, continuation lines indented) holding
at least one header that mail has (From:, Date:, Subject:, Message-ID:, ...). A body line such as "From the CRAN
policies" is followed by text, not by headers, so it stays in its body.

The bytes are split, never decoded here: each message is parsed from its own bytes (see `mail`). Offsets are found
on the latin-1 view of the bytes, which has one character per byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .dates import MONTHS

# A header field: a name of printable ASCII other than ":" and space, then ":".
HEADER_LINE = re.compile(r"[!-9;-~]+:")
MAIL_HEADERS = frozenset(
    "from date subject message-id newsgroups references in-reply-to to cc sender reply-to return-path received "
    "path xref organization lines nntp-posting-host nntp-posting-date mime-version content-type delivered-to "
    "x-mailer user-agent followup-to article-i.d. approved summary keywords distribution".split()
)
MAX_HEADER_LINES = 400
_ASCTIME = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*,?\s+(?P<month>[A-Za-z]{3})\w*\s+(?P<day>\d{1,2})\s+"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s+(?:[A-Z]{3,4}\s+)?(?P<year>\d{4})"
)
_ESCAPED_FROM = re.compile(rb"^>(>*From )", re.M)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class RawMessage:
    line: int  # 1-based line of the message's first line (the envelope line, if any) in the file
    number: int  # 1-based position in the file
    envelope: str | None  # the "From " line, decoded leniently
    data: bytes  # the message, headers and body, envelope line left out


def header_block(lines: list[str], start: int) -> int | None:
    """The number of header lines from `start` when they form a mail header block (ended by a blank line or the
    end of the text) with at least one header mail has; None when they do not."""
    known = False
    n = 0
    for line in lines[start : start + MAX_HEADER_LINES]:
        if not line.strip():
            break
        if line[0] in " \t" and n:
            n += 1
            continue
        m = HEADER_LINE.match(line)
        if not m:
            return None
        known = known or m.group()[:-1].lower() in MAIL_HEADERS
        n += 1
    else:
        if len(lines) > start + MAX_HEADER_LINES:
            return None
    return n if n and known else None


def _is_envelope(lines: list[str], i: int) -> bool:
    return lines[i].startswith("From ") and (i == 0 or not lines[i - 1].strip()) and header_block(lines, i + 1)


def looks_like_mbox(text: str) -> bool:
    """The first line that is not blank is a "From " line followed by mail headers."""
    lines = text.lstrip("\ufeff").split("\n", MAX_HEADER_LINES + 50)[: MAX_HEADER_LINES + 50]
    lines = [line.rstrip("\r") for line in lines]
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    return first is not None and lines[first].startswith("From ") and bool(header_block(lines, first + 1))


def looks_like_article(text: str) -> bool:
    """The text starts with a mail header block: one RFC 822 message or NNTP article (a maildir or spool file)."""
    lines = text.lstrip("\ufeff").split("\n", MAX_HEADER_LINES + 1)[: MAX_HEADER_LINES + 1]
    lines = [line.rstrip("\r") for line in lines]
    n = header_block(lines, 0)
    if not n:
        return False
    names = {m.group()[:-1].lower() for line in lines[:n] if (m := HEADER_LINE.match(line))}
    return bool(names & {"from", "newsgroups", "message-id", "received", "return-path"}) and len(names) >= 2


def split_mbox(data: bytes) -> tuple[list[RawMessage], int]:
    """The messages of an mbox file, and the number of lines before the first one that are not blank."""
    text = data.decode("latin-1")
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    lines = [line.rstrip("\r") for line in lines]
    starts = [i for i in range(len(lines)) if lines[i].startswith("From ") and _is_envelope(lines, i)]
    leading = sum(1 for line in lines[: starts[0] if starts else len(lines)] if line.strip())
    messages = []
    for n, i in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        body = data[offsets[i + 1] : min(offsets[end], len(data))]
        envelope = data[offsets[i] : offsets[i + 1]].rstrip(b"\r\n").decode("utf-8", errors="replace")
        messages.append(RawMessage(line=i + 1, number=n + 1, envelope=envelope, data=unescape_from(body)))
    return messages, leading


def unescape_from(message: bytes) -> bytes:
    """mboxrd and mboxo quote a body line starting "From " as ">From "; one ">" is taken off again."""
    end = _HEADER_END.search(message)
    if not end or b">From " not in message:
        return message
    return message[: end.end()] + _ESCAPED_FROM.sub(rb"\1", message[end.end() :])


def envelope_date(envelope: str | None) -> datetime | None:
    """The date of an envelope line (`From sender  Tue Jan  1 11:39:38 2019`), naive: the zone of the machine that
    wrote it is not given."""
    m = _ASCTIME.search(envelope or "")
    if not m or m["month"].lower() not in MONTHS:
        return None
    try:
        return datetime(
            int(m["year"]),
            MONTHS[m["month"].lower()],
            int(m["day"]),
            int(m["hour"]),
            int(m["minute"]),
            int(m["second"] or 0),
        )
    except ValueError:
        return None


def envelope_sender(envelope: str | None) -> str:
    """The sender of an envelope line: the text between "From " and the date."""
    if not envelope:
        return ""
    rest = envelope[5:]
    m = _ASCTIME.search(rest)
    return (rest[: m.start()] if m else rest).strip()
