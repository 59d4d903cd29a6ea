"""Rendering rules that do not need Discord: cutting, highlighting, the 6000-character budget."""

from __future__ import annotations

from datetime import datetime

from discord_rules import check_message

from bot.render import cut_words, render_passage, results_embeds
from embeddings.models import Result


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


def test_ten_huge_results_fit_one_message():
    body = ("word " * 3000).strip()
    results = [
        Result(
            rank=i + 1,
            score=0.5,
            thread_id="t" * 90,
            thread_title="T" * 300,
            post_id=f"p{i}",
            post_index=i,
            post_count=10,
            author="A" * 300,
            posted_at=datetime(2009, 8, 15, 14, 32),
            passage=body,
            passage_start=0,
            passage_end=len(body),
            highlights=[(10, 400)],
        )
        for i in range(10)
    ]
    embeds = results_embeds(results)
    check_message({"embeds": [e.to_dict() for e in embeds]})
    assert all("Passage shortened" in e.description for e in embeds)
