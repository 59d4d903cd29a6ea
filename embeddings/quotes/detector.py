"""Quote detection: which spans of a post reproduce text first written in an earlier post.

Pure library (no I/O, no discord).  Algorithm, in one pass over the posts in chronological order:

1. Each body is tokenised into normalised words (casefolded, apostrophes dropped, punctuation and smilies
   such as ``:roll:`` / ``:)`` / ``8O`` ignored, bare image placeholders skipped) with a map back to exact
   character offsets.
2. Every processed post's word shingles (``SHINGLE`` consecutive words) go into a dict
   ``shingle -> [(post, position), ...]`` (first ``SHINGLE_CAP`` occurrences, so the first appearance is
   always there).  A new post looks up its own shingles to find candidate earlier posts: no all-pairs work.
3. Each candidate's seed hits are clustered and aligned with ``difflib`` on the word ids around the seeds;
   matching blocks separated by small gaps (edits) merge into near-verbatim regions.  Seeds an alignment
   left out (paragraphs quoted in another order than the source's: one alignment keeps no crossing blocks)
   are aligned again, with the words already matched masked, until none is left.
4. Regions are chosen greedily (longest first; then marker-named author, same thread, earliest post) so
   that no word of the new post is credited twice.  A span's ends must be runs of MIN_RUN matching words
   unless only one word differs before them (no stray word of the quoter's text), then whole lines.
5. Every word of every processed post carries its *origin* (the post and word where it first appeared
   as somebody's own words).  A region copied from post B is split by origin, so text B itself quoted
   from A is credited to A (chains), and B's own words to B.  Character spans take in the text without
   words around them (punctuation, smilies) to the line's ends, and whole such lines both posts share.

Markers ("Originally Posted by X", "Quote: X", "X wrote:", ``>`` lines) lower the length threshold for the
text they introduce and make X the preferred source.  A short reply-quote without markers (a whole short
earlier post of the same thread repeated on its own lines at the start of a longer post) is accepted too.
"""
from __future__ import annotations

import gc
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Iterable, Sequence

from ..models import Post, QuoteRelation
from .text import Edges, extend_punctuation, find_markers, text_edges, tokenize

SHINGLE = 3  # words per shingle (seed length)
SHINGLE_CAP = 12  # occurrences kept per shingle; the first appearance is always kept
MAX_CANDIDATES = 40  # candidate earlier posts aligned per post (by number of shared shingles)
MAX_GAP = 4  # words that may differ between two matching stretches of one quote (small edits)
CLUSTER_JUMP = 40  # seeds further apart than this (in either post) are aligned separately
MARGIN = 8  # words of context added around a seed cluster before aligning
LINE_SLACK = 1  # words a quote may stop short of a line boundary (0: quotes are whole lines)
MIN_RUN = 3  # a nested part needs this many consecutive words, else dropped at region ends / merged inside
MARKED_MIN_WORDS = 3  # threshold for text introduced by a quote marker
REPOST_SHARE = 0.9  # see QuoteDetector._is_repost
SHORT_MIN_WORDS = 3  # threshold for an unmarked short reply-quote (see _short_quotes)

@dataclass
class _Doc:
    post: Post
    order: int
    ids: list[int]  # word ids
    starts: list[int]
    ends: list[int]
    lines: list[int]  # line number of each word
    origin_doc: list[int] = field(default_factory=list)
    origin_tok: list[int] = field(default_factory=list)


@dataclass
class _Region:
    doc: int  # candidate (earlier) doc
    pairs: list[tuple[int, int]]  # (word in new post, word in candidate), increasing
    key: tuple = ()
    short: bool = False  # from _short_quotes: accepted whole, below min_words


def own_spans(body_len: int, relations: Iterable[QuoteRelation]) -> list[tuple[int, int]]:
    """The parts of a post's body ([0, body_len)) not covered by any of its quoting spans."""
    spans = sorted((r.quoting_start, r.quoting_end) for r in relations)
    out, pos = [], 0
    for s, e in spans:
        if s > pos:
            out.append((pos, s))
        pos = max(pos, e)
    if pos < body_len:
        out.append((pos, body_len))
    return out


class QuoteDetector:
    """Incremental detector: feed posts in chronological order with `add`."""

    def __init__(self, min_words: int = 6):
        self.min_words = min_words
        self.docs: list[_Doc] = []
        self.vocab: dict[str, int] = {}
        self.shingles: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
        # thread -> word ids of a whole post shorter than min_words -> (doc, 0)
        self.short: dict[str, dict[tuple, tuple[int, int]]] = defaultdict(dict)
        self.relations: list[QuoteRelation] = []

    # -- indexing -------------------------------------------------------------------------------
    def _doc(self, post: Post) -> _Doc:
        toks = tokenize(post.body)
        ids = [self.vocab.setdefault(w, len(self.vocab)) for w, _, _ in toks]
        starts = [s for _, s, _ in toks]
        lines, line, pos = [], 0, 0
        for st in starts:
            line += post.body.count("\n", pos, st)
            pos = st
            lines.append(line)
        return _Doc(post, len(self.docs), ids, starts, [e for _, _, e in toks], lines)

    def _index(self, d: _Doc) -> None:
        ids, k = d.ids, SHINGLE
        for i in range(len(ids) - k + 1):
            lst = self.shingles[tuple(ids[i:i + k])]
            if len(lst) < SHINGLE_CAP:
                lst.append((d.order, i))
        if len(ids) < self.min_words:
            self.short[d.post.thread_id].setdefault(tuple(ids), (d.order, 0))

    # -- candidate regions ----------------------------------------------------------------------
    def _regions(self, d: _Doc) -> list[_Region]:
        ids, k = d.ids, SHINGLE
        seeds: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for i in range(len(ids) - k + 1):
            for doc, j in self.shingles.get(tuple(ids[i:i + k]), ()):
                seeds[doc].append((i, j))
        best = sorted(seeds.items(), key=lambda kv: -len({i for i, _ in kv[1]}))[:MAX_CANDIDATES]
        regions = []
        for doc, hits in best:
            for cluster in _clusters(hits):
                regions.extend(self._align_all(d, self.docs[doc], cluster))
        return regions

    def _align_all(self, d: _Doc, src: _Doc, cluster: list[tuple[int, int]]) -> list[_Region]:
        """Align a seed cluster, then again the seeds it left unmatched, until none is left.  One alignment
        keeps only non-crossing blocks, so a post quoting a source's paragraphs in another order needs more
        than one; words of the new post matched by an earlier pass are masked out of the later ones."""
        out, matched, todo = [], set(), [cluster]
        while todo:
            hits = todo.pop()
            regions, new = self._align(d, src, hits, matched)
            out.extend(regions)
            matched |= new
            rest = [h for h in hits if h[0] not in matched]
            if len(rest) < len(hits):  # progress: a region took at least one seed
                todo.extend(_clusters(rest))
        return out

    def _align(self, d: _Doc, src: _Doc, cluster: list[tuple[int, int]],
               masked: set[int] = frozenset()) -> tuple[list[_Region], set[int]]:
        """Regions of one alignment around `cluster` and the new post's words in them; words in `masked`
        cannot match."""
        a0 = max(0, min(i for i, _ in cluster) - MARGIN)
        a1 = min(len(d.ids), max(i for i, _ in cluster) + SHINGLE + MARGIN)
        b0 = max(0, min(j for _, j in cluster) - MARGIN)
        b1 = min(len(src.ids), max(j for _, j in cluster) + SHINGLE + MARGIN)
        a = [-1 - i if i in masked else d.ids[i] for i in range(a0, a1)] if masked else d.ids[a0:a1]
        sm = SequenceMatcher(None, a, src.ids[b0:b1], autojunk=False)
        out, cur, last = [], [], None
        for bi, bj, n in sm.get_matching_blocks():
            if not n:
                continue
            bi, bj = bi + a0, bj + b0
            if last and (bi - last[0] > MAX_GAP or not 0 <= bj - last[1] <= MAX_GAP):
                out.append(cur)
                cur = []
            cur.extend((bi + t, bj + t) for t in range(n))
            last = (bi + n, bj + n)
        if cur:
            out.append(cur)
        regions = [_Region(src.order, p) for p in out if len(p) >= min(MARKED_MIN_WORDS, self.min_words)]
        return regions, {i for r in regions for i, _ in r.pairs}

    # -- selection ------------------------------------------------------------------------------
    def add(self, post: Post) -> list[QuoteRelation]:
        d = self._doc(post)
        n = len(d.ids)
        d.origin_doc = [d.order] * n
        d.origin_tok = list(range(n))
        marks = self._marked_words(d)
        chosen: list[_Region] = []
        covered = [False] * n
        regions = self._regions(d) + self._short_quotes(d)
        for r in regions:
            src = self.docs[r.doc].post
            named = marks.get(r.pairs[0][0])
            r.key = (-len(r.pairs), not (named and named.casefold() == src.author.casefold()),
                     src.thread_id != post.thread_id, r.doc)
        for r in sorted(regions, key=lambda r: r.key):
            for part in _split([(i, j) for i, j in r.pairs if not covered[i]]):
                part = _trim_to_lines(d, _trim_weak_ends(part))
                if not part:
                    continue
                first = part[0][0]
                need = MARKED_MIN_WORDS if first in marks else self.min_words
                if len(part) < need and not r.short:
                    continue
                if r.short and len(part) != len(r.pairs):
                    continue
                if self._is_repost(d, r.doc, part):
                    continue
                for i in range(part[0][0], part[-1][0] + 1):
                    covered[i] = True
                chosen.append(_Region(r.doc, part))
        rels = []
        for r in chosen:
            rels.extend(self._resolve(d, r))
        rels.sort(key=lambda q: (q.quoting_start, q.source_posted_at))
        self.docs.append(d)
        self._index(d)
        self.relations.extend(rels)
        return rels

    def _is_repost(self, d: _Doc, doc: int, part: list) -> bool:
        """The author posting (nearly) the same whole post again (a double post or corrected re-post)
        is not quoting: same author (any case) and the span covers REPOST_SHARE of both posts.  Tested
        against the post the span was copied from and against the posts its words first appeared in
        (a re-post copied from somebody else's copy of the author's post is still a re-post)."""
        author, src = d.post.author.casefold(), self.docs[doc]
        counts: dict[int, int] = defaultdict(int)
        for _, j in part:
            counts[src.origin_doc[j]] += 1
        counts[doc] = len(part)
        return any(n >= REPOST_SHARE * len(d.ids) and n >= REPOST_SHARE * len(self.docs[od].ids)
                   and self.docs[od].post.author.casefold() == author for od, n in counts.items())

    def _marked_words(self, d: _Doc) -> dict[int, str | None]:
        """Word positions inside text introduced by a quote marker -> the named author (or None)."""
        marks: dict[int, str | None] = {}
        for s, e, name in find_markers(d.post.body):
            for i in range(bisect_left(d.starts, s), bisect_left(d.starts, e)):
                marks[i] = name
        return marks

    def _short_quotes(self, d: _Doc) -> list[_Region]:
        """A short reply-quote without markers: the first whole line(s) of a post that goes on with more
        text reproduce a whole earlier post of the thread at least SHORT_MIN_WORDS words long (and
        shorter than min_words: longer ones are found by the shingles)."""
        short, ln = self.short.get(d.post.thread_id, {}), d.lines
        for end in range(min(self.min_words - 1, len(d.ids) - 1), SHORT_MIN_WORDS - 1, -1):
            if ln[end] != ln[end - 1] and (hit := short.get(tuple(d.ids[:end]))):
                return [_Region(hit[0], [(i, hit[1] + i) for i in range(end)], short=True)]
        return []

    # -- chains ---------------------------------------------------------------------------------
    def _resolve(self, d: _Doc, r: _Region) -> list[QuoteRelation]:
        """Split a region copied from an earlier post by the origin of its words."""
        src = self.docs[r.doc]
        runs: list[list] = []  # [origin doc, [(i, origin tok)]]
        for i, j in r.pairs:
            od, ot = src.origin_doc[j], src.origin_tok[j]
            if runs and runs[-1][0] == od:
                runs[-1][1].append((i, ot))
            else:
                runs.append([od, [(i, ot)]])
        runs = _smooth(runs)
        out, prev_end = [], 0
        for od, pairs in runs:
            o = self.docs[od]
            for i, ot in pairs:
                d.origin_doc[i], d.origin_tok[i] = od, ot
            toks = [ot for _, ot in pairs]
            (qs, qe), (ss, se) = _widen(d, pairs[0][0], pairs[-1][0], o, min(toks), max(toks))
            qs = max(qs, prev_end)
            prev_end = qe
            sp, p = o.post, d.post
            out.append(QuoteRelation(
                thread_id=p.thread_id, quoting_post_id=p.post_id, quoting_post_index=p.post_index,
                quoting_author=p.author, quoting_posted_at=p.posted_at, source_post_id=sp.post_id,
                source_post_index=sp.post_index, source_author=sp.author, source_posted_at=sp.posted_at,
                text=p.body[qs:qe], quoting_start=qs, quoting_end=qe, source_start=ss, source_end=se,
                source_thread_id=sp.thread_id))
        return out


def _clusters(hits: list[tuple[int, int]]) -> Iterable[list[tuple[int, int]]]:
    """Group seed hits (new post word, earlier post word) into separately aligned clusters: hits more than
    CLUSTER_JUMP words apart in the earlier post, then in the new post, go to different clusters."""
    for by_j in _gaps(sorted(hits, key=lambda h: h[1]), 1):
        yield from _gaps(sorted(by_j), 0)


def _gaps(hits: list[tuple[int, int]], axis: int) -> list[list[tuple[int, int]]]:
    out: list[list[tuple[int, int]]] = []
    for h in hits:
        if out and h[axis] - out[-1][-1][axis] <= CLUSTER_JUMP:
            out[-1].append(h)
        else:
            out.append([h])
    return out


def _trim_weak_ends(part: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop the stretches at either end of a span that match fewer than MIN_RUN consecutive words and are
    cut off from the rest by more than one differing word: a stray word of the quoter's own text ("...
    someone lied *to* me") is not an edited end of the quote ("in the summer" -> "in summer" is)."""
    runs: list[list[tuple[int, int]]] = []
    for i, j in part:
        if runs and i == runs[-1][-1][0] + 1 and j == runs[-1][-1][1] + 1:
            runs[-1].append((i, j))
        else:
            runs.append([(i, j)])

    def cut_off(before: list, after: list) -> bool:
        return max(after[0][0] - before[-1][0], after[0][1] - before[-1][1]) > 2

    while len(runs) > 1 and len(runs[-1]) < MIN_RUN and cut_off(runs[-2], runs[-1]):
        runs.pop()
    while len(runs) > 1 and len(runs[0]) < MIN_RUN and cut_off(runs[0], runs[1]):
        runs.pop(0)
    return [h for run in runs for h in run]


def _trim_to_lines(d: _Doc, part: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Quotes are set off as blocks: cut a span to start and end at line boundaries (up to LINE_SLACK
    unmatched words are allowed at either end, for edits)."""
    ln, a, b = d.lines, 0, len(part) - 1
    while a <= b and part[a][0] - LINE_SLACK - 1 >= 0 and ln[part[a][0] - LINE_SLACK - 1] == ln[part[a][0]]:
        a += 1
    while b >= a and part[b][0] + LINE_SLACK + 1 < len(ln) and ln[part[b][0] + LINE_SLACK + 1] == ln[part[b][0]]:
        b -= 1
    return part[a:b + 1]


def _split(pairs: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Cut a list of aligned word pairs where either side jumps by more than MAX_GAP."""
    out: list[list[tuple[int, int]]] = []
    for i, j in pairs:
        if out and i - out[-1][-1][0] <= MAX_GAP + 1 and 0 < j - out[-1][-1][1] <= MAX_GAP + 1:
            out[-1].append((i, j))
        else:
            out.append([(i, j)])
    return out


def _smooth(runs: list[list]) -> list[list]:
    """Drop runs without MIN_RUN consecutive words at the ends of a region (stray matches), merge inner
    ones into the previous run (edits inside a quote), then join equal neighbours."""
    def weak(run: list) -> bool:
        best = cur = 1
        for (i0, _), (i1, _) in zip(run[1], run[1][1:]):
            cur = cur + 1 if i1 == i0 + 1 else 1
            best = max(best, cur)
        return best < MIN_RUN

    while len(runs) > 1 and weak(runs[-1]):
        runs.pop()
    while len(runs) > 1 and weak(runs[0]):
        runs.pop(0)
    out: list[list] = []
    for od, pairs in runs:
        if out and (out[-1][0] == od or weak([od, pairs])):
            out[-1][1].extend((i, out[-1][1][-1][1]) if out[-1][0] != od else (i, t) for i, t in pairs)
        else:
            out.append([od, list(pairs)])
    return out


def _widen(d: _Doc, first: int, last: int, o: _Doc, ofirst: int, olast: int) -> tuple[tuple[int, int], ...]:
    """Character spans of words first..last of `d` (quoting) and ofirst..olast of `o` (source), widened over
    the text without words (punctuation, smilies) around them: to their line's start / end when the rest
    of that line has no words ("….please", "end!!! :)"), then over whole lines of such text above / below
    ("\n:cheers:\n:compress:") as long as both posts have the same ones (a smiley line the quoter adds is
    the quoter's own).  Both stay exact slices of their bodies."""
    def edges(doc: _Doc, a: int, b: int) -> Edges:
        body = doc.post.body
        return text_edges(body, doc.starts[a], extend_punctuation(body, doc.ends[b]), doc.ends[a - 1] if a > 0 else 0,
                      doc.starts[b + 1] if b + 1 < len(doc.starts) else len(body))

    q, s = edges(d, first, last), edges(o, ofirst, olast)
    qs = q.start if q.start is not None else d.starts[first]
    ss = s.start if s.start is not None else o.starts[ofirst]
    if q.start is not None and s.start is not None:
        for (qa, _, qt), (sa, _, st) in zip(q.above, s.above):
            if qt != st:
                break
            qs, ss = qa, sa
    qe = q.end if q.end is not None else extend_punctuation(d.post.body, d.ends[last])
    se = s.end if s.end is not None else extend_punctuation(o.post.body, o.ends[olast])
    if q.end is not None and s.end is not None:
        for (_, qb, qt), (_, sb, st) in zip(q.below, s.below):
            if qt != st:
                break
            qe, se = qb, sb
    return (qs, qe), (ss, se)


def detect_quotes(posts: Sequence[Post], *, min_words: int = 6) -> list[QuoteRelation]:
    """All quote relations among `posts` (any number of threads), in chronological order of the
    quoting posts."""
    thread_rank: dict[str, int] = {}
    for p in posts:
        thread_rank.setdefault(p.thread_id, len(thread_rank))
    ordered = sorted(posts, key=lambda p: (p.posted_at, thread_rank[p.thread_id], p.post_index))
    det = QuoteDetector(min_words=min_words)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the index is millions of small tuples: repeated full GC passes would make this quadratic
    try:
        for p in ordered:
            det.add(p)
    finally:
        if gc_was_enabled:
            gc.enable()
    return det.relations
