"""Boilerplate found by repetition: paragraphs that are nobody's own words, left out of passages and quotes.

Mail carries paragraphs that no sender wrote for the message: disclaimers ("This e-mail and any attachments are
confidential..."), other lists' footers, corporate signature blocks without a "-- " line, automated letters pasted
into a question. `mailbody` recognises some kinds by their form; this pass finds the rest by repetition, over
all threads once every file is read (any format).

A paragraph is a run of non-blank lines at one quote depth. It is matched on its text with the quote prefixes
(">", "> >", "|") stripped, white space collapsed and casefolded, so a quoted or re-wrapped copy is the same
paragraph. One of fewer than MIN_WORDS words ("Thanks,", "Best regards,") is not counted.

A paragraph is boilerplate when it is a post's own text (not quoted) in at least MIN_THREADS threads, and

- those posts are by at least MIN_AUTHORS authors (a company's disclaimer, another list's footer), or
- by fewer, and in at least MIN_THREADS threads it closes the author's own text (one person's signature block):
  what follows it is short, repeated too, quoted, or already left out.

Only own copies are counted, so a real paragraph quoted by many people, in one thread or in the few threads one
discussion was split into, is not boilerplate; the closing position keeps a question one person asked again in
three threads. A text posted again whole is not boilerplate either: a post whose own paragraphs are all repeated
is not counted, and a run of repeated own paragraphs of more than MAX_RUN_WORDS words (an FAQ, an announcement)
clears every paragraph in it. Every copy of a boilerplate paragraph, quoted or not, is added to its post's
`excluded` spans; the body is never changed.

Linear in the archive: each paragraph is hashed once; only hashes seen MIN_THREADS times are looked at again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from hashlib import blake2b
from typing import NamedTuple

from ..models import Post, Thread

MIN_WORDS = 8  # words (white-space separated, each with a letter or digit) of a paragraph that is counted
MIN_AUTHORS = 3  # distinct authors of the posts with an own copy
MIN_THREADS = 3  # distinct threads with an own copy (and, for fewer authors, a closing one)
MAX_RUN_WORDS = 250  # a longer run of repeated own paragraphs is a text posted again, not boilerplate

# "> > ", "| ", and "?" where a non-breaking space was lost ("> >? ? >> "), as in `mailbody`
_QUOTE_PREFIX = re.compile(r"(?:[ \t\u00a0?]*[>|])*[ \t\u00a0]*")
_PREFIX_START = frozenset(" \t\u00a0?>|")  # a line that starts otherwise has no quote prefix
_SPACES = re.compile(r"\s+")
# between spaces, a "word" without a letter or digit ("--", "|", "***"), in text whose only white space is " "
_WORDLESS = re.compile(r" (?:[^\w ]|_)+(?= )")
_NEXT_PART = re.compile(r"-{5,} ?next part ?-{5,}", re.I)  # pipermail: "-------------- next part --------------"

Span = tuple[int, int]


class Paragraph(NamedTuple):
    start: int  # offset of its first line (the quote prefix included)
    end: int  # end of its last line
    quoted: bool
    words: int  # its words with a letter or digit (fewer than MIN_WORDS: its white-space separated tokens)
    key: bytes | None  # hash of the normalised text; None when too short to count


@dataclass(frozen=True)
class Found:
    """What `leave_out_boilerplate` left out: distinct paragraphs, and posts whose `excluded` grew."""

    paragraphs: int = 0
    posts: int = 0

    def warnings(self) -> list[str]:
        if not self.posts:
            return []
        return [f"boilerplate: {self.paragraphs} repeated paragraph(s) left out of {self.posts} post(s)"]


def _paragraph(start: int, end: int, depth: int, text: str) -> Paragraph:
    norm = _SPACES.sub(" ", text).strip()
    words = norm.count(" ") + 1 if norm else 0
    if words >= MIN_WORDS:
        words -= len(_WORDLESS.findall(f" {norm} "))
    if words < MIN_WORDS:
        return Paragraph(start, end, depth > 0, words, None)
    key = blake2b(norm.casefold().encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return Paragraph(start, end, depth > 0, words, key)


def paragraphs(body: str) -> list[Paragraph]:
    """The paragraphs of `body` in order: runs of non-blank lines (blank: nothing but a quote prefix and white
    space), a new one wherever the quote depth changes."""
    out: list[Paragraph] = []
    texts: list[str] = []  # the lines of a quoted paragraph without their prefixes (own text is sliced whole)
    start = end = depth = pos = 0
    inside = False
    for line in body.split("\n"):
        if line[:1] in _PREFIX_START:
            prefix = _QUOTE_PREFIX.match(line).group()
            text = line[len(prefix) :]
            line_depth = prefix.count(">") + prefix.count("|")
        else:
            text, line_depth = line, 0
        blank = not text or text.isspace()
        if inside and (blank or line_depth != depth):
            out.append(_paragraph(start, end, depth, " ".join(texts) if depth else body[start:end]))
            inside = False
        if not blank:
            if not inside:
                start, depth, inside = pos, line_depth, True
                texts = []
            if depth:
                texts.append(text)
            end = pos + len(line)
        pos += len(line) + 1
    if inside:
        out.append(_paragraph(start, end, depth, " ".join(texts) if depth else body[start:end]))
    return out


def _inside(para: Paragraph, spans: Sequence[Span]) -> bool:
    return any(s <= para.start and para.end <= e for s, e in spans)


def _ends_own_text(paras: list[Paragraph], j: int, body: str, excluded: Sequence[Span]) -> bool:
    """Is paragraph `j` where the author's own text ends: quoted text, text already left out (a quoted header
    block, a footer), the attribution line of a quote ("On ... X wrote:"), or a list archive's note of a
    scrubbed attachment?"""
    para = paras[j]
    if para.quoted or _inside(para, excluded) or _NEXT_PART.match(body, para.start):
        return True
    return j + 1 < len(paras) and paras[j + 1].quoted and body[para.start : para.end].rstrip().endswith(":")


def _closing(paras: list[Paragraph], body: str, excluded: Sequence[Span], repeated: set[bytes]) -> list[bool]:
    """For each paragraph: does it close the author's own text? Every paragraph after it, up to where the own
    text ends, is short or repeated itself."""
    out = [True] * len(paras)
    for i in range(len(paras) - 2, -1, -1):
        after = paras[i + 1]
        if not _ends_own_text(paras, i + 1, body, excluded):
            out[i] = out[i + 1] and (after.key is None or after.key in repeated)
    return out


def merge_spans(spans: Iterable[Span], body: str) -> tuple[Span, ...]:
    """`spans` sorted and merged where they overlap, touch, or are apart by whitespace only."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and (start <= out[-1][1] or not body[out[-1][1] : start].strip()):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def boilerplate_keys(posts: Sequence[tuple[Post, list[Paragraph]]]) -> set[bytes]:
    """The hashes of the paragraphs that are boilerplate among `posts` (each with its paragraphs)."""
    own_copies = Counter(p.key for _, paras in posts for p in paras if p.key is not None and not p.quoted)
    often = {key for key, n in own_copies.items() if n >= MIN_THREADS}
    authors: dict[bytes, set[str]] = {}
    threads: dict[bytes, set[str]] = {}
    for post, paras in posts:
        own = [p.key for p in paras if p.key is not None and not p.quoted]
        if all(key in often for key in own):
            continue  # nothing of its own but repeated text: a text posted again (an FAQ, an announcement)
        for p in paras:
            if p.key in often and not p.quoted:
                authors.setdefault(p.key, set()).add(post.author.casefold())
                threads.setdefault(p.key, set()).add(post.thread_id)
    repeated = {key for key, seen in threads.items() if len(seen) >= MIN_THREADS}
    found = {key for key in repeated if len(authors[key]) >= MIN_AUTHORS}
    solo = repeated - found
    closing: dict[bytes, set[str]] = {}
    for post, paras in posts:
        if not any(p.key in solo for p in paras):
            continue
        for p, closes in zip(paras, _closing(paras, post.body, post.excluded, repeated)):
            if closes and p.key in solo and not p.quoted:
                closing.setdefault(p.key, set()).add(post.thread_id)
    keys = found | {key for key, seen in closing.items() if len(seen) >= MIN_THREADS}
    return keys - _reposted(posts, keys)


def _reposted(posts: Sequence[tuple[Post, list[Paragraph]]], keys: set[bytes]) -> set[bytes]:
    """Those of `keys` in a run of own repeated paragraphs (short ones between them count) of more than
    MAX_RUN_WORDS words: the parts of a text posted again (an FAQ, an announcement), not a signature."""
    out: set[bytes] = set()
    for post, paras in posts:
        if not any(p.key in keys for p in paras):
            continue
        run: list[bytes | None] = []
        words = 0
        for p in [*paras, None]:
            if p is not None and not p.quoted and (p.key in keys or (run and p.key is None)):
                if not _inside(p, post.excluded):
                    run.append(p.key)
                    words += p.words
                    continue
            if words > MAX_RUN_WORDS:
                out.update(key for key in run if key is not None)
            run, words = [], 0
    return out


def leave_out_boilerplate(threads: Sequence[Thread], split: Callable[[str], list[Paragraph]] = paragraphs) -> Found:
    """Add every copy of a boilerplate paragraph to its post's `excluded` spans (posts are replaced in their
    threads; bodies are unchanged). `split`: `paragraphs`, or what gives the same answers faster."""
    posts = [(post, split(post.body)) for thread in threads for post in thread.posts]
    keys = boilerplate_keys(posts)
    if not keys:
        return Found()
    changed: dict[int, Post] = {}  # id(post) -> the post with its new spans
    used: set[bytes] = set()
    for post, paras in posts:
        hits = [p for p in paras if p.key in keys and not _inside(p, post.excluded)]
        if hits:
            changed[id(post)] = replace(
                post, excluded=merge_spans([*post.excluded, *((p.start, p.end) for p in hits)], post.body)
            )
            used.update(p.key for p in hits)
    for thread in threads:
        thread.posts = [changed.get(id(post), post) for post in thread.posts]
    return Found(paragraphs=len(used), posts=len(changed))
