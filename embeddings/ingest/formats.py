"""Which reader a file needs, from its content: JSON Lines, mbox, one mail or news article (a maildir or spool
file), a clipped vBulletin page (Markdown) or vBulletin archive text; gzip-compressed files are opened first.

`describe` says what an unrecognised file looked like, for the message that reports it.
"""

from __future__ import annotations

import json
import re
import zlib

from ..errors import InputError
from .markdown import looks_like_clipped
from .mbox import HEADER_LINE, looks_like_article, looks_like_mbox
from .vbulletin import looks_like_vbulletin

FORMATS = ("auto", "vbulletin", "jsonl", "mbox", "maildir", "news", "markdown")
MAIL_FORMATS = frozenset({"mbox", "maildir", "news"})
SINGLE_MESSAGE = frozenset({"maildir", "news"})  # one message per file
SNIFF_BYTES = 64 * 1024
SNIFF_LINES = 5
GZIP_MAGIC = b"\x1f\x8b"
VBULLETIN_HINT = "expected an author line followed by a date line such as '15th August 2009, 14:32'"


def _is_object_line(line: str) -> bool:
    if len(line) > SNIFF_BYTES:  # too long to parse just to sniff: a record for the reader to judge
        return line.lstrip().startswith("{")
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _first_lines(text: str, n: int = SNIFF_LINES) -> list[str]:
    lines = text.lstrip("\ufeff").split("\n", 200)[:200]
    return [line for line in lines if line.strip()][:n]


def looks_like_jsonl(text: str) -> bool:
    """The first non-blank line starts a JSON object, and it or one of the next few lines (unindented) is a whole
    one: a bad first record does not hide a JSON Lines file, and a pretty-printed .json document is not one."""
    lines = _first_lines(text)
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    return _is_object_line(lines[0]) or any(line.startswith("{") and _is_object_line(line) for line in lines[1:])


def head_text(data: bytes) -> str:
    """The start of `data` as text for sniffing: lenient UTF-8, line ends as "\\n"."""
    text = data[:SNIFF_BYTES].decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.replace("\r\n", "\n")


def sniff_mail(head: str) -> str | None:
    """ "mbox", "news" (one RFC 822 message or NNTP article) or None."""
    if looks_like_mbox(head):
        return "mbox"
    return "news" if looks_like_article(head) else None


def sniff(head: str) -> str | None:
    """The format of a file from its first bytes (`head_text`), None when it is not an archive."""
    if looks_like_jsonl(head):
        return "jsonl"
    mail = sniff_mail(head)
    if mail:
        return mail
    if looks_like_clipped(head):
        return "markdown"
    return "vbulletin" if looks_like_vbulletin(head) else None


def gunzip(data: bytes, path: str, max_bytes: int | None) -> bytes:
    """The content of gzip data (all members), never more than `max_bytes` of it."""
    out = bytearray()
    rest = data
    try:
        while rest:
            d = zlib.decompressobj(wbits=31)
            room = 0 if max_bytes is None else max_bytes + 1 - len(out)
            out += d.decompress(rest, room)
            if max_bytes is not None and len(out) > max_bytes:
                cap = (
                    f"max_file_mb = {max_bytes // 2**20}" if max_bytes % 2**20 == 0 else f"max_file_bytes = {max_bytes}"
                )
                raise InputError(path, None, f"over {cap} uncompressed; skipped")
            if not d.eof:
                raise InputError(path, None, "truncated gzip data; skipped")
            rest = d.unused_data.lstrip(b"\x00")  # members may follow, or zero padding
    except zlib.error as exc:
        raise InputError(path, None, f"not readable gzip data ({exc}); skipped") from None
    return bytes(out)


def gunzip_head(data: bytes) -> bytes:
    """The first bytes of gzip content, for sniffing; b"" when it is not gzip."""
    try:
        return zlib.decompressobj(wbits=31).decompress(data, SNIFF_BYTES)
    except zlib.error:
        return b""


def describe(head: str, suffix: str = "") -> str:
    """What a file that no reader took looked like, and what would have been read."""
    lines = _first_lines(head, 20)
    first = lines[0].strip() if lines else ""
    if "\x00" in head:
        return "binary data, not text"
    if not first:
        return "no text"
    if first.startswith("From "):
        return (
            "looks like an mbox (a 'From ' line first) but no message had mail headers after its 'From ' line "
            "(expected lines such as From:, Date:, Subject:, Message-ID:)"
        )
    if re.match(r"<(?:!doctype|html|\?xml)", first, re.I):
        return "looks like an HTML or XML page (save archive pages as text, or clip them to Markdown)"
    if first[0] in "[{":
        return "looks like a JSON document, not JSON Lines (one JSON object per line)"
    if HEADER_LINE.match(first):
        return (
            "starts with header lines but not those of mail or news (expected From:, Newsgroups:, Message-ID: or "
            "Received: among them)"
        )
    if first.startswith("#") or suffix in (".md", ".markdown"):
        return f"Markdown, but not a clipped vBulletin archive page ({VBULLETIN_HINT})"
    return f"no recognisable post ({VBULLETIN_HINT})"


def forced_mismatch(fmt: str, head: str) -> str:
    """The message for a file that `--format fmt` cannot read."""
    what = {
        "mbox": "no 'From ' line followed by mail headers",
        "maildir": "does not start with mail headers (From:, Date:, Subject:, Message-ID:)",
        "news": "does not start with article headers (From:, Newsgroups:, Subject:, Message-ID:)",
    }[fmt]
    return f"--format {fmt}: {what} (the file: {describe(head)})"
