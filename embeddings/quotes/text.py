"""Text side of quote detection: normalised words with exact offsets, quote markers, wordless span edges.

Words are casefolded with apostrophes dropped; punctuation and smilies (``:roll:``, ``:)``, ``8O``) are not
words; a URL is one word; "Sent from my … using Tapatalk" footers, photo-host captions and image
placeholders are skipped. Every word keeps its [start, end) offsets in the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

_SMILEY = re.compile(
    r":[A-Za-z0-9_?!]+:"  # :roll: :happy7: :?:
    r"|(?<!\S)(?:[:;=8xX][-'^o]?[()DPpOo|/\\\]\[*$@3]+|<3|\^_?\^)(?=\s|$|[.,!?])"
)
_WORD = re.compile(r"(?:https?://|www\.)\S+|[^\W_]+(?:['`\u2019][^\W_]+)*", re.I)  # a URL is one word
_BOILERPLATE = re.compile(  # app footers ("Sent from my X using Tapatalk"), photo-host captions
    r"^[ \t]*sent from my\b.*$|^[^\n]*\bby\s*\n?[^\n]*, on Flickr[ \t]*$", re.I | re.M
)
_PLACEHOLDER = re.compile(r"^(?:image|img|attachment)$|\.(?:jpe?g|png|gif)$", re.I)
_MARKER = re.compile(
    r"^[ \t]*(?:(?:quote:?[ \t]*)?originally posted by[ \t]+(?P<a>.+?)"
    r"|quote:[ \t]*(?P<b>.*?)|(?P<c>.{1,60}?)[ \t]+wrote:)[ \t]*$",
    re.I | re.M,
)
_GT_LINE = re.compile(r"^[ \t]*>.*$", re.M)
_TRAIL = re.compile(r"[^\w\s]+")


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Normalised words of `text` with their exact [start, end) character offsets."""
    blank = lambda m: " " * len(m.group())  # noqa: E731
    masked = _SMILEY.sub(blank, _BOILERPLATE.sub(blank, text))
    out = []
    for m in _WORD.finditer(masked):
        word = m.group()
        if _PLACEHOLDER.search(word):
            continue
        out.append((re.sub("['`\u2019]", "", word).casefold(), m.start(), m.end()))
    return out


def outside(tokens: list[tuple[str, int, int]], spans: Sequence[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """The tokens (in text order) that start in none of the [start, end) `spans`: one pass over both, so a long
    post with thousands of spans costs its length, not its length times its spans."""
    bounds = sorted(spans)
    kept, next_span, reach = [], 0, -1  # reach: the furthest end of the spans starting at or before a token
    for token in tokens:
        while next_span < len(bounds) and bounds[next_span][0] <= token[1]:
            reach = max(reach, bounds[next_span][1])
            next_span += 1
        if token[1] >= reach:
            kept.append(token)
    return kept


def find_markers(body: str) -> list[tuple[int, int, str | None]]:
    """Quote markers of a body: (start, end, named author or None) of the text each one introduces (up to
    the next blank line or the next marker)."""
    out = []
    blanks = [m.start() for m in re.finditer(r"(?=\n\n)", body)]
    found = list(_MARKER.finditer(body))
    for k, m in enumerate(found):
        name = (m.group("a") or m.group("b") or m.group("c") or "").strip() or None
        b = bisect_left(blanks, m.end() + 1)
        end = blanks[b] if b < len(blanks) else len(body)
        if k + 1 < len(found):  # the next marker's text is its own (linear time for many markers)
            end = min(end, found[k + 1].end())
        out.append((m.end(), end, name))
    for m in _GT_LINE.finditer(body):
        out.append((m.start(), m.end(), None))
    return out


@dataclass
class Edges:
    """Text without words around a span of a body: how far the span may grow to its line's first / last
    non-blank character (None: a word precedes / follows on that line), and the non-blank lines of such
    text above / below it, nearest first, up to a blank line or a line with a word: (start, end, text)."""

    start: int | None
    end: int | None
    above: list[tuple[int, int, str]]
    below: list[tuple[int, int, str]]


def text_edges(body: str, start: int, end: int, lo: int, hi: int) -> Edges:
    """`start`/`end`: the span; `lo`/`hi`: end of the word before it / start of the word after it."""
    above: list[tuple[int, int, str]] = []
    below: list[tuple[int, int, str]] = []
    nl = body.rfind("\n", lo, start)
    new_start = None
    if nl >= 0 or lo == 0:
        ls = nl + 1
        new_start = ls + len(body[ls:start]) - len(body[ls:start].lstrip())
        pos = nl
        while pos >= 0:  # the line [prev + 1, pos) is free of words when it starts after the previous word
            prev = body.rfind("\n", 0, pos)
            text = body[prev + 1 : pos]
            if prev + 1 < lo or not text.strip():
                break
            above.append(
                (
                    prev + 1 + len(text) - len(text.lstrip()),
                    pos - len(text) + len(text.rstrip()),
                    " ".join(text.split()),
                )
            )
            pos = prev
    nl = body.find("\n", end, hi)
    new_end = None
    if nl >= 0 or hi == len(body):
        le = nl if nl >= 0 else len(body)
        new_end = end + len(body[end:le].rstrip())
        pos = nl
        while pos >= 0:
            nxt = body.find("\n", pos + 1)
            line_end = nxt if nxt >= 0 else len(body)
            text = body[pos + 1 : line_end]
            if line_end > hi or not text.strip():
                break
            below.append(
                (
                    pos + 1 + len(text) - len(text.lstrip()),
                    line_end - len(text) + len(text.rstrip()),
                    " ".join(text.split()),
                )
            )
            pos = nxt
    return Edges(new_start, new_end, above, below)


def extend_punctuation(body: str, end: int) -> int:
    """Include punctuation glued to the last word ("end!!!", "it.") in a span."""
    m = _TRAIL.match(body, end)
    return m.end() if m else end
