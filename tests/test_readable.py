"""A result's passage ends with what the poster said, not their sign-off: the closings real mail ends with are
cut (the span shrinks with the text, so `body[start:end] == passage` holds), anything else is left alone. It ends
on a sentence boundary: a passage cut mid-sentence is taken to its sentence's end through the poster's own text,
or marked as going on."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embeddings.search.readable import (
    SHOWN_MAX_CHARS,
    closing_start,
    ends_sentence,
    sentence_end,
    stops_mid_sentence,
    with_sentence_end,
    without_closing,
)

SAID = "It seems that the vignette is rebuilt on CRAN's machines, so there is nothing to do on your end."


# closings as r-package-devel's posters wrote them
@pytest.mark.parametrize(
    "closing",
    [
        "\n\nCheers,\n\n\tSebastian",
        "\n\nThanks,\nGabor\n\n[...]",
        "\n\nHTH,\n\n-Roy",
        "\n\nBest,\nApostolos Chalkis",
        "\n\nKind regards,\nJan Wijffels\nBNOSAC",
        "\n\nThank you very much!\n-- \nA.",
    ],
)
def test_a_closing_and_the_name_after_it_are_cut(closing):
    body = "Some earlier words.\n\n" + SAID + closing
    result = SimpleNamespace(passage=body, passage_start=100, passage_end=100 + len(body), highlights=[(21, 40)])
    without_closing(result)
    assert result.passage == "Some earlier words.\n\n" + SAID
    assert result.passage_end - result.passage_start == len(result.passage)
    assert result.highlights == [(21, 40)]


@pytest.mark.parametrize(
    "text",
    [
        SAID,
        "Thanks,\nthat fixed it. The NOTE is gone and the package builds on every platform now.",
        "Best regards\nfrom the team: we rebuilt the vignettes, ran R CMD check again and uploaded the package.",
        "Thanks!",  # nothing but the closing: kept, there is nothing else to show
        "Cheers,\nSebastian\n\nP.S. The same holds for the Windows builder, which also rebuilds the vignettes.",
    ],
)
def test_text_that_goes_on_after_the_closing_word_is_left_alone(text):
    result = SimpleNamespace(passage=text, passage_start=0, passage_end=len(text), highlights=[])
    without_closing(result)
    assert result.passage == text and result.passage_end == len(text)


@given(st.text(max_size=300), st.sampled_from(["", "\n\nCheers,\nAnn", "\nThanks\n"]))
def test_the_cut_passage_is_always_a_prefix_with_its_span(text, closing):
    body = text + closing
    result = SimpleNamespace(passage=body, passage_start=7, passage_end=7 + len(body), highlights=[(0, len(body))])
    without_closing(result)
    assert body.startswith(result.passage) and result.passage_end == 7 + len(result.passage)
    assert all(0 <= s <= e <= len(result.passage) for s, e in result.highlights)
    if closing_start(body) is None:
        assert result.passage == body


def test_a_last_paragraph_that_is_only_the_posters_name_is_cut():
    text = "FWIW this code gives no warnings on Solaris with the current CRAN version.\n\nGabor"
    result = SimpleNamespace(passage=text, passage_start=0, passage_end=len(text), highlights=[], author="Gábor Csárdi")
    without_closing(result)
    assert result.passage == text.split("\n\n")[0]
    other = SimpleNamespace(passage=text, passage_start=0, passage_end=len(text), highlights=[], author="Ivan Krylov")
    without_closing(other)
    assert other.passage == text  # someone else's name may be the subject of the last line


# --- a stub is shown with what follows it, in a real index ------------------------------------------------------
LEAD_IN = "The error I get when installing on Windows is the following:"
LOG = (
    "Error in loadNamespace(j, c(lib.loc, .libPaths())) says there is no package called Rcpp at all. "
    "Execution halted because the namespace of the dependency could not be loaded from the library path."
)
QUOTED_AFTER = "> Did you install Rcpp from source before you built the package on the Windows machine?"


def _posts(tmp_path):
    import json

    rows = [
        {
            "thread_id": "w",
            "thread_title": "Install fails",
            "author": "Ann",
            "posted_at": "2020-05-01T10:00:00",
            "body": f"Hello all.\n\n{LEAD_IN}\n\n{LOG}",
        },
        {
            "thread_id": "w",
            "thread_title": "Install fails",
            "author": "Bob",
            "posted_at": "2020-05-01T11:00:00",
            "body": f"Here is the question I asked before, the following:\n\n{QUOTED_AFTER}\n\nNo answer came.",
        },
    ]
    source = tmp_path / "posts.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return source


def test_a_lead_in_is_shown_with_the_passage_that_follows_it(tmp_path, fresh_service):
    service = fresh_service(chunk_max_tokens=40, chunk_overlap_sentences=0)
    service.rebuild([str(_posts(tmp_path))])
    [ann] = [
        r for r in service.search("the error I get when installing on Windows", 5, mode="dense") if r.author == "Ann"
    ]
    body = service.post("w", 1).body
    assert LEAD_IN + "\n\nError in loadNamespace" in ann.passage and ann.passage.endswith(".")  # the next one too
    assert body[ann.passage_start : ann.passage_end] == ann.passage
    [bob] = [r for r in service.search("the question I asked before", 5, mode="dense") if r.author == "Bob"]
    # a lead-in to a quote introduces it and is no passage; the quote is not the poster's words: neither is shown
    assert bob.passage == "No answer came." and "Did you install" not in bob.passage
    service.close()


# --- a passage ends where a sentence of the post ends ---------------------------------------------------------
class PostStore:
    """The two reads `with_sentence_end` makes of an index store, over one post and its passages' spans."""

    def __init__(self, body: str, passages: list[tuple[int, int]]):
        self.body, self.passages = body, sorted(passages)

    def posts_by_ids(self, ids):
        return {"p": {"body": self.body}}

    def next_passage(self, post_id, start):
        return next(((s, e) for s, e in self.passages if s > start), None)


def _result(body: str, start: int, end: int) -> SimpleNamespace:
    return SimpleNamespace(
        post_id="p", passage=body[start:end], passage_start=start, passage_end=end, highlights=[(0, 3)]
    )


WORD = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
SENTENCE = st.lists(WORD, min_size=1, max_size=30).map(lambda ws: " ".join(ws).capitalize() + ".")


@given(
    own=st.lists(SENTENCE, min_size=1, max_size=12),
    quoted=st.lists(SENTENCE, max_size=3),
    wrap=st.sampled_from([" ", "\n"]),
    cut=st.floats(0, 1),
    pieces=st.integers(1, 4),
)
def test_a_cut_passage_ends_its_sentence_or_is_marked_never_taking_in_quoted_text(own, quoted, wrap, cut, pieces):
    said = wrap.join(own)
    quote = "\n".join("> " + q for q in quoted)
    body = said + ("\n" + quote + "\nThat is all." if quote else "")
    # the poster's text is cut into passages at word boundaries (a token budget); the quote is in none of them
    spaces = [i for i, c in enumerate(said) if c in " \n"]
    bounds = [0] + sorted({spaces[int(k * len(spaces) / pieces)] for k in range(1, pieces)} if spaces else set())
    spans = list(zip(bounds, bounds[1:] + [len(said)], strict=True))
    if quote:
        spans.append((len(body) - len("That is all."), len(body)))
    start, end = spans[min(int(cut * len(spans)), len(spans) - 1)]
    result = _result(body, start, end)
    with_sentence_end(result, PostStore(body, spans))
    assert body[result.passage_start : result.passage_end] == result.passage
    assert result.passage_start == start and result.passage.startswith(body[start:end].rstrip())
    assert result.highlights == [(0, 3)]
    if result.passage_end > end:  # extended: to a sentence's end, within the poster's text and the budget
        assert result.passage.endswith(".") and result.passage_end <= len(said)
        assert result.passage_end - start <= SHOWN_MAX_CHARS
        assert not stops_mid_sentence(result)
    # either it ends a sentence (or the post), or it is marked as going on
    assert ends_sentence(result.passage, body[result.passage_end :]) != stops_mid_sentence(result)
    if quote and result.passage_end <= len(said):
        assert ">" not in result.passage


def test_a_passage_cut_by_a_quote_inside_a_sentence_is_marked_as_going_on():
    body = "I tried what you said about the\n> rebuilt vignettes and the tarball\nbuild, and it failed again."
    own = [(0, body.index("\n>")), (body.index("build,"), len(body))]
    result = _result(body, *own[0])
    with_sentence_end(result, PostStore(body, own))
    assert result.passage == "I tried what you said about the" and stops_mid_sentence(result)


def test_a_sentence_that_goes_on_past_the_display_budget_is_marked():
    body = "This sentence " + "goes on and on " * 150 + "until it ends."
    result = _result(body, 0, 300)
    with_sentence_end(result, PostStore(body, [(0, 300), (280, len(body))]))
    assert result.passage_end == 300 and stops_mid_sentence(result)


@pytest.mark.parametrize(
    ("passage", "after"),
    [
        ("It builds on every platform now.", " The next sentence."),
        ('He said "it builds now."', "\nMore words."),
        ("In windows the error is the following:", '\n"Error: package or namespace load failed'),
        ("A heading of the post", "\n\nThe paragraph under it."),
        ("The last words of the post", "\n  "),
        ("only not so cheap to run :-( )", "\n-- \nDavid, somewhere in Oxfordshire"),
        ("Execution halted", "\n\t[[alternative HTML version deleted]]\n"),
    ],
)
def test_sentence_ends_paragraph_breaks_and_the_posts_end_are_boundaries(passage, after):
    assert ends_sentence(passage, after)


def test_an_abbreviation_is_no_sentence_end():
    assert not ends_sentence("Use a package manager, e.g.", " apt or brew, to install it.")
    assert not ends_sentence("I asked Mr.", " Ripley about it.")
    assert ends_sentence("The build passed.", " Then it failed.")
    body = "It needs a system library, e.g. libxml2 from the distribution. Then it builds."
    assert body[: sentence_end(body, 10, len(body))].endswith("distribution.")


def test_a_dash_or_a_note_inside_the_poster_s_sentence_is_no_end():
    assert not ends_sentence("the flag --with-blas is what", " --enable-R-shlib does not need")
    assert not ends_sentence("see the", " [[alternative]] link below for it")


def test_a_closing_cut_from_an_extended_passage_is_no_sentence_going_on():
    body = "You can check its status on the dashboard at any time\nCheers,\nRoy"
    result = _result(body, 0, 20)
    with_sentence_end(result, PostStore(body, [(0, 20), (20, len(body))]))
    assert result.passage == body  # to the post's end, which is its sign-off ...
    result.author = "Roy Mendelssohn"
    without_closing(result)
    assert result.passage == "You can check its status on the dashboard at any time" and not stops_mid_sentence(result)


LONG = (
    "When the vignette is rebuilt on the check machines the tarball you uploaded is unpacked, every chunk "
    "of every vignette is run again with the versions of the packages installed there, and the output is "
    "compared with what you shipped, so a stale copy in inst/doc is replaced by a fresh one before the "
    "check goes on to the examples and the tests of the package."
)


def test_a_sentence_longer_than_a_passage_is_shown_whole_in_a_real_index(tmp_path, fresh_service):
    import json

    row = {
        "thread_id": "v",
        "thread_title": "Vignettes on CRAN",
        "author": "Dan",
        "posted_at": "2020-05-01T10:00:00",
        "body": "Short opening words here.\n\n" + LONG + "\n\nDan",
    }
    source = tmp_path / "posts.jsonl"
    source.write_text(json.dumps(row) + "\n", encoding="utf-8")
    service = fresh_service(chunk_max_tokens=40, chunk_overlap_sentences=0)
    service.rebuild([str(source)])
    body = service.post("v", 1).body
    [dan] = service.search("a stale copy of the vignette is replaced when the tarball is checked", 1, mode="dense")
    assert body[dan.passage_start : dan.passage_end] == dan.passage
    assert dan.passage.endswith("the tests of the package.") and not stops_mid_sentence(dan)
    service.close()
