"""A post cut into the poster's own text and quotes, for display: the one splitter the CLI and the bot share.

Quotes are the spans quote detection credited to an earlier post (`QuotedSpan`) and the ">" lines quoted from a
message that is not in the archive (`OutsideQuote`); where both cover text, the credited span wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models import OutsideQuote, PostView, QuotedSpan

_PREFIX = re.compile(r"^(?:[ \t]*>)+[ \t]?")


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    quote: QuotedSpan | OutsideQuote | None = None  # None: the poster's own text


def post_segments(view: PostView) -> list[Segment]:
    """`view.body` as segments in body order: the poster's own text and quotes. A quote takes in the quote marks
    before it on its line; own text that is nothing but quote marks and blank lines (between two quotes) is
    left out, so no stray ">" is shown."""
    body = view.body
    spans = sorted(
        [(q.start, q.end, 0, q) for q in view.quoted_spans or []]
        + [(o.start, o.end, 1, o) for o in getattr(view, "outside_quotes", None) or []],
        key=lambda t: (t[0], t[2]),
    )
    out: list[Segment] = []
    pos = 0
    for start, end, _, quote in spans:
        if start < pos:  # overlaps one already shown
            continue
        line_start = body.rfind("\n", pos, start) + 1 if "\n" in body[pos:start] else pos
        if line_start >= pos and not body[line_start:start].strip(" \t>"):
            start = line_start
        _own(out, body, pos, start)
        out.append(Segment(start, end, quote))
        pos = end
    _own(out, body, pos, len(body))
    return out


def _own(out: list[Segment], body: str, start: int, end: int) -> None:
    if start < end and body[start:end].strip(" \t\n>"):
        out.append(Segment(start, end))


def outside_label(quote: OutsideQuote) -> str:
    """How a quote no post here was matched to is labelled: who, and whether that person is in the archive."""
    if quote.attributed_to is None:
        return "quoted from an earlier message"
    if quote.in_archive:  # the thread has an earlier post by that name: a quote of it too short to match
        return f"quoting {quote.attributed_to}"
    return f"quoted from {quote.attributed_to} (not in this archive)"


def segment_text(body: str, segment: Segment) -> str:
    """A segment's text as shown: a quote's lines without their ">" prefixes (the display marks it as a quote)."""
    text = body[segment.start : segment.end]
    if segment.quote is None or ">" not in text:
        return text
    return "\n".join(_PREFIX.sub("", line, count=1) for line in text.split("\n"))
