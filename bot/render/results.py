"""/ask: a page of result cards, its header, the menus' entries, and the card a member shares.

A card: "**author** · date · post 7 of 11", then the thread as a small line (a link to the post when the archive
has its address), then about 300 characters of the passage around its best sentence, as a block
quote, cuts marked "…", that sentence bold when the passage holds more than it; "Quoted by" when later posts
quoted it. No scores: they mean nothing to a member (the CLI's JSON and `--explain` keep them).
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from embeddings.search.readable import continues_sentence, stops_mid_sentence

from ..text import (
    COLOUR,
    EMBEDS_MAX,
    FIELD_VALUE_MAX,
    MESSAGE_EMBED_CHARS_MAX,
    fit_embed,
    plain,
    plural,
    posted,
    render_passage,
)
from .cards import byline, clip, thread_line

EXCERPT_CHARS = 300  # characters of a passage on a results page, around its best sentence


def result_embed(result, budget: int = 2000, around: int | None = EXCERPT_CHARS) -> discord.Embed:
    """One result's card, counting at most `budget` characters in all (every part of an embed counts)."""
    budget = max(300, budget)
    embed = discord.Embed(colour=COLOUR)
    head = byline(result, result.post_index + 1, result.post_count)
    head += "\n" + thread_line(result.thread_title, getattr(result, "url", None), budget // 4)
    also = getattr(result, "also_in", None) or []  # posts with the same text, collapsed into this card
    if also:
        head += "\n*also in: " + plain(also_in_line(also), min(300, budget // 6)) + "*"
    quoted_by = getattr(result, "quoted_by", None) or []
    if quoted_by:
        value = quoted_by_line(quoted_by, min(FIELD_VALUE_MAX, max(60, budget // 5)))
        embed.add_field(name="Quoted by", value=value, inline=False)
    if quoted_by and budget - len(embed) - len(head) < budget // 4:  # no room left for the passage: drop the extra
        embed.remove_field(0)
    room = budget - len(embed) - len(head) - 1
    body, _ = render_passage(
        result.passage,
        result.highlights or [],
        max(1, min(4000, room)),
        around=around,
        joined=continues_sentence(result),
        goes_on=stops_mid_sentence(result),
    )
    embed.description = head + "\n" + body
    return fit_embed(embed, budget)


def also_in_line(copies) -> str:
    """ "Best Bank (post 3), Banks in Doha (post 1) ×2": where else the card's text was posted, best match first;
    copies in threads of one title, at one place in them, counted rather than repeated."""
    places: dict[str, int] = {}
    for c in copies:
        label = f"{c.thread_title} (post {c.post_index + 1})"
        places[label] = places.get(label, 0) + 1
    return ", ".join(label if n == 1 else f"{label} ×{n}" for label, n in places.items())


def quoted_by_line(quoted_by, limit: int = FIELD_VALUE_MAX) -> str:
    """ "Jeff — <date>" a line, oldest first, in at most `limit` characters ("… and 3 more")."""
    items = [f"{plain(q.author, 100)} — {posted(q)}" for q in sorted(quoted_by, key=lambda q: q.posted_at)]
    out = ""
    for i, item in enumerate(items):
        piece = ("\n" if out else "") + item
        if len(out) + len(piece) > limit - 20:
            return (out + f"\n… and {len(items) - i} more") if out else plural(len(items), "later post")
        out += piece
    return out


def results_embeds(results: Sequence, budget: int = MESSAGE_EMBED_CHARS_MAX - 100) -> list[discord.Embed]:
    """The cards of one page of results, sharing the 6000-character message budget fairly."""
    results = list(results)[:EMBEDS_MAX]
    if not results:
        return []
    per = budget // len(results)
    return [result_embed(r, per) for r in results]


def results_header(
    question: str,
    offset: int,
    shown: int,
    filters: str = "",
    *,
    total: int | None = None,
    page: int = 1,
    pages: int = 1,
    capped: bool = False,
    good: int | None = None,
    weaker_shown: bool = False,
) -> str:
    """The line above a page of results: which results, of how many, for what, and "page 1 of N". `capped`: there
    are more than `total`, the best of which are shown. `good`: only the first that many are good matches (None:
    all are); until `weaker_shown` the rest are hidden and the line says so instead of the count ("Only 2 good
    matches", "No good matches"), afterwards it says where the weaker matches begin."""
    q = plain(question, 300)
    where = f" ({filters})" if filters else ""
    if good == 0 and not weaker_shown:
        return f"No good matches for “{q}”{where} · the closest posts are weaker matches"
    if good is not None and not weaker_shown:
        count = f"Only {plural(good, 'good match', 'good matches')}"
        return f"{count} for “{q}”{where} · page {page} of {pages}"
    span = f"{offset + 1}–{offset + shown}" if shown > 1 else f"{offset + 1}"
    of = "" if total is None else (f" of the best {total}" if capped else f" of {total}")
    weaker = ""
    if good is not None:
        weaker = " · all weaker matches" if good == 0 else f" · weaker matches from result {good + 1}"
    return f"Results {span}{of} for “{q}”{where} · page {page} of {pages}{weaker}"


def result_choice(result) -> tuple[str, str]:
    """(label, description) of a result in the page's menus: who and where, then its first words."""
    label = clip(f"{result.rank}. {result.author} · post {result.post_index + 1} of {result.post_count}")
    return label, clip(result.passage) or "(empty)"


def share_card(result, user_id: int) -> tuple[str, discord.Embed]:
    """(content, card) of a result a member shares to the channel: "Shared by <@member>" (the client sends it with
    no mentions allowed, so nobody is pinged), and the result's card."""
    return f"Shared by <@{int(user_id)}>", result_embed(result, MESSAGE_EMBED_CHARS_MAX - 100)
