"""Rendering rules that do not need Discord: cutting, highlighting, the 6000-character budget, quote lines."""

from __future__ import annotations

from datetime import datetime

from card_lines import card_lines
from discord_rules import check_message

from bot.render import cut_words, render_passage, result_embed, results_embeds
from embeddings.models import Result


def _result(passage: str, highlights, **fields) -> Result:
    base = dict(rank=1, score=0.5, thread_id="t", thread_title="Thread", post_id="p", post_index=6, post_count=11,
                author="Andrei Kuznetsov", posted_at=datetime(2009, 8, 17, 14, 32), passage=passage, passage_start=0,
                passage_end=len(passage), highlights=highlights)  # fmt: skip
    return Result(**{**base, **fields})


def test_cut_words_keeps_whole_words_and_adds_ellipsis():
    text = "alpha beta gamma delta epsilon"
    out = cut_words(text, 17)
    assert out == "alpha beta…" and len(out) <= 17
    assert cut_words(text, 100) == text


def test_highlight_beyond_the_window_is_still_shown():
    passage = "filler words here. " * 300 + "The decisive sentence is this one." + " tail" * 50
    s = passage.index("The decisive")
    out, cut = render_passage(passage, [(s, s + len("The decisive sentence is this one."))], 800)
    assert cut and len(out) <= 800
    assert "**The decisive sentence is this one.**" in out
    assert out.startswith("> …")


def test_every_line_of_a_quoted_passage_starts_with_a_quote_mark_and_a_space():
    passage = "First paragraph, first sentence.\n\nSecond paragraph.\n\n\nThird one, after two blank lines."
    out, _ = render_passage(passage, [(0, 32)], 1000)
    assert out.split("\n") == [
        "> **First paragraph, first sentence.**",
        "> ",
        "> Second paragraph.",
        "> ",
        "> ",
        "> Third one, after two blank lines.",
    ]


def test_a_results_card_shows_about_300_characters_around_the_best_sentence_cut_with_ellipses():
    before, best, after = "Some words lead up to it. " * 30, "This is the sentence that answers.", " More words." * 60
    passage = before + best + after
    s = passage.index(best)
    desc = result_embed(_result(passage, [(s, s + len(best))])).description
    quoted = "\n".join(line for line in desc.split("\n") if line.startswith("> "))
    assert f"**{best}**" in quoted
    assert quoted.startswith("> …Some words") and quoted.endswith("…")  # cut at both ends, marked
    assert 200 <= len(quoted.replace("**", "")) <= 320


def test_a_passage_of_one_sentence_is_not_bold_throughout():
    one = "The whole passage is one sentence."
    assert "**" not in card_lines(result_embed(_result(one, [(0, len(one))])).description)[2]
    two = one + " And a second one."
    assert f"**{one}**" in result_embed(_result(two, [(0, len(one))])).description


def test_a_long_best_sentence_that_fills_the_excerpt_is_not_bold_throughout():
    best = "This one sentence of the passage goes on " + "and on " * 60 + "until it ends."
    passage = "A short lead. " + best + " A short end."
    s = passage.index(best)
    quoted = card_lines(result_embed(_result(passage, [(s, s + len(best))])).description)[2]
    assert quoted.startswith("> …This one sentence") and "**" not in quoted  # all that is shown is the sentence


def test_a_card_leads_with_author_date_and_place_and_shows_no_score():
    card = result_embed(
        _result("A passage. With two sentences.", [(0, 10)], score=-0.0213, url="https://f.example/t/7")
    )
    first_line, thread, _ = card_lines(card.description)
    assert first_line == "**Andrei Kuznetsov** · 17 Aug 2009, 14:32 forum time · post 7 of 11"
    assert thread == "-# [Thread](https://f.example/t/7)"  # the thread: a small line under it, the post's link
    assert card.author.name is None  # nothing above the byline
    shown = str(card.to_dict())
    assert "score" not in shown and "0.02" not in shown and "#1" not in shown and card.footer.text is None


def test_an_address_discord_cannot_link_is_not_given_as_the_cards_link():
    for url in ("javascript:alert(1)", "steam://run/440", "https://a.example/" + "x" * 3000, "not a url"):
        assert card_lines(result_embed(_result("A passage.", [], url=url)).description)[1] == "-# Thread"


def test_ten_huge_results_fit_one_message():
    body = ("word " * 3000).strip()
    results = [
        _result(
            body,
            [(10, 400)],
            rank=i + 1,
            thread_id="t" * 90,
            thread_title="T" * 300,
            post_id=f"p{i}",
            post_index=i,
            post_count=10,
            author="A" * 300,
        )  # fmt: skip
        for i in range(10)
    ]
    embeds = results_embeds(results)
    check_message({"embeds": [e.to_dict() for e in embeds]})
    assert all(e.description.rstrip().endswith("…") for e in embeds)  # each passage cut, and marked as cut


def test_quote_names_one_original_and_lists_weaker_candidates_as_not_the_source():
    from bot.render import quote_embed
    from embeddings.models import QuoteOccurrence, QuoteTrace

    def occurrence(post_id, author, year, index=0, thread="t"):
        return QuoteOccurrence(post_id, thread, "First written in: a thread", index, author, datetime(year, 1, 2, 3, 4),
                               "the words", 4, 13)  # fmt: skip

    best = QuoteTrace(1.0, occurrence("p1", "Alice", 2009), "say the words here", 0, [occurrence("q", "Bob", 2010, 3)])
    older = QuoteTrace(0.85, occurrence("p0", "Carol", 2004, 1, "t0"), "say the word here", 0)
    card = quote_embed(best, similar=[older])
    assert card.description.startswith(
        "**Alice** wrote this first · 2 Jan 2009, 03:04 forum time · post 1\n-# First written in: a thread\n"
    )
    fields = {f.name: f.value for f in card.fields}
    assert fields["Quoted later by (1)"] == "2 Jan 2010, 03:04 forum time — Bob (post 4)"
    assert fields["Similar, not the source"].startswith("Carol · 2 Jan 2004, 03:04 forum time · post 2 in “")
    assert "wrote this first" not in fields["Similar, not the source"] and card.footer.text is None


def test_a_passage_that_goes_on_from_words_before_it_starts_with_an_ellipsis():
    r = _result("128-32, 261-6. This volume is the transcript of the Commission.", [(15, 63)])
    r.passage_start = 420  # later in its post, and not a sentence's start: "…(New York, 1937), pp. 128-32"
    assert card_lines(result_embed(r).description)[2].startswith("> …128-32")
    r.passage_start = 0
    assert card_lines(result_embed(r).description)[2].startswith("> 128-32")
    capital = _result("This volume is the transcript. It was published in 1937.", [(0, 30)])
    capital.passage_start = 420
    assert card_lines(result_embed(capital).description)[2].startswith("> **This volume")


def test_a_card_marks_a_passage_whose_sentence_goes_on_after_it():
    text = "A CRAN team member will typically respond to you within the next 10 working days. For"
    card = result_embed(_result(text, [(0, 10)], ends_mid_sentence=True)).description
    assert card.rstrip().endswith("For…")
    whole = result_embed(_result(text + " sure.", [(0, 10)])).description
    assert whole.rstrip().endswith("For sure.")
