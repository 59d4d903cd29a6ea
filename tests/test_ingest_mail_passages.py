"""What passages of mail leave out (list footers, "[[alternative HTML version deleted]]", signatures, quoted header
blocks) while the stored body keeps it, and hard-wrapped lines joined for sentence splitting, offsets exact."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.ingest import ingest
from embeddings.ingest.mailbody import excluded_spans
from embeddings.models import Post, Thread
from embeddings.passages import Chunker, indexed_spans, make_passages
from embeddings.passages.sentences import sentence_spans

from .test_ingest_mail import PIPERMAIL

FOOTER = "______________________________________________\nR-package-devel at r-project.org mailing list\n"
FOOTER += "https://stat.ethz.ch/mailman/listinfo/r-package-devel"


def words(texts):
    return [len(t.split()) for t in texts]


def excluded_text(body: str) -> list[str]:
    return [body[s:e] for s, e in excluded_spans(body)]


def test_the_excerpt_keeps_its_footers_and_notes_in_the_body_but_not_in_passages():
    thread = ingest([PIPERMAIL]).threads[0]
    passages = make_passages([thread], Chunker(words, max_tokens=40), [], drop_quoted=False)
    indexed = "\n".join(p.text for p in passages)
    for post in thread.posts:
        assert all(post.body[p.start : p.end] == p.text for p in passages if p.post_id == post.post_id)
    bodies = "\n".join(p.body for p in thread.posts)
    for boilerplate in ("alternative HTML version deleted", "listinfo", "mailing list", "Sent from my phone"):
        assert boilerplate in bodies and boilerplate not in indexed
    assert "justify its use to the CRAN maintainers" in indexed
    assert excluded_text(thread.posts[2].body)[-1] == "-- \nSent from my phone. Please excuse my brevity."


def test_footers_are_found_at_every_quote_depth_and_rewrapped():
    body = f"Mine.\n\n{FOOTER}\n\n> Quoted.\n> " + FOOTER.replace("\n", "\n> ") + "\n\nMore of mine."
    body += "\n>> ________________________________________________\n>> R-package-devel at r-project.org\n"
    body += "> <mailto:R-package-devel at r-project.org> mailing list\n>> https://stat.ethz.ch/mailman/listinfo/x"
    spans = excluded_text(body)
    assert spans[0] == FOOTER and spans[1] == "> " + FOOTER.replace("\n", "\n> ")
    assert spans[2].endswith("listinfo/x") and spans[2].startswith(">> ____")
    assert "Mine." not in "".join(spans) and "More of mine." not in "".join(spans)


def test_html_notes_quoted_header_blocks_and_signatures_are_excluded():
    body = (
        "Thanks.\n\t[[alternative HTML version deleted]]\n> ? ? [[alternative HTML version deleted]]\n\n"
        "-----Original Message-----\nFrom: R-package-devel <r-package-devel-bounces at r-project.org> On Behalf\n"
        "Of Jane\nSent: Monday, June 8, 2020 16:53\nTo: list\nSubject: Re: x\n\nHer text.\n\n-- \nJoe\nphone 123"
    )
    assert excluded_text(body) == [
        "\t[[alternative HTML version deleted]]\n> ? ? [[alternative HTML version deleted]]",
        "-----Original Message-----\nFrom: R-package-devel <r-package-devel-bounces at r-project.org> On Behalf\n"
        "Of Jane\nSent: Monday, June 8, 2020 16:53\nTo: list\nSubject: Re: x",
        "-- \nJoe\nphone 123",
    ]


def test_what_is_not_boilerplate_stays():
    body = "From: the start of a list of fields in my program\nis just text.\n--\n" + "own words\n" * 20
    assert excluded_spans(body) == ()  # one field is no header block; twenty lines after "--" are no signature
    assert excluded_spans("A line\n______________________________\nand more") == ()  # a rule without list info


def test_indexed_spans_cut_excluded_spans_out_of_regions():
    assert indexed_spans([(0, 10), (20, 30)], [(5, 22), (28, 40)]) == [(0, 5), (22, 28)]
    assert indexed_spans([(0, 10)], []) == [(0, 10)]


def test_make_passages_combines_dropped_quotes_and_excluded_spans():
    from embeddings.models import QuoteRelation

    body = "Quoted sentence here. My own sentence. Footer text here."
    when = datetime(2020, 1, 1)
    post = Post("p", "t", 0, "a", when, body, "f", 1, excluded=((39, len(body)),))
    quote = QuoteRelation("t", "p", 0, "a", when, "s", 0, "b", when, "Quoted sentence here.", 0, 21, 0, 21)
    chunker = Chunker(words, max_tokens=50)
    kept = make_passages([Thread("t", "T", "f", [post])], chunker, [quote], drop_quoted=True)
    assert [p.text for p in kept] == ["My own sentence."]


# --- hard-wrapped lines -----------------------------------------------------------------------------------------

WRAPPED = (
    "I am interested in submitting a package which I created in RStudio, that\n"
    "contains functions to compute the PDF and CDF of the distribution of the\n"
    "sample correlation coefficient. While running R CMD check it warns.\n"
    "\n"
    "Short line\n"
    "Another short line"
)


def test_wrapped_lines_are_one_sentence_and_blank_lines_still_end_one():
    spans = [WRAPPED[s:e] for s, e in sentence_spans(WRAPPED)]
    assert spans == [WRAPPED[: WRAPPED.index(" While")], "While running R CMD check it warns.", "Short line",
                     "Another short line"]  # fmt: skip


def test_wrapped_quotes_join_only_at_the_same_depth_and_list_items_stay_apart():
    text = (
        "> the first quoted line is long enough to have been wrapped by a mail client\n"
        "> and goes on here\n"
        "my reply starts here right after the quote, and it is long enough too\n"
        "- a list item\n"
    )
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "> the first quoted line is long enough to have been wrapped by a mail client\n> and goes on here",
        "my reply starts here right after the quote, and it is long enough too",
        "- a list item",
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["word", "Word.", "\n", "\n\n", "> ", "- ", "x" * 70, "end!"]), max_size=40))
def test_sentence_spans_are_trimmed_ordered_slices(parts):
    text = " ".join(parts)
    spans = sentence_spans(text)
    assert all(s < e and text[s:e] == text[s:e].strip() for s, e in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    covered = {i for s, e in spans for i in range(s, e)}
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_a_line_that_only_introduces_a_quote_is_not_a_passage():
    from embeddings.models import QuoteRelation

    lead = "Mike Ely actually argued the opposite, like Bukharin:"
    quoted = "The purges were needed to root out a fifth column."
    body = f"I read the whole thread again.\n{lead}\n{quoted}\nThat is simply wrong, and the archives show it."
    q0 = body.index(quoted)
    when = datetime(2020, 1, 1)
    post = Post("p", "t", 1, "a", when, body, "f", 1)
    quote = QuoteRelation("t", "p", 1, "a", when, "s", 0, "b", when, quoted, q0, q0 + len(quoted), 0, len(quoted))
    kept = make_passages([Thread("t", "T", "f", [post])], Chunker(words, max_tokens=8), [quote], drop_quoted=True)
    texts = [p.text for p in kept]
    assert all(lead not in t and quoted not in t for t in texts)
    assert "I read the whole thread again." in texts[0] and any("simply wrong" in t for t in texts)
    alone = Post("p", "t", 1, "a", when, f"{lead}\n{quoted}", "f", 1)
    q = QuoteRelation("t", "p", 1, "a", when, "s", 0, "b", when, quoted, len(lead) + 1, len(alone.body), 0, 9)
    [only] = make_passages([Thread("t", "T", "f", [alone])], Chunker(words, max_tokens=50), [q], drop_quoted=True)
    assert only.text == lead  # all the poster wrote: kept, so the post can still be found
    # a line ending in ":" that its own words follow is kept
    steps = Post("p", "t", 1, "a", when, "Do this:\nrun the check again.", "f", 1)
    assert make_passages([Thread("t", "T", "f", [steps])], Chunker(words, max_tokens=50), [], drop_quoted=True)


def test_abbreviations_do_not_end_a_sentence():
    text = "See The Case of Leon Trotsky (New York, 1937), pp. 128-32. Mr. Dewey chaired it. Vol. 3 has the rest."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "See The Case of Leon Trotsky (New York, 1937), pp. 128-32.",
        "Mr. Dewey chaired it.",
        "Vol. 3 has the rest.",
    ]
    # a reference abbreviation before a word is a sentence's end like any other
    assert len(sentence_spans("Read the notes on pp. The rest is below.")) == 2
