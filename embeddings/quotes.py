"""Quote detection: which spans of a post reproduce text first written in an earlier post.

Pure library (no I/O, no discord).  Algorithm, in one pass over the posts in chronological order:

1. Each body is tokenised into normalised words (casefolded, apostrophes dropped, punctuation and smilies
   such as ``:roll:`` / ``:)`` / ``8O`` ignored, bare image placeholders skipped) with a map back to exact
   character offsets.
2. Every processed post's word shingles (``SHINGLE`` consecutive words) go into a dict
   ``shingle -> [(post, position), ...]`` (first ``SHINGLE_CAP`` occurrences, so the first appearance is
   always there).  A new post looks up its own shingles to find candidate earlier posts: no all-pairs work.
3. Each candidate's seed hits are clustered and aligned with ``difflib`` on the word ids around the seeds;
   matching blocks separated by small gaps (edits) merge into near-verbatim regions.
4. Regions are chosen greedily (longest first; then marker-named author, same thread, earliest post) so
   that no word of the new post is credited twice.
5. Every word of every processed post carries its *origin* (the post and word where it first appeared
   as somebody's own words).  A region copied from post B is split by origin, so text B itself quoted
   from A is credited to A (chains), and B's own words to B.

Markers ("Originally Posted by X", "Quote: X", "X wrote:", ``>`` lines) lower the length threshold for the
text they introduce and make X the preferred source.  A short reply-quote without markers (a whole short
earlier post of the same thread repeated on its own lines at the start of a longer post) is accepted too.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Iterable, Mapping, Sequence

from .models import Post, QuoteRelation

SHINGLE = 3  # words per shingle (seed length)
SHINGLE_CAP = 12  # occurrences kept per shingle; the first appearance is always kept
MAX_CANDIDATES = 40  # candidate earlier posts aligned per post (by number of shared shingles)
MAX_GAP = 4  # words that may differ between two matching stretches of one quote (small edits)
CLUSTER_JUMP = 40  # seeds further apart than this (in either post) are aligned separately
MARGIN = 8  # words of context added around a seed cluster before aligning
LINE_SLACK = 1  # words a quote may stop short of a line boundary (0: quotes are whole lines)
MIN_RUN = 2  # a nested part (words of another origin) shorter than this is merged into its neighbours
MARKED_MIN_WORDS = 3  # threshold for text introduced by a quote marker
SHORT_MIN_WORDS = 2  # threshold for an unmarked whole-post reply quote (see _short_quotes)

_SMILEY = re.compile(
    r":[A-Za-z0-9_?!]+:"  # :roll: :happy7: :?:
    r"|(?<!\S)(?:[:;=8xX][-'^o]?[()DPpOo|/\\\]\[*$@3]+|<3|\^_?\^)(?=\s|$|[.,!?])"
)
_WORD = re.compile(r"(?:https?://|www\.)\S+|[^\W_]+(?:['\u2019][^\W_]+)*", re.I)  # a URL is one word
_BOILERPLATE = re.compile(r"^[ \t]*sent from my\b.*$", re.I | re.M)  # app footers ("... using Tapatalk")
_PLACEHOLDER = re.compile(r"^(?:image|img|attachment)$|\.(?:jpe?g|png|gif)$", re.I)
_MARKER = re.compile(
    r"^[ \t]*(?:(?:quote:?[ \t]*)?originally posted by[ \t]+(?P<a>.+?)"
    r"|quote:[ \t]*(?P<b>.*?)|(?P<c>.{1,60}?)[ \t]+wrote:)[ \t]*$",
    re.I | re.M,
)
_GT_LINE = re.compile(r"^[ \t]*>.*$", re.M)
_TRAIL = re.compile(r"[^\w\s]+")


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


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Normalised words of `text` with their exact [start, end) character offsets."""
    blank = lambda m: " " * len(m.group())  # noqa: E731
    masked = _SMILEY.sub(blank, _BOILERPLATE.sub(blank, text))
    out = []
    for m in _WORD.finditer(masked):
        word = m.group()
        if _PLACEHOLDER.search(word):
            continue
        out.append((word.replace("'", "").replace("\u2019", "").casefold(), m.start(), m.end()))
    return out


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


def find_markers(body: str) -> list[tuple[int, int, str | None]]:
    """Quote markers of a body: (start, end, named author or None) of the text each one introduces."""
    out = []
    for m in _MARKER.finditer(body):
        name = (m.group("a") or m.group("b") or m.group("c") or "").strip() or None
        nxt = body.find("\n\n", m.end() + 1)
        out.append((m.end(), len(body) if nxt < 0 else nxt, name))
    for m in _GT_LINE.finditer(body):
        out.append((m.start(), m.end(), None))
    return out


class QuoteDetector:
    """Incremental detector: feed posts in chronological order with `add`."""

    def __init__(self, min_words: int = 6):
        self.min_words = min_words
        self.docs: list[_Doc] = []
        self.vocab: dict[str, int] = {}
        self.shingles: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
        self.bodies: dict[tuple, dict[tuple, int]] = defaultdict(dict)  # thread -> word ids -> first doc
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
        if ids:
            self.bodies[d.post.thread_id].setdefault(tuple(ids), d.order)

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
            for cluster in _clusters(sorted(hits)):
                regions.extend(self._align(d, self.docs[doc], cluster))
        return regions

    def _align(self, d: _Doc, src: _Doc, cluster: list[tuple[int, int]]) -> list[_Region]:
        a0 = max(0, min(i for i, _ in cluster) - MARGIN)
        a1 = min(len(d.ids), max(i for i, _ in cluster) + SHINGLE + MARGIN)
        b0 = max(0, min(j for _, j in cluster) - MARGIN)
        b1 = min(len(src.ids), max(j for _, j in cluster) + SHINGLE + MARGIN)
        sm = SequenceMatcher(None, d.ids[a0:a1], src.ids[b0:b1], autojunk=False)
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
        return [_Region(src.order, p) for p in out if len(p) >= min(MARKED_MIN_WORDS, self.min_words)]

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
                part = _trim_to_lines(d, part)
                if not part:
                    continue
                first = part[0][0]
                need = MARKED_MIN_WORDS if first in marks else self.min_words
                if len(part) < need and not getattr(r, "short", False):
                    continue
                if getattr(r, "short", False) and len(part) != len(r.pairs):
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

    def _marked_words(self, d: _Doc) -> dict[int, str | None]:
        """Word positions inside text introduced by a quote marker -> the named author (or None)."""
        marks: dict[int, str | None] = {}
        for s, e, name in find_markers(d.post.body):
            for i, st in enumerate(d.starts):
                if s <= st < e:
                    marks[i] = name
        return marks

    def _short_quotes(self, d: _Doc) -> list[_Region]:
        """Whole short earlier posts of the thread repeated verbatim, on their own lines, at the start
        of a post that goes on with more text (a reply to a short post quoted without markers)."""
        if self.min_words <= SHORT_MIN_WORDS or len(d.ids) <= SHORT_MIN_WORDS:
            return []
        bodies, body = self.bodies.get(d.post.thread_id, {}), d.post.body
        out = []
        for end in range(SHORT_MIN_WORDS, min(self.min_words, len(d.ids))):
            nl = body.find("\n", d.ends[end - 1])
            if nl < 0 or body[d.ends[end - 1]:nl].strip(" \t.,!?;:)"):
                continue
            doc = bodies.get(tuple(d.ids[:end]))
            if doc is not None:
                r = _Region(doc, [(i, i) for i in range(end)])
                r.short = True
                out.append(r)
        return out[-1:]

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
        out = []
        for od, pairs in runs:
            o = self.docs[od]
            for i, ot in pairs:
                d.origin_doc[i], d.origin_tok[i] = od, ot
            qs, qe = d.starts[pairs[0][0]], _extend(d.post.body, d.ends[pairs[-1][0]])
            toks = [ot for _, ot in pairs]
            ss, se = o.starts[min(toks)], _extend(o.post.body, o.ends[max(toks)])
            sp, p = o.post, d.post
            out.append(QuoteRelation(
                thread_id=p.thread_id, quoting_post_id=p.post_id, quoting_post_index=p.post_index,
                quoting_author=p.author, quoting_posted_at=p.posted_at, source_post_id=sp.post_id,
                source_post_index=sp.post_index, source_author=sp.author, source_posted_at=sp.posted_at,
                text=p.body[qs:qe], quoting_start=qs, quoting_end=qe, source_start=ss, source_end=se,
                source_thread_id=sp.thread_id if sp.thread_id != p.thread_id else None))
        return out


def _clusters(hits: list[tuple[int, int]]) -> Iterable[list[tuple[int, int]]]:
    """Group seed hits (sorted by position in the new post) into separately aligned clusters."""
    cur: list[tuple[int, int]] = []
    for i, j in hits:
        if cur and (i - cur[-1][0] > CLUSTER_JUMP or abs(j - cur[-1][1]) > CLUSTER_JUMP + (i - cur[-1][0])):
            yield cur
            cur = []
        cur.append((i, j))
    if cur:
        yield cur


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
    """Merge runs shorter than MIN_RUN words into a neighbour, then join equal neighbours."""
    changed = True
    while changed and len(runs) > 1:
        changed = False
        for x, run in enumerate(runs):
            if len(run[1]) < MIN_RUN:
                y = x - 1 if x > 0 and (x == len(runs) - 1 or len(runs[x - 1][1]) >= len(runs[x + 1][1])) else x + 1
                runs[y][1][:] = sorted(runs[y][1] + [(i, runs[y][1][0][1]) for i, _ in run[1]])
                del runs[x]
                changed = True
                break
    out: list[list] = []
    for od, pairs in runs:
        if out and out[-1][0] == od:
            out[-1][1].extend(pairs)
        else:
            out.append([od, list(pairs)])
    return out


def _extend(body: str, end: int) -> int:
    """Include punctuation glued to the last word ("end!!!", "it.") in a span."""
    m = _TRAIL.match(body, end)
    return m.end() if m else end


def detect_quotes(posts: Sequence[Post], *, min_words: int = 6,
                  thread_titles: Mapping[str, str] | None = None) -> list[QuoteRelation]:
    """All quote relations among `posts` (any number of threads), in chronological order of the
    quoting posts.  `thread_titles` is accepted for callers' convenience and not needed here."""
    thread_rank: dict[str, int] = {}
    for p in posts:
        thread_rank.setdefault(p.thread_id, len(thread_rank))
    ordered = sorted(posts, key=lambda p: (p.posted_at, thread_rank[p.thread_id], p.post_index))
    det = QuoteDetector(min_words=min_words)
    for p in ordered:
        det.add(p)
    return det.relations
