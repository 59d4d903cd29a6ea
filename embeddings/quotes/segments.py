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
    """`view.body` as consecutive segments covering all of it, in body order."""
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
        if start > pos:
            out.append(Segment(pos, start))
        out.append(Segment(start, end, quote))
        pos = end
    if pos < len(view.body):
        out.append(Segment(pos, len(view.body)))
    return out


def segment_text(body: str, segment: Segment) -> str:
    """A segment's text as shown: a quote's lines without their ">" prefixes (the display marks it as a quote)."""
    text = body[segment.start : segment.end]
    if segment.quote is None or ">" not in text:
        return text
    return "\n".join(_PREFIX.sub("", line, count=1) for line in text.split("\n"))
