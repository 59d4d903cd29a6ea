"""Quote detection: which spans of a post reproduce text first written in an earlier post.

Pure library (no I/O, no discord).  Algorithm, in one pass over the posts in chronological order:

1. Each body is tokenised into normalised words (casefolded, apostrophes dropped, punctuation and smilies
   such as ``:roll:`` / ``:)`` / ``8O`` ignored, bare image placeholders skipped) with a map back to exact
   character offsets.
2. Every processed post's word shingles (``SHINGLE`` consecutive words) go into a dict
   ``shingle -> post, word position, post, word position, ...`` (first ``SHINGLE_CAP`` occurrences, so the first
   appearance is always there).  A new post looks up its own shingles to find candidate earlier posts: no
   all-pairs work.
3. Each candidate's seed hits are clustered and aligned with ``difflib`` on the word ids around the seeds;
   matching blocks separated by small gaps (edits) merge into near-verbatim regions.  Seeds an alignment
   left out (paragraphs quoted in another order than the source's: one alignment keeps no crossing blocks)
   are aligned again, with the words already matched masked, until none is left.
4. Regions are chosen greedily (longest first; then marker-named author, same thread, earliest post) so
   that no word of the new post is credited twice.  A span's ends must be runs of MIN_RUN matching words
   unless only one word differs before them (no stray word of the quoter's text), then whole lines; both
   cuts are repeated until neither changes the quote.
5. Every word of every processed post carries its *origin* (the post and word where it first appeared
   as somebody's own words).  A region copied from post B is split by origin, so text B itself quoted
   from A is credited to A (chains), and B's own words to B.  Character spans take in the text without
   words around them (punctuation, smilies) to the line's ends, and whole such lines both posts share.

Markers ("Originally Posted by X", "Quote: X", "X wrote:", ``>`` lines) lower the length threshold for the
text they introduce and make X the preferred source.  A short reply-quote without markers (a whole short
earlier post of the same thread repeated on its own lines at the start of a longer post) is accepted too.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from ..models import Post, QuoteRelation
from .alignment import MAX_GAP, WordMatch, origin_runs, seed_clusters, split_at_gaps, trim_weak_ends
from .explicit import quote_lines
from .order import PROGRESS_EVERY, detection_order, feed  # noqa: F401  (PROGRESS_EVERY: re-exported)
from .spans import Span, char_spans
from .text import find_markers, outside, tokenize

SHINGLE = 3  # words per shingle (seed length)
SHINGLE_CAP = 12  # occurrences kept per shingle; the first appearance is always kept
MAX_CANDIDATES = 40  # candidate earlier posts aligned per post (by number of shared shingles)
MARGIN = 8  # words of context added around a seed cluster before aligning
LINE_SLACK = 1  # words a quote may stop short of a line boundary (0: quotes are whole lines)
MARKED_MIN_WORDS = 3  # threshold for text introduced by a quote marker
REPOST_SHARE = 0.9  # see QuoteDetector._is_repost
SHORT_MIN_WORDS = 3  # threshold for an unmarked short reply-quote (see _short_quote)
# a quote of another thread's post needs more words: short stretches shared across threads are a log line or a
# template both copied from elsewhere ("* checking package dependencies ... OK"), not one quoting the other
CROSS_THREAD_MIN_WORDS = 12
# ... and, without a quote marker, more still, unless it is (nearly) all of the other post: part of a post that two
# threads share unmarked is a notice or a log line both pasted (a CRAN message, a configure flag), not one poster
# quoting the other; a whole post copied into another thread is a quote
CROSS_THREAD_UNMARKED_MIN_WORDS = 30
CROSS_THREAD_WHOLE_SHARE = 0.8  # share of the source post's words (all the post reproduces of it, in any order)
OUTSIDE = -1  # origin of words quoted with ">" from a message not in the archive: nobody's own words here


def new_occurrences() -> array:
    """A shingle's occurrences: post, word position, post, word position, ... (unsigned 32-bit)."""
    return array("I")


@dataclass
class IndexedPost:
    """A post as the detector sees it: its normalised words, where each sits, and where each came from."""

    post: Post
    order: int  # position in the detector's chronological list of posts
    # word ids (the detector's vocabulary): a list, or an array for a post restored from saved state
    words: Sequence[int]
    # per word, as 32-bit arrays (a detector holds every post it read: int objects would cost 8-10 times more)
    word_starts: Sequence[int]  # character offset of each word in the body
    word_ends: Sequence[int]
    word_lines: Sequence[int]  # line number of each word
    # for each word: the post (order) and word position where it first appeared as somebody's own words
    origin_post: Sequence[int] = field(default_factory=list)
    origin_word: Sequence[int] = field(default_factory=list)


@dataclass
class Candidate:
    """A stretch of the new post aligned with one earlier post, before selection."""

    source: int  # the earlier post (order)
    matches: list[WordMatch]
    rank: tuple = ()  # selection order: longest first, then marker-named author, same thread, earliest
    whole_short_post: bool = False  # from _short_quote: accepted whole, below min_words


class QuoteDetector:
    """Incremental detector: feed posts in chronological order with `add`."""

    def __init__(self, min_words: int = 6):
        self.min_words = min_words
        self.posts: list[IndexedPost] = []
        self.vocab: dict[str, int] = {}
        # shingle -> its occurrences, (post, word position) pairs laid flat in an array: a detector holds millions of
        # them, which as tuples of int objects would be 20 times larger and leave the heap fragmented when freed
        self.shingles: dict[tuple, array] = defaultdict(new_occurrences)
        # thread -> word ids of a whole post shorter than min_words -> (post, 0)
        self.short_posts: dict[str, dict[tuple, tuple[int, int]]] = defaultdict(dict)
        self.relations: list[QuoteRelation] = []

    # -- indexing -------------------------------------------------------------------------------
    def _indexed(self, post: Post) -> IndexedPost:
        tokens = tokenize(post.body)
        # list footers, signatures, quoted header blocks: boilerplate is never a quote; nor is an attribution line
        # ("On <date>, X wrote:"), which says who wrote a quote rather than saying anything
        skipped = tuple(post.excluded) + tuple(quote_lines(post.body).attributions)
        if skipped:
            tokens = outside(tokens, skipped)
        words = [self.vocab.setdefault(w, len(self.vocab)) for w, _, _ in tokens]
        starts = array("i", (s for _, s, _ in tokens))  # 4 bytes a word, not an int object: every post is kept
        lines, line, pos = array("i"), 0, 0
        for start in starts:
            line += post.body.count("\n", pos, start)
            pos = start
            lines.append(line)
        return IndexedPost(post, len(self.posts), words, starts, array("i", (e for _, _, e in tokens)), lines)

    def _remember(self, new: IndexedPost) -> None:
        words = new.words
        for i in range(len(words) - SHINGLE + 1):
            found = self.shingles[tuple(words[i : i + SHINGLE])]
            if len(found) < 2 * SHINGLE_CAP:
                found.extend((new.order, i))
        if len(words) < self.min_words:
            self.short_posts[new.post.thread_id].setdefault(tuple(words), (new.order, 0))

    # -- candidates -----------------------------------------------------------------------------
    def _candidates(self, new: IndexedPost) -> list[Candidate]:
        words = new.words
        seeds: dict[int, list[WordMatch]] = defaultdict(list)  # earlier post -> shared shingle positions
        for i in range(len(words) - SHINGLE + 1):
            flat = iter(self.shingles.get(tuple(words[i : i + SHINGLE]), ()))
            for source, j in zip(flat, flat):
                seeds[source].append(WordMatch(i, j))
        best = sorted(seeds.items(), key=lambda kv: -len({m.quoting for m in kv[1]}))[:MAX_CANDIDATES]
        candidates = []
        for source, source_seeds in best:
            for cluster in seed_clusters(source_seeds):
                candidates.extend(self._align_all(new, self.posts[source], cluster))
        return candidates

    def _align_all(self, new: IndexedPost, src: IndexedPost, cluster: list[WordMatch]) -> list[Candidate]:
        """Align a seed cluster, then again the seeds it left unmatched, until none is left.  One alignment
        keeps only non-crossing blocks, so a post quoting a source's paragraphs in another order needs more
        than one; words of the new post matched by an earlier pass are masked out of the later ones."""
        found, matched, todo = [], set(), [cluster]
        while todo:
            seeds = todo.pop()
            candidates, newly_matched = self._align(new, src, seeds, matched)
            found.extend(candidates)
            matched |= newly_matched
            rest = [s for s in seeds if s.quoting not in matched]
            if len(rest) < len(seeds):  # progress: a candidate took at least one seed
                todo.extend(seed_clusters(rest))
        return found

    def _align(
        self, new: IndexedPost, src: IndexedPost, cluster: list[WordMatch], masked: set[int] = frozenset()
    ) -> tuple[list[Candidate], set[int]]:
        """Candidates of one alignment around `cluster`, and the new post's words in them; words in `masked`
        cannot match."""
        new_lo = max(0, min(s.quoting for s in cluster) - MARGIN)
        new_hi = min(len(new.words), max(s.quoting for s in cluster) + SHINGLE + MARGIN)
        src_lo = max(0, min(s.source for s in cluster) - MARGIN)
        src_hi = min(len(src.words), max(s.source for s in cluster) + SHINGLE + MARGIN)
        window = new.words[new_lo:new_hi]
        if masked:  # a masked word gets an id no real word has
            window = [-1 - i if i in masked else new.words[i] for i in range(new_lo, new_hi)]
        matcher = SequenceMatcher(None, window, src.words[src_lo:src_hi], autojunk=False)
        stretches: list[list[WordMatch]] = []
        current: list[WordMatch] = []
        block_end = None
        for i, j, size in matcher.get_matching_blocks():
            if not size:
                continue
            i, j = i + new_lo, j + src_lo
            if block_end and (i - block_end.quoting > MAX_GAP or not 0 <= j - block_end.source <= MAX_GAP):
                stretches.append(current)
                current = []
            current.extend(WordMatch(i + t, j + t) for t in range(size))
            block_end = WordMatch(i + size, j + size)
        if current:
            stretches.append(current)
        candidates = [Candidate(src.order, s) for s in stretches if len(s) >= min(MARKED_MIN_WORDS, self.min_words)]
        return candidates, {m.quoting for c in candidates for m in c.matches}

    # -- selection ------------------------------------------------------------------------------
    def add(self, post: Post) -> list[QuoteRelation]:
        """Detect the quotes of `post` (later than every post added before) and remember its words."""
        new = self._indexed(post)
        n = len(new.words)
        new.origin_post = array("i", [new.order]) * n
        new.origin_word = array("i", range(n))
        marked = self._marked_words(new)
        candidates = self._candidates(new) + self._short_quote(new)
        for c in candidates:
            src = self.posts[c.source].post
            named = marked.get(c.matches[0].quoting)
            c.rank = (
                -len(c.matches),
                not (named and named.casefold() == src.author.casefold()),
                src.thread_id != post.thread_id,
                c.source,
            )
        shared: dict[int, set[int]] = defaultdict(set)  # earlier post -> its words this post reproduces
        for c in candidates:
            shared[c.source].update(m.source for m in c.matches)
        chosen: list[Candidate] = []
        covered = [False] * n  # no word of the new post is credited twice
        for c in sorted(candidates, key=lambda c: c.rank):
            for quote in split_at_gaps([m for m in c.matches if not covered[m.quoting]]):
                quote = self._trimmed(new, quote)
                if not quote:
                    continue
                is_marked = quote[0].quoting in marked
                needed = MARKED_MIN_WORDS if is_marked else self.min_words
                source = self.posts[c.source]
                if source.post.thread_id != post.thread_id:
                    whole = len(shared[c.source]) >= CROSS_THREAD_WHOLE_SHARE * len(source.words)
                    unmarked = CROSS_THREAD_MIN_WORDS if whole else CROSS_THREAD_UNMARKED_MIN_WORDS
                    needed = max(needed, CROSS_THREAD_MIN_WORDS if is_marked else unmarked)
                if len(quote) < needed and not c.whole_short_post:
                    continue
                if c.whole_short_post and len(quote) != len(c.matches):
                    continue
                if self._is_repost(new, c.source, quote):
                    continue
                for i in range(quote[0].quoting, quote[-1].quoting + 1):
                    covered[i] = True
                chosen.append(Candidate(c.source, quote))
        relations = [r for c in chosen for r in self._relations(new, c)]
        relations.sort(key=lambda r: (r.quoting_start, r.source_posted_at))
        self._mark_outside(new, covered)
        self.posts.append(new)
        self._remember(new)
        self.relations.extend(relations)
        return relations

    def _is_repost(self, new: IndexedPost, source: int, quote: list[WordMatch]) -> bool:
        """The author posting (nearly) the same whole post again (a double post or corrected re-post)
        is not quoting: same author (any case) and the span covers REPOST_SHARE of both posts.  Tested
        against the post the span was copied from and against the posts its words first appeared in
        (a re-post copied from somebody else's copy of the author's post is still a re-post)."""
        author, src = new.post.author.casefold(), self.posts[source]
        words_by_origin: dict[int, int] = defaultdict(int)
        for m in quote:
            words_by_origin[src.origin_post[m.source]] += 1
        words_by_origin[source] = len(quote)
        words_by_origin.pop(OUTSIDE, None)
        return any(
            count >= REPOST_SHARE * len(new.words)
            and count >= REPOST_SHARE * len(self.posts[origin].words)
            and self.posts[origin].post.author.casefold() == author
            for origin, count in words_by_origin.items()
        )

    @staticmethod
    def _mark_outside(new: IndexedPost, covered: list[bool]) -> None:
        """Words of the new post's ">" lines that no earlier post here wrote were quoted from a message outside
        the archive: they are nobody's own words here, so whoever quotes them next is not crediting this post."""
        for q in quote_lines(new.post.body).quoted:
            for i in range(bisect_left(new.word_starts, q.start), bisect_left(new.word_starts, q.end)):
                if not covered[i]:
                    new.origin_post[i], new.origin_word[i] = OUTSIDE, i

    @staticmethod
    def _marked_words(new: IndexedPost) -> dict[int, str | None]:
        """Word positions inside text introduced by a quote marker -> the named author (or None)."""
        marked: dict[int, str | None] = {}
        for start, end, name in find_markers(new.post.body):
            for i in range(bisect_left(new.word_starts, start), bisect_left(new.word_starts, end)):
                marked[i] = name
        return marked

    def _short_quote(self, new: IndexedPost) -> list[Candidate]:
        """A short reply-quote without markers: the first whole line(s) of a post that goes on with more
        text reproduce a whole earlier post of the thread at least SHORT_MIN_WORDS words long (and
        shorter than min_words: longer ones are found by the shingles)."""
        short_posts, lines = self.short_posts.get(new.post.thread_id, {}), new.word_lines
        for end in range(min(self.min_words - 1, len(new.words) - 1), SHORT_MIN_WORDS - 1, -1):
            if lines[end] != lines[end - 1] and (hit := short_posts.get(tuple(new.words[:end]))):
                source, first = hit
                return [Candidate(source, [WordMatch(i, first + i) for i in range(end)], whole_short_post=True)]
        return []

    def _trimmed(self, new: IndexedPost, quote: list[WordMatch]) -> list[WordMatch]:
        """A quote without weak ends, on line boundaries, until neither cut changes it: cutting to lines can leave
        a short stretch at an end ("…the R\nCMD build call).\n\nDuncan" matching "R CMD build" of the post
        quoted below it), which is then no end of the quote either."""
        while True:
            cut = self._trim_to_lines(new, trim_weak_ends(quote))
            if len(cut) == len(quote):
                return cut
            quote = cut

    @staticmethod
    def _trim_to_lines(new: IndexedPost, quote: list[WordMatch]) -> list[WordMatch]:
        """Quotes are set off as blocks: cut a quote to start and end at line boundaries (up to LINE_SLACK
        unmatched words are allowed at either end, for edits)."""
        lines, first, last = new.word_lines, 0, len(quote) - 1
        while (
            first <= last
            and quote[first].quoting - LINE_SLACK - 1 >= 0
            and lines[quote[first].quoting - LINE_SLACK - 1] == lines[quote[first].quoting]
        ):
            first += 1
        while (
            last >= first
            and quote[last].quoting + LINE_SLACK + 1 < len(lines)
            and lines[quote[last].quoting + LINE_SLACK + 1] == lines[quote[last].quoting]
        ):
            last -= 1
        return quote[first : last + 1]

    # -- chains ---------------------------------------------------------------------------------
    def _relations(self, new: IndexedPost, chosen: Candidate) -> list[QuoteRelation]:
        """One relation per run of the chosen quote's words that first appeared in the same post."""
        src = self.posts[chosen.source]
        relations, prev_end = [], 0
        for run in origin_runs(chosen.matches, src.origin_post, src.origin_word):
            for word in run.words:
                new.origin_post[word.quoting], new.origin_word[word.quoting] = run.origin, word.origin
            if run.origin == OUTSIDE:  # copied from a copy of text from outside the archive: credited to nobody
                continue
            origin = self.posts[run.origin]
            quoted, source = char_spans(new, run, origin)
            quoted = Span(max(quoted.start, prev_end), quoted.end)
            prev_end = quoted.end
            quoting_post, source_post = new.post, origin.post
            relations.append(
                QuoteRelation(
                    thread_id=quoting_post.thread_id,
                    quoting_post_id=quoting_post.post_id,
                    quoting_post_index=quoting_post.post_index,
                    quoting_author=quoting_post.author,
                    quoting_posted_at=quoting_post.posted_at,
                    source_post_id=source_post.post_id,
                    source_post_index=source_post.post_index,
                    source_author=source_post.author,
                    source_posted_at=source_post.posted_at,
                    text=quoting_post.body[quoted.start : quoted.end],
                    quoting_start=quoted.start,
                    quoting_end=quoted.end,
                    source_start=source.start,
                    source_end=source.end,
                    source_thread_id=source_post.thread_id,
                )
            )
        return relations


def detect_quotes(
    posts: Sequence[Post], *, min_words: int = 6, progress: Callable[[int, int], None] | None = None
) -> list[QuoteRelation]:
    """All quote relations among `posts` (any number of threads), in chronological order of the
    quoting posts. `progress(done, total)` is called before the first post, every `PROGRESS_EVERY` posts
    and after the last (`order.feed`)."""
    detector = QuoteDetector(min_words=min_words)
    return feed(detector, detection_order(posts), progress)
