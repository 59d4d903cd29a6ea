"""A quote's character spans: the words a run of matched words covers, widened over the text without words around
them, in the quoting post and in the post its words came from (`detector` makes a relation of each pair)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from .text import Edges, extend_punctuation, text_edges

if TYPE_CHECKING:
    from .alignment import OriginRun
    from .detector import IndexedPost


class Span(NamedTuple):
    """[start, end) character offsets into a post's body."""

    start: int
    end: int


def _wordless_edges(post: IndexedPost, first: int, last: int) -> Edges:
    body = post.post.body
    before = post.word_ends[first - 1] if first > 0 else 0
    after = post.word_starts[last + 1] if last + 1 < len(post.word_starts) else len(body)
    return text_edges(body, post.word_starts[first], extend_punctuation(body, post.word_ends[last]), before, after)


def char_spans(new: IndexedPost, run: OriginRun, origin: IndexedPost) -> tuple[Span, Span]:
    """Character spans of a run in the quoting post and in its origin, widened over the text without words
    (punctuation, smilies) around them: to their line's start / end when the rest of that line has no words
    ("….please", "end!!! :)"), then over whole lines of such text above / below ("\n:cheers:\n:compress:")
    as long as both posts have the same ones (a smiley line the quoter adds is the quoter's own).  Both stay
    exact slices of their bodies."""
    first, last = run.words[0].quoting, run.words[-1].quoting
    origin_words = [w.origin for w in run.words]
    origin_first, origin_last = min(origin_words), max(origin_words)
    q, s = _wordless_edges(new, first, last), _wordless_edges(origin, origin_first, origin_last)
    q_start = q.start if q.start is not None else new.word_starts[first]
    s_start = s.start if s.start is not None else origin.word_starts[origin_first]
    if q.start is not None and s.start is not None:
        for (q_line, _, q_text), (s_line, _, s_text) in zip(q.above, s.above):
            if q_text != s_text:
                break
            q_start, s_start = q_line, s_line
    q_end = q.end if q.end is not None else extend_punctuation(new.post.body, new.word_ends[last])
    s_end = s.end if s.end is not None else extend_punctuation(origin.post.body, origin.word_ends[origin_last])
    if q.end is not None and s.end is not None:
        for (_, q_line, q_text), (_, s_line, s_text) in zip(q.below, s.below):
            if q_text != s_text:
                break
            q_end, s_end = q_line, s_line
    return Span(q_start, q_end), Span(s_start, s_end)
