"""A result's passage ends with what the poster said, not their sign-off: the closings real mail ends with are
cut (the span shrinks with the text, so `body[start:end] == passage` holds), anything else is left alone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embeddings.search.readable import closing_start, without_closing

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
