"""Bare URLs in archived text: which are left as written, and how cuts, highlights and mentions treat them.

A URL is exempt from escaping only when it is plausible (scheme, dotted host or localhost, optional port and
path); even then `[`, `]` and `\\` are escaped in it, so no masked link can be opened or closed from inside an
address. Nothing cuts inside a URL, no highlight starts or ends inside one, and the mention pass leaves them alone.
"""

from __future__ import annotations

import re

import pytest
from markup_rules import live_markup

from bot.text import ELLIPSIS, escape, markup, plain, render_passage, split_escaped

LINK = re.compile(r"(?:https?|steam)://[^\s<]+")  # what Discord could take for an address


def _links(text: str) -> list[str]:
    return [m.group(0).rstrip(ELLIPSIS + ".,:;*") for m in LINK.finditer(text)]


# ------------------------------------------------------------------ which URLs are exempt
@pytest.mark.parametrize(
    "text",
    [
        "https://[Click](https://evil.example/login)",
        "steam://[x](https://evil.example)",
        "https://example.org/[a](https://b)",
        "http://localhost:8080/[a](https://b)",
        "https://a.example/\\[x](https://evil.example)",  # a backslash of its own cannot escape the escape
    ],
)
def test_a_masked_link_next_to_or_inside_an_address_stays_text(text):
    out = escape(text)
    assert out != text and live_markup(out) == [], out


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/login",
        "https://a.example/a_b*c~d|e",
        "http://localhost:8080/x?q=1#frag",
        "steam://connect.example/1.2.3.4:27015",
        "https://a.example/wiki/Foo_(bar)",
    ],
)
def test_a_plausible_address_is_kept_as_written(url):
    assert escape(f"see {url} now") == f"see {url} now"


def test_brackets_in_an_address_are_escaped_the_rest_kept():
    assert escape("https://a.example/p[1]_x") == r"https://a.example/p\[1\]_x"


@pytest.mark.parametrize("text", ["https://[x]_y", "https://nohost_a", "http://-", "steam://run/440_x"])
def test_an_implausible_address_is_escaped_like_text(text):
    assert escape(text) == text.replace("_", r"\_").replace("[", r"\[").replace("]", r"\]")


def test_the_mention_pass_leaves_addresses_alone():
    assert escape("http://x.example/@everyone") == "http://x.example/@everyone"
    assert escape("http://x.example/ @everyone") == "http://x.example/ @\u200beveryone"


# ------------------------------------------------------------------ highlights
def test_a_highlight_starting_inside_an_address_starts_before_it():
    out = markup("Visit https://evil.example/login now", [(16, 36)])
    assert out == "Visit **https://evil.example/login now**"


def test_a_highlight_ending_inside_an_address_ends_after_it():
    out = markup("see https://a.example/login now", [(0, 10)])
    assert "https://a.example/login" in out and out.startswith("**see https://a.example/login ")
    assert _links(out) == ["https://a.example/login"]


# ------------------------------------------------------------------ cuts
def test_a_cut_falls_before_an_address_not_inside_it():
    assert plain("read https://paypal.com.evil.example/login please", 30) == "read" + ELLIPSIS


def test_an_address_that_must_be_cut_no_longer_links():
    out = plain("https://paypal.com.evil.example/login please", 30)
    assert len(out) <= 30 and out.startswith(r"https:\/\/paypal.com") and _links(out) == []


def test_a_whole_address_before_the_ellipsis_is_kept_apart_from_it():
    out = plain("see https://a.example/x and then a great many words after it", 26)
    assert out == f"see https://a.example/x {ELLIPSIS}"


def test_long_lines_are_split_around_addresses():
    url = "https://a.example/" + "x" * 30
    pieces = split_escaped("word " * 10 + url + " end", 60)
    assert pieces == ["word " * 9 + "word", url + " end"]
    long_url = "https://paypal.com.evil.example/" + "p" * 100
    pieces = split_escaped(long_url, 60)
    assert all(len(p) <= 60 for p in pieces) and _links("\n".join(pieces)) == []
    assert "".join(pieces).replace("\\", "") == long_url


@pytest.mark.parametrize("limit", range(20, 90, 7))
def test_a_quoted_passage_shows_addresses_whole_or_not_at_all(limit):
    url = "https://paypal.com.evil.example/login"
    text = f"Visit {url} now, and read the rest of the minutes that follow the address here."
    out, _ = render_passage(text, [(0, 5)], limit)
    assert len(out) <= limit
    assert all(link == url for link in _links(out)), out


def test_a_passage_starting_at_a_long_address_shows_it_as_text():
    text = "https://paypal.com.evil.example/" + "a" * 200 + " now"
    out, cut = render_passage(text, [(0, 5)], 60)
    assert cut and len(out) <= 60 and _links(out) == []
