"""Quote detection across threads and the trimming of a quote's ends: unmarked text two threads share is a
pasted notice, not a quote, unless it is (nearly) all of the other post; a trimmed quote is stable."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from embeddings.models import Post
from embeddings.quotes.alignment import WordMatch, trim_weak_ends
from embeddings.quotes.detector import QuoteDetector, detect_quotes

from .test_quotes import T0, thread

NOTICE = (
    "A CRAN team member will typically respond to you within the next 10 working days. For technical reasons "
    "you may receive a second copy of this message."
)  # 26 words both posters pasted from the same mail


def test_part_of_a_post_shared_unmarked_across_threads_is_no_quote_but_a_whole_post_or_a_marked_one_is():
    first = thread(("Juhee", f"My package was auto-processed and the mail said:\n\n{NOTICE}\n\nHow long is it?"))
    later = T0 + timedelta(days=40)
    pasted = thread(
        ("Mauricio", f"I got the following message:\n\n{NOTICE}\n\nWhat is checked?"), thread_id="t2", start=later
    )
    assert detect_quotes(first + pasted) == []  # neither wrote it: a notice both pasted
    # the same paste within one thread: the later poster repeats the earlier one's post
    same = thread(("Mauricio", f"I got the following message:\n\n{NOTICE}\n\nWhat is checked?"), start=later)
    assert [(r.quoting_author, r.source_author) for r in detect_quotes(first + same)] == [("Mauricio", "Juhee")]
    # marked as a quote, or (nearly) all of the other post: a quote across threads too
    marked = thread(("Ann", f"Juhee wrote:\n> {NOTICE}\n\nTen days is usual."), thread_id="t3", start=later)
    assert [(r.quoting_author, r.source_author) for r in detect_quotes(first + marked)] == [("Ann", "Juhee")]
    short = thread(("Juhee", NOTICE))
    whole = thread(("Ann", f"{NOTICE}\n\nSomeone asked this in another thread."), thread_id="t3", start=later)
    assert [(r.quoting_author, r.source_author) for r in detect_quotes(short + whole)] == [("Ann", "Juhee")]


@given(
    line_lengths=st.lists(st.integers(1, 6), min_size=1, max_size=8),
    kept=st.lists(st.booleans(), min_size=48, max_size=48),
    jumps=st.lists(st.integers(1, 4), min_size=48, max_size=48),
)
def test_a_trimmed_quote_has_no_weak_end_left_and_starts_and_ends_on_its_lines(line_lengths, kept, jumps):
    body = "\n".join(" ".join(f"w{i}x{j}" for j in range(n)) for i, n in enumerate(line_lengths))
    detector = QuoteDetector()
    new = detector._indexed(Post("p", "t", 0, "A", T0, body, "s", 1))
    matches, source = [], 0
    for i in range(len(new.words)):
        source += jumps[i]
        if kept[i]:
            matches.append(WordMatch(i, source))
    quote = detector._trimmed(new, matches)
    assert trim_weak_ends(quote) == quote and detector._trim_to_lines(new, quote) == quote
