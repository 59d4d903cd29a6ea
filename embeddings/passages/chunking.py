"""Posts → passages that fit the model, cut on sentence boundaries.

Every passage is a contiguous slice of one post's body, so
``post.body[passage.start:passage.end] == passage.text`` always holds.
Sizes are measured with the model's own tokenizer (a `count_tokens` callable).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .sentences import sentence_spans

_WORD = re.compile(r"\S+")

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    text: str


class Chunker:
    def __init__(self, count_tokens: TokenCounter, max_tokens: int = 200, overlap_sentences: int = 1):
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap_sentences = overlap_sentences

    def chunk(self, body: str, regions: Sequence[tuple[int, int]] | None = None) -> list[Chunk]:
        """Chunks of `body`, each inside one of `regions` (default: the whole body)."""
        regions = [(0, len(body))] if regions is None else regions
        chunks: list[Chunk] = []
        for r_start, r_end in regions:
            spans = self._fit(body, sentence_spans(body, r_start, r_end))
            chunks.extend(self._pack(body, spans))
        return chunks

    def _fit(self, body: str, spans: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
        """Attach token counts; split sentences longer than the budget at word boundaries."""
        counts = self.count_tokens([body[s:e] for s, e in spans]) if spans else []
        fitted = []
        for (s, e), n in zip(spans, counts):
            if n <= self.max_tokens:
                fitted.append((s, e, n))
            else:
                fitted.extend(self._split_long(body, s, e))
        return fitted

    def _split_long(self, body: str, s: int, e: int) -> list[tuple[int, int, int]]:
        words = [(m.start(), m.end()) for m in _WORD.finditer(body, s, e)]
        counts = self.count_tokens([body[a:b] for a, b in words])
        words, counts = self._split_long_words(body, words, counts)
        pieces, piece_start, total, last_end = [], None, 0, s
        for (a, b), n in zip(words, counts):
            if piece_start is not None and total + n > self.max_tokens:
                pieces.append((piece_start, last_end, total))
                piece_start, total = None, 0
            if piece_start is None:
                piece_start = a
            total += n
            last_end = b
        if piece_start is not None:
            pieces.append((piece_start, last_end, total))
        return pieces

    def _split_long_words(self, body: str, words, counts):
        """Cut any single "word" longer than the budget (a long URL, a run of symbols) into character slices."""
        if all(n <= self.max_tokens for n in counts):
            return words, counts
        out_words, out_counts = [], []
        for (a, b), n in zip(words, counts):
            if n <= self.max_tokens:
                out_words.append((a, b))
                out_counts.append(n)
                continue
            step = max(1, (b - a) * self.max_tokens // (2 * n))  # about half the budget per slice
            slices = [(x, min(x + step, b)) for x in range(a, b, step)]
            out_words.extend(slices)
            out_counts.extend(self.count_tokens([body[x:y] for x, y in slices]))
        return out_words, out_counts

    def _pack(self, body: str, spans: list[tuple[int, int, int]]) -> list[Chunk]:
        chunks = []
        i = 0
        while i < len(spans):
            j, total = i, 0
            while j < len(spans) and (j == i or total + spans[j][2] <= self.max_tokens):
                total += spans[j][2]
                j += 1
            start, end = spans[i][0], spans[j - 1][1]
            chunks.append(Chunk(start, end, body[start:end]))
            if j >= len(spans):
                break
            # overlap: restart a few sentences back, if they are small enough to leave room
            back = j
            budget = self.max_tokens // 2
            while back > i + 1 and j - back < self.overlap_sentences and spans[back - 1][2] <= budget:
                back -= 1
                budget -= spans[back][2]
            i = back
        return chunks
