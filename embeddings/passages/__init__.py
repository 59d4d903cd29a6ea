"""Passages: posts cut into model-sized slices on sentence boundaries, with exact offsets into the post.

``post.body[passage.start:passage.end] == passage.text`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from ..models import Passage, QuoteRelation, Thread
from ..quotes.explicit import quote_lines
from .chunking import Chunker
from .sentences import sentence_spans

__all__ = ["Chunker", "PassageTexts", "has_words", "indexed_spans", "make_passages", "own_spans", "sentence_spans"]

_SMILEY_CODE = re.compile(r":[\w-]+:")
_WORD = re.compile(r"[^\W_]{2,}")


class PassageTexts(Sequence[str]):
    """The texts of `passages`, each sliced from its post's body when read: what a build embeds, without a list
    of every passage's text (a second copy of the archive's text)."""

    def __init__(self, passages: Sequence[Passage]):
        self._passages = passages

    def __len__(self) -> int:
        return len(self._passages)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [p.text for p in self._passages[i]]
        return self._passages[i].text


def has_words(text: str) -> bool:
    """Does a passage hold anything to find? Not "...", nor a line of smilies such as ":cheers: :wink:"."""
    return bool(_WORD.search(_SMILEY_CODE.sub(" ", text)))


def own_spans(
    body_len: int, relations: Iterable[QuoteRelation], explicit: Iterable[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """The parts of a post's body ([0, body_len)) not covered by any of its quoting spans, nor by the `explicit`
    spans (its ">" lines and the attribution lines that introduce them)."""
    quoted = sorted([(r.quoting_start, r.quoting_end) for r in relations] + list(explicit))
    own, pos = [], 0
    for start, end in quoted:
        if start > pos:
            own.append((pos, start))
        pos = max(pos, end)
    if pos < body_len:
        own.append((pos, body_len))
    return own


LEAD_IN_WORDS = 20  # a line ending in ":" right before a quote, of at most this many words, only introduces it


def without_lead_ins(body: str, regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`regions` (a post's own words, between its quotes) less the line each one ends with when that line only
    introduces the quote that follows it ("Mike Ely actually argued the opposite, like Bukharin:"): a short line
    ending in ":" right before a quote says nothing on its own, and as a search result it would show a lead-in
    whose quoted words are cut out. A region that is only such a line is dropped (the caller keeps a post's lead-in
    when it is all the post says)."""
    out = []
    for start, end in regions:
        if end >= len(body):  # nothing follows: not a lead-in
            out.append((start, end))
            continue
        text = body[start:end].rstrip()
        line_start = text.rfind("\n") + 1
        last = text[line_start:]
        if last.endswith(":") and len(last.split()) <= LEAD_IN_WORDS:
            kept = body[start : start + line_start].rstrip()
            if kept.strip():
                out.append((start, start + len(kept)))
            continue
        out.append((start, end))
    return out


def indexed_spans(regions: Iterable[tuple[int, int]], excluded: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """`regions` (sorted, not overlapping) less the `excluded` spans (a post's footer, signature, ...)."""
    cuts = sorted(excluded)
    out = []
    for start, end in regions:
        pos = start
        for c_start, c_end in cuts:
            if c_end <= pos or c_start >= end:
                continue
            if c_start > pos:
                out.append((pos, c_start))
            pos = max(pos, c_end)
        if pos < end:
            out.append((pos, end))
    return out


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo is not None else when


def make_passages(
    threads: Sequence[Thread], chunker: Chunker, quotes: Sequence[QuoteRelation], drop_quoted: bool
) -> list[Passage]:
    """Every post's passages, none inside a post's `excluded` spans; with `drop_quoted`, only the post's own
    words: quotes found in the archive, ">" lines and the attribution lines that introduce them cut out.

    Passages are numbered from 1 in date order (posts by date, then thread, then place in the thread), so the
    passages of a date window are a range of ids (`index/layout.py`)."""
    quoted: dict[str, list[QuoteRelation]] = {}
    if drop_quoted:
        for q in quotes:
            quoted.setdefault(q.quoting_post_id, []).append(q)
    posts = [(n, post) for n, thread in enumerate(threads) for post in thread.posts]
    posts.sort(key=lambda item: (_utc(item[1].posted_at), item[0], item[1].post_index))
    passages: list[Passage] = []
    for _, post in posts:
        explicit = quote_lines(post.body).spans() if drop_quoted else ()
        regions = own_spans(len(post.body), quoted.get(post.post_id, []), explicit)
        if drop_quoted:  # unless the lead-in is all the poster wrote: then it is what they said
            regions = without_lead_ins(post.body, regions) or regions
        if post.excluded:
            regions = indexed_spans(regions, post.excluded)
        for chunk in chunker.chunk(post.body, regions):
            if not has_words(chunk.text):  # e.g. "…" or ":cheers:" left between two quotes
                continue
            passages.append(Passage(len(passages) + 1, post.post_id, chunk.start, chunk.end, post.body_source))
    return passages
