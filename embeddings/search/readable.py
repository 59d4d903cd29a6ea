"""The passage a result shows is a readable piece of what the poster said: not a stub, not their sign-off.

Mail and forum replies end in a closing — "Cheers,\\n\\n\\tSebastian", "HTH,\\n\\n-Roy", "Thanks,\\nGabor\\n\\n[...]" —
that the archive-wide boilerplate pass (ingest/boilerplate.py) leaves in when the poster closes differently each
time or posted in fewer than three threads. A result's passage is cut before such a closing: a closing word on
its own line, then at most a few short lines (a name, initials, "[...]"); or a last paragraph that is only the
poster's name ("…current CRAN version.\n\nGabor"). The cut is a shorter span of the same
post (`passage_end` moves with it), so `body[start:end] == passage` still holds; a passage that would be left
without a word keeps its closing. A stub (a few words, or a lead-in ending in ":") is shown with the post's
next passage when that follows it directly (`with_next`).

A passage ends where a sentence of the post does (`with_sentence_end`): when it stops without sentence-final
punctuation while the poster's own text goes on (the chunker's token budget cut a long sentence, or a detected
quote cut into the poster's line), it is extended to the end of that sentence, through the post's own passages
only (never into quoted or left-out text) and within SHOWN_MAX_CHARS; when that cannot be done it is marked
(`ends_mid_sentence`) and shown with a trailing "…", as a passage that starts mid-sentence is shown with a leading
one (`continues_sentence`; CLI and Discord alike).
"""

from __future__ import annotations

import re

from ..names import fold_name
from ..passages.sentences import ends_abbreviation

CLOSING = re.compile(
    r"(?im)^[ \t]*(?:cheers|thanks(?: again| a lot| in advance)?|thank you(?: (?:very much|all|again))?|many thanks"
    r"|best(?: wishes| regards)?|(?:kind |warm |with )?regards|hth|all the best|greetings|ciao|sincerely"
    r"|yours(?: sincerely| truly)?|take care|bw|br)\b[^\n\w]{0,3}[ \t]*$"
)
STUB_WORDS = 20  # a best passage shorter than this, or ending in ":", is shown with the post's next passage
SHOWN_MAX_CHARS = 1500  # ... while both together stay within this
MAX_NAME_LINES = 3  # lines after the closing word: a name, a title, "[...]"
MAX_NAME_CHARS = 60
# where a sentence ends: ".", "!" or "?" (closing quote marks and brackets after it) before a space or the end
SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s|$)")
SENTENCE_FINAL = re.compile(r"[.!?][\"'”’)\]]*$")  # a text that ends so ends a sentence
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
NOT_SPACE = re.compile(r"\S")
# what ends the poster's say though the body goes on: a signature's "-- " line, a list's note of a dropped part
TEXT_ENDS = re.compile(r"(?:--[ \t]*(?:\n|$)|\[\[alternative HTML version deleted\]\])")


def closing_start(text: str) -> int | None:
    """Where a closing at the end of `text` begins (the start of its line), or None when it has none."""
    for match in reversed(list(CLOSING.finditer(text))):
        after = [line for line in text[match.end() :].split("\n") if line.strip()]
        if len(after) > MAX_NAME_LINES or any(len(line.strip()) > MAX_NAME_CHARS for line in after):
            return None  # words follow it: it was not the end of the post's say
        if any(line.rstrip().endswith((".", "?", "!")) and len(line.split()) > 3 for line in after):
            return None  # a sentence, not a name
        return match.start()
    return None


def signature_start(text: str, author: str) -> int | None:
    """Where a bare signature ends `text`: a last line after a blank one that is only the author's name or part
    of it ("Gabor" for Gábor Csárdi, "-Roy"), accents and case ignored; None when there is none."""
    head, blank, last = text.rstrip().rpartition("\n\n")
    words = re.findall(r"\w+", fold_name(last))
    if not blank or not head.strip() or not words or len(words) > 3 or "\n" in last.strip():
        return None
    return len(head) if set(words) <= set(re.findall(r"\w+", fold_name(author))) else None


def without_closing(result) -> None:
    """Cut `result`'s passage (and `passage_end`, its highlights) before the closing it ends with, if any."""
    cut = closing_start(result.passage)
    if cut is None:
        cut = signature_start(result.passage, getattr(result, "author", "") or "")
    if cut is None:
        return
    kept = result.passage[:cut].rstrip()
    if not re.search(r"\w", kept):
        return
    result.passage_end = result.passage_start + len(kept)
    result.passage = kept
    result.ends_mid_sentence = False  # what followed it was the sign-off, not more of the sentence
    if result.highlights:
        result.highlights = [(s, min(e, len(kept))) for s, e in result.highlights if s < len(kept)]


def with_next(result, store) -> None:
    """Show a stub — a best passage of a few words, or a lead-in ending in ":" ("In windows the error is the
    following:") — together with the post's next passage, when it follows at once (nothing but space, or the
    passages' shared sentence, between them: the span stays the poster's own words) and both fit
    SHOWN_MAX_CHARS."""
    text = result.passage.rstrip()
    if len(re.findall(r"\w+", text)) >= STUB_WORDS and not text.endswith(":"):
        return
    following = store.next_passage(result.post_id, result.passage_start)
    if following is None or following[1] - result.passage_start > SHOWN_MAX_CHARS:
        return
    post = store.posts_by_ids([result.post_id]).get(result.post_id)
    body = post["body"] if post is not None else ""
    start, end = following
    if start > result.passage_end and body[result.passage_end : start].strip():
        return  # quoted or left-out text lies between them
    result.passage_end = end
    result.passage = body[result.passage_start : end]


def continues_sentence(result) -> bool:
    """Does the passage go on from words before it in its post? It starts later in the post, and not with what
    starts a sentence (a capital, a quote mark, a bullet) but in lower case or with a number. Shown with a
    leading "…" (CLI and Discord alike)."""
    first = result.passage.lstrip()[:1]
    return getattr(result, "passage_start", 0) > 0 and (first.islower() or first.isdigit())


def ends_sentence(text: str, after: str) -> bool:
    """Does `text`, followed in its post by `after`, end where a sentence does: with sentence-final punctuation,
    with ":" at the end of a line (a lead-in), at a paragraph break, or with nothing of the poster's after it
    (the end of the post, a signature's "-- " line, a "[[alternative HTML version deleted]]" note)?"""
    said = text.rstrip()
    if not said or not after.strip() or TEXT_ENDS.match(after.lstrip()):
        return True
    gap = text[len(said) :] + after[: len(after) - len(after.lstrip())]  # the space between it and what follows
    final = SENTENCE_FINAL.search(said)
    if final and not _abbreviated(said + after, final.start()):
        return True
    return said.endswith(":") and "\n" in gap or gap.count("\n") >= 2


def _abbreviated(text: str, at: int) -> bool:
    """Is the punctuation at `at` the "." of an abbreviation ("e.g.", "Mr.", "pp. 12"), as passages read it?"""
    if text[at] != ".":
        return False
    after = NOT_SPACE.search(text, at + 1)  # what comes after it ("pp." is one before a number)
    return ends_abbreviation(text, at + 1, after.start() if after else len(text))


def sentence_end(body: str, end: int, own_until: int) -> int | None:
    """Where the sentence going on at `end` of `body` ends, looking no further than `own_until` (the end of the
    poster's own text that follows on from it): after its sentence-final punctuation, before a paragraph break,
    or at `own_until` when nothing of the post comes after it; None when it goes on past `own_until`."""
    ends = (m for m in SENTENCE_END.finditer(body, end) if not _abbreviated(body, m.start()))
    stops = [m.end() for m in [next(ends, None)] if m is not None and m.end() <= own_until]
    stops += [m.start() for m in [PARAGRAPH_BREAK.search(body, end, own_until)] if m is not None]
    if stops:
        return end + len(body[end : min(stops)].rstrip())
    return own_until if not body[own_until:].strip() else None


def own_text_until(result, store, body: str) -> int:
    """The end of the poster's own text running on from the passage: the post's following passages, each
    starting inside or right after (only space between) the one before, as far as SHOWN_MAX_CHARS from the
    passage's start allows."""
    until, at = result.passage_end, result.passage_start
    limit = result.passage_start + SHOWN_MAX_CHARS
    while (following := store.next_passage(result.post_id, at)) is not None:
        start, end = following
        if start > until and body[until:start].strip():
            break  # quoted or left-out text lies between them
        at, until = start, max(until, min(end, limit))
        if end >= limit:
            break
    return until


def with_sentence_end(result, store) -> None:
    """A passage that stops mid-sentence while the poster's text goes on is extended to the end of that sentence
    (from the post's body, through its own passages, within SHOWN_MAX_CHARS), or, when the sentence goes on past
    them (into a quote, or past the budget), marked `ends_mid_sentence` (shown with a trailing "…")."""
    post = store.posts_by_ids([result.post_id]).get(result.post_id)
    if post is None:
        return
    body = post["body"]
    if ends_sentence(result.passage, body[result.passage_end :]):
        return
    stop = sentence_end(body, result.passage_end, own_text_until(result, store, body))
    if stop is None:
        result.ends_mid_sentence = True
        return
    result.passage_end = stop
    result.passage = body[result.passage_start : stop]


def stops_mid_sentence(result) -> bool:
    """Does the poster's sentence go on after the passage (`with_sentence_end` could not show its end)? Shown
    with a trailing "…" (CLI and Discord alike)."""
    return bool(getattr(result, "ends_mid_sentence", False))
