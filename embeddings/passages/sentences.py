"""Sentence boundaries of a post's text, as offsets (chunking cuts there; highlights pick among them)."""

from __future__ import annotations

import re

# End of a sentence: terminal punctuation (plus closing quotes/brackets) followed by
# whitespace and something that can start a sentence; or a line break.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+(?=[A-Z0-9\"“‘'(\[¿¡])|\n+")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of text[start:end], whitespace trimmed, in order."""
    end = len(text) if end is None else end
    spans = []
    pos = start
    for m in _BOUNDARY.finditer(text, start, end):
        _append_trimmed(text, pos, m.start() + len(m.group()) - len(m.group().lstrip("\"'”’»)]")), spans)
        pos = m.end()
    _append_trimmed(text, pos, end, spans)
    return spans


def _append_trimmed(text: str, s: int, e: int, out: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        out.append((s, e))
