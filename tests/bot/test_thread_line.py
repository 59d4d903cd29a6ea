"""The thread line: a card's second line, "-# [title](post's address)" in Discord's subtext. The title is archived
text (escaped once, cut near 150 characters at a word, every address in it written as text) and can never leave
the link or the subtext line; the address is linked only when Discord can link to it, encoded so that nothing in
it ends the link. The checker (markup_rules) accepts exactly this line under a byline and nothing like it elsewhere.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from card_lines import card_lines, shown_title, unescaped
from hypothesis import given, settings
from hypothesis import strategies as st
from markup_rules import message_problems, thread_line_problems

from bot.render import post_pages, quote_embed, result_embed, thread_pages
from embeddings.models import Result

HOSTILE = [
    "[Click here](https://evil.example/login)",
    "a ] b [ c ) d ( e \\ f \\",
    "line one\nline two\r\n> three\u2028# four\u2029-# five",
    "# Heading",
    "-# small",
    "> quote",
    "1. list",
    "@everyone and <@123456789012345678> and <#123> <t:0:R>",
    "see https://evil.example/x and http://a.example",
    "**bold** __u__ ~~s~~ ||spoiler|| `code`",
    "](https://evil.example)",
    "\\",
]


def _result(title: str, url: str | None = "https://forum.example/t/7?p=3#p3") -> Result:
    return Result(rank=1, score=0.5, thread_id="t", thread_title=title, post_id="p", post_index=6, post_count=11,
                  author="Ann", posted_at=datetime(2009, 8, 17, 14, 32), passage="A passage. Two.", passage_start=0,
                  passage_end=15, highlights=[(0, 10)], url=url)  # fmt: skip


@pytest.mark.parametrize("title", HOSTILE)
def test_a_hostile_title_stays_inside_its_link_and_its_line(title):
    card = result_embed(_result(title))
    first, line, rest = card_lines(card.description)
    assert first.startswith("**Ann** · ") and rest.startswith("> ")  # nothing leaked onto another line
    label, target = shown_title(card.description)
    assert target == "https://forum.example/t/7?p=3#p3"
    assert thread_line_problems(line) == []
    assert message_problems({"embeds": [card.to_dict()]}) == []
    assert unescaped(label) == " ".join(title.split())  # shown as written, on one line
    assert "://" not in label  # an address in a title is text: a link's text must not look like another link


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_title_gives_a_sound_thread_line(title):
    card = result_embed(_result(title))
    assert thread_line_problems(card_lines(card.description)[1]) == []
    assert message_problems({"embeds": [card.to_dict()]}) == []


def test_a_long_title_is_cut_at_a_word_near_150_characters():
    title = "The assembly debated the grain levy " * 20
    label, _ = shown_title(result_embed(_result(title)).description)
    assert 120 <= len(label) <= 150 and label.endswith("…") and title.startswith(label[:-1])


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://f.example/a_(b)/c d", None),  # a blank: not an address link_url accepts
        ("https://f.example/wiki/A_(b)", "https://f.example/wiki/A_%28b%29"),
        ('https://f.example/x"y>z', "https://f.example/x%22y%3Ez"),
        ("https://f.example/p?q=[1]\\2`", "https://f.example/p?q=%5B1%5D%5C2%60"),
        ("javascript:alert(1)", None),
        ("steam://run/440", None),
        ("https://f.example/" + "x" * 3000, None),
        (None, None),
    ],
)
def test_the_address_is_linked_only_when_discord_can_and_cannot_end_the_link(url, target):
    card = result_embed(_result("Banks (and loans)", url))
    label, shown = shown_title(card.description)
    assert shown == target and unescaped(label) == "Banks (and loans)"
    assert message_problems({"embeds": [card.to_dict()]}) == []


def test_every_card_has_the_line_under_its_byline():
    from types import SimpleNamespace

    from embeddings.models import QuoteOccurrence, QuoteTrace

    view = SimpleNamespace(body="Hello there.", quoted_spans=[], thread_id="t", thread_title="[T](https://e.example)",
                           post_index=0, post_count=2, author="Ann", posted_at=datetime(2010, 1, 1),
                           url="https://f.example/t/1")  # fmt: skip
    original = QuoteOccurrence("p", "t", "# Quoted", 0, "Ann", datetime(2010, 1, 1), "Hello", 0, 5)
    cards = [
        post_pages(view)[0],
        thread_pages(view.thread_title, [view])[0],
        quote_embed(QuoteTrace(1.0, original, "Hello there.", 0), post=view),
    ]
    for card in cards:
        first, line, _ = card_lines(card.description)
        assert first.startswith("**") and line.startswith("-# ") and card.author.name is None
        assert message_problems({"embeds": [card.to_dict()]}) == []
    assert shown_title(cards[0].description)[1] == "https://f.example/t/1"
    assert shown_title(cards[1].description)[1] == "https://f.example/t/1"  # the thread's first post


# ------------------------------------------------------------------ the checker's allowance is exact
@pytest.mark.parametrize(
    "line",
    [
        "-# [a ] b](https://f.example)",  # a bare bracket closes the link early
        "-# [a [b](https://f.example)",
        "-# [see https://evil.example](https://f.example)",  # an address as a link's text
        "-# [x](https://f.example/a b)",
        "-# [x](javascript:alert(1))",
        "-# [x](https://f.example/(a))",
        "-# # heading",
        "-# <@123456789012345678>",
        "-# [Click](https://evil.example) more",
    ],
)
def test_the_checker_refuses_a_thread_line_that_is_not_the_bots(line):
    payload = {"embeds": [{"description": f"**Ann** · 2009\n{line}\n> text"}]}
    assert thread_line_problems(line) and message_problems(payload)


def test_the_allowance_is_only_for_the_line_under_a_byline():
    for description in (
        "**Ann** · 2009\n-# ok\n-# [x](https://f.example)",  # a third subtext line
        "Ann · 2009\n-# [x](https://f.example)",  # no byline above it
        "-# [x](https://f.example)\n**Ann**",
    ):
        assert message_problems({"embeds": [{"description": description}]})
    ok = {"embeds": [{"description": "**Ann** · 2009\n-# [x](https://f.example)\n> text"}]}
    assert message_problems(ok) == [] and message_problems(ok, thread_line=False)
