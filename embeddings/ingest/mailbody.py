"""A mail message's text, and the spans of it that are not the author's words.

`message_text` gives the text/plain parts decoded by their charset (an HTML-only message converted to text with
the standard library's html.parser); attachments are named, not read. `excluded_spans` finds what the stored body
keeps but passages leave out: "[[alternative HTML version deleted]]" notes, mailing-list footers (also quoted
with ">"), signatures after a "-- " line, and quoted header blocks ("-----Original Message-----", "From: ...",
"Sent: ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from html.parser import HTMLParser

Warn = Callable[[str], None]

# "> > ", "| " (some quote with a bar), and "?" where a non-breaking space was lost ("> >? ? >> ")
_QUOTE_PREFIX = re.compile(r"(?:[ \t\u00a0?]*[>|])*[ \t\u00a0]*")
# the note, after what a lost non-breaking space may have left ("? ? [[...]]")
_HTML_DELETED = re.compile(
    r"[?\s\u00a0]*\[\[(?:alternative (?:HTML|text/enriched) version deleted|[^\]\n]{0,60}deleted)\]\]\s*"
)
_RULE = re.compile(r"_{20,}\s*$")
_LIST_INFO = re.compile(
    r"mailing list|listinfo|mailman|posting.guide|reproducible code|commented, minimal|^<?(?:mailto:|https?://)|"
    r"^[\w.+-]+(?: (?:at|using) |@)[\w.-]+\b",
    re.I,
)
_LIST_ANCHOR = re.compile(r"mailing list|listinfo", re.I)
# A line of a footer whose rule line was lost or joined to it when a reply re-wrapped the quote.
_FOOTER_PIECE = re.compile(
    r"<?https?://\S*listinfo\S*>?|(?:[\w.+-]+(?: (?:at|using) |@)[\w.-]+\s*)?(?:<?mailto:\S*\s*)*mailing list"
    r"|_{20,}.*mailing list.*listinfo\S*",
    re.I,
)
_SIG = re.compile(r"--[ \t]?")
MAX_SIGNATURE_LINES = 12
_SEPARATOR = re.compile(r"-{3,}\s*(?:Original Message|Urspr\S+ngliche Nachricht|Message d'origine|Forwarded message)"
                        r"\s*-{3,}\s*$|_{20,}\s*$", re.I)  # fmt: skip
_FROM_FIELD = re.compile(r"(?:From|Von|De|Od|Van|Fra|Från):\s", re.I)
_QUOTED_FIELD = re.compile(
    r"(?:From|Sent|To|Cc|Subject|Date|Reply-To|Von|Gesendet|An|Betreff|Datum|De|Envoy\S*|\u00c0|Objet|Od|Wys\S*|"
    r"Do|Temat|Enviado|Para|Asunto|Van|Verzonden|Aan|Onderwerp|Fra|Sendt|Til|Emne|Fr\u00e5n|Skickat):\s",
    re.I,
)


# --- the text of a message ------------------------------------------------------------------------------------------


class _Text(HTMLParser):
    """Text of an HTML document: block elements become line breaks, script and style are left out."""

    BLOCKS = frozenset("p div br li tr h1 h2 h3 h4 h5 h6 blockquote pre table ul ol hr dt dd section article".split())

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def decode_payload(data: bytes, charset: str | None, warn: Warn) -> str:
    """Bytes in their declared charset; undeclared 8-bit text as UTF-8, else cp1252 (as old mail and news are)."""
    if charset and charset.lower() not in ("us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        try:
            return data.decode(charset)
        except LookupError:
            warn(f"unknown charset {charset[:40]!r}, read as UTF-8 (else cp1252)")
        except UnicodeDecodeError:
            warn(f"text not valid {charset[:40]}, read as UTF-8 (else cp1252)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _attachment_name(part: EmailMessage) -> str:
    return part.get_filename() or part.get_content_type()


def _leaf_text(part: EmailMessage, warn: Warn) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    text = decode_payload(data, part.get_content_charset(), warn)
    return html_to_text(text) if part.get_content_type() == "text/html" else text


def _is_attachment(part: EmailMessage) -> bool:
    if part.get_content_disposition() == "attachment":
        return True
    return part.get_content_maintype() not in ("text", "multipart")


def _texts(part: EmailMessage, warn: Warn, attachments: list[str]) -> list[str]:
    if part.get_content_maintype() == "multipart":
        children = list(part.iter_parts())
        if part.get_content_subtype() == "alternative":
            ranked = sorted(children, key=lambda c: c.get_content_type() != "text/plain")  # plain first, else the rest
            for child in ranked:
                if not _is_attachment(child):
                    texts = _texts(child, warn, attachments)
                    if any(t.strip() for t in texts):
                        return texts
            return []
        return [t for child in children for t in _texts(child, warn, attachments)]
    if _is_attachment(part):
        attachments.append(_attachment_name(part))
        return []
    return [_leaf_text(part, warn)]


def message_text(msg: EmailMessage, warn: Warn) -> tuple[str, list[str]]:
    """(the text of `msg`, names of the attachments left out); line ends as "\\n", outer blank lines dropped."""
    attachments: list[str] = []
    texts = _texts(msg, warn, attachments)
    text = "\n\n".join(t.strip("\r\n") for t in texts if t.strip())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip("\n").rstrip(), attachments


# --- what passages leave out ----------------------------------------------------------------------------------------


def _lines(body: str) -> list[tuple[int, int, str, str]]:
    """(start, end, quote prefix, text after it) of each line of `body`."""
    out, pos = [], 0
    for line in body.split("\n"):
        prefix = _QUOTE_PREFIX.match(line).group()
        out.append((pos, pos + len(line), re.sub(r"[^>|]", "", prefix), line[len(prefix) :]))
        pos += len(line) + 1
    return out


def _footer_end(lines, i: int) -> int | None:
    """The index after a list footer starting with the rule line `i`, or None when no footer starts there. Its
    lines may be at other quote depths, and broken, where a reply re-wrapped the quote."""
    j, anchored = i + 1, False
    while j < len(lines):
        text = lines[j][3].strip()
        if not text:
            break
        if not _LIST_INFO.search(text):
            # a piece of a line broken by re-wrapping ("ct.org>>"), when list information follows it
            if len(text) > 25 or " " in text or j + 1 >= len(lines) or not _LIST_INFO.search(lines[j + 1][3]):
                break
        anchored = anchored or bool(_LIST_ANCHOR.search(text))
        j += 1
    return j if anchored else None


def _header_block_end(lines, i: int) -> int | None:
    """The index after a quoted header block starting at `i`: an optional separator line, then From: and at least
    one more field (Sent:, To:, Subject:, ...). A field broken over two lines by re-wrapping is still one."""
    j = i + 1 if _SEPARATOR.match(lines[i][3]) else i
    if j >= len(lines) or not _FROM_FIELD.match(lines[j][3]):
        return None
    k, fields = j + 1, 1
    while k < len(lines):
        if _QUOTED_FIELD.match(lines[k][3]):
            fields += 1
        elif not (lines[k][3].strip() and k + 1 < len(lines) and _QUOTED_FIELD.match(lines[k + 1][3])):
            break
        k += 1
    return k if fields >= 2 else None


def _signature_end(lines, i: int) -> int | None:
    """The index after a signature whose "-- " line is `i` (to the end, or to the next quoted line or quoted header
    block), or None when what follows is too long to be a signature."""
    depth = lines[i][2]
    if depth:  # a quoted signature stays with the quote
        return None
    k, words = i + 1, 0
    while k < len(lines) and not lines[k][2] and not _SEPARATOR.match(lines[k][3]):
        words += bool(lines[k][3].strip())
        k += 1
    return k if 0 < words <= MAX_SIGNATURE_LINES else None


def excluded_spans(body: str) -> tuple[tuple[int, int], ...]:
    """Spans of `body` that passages leave out, sorted, not overlapping; each runs from a line's start (its quote
    prefix included) to the end of its last line."""
    lines = _lines(body)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        start, _, depth, text = lines[i]
        end = None
        if _HTML_DELETED.fullmatch(text) or _FOOTER_PIECE.fullmatch(text.strip()):
            end = i + 1
        elif _RULE.match(text):
            end = _footer_end(lines, i) or _header_block_end(lines, i)
        elif _SEPARATOR.match(text) or _FROM_FIELD.match(text):
            end = _header_block_end(lines, i)
        elif _SIG.fullmatch(text) and text.startswith("--"):
            end = _signature_end(lines, i)
        if end is None:
            i += 1
            continue
        stop = lines[end - 1][1]
        if spans and spans[-1][1] >= start - 1:
            spans[-1] = (spans[-1][0], stop)
        else:
            spans.append((start, stop))
        i = end
    return tuple(spans)
