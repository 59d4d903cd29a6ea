"""Word-level alignment helpers of quote detection: pure functions over matched word positions.

A `WordMatch` pairs a word of the quoting (newer) post with the word of an earlier post it reproduces, both as
word positions (indexes into the posts' word lists). A quote is a list of them, increasing on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

MAX_GAP = 4  # words that may differ between two matching stretches of one quote (small edits)
CLUSTER_JUMP = 40  # seeds further apart than this (in either post) are aligned separately
MIN_RUN = 3  # a stretch needs this many consecutive matching words, else dropped at a quote's ends


class WordMatch(NamedTuple):
    quoting: int  # word position in the quoting post
    source: int  # word position in the earlier post


class QuotedWord(NamedTuple):
    quoting: int  # word position in the quoting post
    origin: int  # word position in the post where the word was first somebody's own


@dataclass
class OriginRun:
    """Consecutive words of a quote that first appeared in the same post."""

    origin: int  # the post (detector order) where these words were first somebody's own
    words: list[QuotedWord]


def seed_clusters(seeds: list[WordMatch]) -> Iterable[list[WordMatch]]:
    """Group seed matches into separately aligned clusters: seeds more than CLUSTER_JUMP words apart in the
    earlier post, then in the quoting post, go to different clusters."""
    for by_source in _split_by_jumps(sorted(seeds, key=lambda m: m.source), axis=1):
        yield from _split_by_jumps(sorted(by_source), axis=0)


def _split_by_jumps(seeds: list[WordMatch], axis: int) -> list[list[WordMatch]]:
    """Split seeds, sorted along `axis` (0: the quoting post, 1: the earlier post), where they jump too far."""
    groups: list[list[WordMatch]] = []
    for seed in seeds:
        if groups and seed[axis] - groups[-1][-1][axis] <= CLUSTER_JUMP:
            groups[-1].append(seed)
        else:
            groups.append([seed])
    return groups


def split_at_gaps(matches: list[WordMatch]) -> list[list[WordMatch]]:
    """Cut a quote's matches where either side jumps by more than MAX_GAP words."""
    parts: list[list[WordMatch]] = []
    for m in matches:
        prev = parts[-1][-1] if parts else None
        if prev and m.quoting - prev.quoting <= MAX_GAP + 1 and 0 < m.source - prev.source <= MAX_GAP + 1:
            parts[-1].append(m)
        else:
            parts.append([m])
    return parts


def trim_weak_ends(matches: list[WordMatch]) -> list[WordMatch]:
    """Drop the stretches at either end of a quote that match fewer than MIN_RUN consecutive words and are
    cut off from the rest by more than one differing word: a stray word of the quoter's own text ("...
    someone lied *to* me") is not an edited end of the quote ("in the summer" -> "in summer" is)."""
    stretches: list[list[WordMatch]] = []
    for m in matches:
        prev = stretches[-1][-1] if stretches else None
        if prev and m.quoting == prev.quoting + 1 and m.source == prev.source + 1:
            stretches[-1].append(m)
        else:
            stretches.append([m])

    def cut_off(before: list[WordMatch], after: list[WordMatch]) -> bool:
        return max(after[0].quoting - before[-1].quoting, after[0].source - before[-1].source) > 2

    while len(stretches) > 1 and len(stretches[-1]) < MIN_RUN and cut_off(stretches[-2], stretches[-1]):
        stretches.pop()
    while len(stretches) > 1 and len(stretches[0]) < MIN_RUN and cut_off(stretches[0], stretches[1]):
        stretches.pop(0)
    return [m for stretch in stretches for m in stretch]


def origin_runs(matches: list[WordMatch], origin_post: list[int], origin_word: list[int]) -> list[OriginRun]:
    """Split a quote by where its words first appeared (the earlier post's `origin_post`/`origin_word` of each
    of its words), so text the earlier post itself quoted is credited to the post it came from."""
    runs: list[OriginRun] = []
    for m in matches:
        origin, word = origin_post[m.source], origin_word[m.source]
        if runs and runs[-1].origin == origin:
            runs[-1].words.append(QuotedWord(m.quoting, word))
        else:
            runs.append(OriginRun(origin, [QuotedWord(m.quoting, word)]))
    return smooth_runs(runs)


def _is_weak(run: OriginRun) -> bool:
    """No MIN_RUN consecutive quoting words: a stray match rather than a stretch of quoted text."""
    best = current = 1
    for prev, word in zip(run.words, run.words[1:]):
        current = current + 1 if word.quoting == prev.quoting + 1 else 1
        best = max(best, current)
    return best < MIN_RUN


def smooth_runs(runs: list[OriginRun]) -> list[OriginRun]:
    """Drop weak runs at the ends of a quote (stray matches), merge inner ones into the run before them (edits
    inside a quote are credited like the word before them), then join neighbours of the same origin."""
    while len(runs) > 1 and _is_weak(runs[-1]):
        runs.pop()
    while len(runs) > 1 and _is_weak(runs[0]):
        runs.pop(0)
    merged: list[OriginRun] = []
    for run in runs:
        prev = merged[-1] if merged else None
        if prev and prev.origin == run.origin:
            prev.words.extend(run.words)
        elif prev and _is_weak(run):
            last_origin_word = prev.words[-1].origin
            prev.words.extend(QuotedWord(w.quoting, last_origin_word) for w in run.words)
        else:
            merged.append(OriginRun(run.origin, list(run.words)))
    return merged
