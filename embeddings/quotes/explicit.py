"""Explicit quotes of mail and news: ``>``-prefixed lines and the attribution lines that introduce them.

A reply quotes with ``>`` (``>>`` for a quote inside a quote) and names who wrote it on an attribution line:
"On Tue, 3 Mar 2021 at 09:12, Duncan Murdoch <murdoch.duncan at gmail.com> wrote:", "In article <id>, X writes:",
"X wrote:", often wrapped over two or three lines. `quote_lines` finds both in a body, with exact offsets:

- passages leave them out (they are not the poster's words: `passages.make_passages`);
- quoted text whose source is not in the archive is shown as "quoted from X (not in this archive)", X from the
  attribution line above it at the enclosing depth (`outside_quotes`), instead of being credited to whoever
  quoted it first (quote detection treats such words as nobody's here: `QuoteDetector`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..models import OutsideQuote, Post, QuoteRelation

# The quote prefix of a line: ">", "> >", ">>", also indented (a reply quoting an indented reply); "|" is not
# taken (tables, shell pipes).
_PREFIX = re.compile(r"(?:[ \t]*>)+")
_ENDS_ATTRIBUTION = re.compile(
    r"(?P<verb>\bwrote|\bwrites|\bschrieb|\ba [ée]crit|\bescribi[óo]|\bscrisse|\bschreef|\bskrev|\bnapisa[łl]\w*)"
    r"(?:[ \t]+(?P<after>[^\W\d_][\w .'-]{0,40}?))?[ \t]*:[ \t]*$",
    re.I,
)
_NAME_AFTER_VERB = {"schrieb", "skrev", "schreef"}  # "Am 4.3.2019 um 15:12 schrieb Uwe Ligges:"
_STARTS_ATTRIBUTION = re.compile(r"(?:On|Am|Le|El|Em|Op|Il|Den|Dne|W dniu|In article)\b", re.I)
MAX_ATTRIBUTION_LINES = 3
MAX_NAME_CHARS = 60

_ANGLED = re.compile(r"<[^<>]*>?|\[mailto:[^\]]*\]|\(mailto:[^)]*\)")
_ADDRESS = re.compile(r"\S+@\S+|\S+ at \S+\.\S+|\S+ (?:using|from) \S+\.\S+", re.I)
_ZONE = r"(?:\s*\(?(?:[+-]\d{4}|(?-i:[A-Z]{2,5})\b)\)?)*"  # "+0100", "PST", "(CET)"
_TIME = re.compile(
    rf"\d{{1,2}}[:.h]\d{{2}}(?:[:.]\d{{2}})?(?:\s*[ap]\.?\s?m\b\.?)?{_ZONE}|\b(?:19|20)\d{{2}}\b{_ZONE}", re.I
)
_LEAD_NOISE = re.compile(r"^(?:[\s,;:.-]|\bat\b|\bum\b|\bà\b|\ba las\b|\bschrieb\b)+", re.I)
_IN_ARTICLE = re.compile(r"^In article\s*(?:<[^>]*>?)?\s*,?\s*", re.I)


@dataclass(frozen=True)
class QuotedLines:
    """A run of consecutive quoted lines at one depth ([start, end) of the body, whole lines without the last
    line break) and who the attribution line above it names (None: no attribution line, or no name in it)."""

    start: int
    end: int
    depth: int
    attributed_to: str | None


@dataclass(frozen=True)
class ExplicitQuotes:
    quoted: tuple[QuotedLines, ...]
    attributions: tuple[tuple[int, int], ...]  # spans of attribution lines (they introduce a quote)

    def spans(self) -> list[tuple[int, int]]:
        """Every quoted line and attribution line, sorted and merged: what is not the poster's words."""
        return merge_spans([(q.start, q.end) for q in self.quoted] + list(self.attributions))


@dataclass(frozen=True)
class _Line:
    start: int
    end: int  # without the line break
    depth: int
    text: str  # without its quote prefix, stripped
    indented: bool = False  # starts with a tab or four spaces


def _lines(body: str) -> list[_Line]:
    out, pos = [], 0
    for raw in body.split("\n"):
        prefix = _PREFIX.match(raw) if ">" in raw else None
        depth = prefix.group().count(">") if prefix else 0
        text = raw[prefix.end() if prefix else 0 :].strip()
        out.append(_Line(pos, pos + len(raw), depth, text, raw.startswith(("\t", "    "))))
        pos += len(raw) + 1
    return out


def attributed_name(text: str) -> str | None:
    """The author an attribution line names: "On 3/3/2019 4:11 p.m., Krishan Gupta wrote:" → "Krishan Gupta";
    "u1452@penelope.sdsc.edu (Jeff Bytof - SIO) writes:" → "Jeff Bytof - SIO"; None when it names nobody."""
    text = " ".join(text.split())
    ending = _ENDS_ATTRIBUTION.search(text)
    if ending and ending["after"] and ending["verb"].lower() in _NAME_AFTER_VERB:
        return _name_or_none(ending["after"])
    text = text[: ending.start()].strip() if ending else text
    if _IN_ARTICLE.match(text):
        text = _IN_ARTICLE.sub("", text)
    elif _STARTS_ATTRIBUTION.match(text):  # "On <date>[,] <name>": the name follows the date's last part
        times = list(_TIME.finditer(text))
        text = text[times[-1].end() :] if times else text.split(",", 1)[-1]
    address = _ADDRESS.search(text)
    comment = re.search(r"\(([^()@]+)\)\s*$", text)
    if comment and _ADDRESS.search(text[: comment.start()]):  # "user@host (Name)"
        text = comment.group(1)
    text = _ADDRESS.sub(" ", _ANGLED.sub(" ", text))
    name = _name_or_none(text)
    if name is None and address:  # "In article <id> henry@zoo.toronto.edu writes:": the address's user
        name = _name_or_none(re.split(r"@| at ", address.group().strip("<>()[]\"'"))[0])
    return name


def _name_or_none(text: str) -> str | None:
    text = _LEAD_NOISE.sub("", " ".join(text.split())).strip(" \"',;:")
    if not text or len(text) > MAX_NAME_CHARS or not re.search(r"[^\W\d_]", text):
        return None
    return text


@lru_cache(maxsize=1024)  # a post's body is read by quote detection, outside_quotes and passages in turn
def quote_lines(body: str) -> ExplicitQuotes:
    """The quoted runs of a body, each with the name its attribution line gives, and the attribution lines.
    Quoted lines are ">" lines; after an attribution line, also a block of "| " lines or of indented lines (two
    mail clients' ways of quoting)."""
    lines = _lines(body)
    attribution_at: dict[int, tuple[int, str | None]] = {}  # last line of an attribution -> (first line, name)
    in_attribution: set[int] = set()
    for n, line in enumerate(lines):
        if not line.text.endswith(":") or len(line.text) > 300 or not _ENDS_ATTRIBUTION.search(line.text):
            continue
        first = n  # an attribution wrapped over lines: back to the line it starts on
        for k in range(n - 1, max(-1, n - MAX_ATTRIBUTION_LINES), -1):
            if lines[k].depth != line.depth or not lines[k].text:
                break
            if _STARTS_ATTRIBUTION.match(lines[k].text):
                first = k
                break
        text = " ".join(lines[k].text for k in range(first, n + 1))
        dated = bool(_STARTS_ATTRIBUTION.match(text) and _TIME.search(text))  # "On <date>, X wrote:"
        if not (line.depth or dated or _introduces_quote(lines, n)):  # a quoted one may have lost its quote
            continue
        attribution_at[n] = (first, attributed_name(text))
        in_attribution.update(range(first, n + 1))
        if not line.depth:
            _quoted_by_bar_or_indent(lines, n)
    quoted: list[QuotedLines] = []
    # the name of the latest attribution at each depth still in force: an attribution at depth d names the
    # author of the depth d + 1 lines after it, until a line with words shallower than d (another message's text)
    names: dict[int, str | None] = {}
    for n, line in enumerate(lines):
        if line.text:
            for d in [d for d in names if d > line.depth]:
                del names[d]
        if n in attribution_at:
            names[line.depth] = attribution_at[n][1]
        if not line.depth or n in in_attribution:
            continue
        last = quoted[-1] if quoted else None
        if last and lines[n - 1].depth == line.depth and last.end == lines[n - 1].end:
            quoted[-1] = QuotedLines(last.start, line.end, last.depth, last.attributed_to)
        else:
            quoted.append(QuotedLines(line.start, line.end, line.depth, names.get(line.depth - 1)))
    quoted = [q for q in quoted if not _is_transcript(body, q)]
    attributions = [(lines[first].start, lines[n].end) for n, (first, _) in sorted(attribution_at.items())]
    return ExplicitQuotes(tuple(quoted), tuple(attributions))


def _quoted_by_bar_or_indent(lines: list[_Line], n: int) -> None:
    """Lines after the attribution at line `n` quoted with "| " or by indenting them become depth 1, up to the
    first non-blank line quoted otherwise."""
    style = None
    for k in range(n + 1, len(lines)):
        line = lines[k]
        if line.depth or (not line.text and style is None):
            if line.depth:
                return
            continue
        kind = "bar" if line.text.startswith("|") else "indent" if line.indented or not line.text else None
        if kind is None or (style is not None and line.text and kind != style):
            return
        style = style or kind
        text = line.text[1:].strip() if kind == "bar" else line.text
        lines[k] = _Line(line.start, line.end, 1, text, line.indented)


# A console line: an R or shell command after a "> " prompt, not a quote ("> x <- f(1)", "> sudo dnf install …").
_COMMAND = re.compile(
    r"(?:[\w.$@\[\]\"']+\s*(?:<<?-|->|%>%|\|>)|[\w.$:]+\(|\?\??[\w.]+$|#|\+ "
    r"|(?:sudo|R CMD|Rscript|Rcmd|cd|ls|make|git|pip3?|apt(?:-get)?|dnf|yum|brew|export|echo|cat|conda|wget|curl)\b)"
)


def _is_transcript(body: str, run: QuotedLines) -> bool:
    """A run of "> " lines that are all console commands is the poster's own R or shell session."""
    if run.depth != 1:
        return False
    lines = [_PREFIX.sub("", line, count=1).strip() for line in body[run.start : run.end].split("\n")]
    lines = [line for line in lines if line]
    return bool(lines) and all(_COMMAND.match(line) for line in lines)


def _introduces_quote(lines: Sequence[_Line], n: int) -> bool:
    """An attribution line is followed (after blank lines) by a line quoted one level deeper."""
    for line in lines[n + 1 : n + 4]:
        if line.text or line.depth > lines[n].depth:
            return line.depth > lines[n].depth
    return False


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1] + 1:  # touching lines (one line break apart) join
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def outside_quotes(posts: Iterable[Post], relations: Sequence[QuoteRelation]) -> list[OutsideQuote]:
    """Quoted lines no relation covers, with the name the attribution line gives (or None). When an earlier post
    of the same thread is by that name, the quote is of that post (too short or too edited to be matched:
    `in_archive`); otherwise it came from a message that is not in the archive. Lines with no words (a bare
    ">"), header-like lines and excluded text (a quoted list footer) are left out."""
    posts = list(posts)
    covered: dict[str, list[tuple[int, int]]] = {}
    for r in relations:
        covered.setdefault(r.quoting_post_id, []).append((r.quoting_start, r.quoting_end))
    authors_before: dict[str, list[str]] = {}  # thread -> authors of its posts so far, in date order
    out = []
    for post in sorted(posts, key=lambda p: (p.posted_at, p.post_index)):
        earlier = authors_before.setdefault(post.thread_id, [])
        taken = merge_spans(covered.get(post.post_id, []) + list(post.excluded))
        for q in quote_lines(post.body).quoted:
            for start, end in _uncovered(q.start, q.end, taken):
                if _says_something(post.body[start:end]):
                    start, end = _trimmed(post.body, start, end)
                    here = q.attributed_to is not None and any(same_name(q.attributed_to, a) for a in earlier)
                    out.append(OutsideQuote(post.post_id, post.thread_id, start, end, q.depth, q.attributed_to, here))
        earlier.append(post.author)
    return out


def same_name(written: str, author: str) -> bool:
    """Does an attribution's name stand for `author`? Case and accents aside, and a "?" where an archive lost a
    non-ASCII letter ("G?bor Cs?rdi" is "Gábor Csárdi")."""
    a, b = _folded(written), _folded(author)
    if "?" not in a:
        return a == b
    return re.fullmatch(".".join(re.escape(part) for part in a.split("?")), b) is not None


def _folded(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", " ".join(name.split()).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_FIELD_LINE = re.compile(r"[\w-]{2,30}:(?:\s|$)|-{5,}|_{5,}|<?mailto:", re.I)  # "Date: …", "-----", a lost address
MIN_OUTSIDE_WORDS = 3


def _says_something(text: str) -> bool:
    """Quoted text worth showing as a quote: MIN_OUTSIDE_WORDS words outside header-like lines ("Date: …",
    "Message-ID: …" of a quoted digest) and rules."""
    words = 0
    for line in text.split("\n"):
        line = _PREFIX.sub("", line, count=1).strip()
        if line and not _FIELD_LINE.match(line):
            words += len(re.findall(r"[^\W\d_]{2,}", line))
    return words >= MIN_OUTSIDE_WORDS


def _uncovered(start: int, end: int, taken: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out, pos = [], start
    for t_start, t_end in taken:
        if t_end <= pos or t_start >= end:
            continue
        if t_start > pos:
            out.append((pos, t_start))
        pos = max(pos, t_end)
    if pos < end:
        out.append((pos, end))
    return out


def _trimmed(body: str, start: int, end: int) -> tuple[int, int]:
    """A span from its first word-bearing line's text (after the quote prefix, as detected quotes start) to the
    end of its last such line: blank and bare ">" lines at either end left out."""
    while start < end and body[start] in " \t\n>":
        start += 1
    while end > start:
        end = len(body[:end].rstrip())
        line_start = max(start, body.rfind("\n", 0, end) + 1)
        if line_start == start or _PREFIX.sub("", body[line_start:end]).strip():
            break
        end = line_start
    return start, end
