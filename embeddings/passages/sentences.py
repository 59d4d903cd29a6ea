"""Sentence boundaries of a post's text, as offsets (chunking cuts there; highlights pick among them).

A sentence ends at terminal punctuation followed by something that can start a sentence, at a blank line, or at a
line break, except where the line break is a hard wrap: mail and news are wrapped at 60-100 characters, so a
single line break after a line of that length, followed by a line of the same quote depth that does not start a
list item, continues the sentence. Forum posts, whose line breaks are the writer's, rarely have such lines without
terminal punctuation, so they keep their breaks. Offsets are into the text as it is: nothing is joined in it.
"""

from __future__ import annotations

import re

# End of a sentence: terminal punctuation (plus closing quotes/brackets) followed by
# whitespace and something that can start a sentence; or a line break.
_BOUNDARY = re.compile(r"(?P<punct>(?<=[.!?…])[\"'”’»)\]]*\s+(?=[A-Z0-9\"“‘'(\[¿¡]))|(?P<breaks>\n+)")
# A "." after these does not end a sentence: titles and Latin abbreviations always, reference abbreviations
# before a number ("pp. 128-32", "vol. 3", "no. 7").
ABBREVIATIONS = frozenset("mr mrs ms dr prof st vs cf e.g i.e approx ca".split())
BEFORE_NUMBERS = frozenset("p pp no nos vol vols fig figs ch sec art ed eds".split())
_LAST_WORD = re.compile(r"(?<![\w.])([A-Za-z](?:[A-Za-z]|\.(?=[A-Za-z]))*)\.$")
WRAP_MIN = 60  # the shortest line taken for one that was wrapped
WRAP_MAX = 100  # the longest: longer lines are paragraphs written on one line
_QUOTE = re.compile(r"[ \t]*(?:[>|][ \t]*)*")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)]|[a-z][.)])[ \t]")


def _quote_depth(line: str) -> str:
    return re.sub(r"[ \t]", "", _QUOTE.match(line).group())


def is_wrap(text: str, at: int) -> bool:
    """Is the single line break at `text[at]` a hard wrap inside a paragraph?"""
    line_start = text.rfind("\n", 0, at) + 1
    previous = text[line_start:at].rstrip()
    if not WRAP_MIN <= len(previous) <= WRAP_MAX:
        return False
    line_end = text.find("\n", at + 1)
    following = text[at + 1 : len(text) if line_end < 0 else line_end]
    depth = _quote_depth(following)
    if depth != _quote_depth(previous):
        return False
    rest = following[len(_QUOTE.match(following).group()) :]
    return bool(rest.strip()) and not _LIST_ITEM.match(rest)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of text[start:end], whitespace trimmed, in order."""
    end = len(text) if end is None else end
    spans = []
    pos = start
    for m in _BOUNDARY.finditer(text, start, end):
        if m["breaks"] == "\n" and is_wrap(text, m.start()):
            continue
        if m["punct"] is not None and ends_abbreviation(text, m.start(), m.end()):
            continue
        _append_trimmed(text, pos, m.start() + len(m.group()) - len(m.group().lstrip("\"'”’»)]")), spans)
        pos = m.end()
    _append_trimmed(text, pos, end, spans)
    return spans


def ends_abbreviation(text: str, at: int, following: int) -> bool:
    """Is the "." just before `at` the end of an abbreviation (ABBREVIATIONS; BEFORE_NUMBERS when a digit comes
    next, at `following`) rather than of a sentence?"""
    word = _LAST_WORD.search(text, max(0, at - 12), at)
    if word is None:
        return False
    name = word.group(1).lower()
    return name in ABBREVIATIONS or (name in BEFORE_NUMBERS and text[following : following + 1].isdigit())


def _append_trimmed(text: str, s: int, e: int, out: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        out.append((s, e))
