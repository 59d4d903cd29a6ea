"""The README pictures' renderer (scripts/discord_html.py) draws Discord markdown as the client does: a run of
`> ` lines is one block quote, escaped characters stay literal, archived HTML is never live, timestamps are shown
in the viewer's zone."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import discord_html  # noqa: E402


def test_consecutive_quote_lines_are_one_block_quote_and_bold_is_drawn():
    drawn = discord_html.markdown("**Ismail** · post 7\n> first line\n> \n> **best** sentence\nafter")
    assert drawn.count("<blockquote>") == 1
    assert "<strong>Ismail</strong>" in drawn and "<strong>best</strong> sentence" in drawn
    assert drawn.endswith("after")


def test_escaped_markdown_stays_literal_and_html_is_not_live():
    drawn = discord_html.inline(r"\*\*not bold\*\* <script>alert(1)</script> \[x\](https://e.example)")
    assert "<strong>" not in drawn and "**not bold**" in drawn
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    assert "<a " not in drawn


def test_a_subtext_line_is_drawn_small_and_its_masked_link_live():
    drawn = discord_html.markdown("**Ann** · post 7\n-# [Banks \\[in\\] Doha](https://f.example/t/7)\n> passage")
    assert '<span class="subtext"><a href="https://f.example/t/7">Banks [in] Doha</a></span>' in drawn
    assert "-#" not in drawn and drawn.count("<blockquote>") == 1
    assert ".subtext { font-size: 12px;" in discord_html.CSS
    assert discord_html.markdown(r"\-# escaped") == "-# escaped"  # an escaped marker is text


def test_a_timestamp_is_shown_in_the_viewers_zone():
    # 2009-08-17 11:46 UTC is 07:46 in New York (EDT)
    assert discord_html.inline("<t:1250509560:f>") == '<span class="ts">August 17, 2009 7:46 AM</span>'


@given(st.text(max_size=200))
def test_any_text_draws_without_live_tags(text):
    drawn = discord_html.markdown(text)
    for tag in ("<script", "<img", "<iframe", "<div onload"):
        assert tag not in drawn.lower()
