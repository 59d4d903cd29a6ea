"""No filler in /ask: only the good matches until "Show weaker matches", "No good matches" when none is, copies
of one text as one card ("also in: …"), three results a page by default and never more than five."""

from __future__ import annotations

import math

from bot_harness import User
from card_lines import card_lines
from conftest import make_settings
from discord_rules import check_all_sent

from bot.render.results import also_in_line
from bot.runner import command_payloads
from bot.text import escape
from embeddings.models import Copy

QUESTION = "Were the purges aimed at real counter-revolutionary networks?"
OFF_TOPIC = "how do I bake sourdough bread at home"
LOAN = "will the bank make me repay my personal loan if my company terminates me"
WEAKER = "Show weaker matches"


def _authors(reply) -> list[str]:
    return [e["description"].split("\n")[0].split(" · ")[0] for e in reply.embeds]


async def test_only_the_good_matches_are_shown_until_the_weaker_ones_are_asked_for(discord_sample, sample_service):
    expected = sample_service.search(QUESTION, 11)
    good = sum(r.good for r in expected)
    assert 3 < good < 11 and all(r.good for r in expected[:good])  # the sample: more than a page, not all
    asker = User()
    reply = await discord_sample.command("ask", user=asker, question=QUESTION)
    pages = math.ceil(good / 3)
    assert reply.message["content"] == f"Only {good} good matches for “{QUESTION}” · page 1 of {pages}"
    assert WEAKER in reply.buttons() and len(reply.embeds) == 3
    for _ in range(pages - 1):
        await discord_sample.press(reply.message, "Next", asker)
    assert len(reply.embeds) == good - 3 * (pages - 1)  # the last page of good matches ends with them
    assert reply.buttons()["Next"]["disabled"] is True
    labels = [o["label"].split(" · ")[0] for o in reply.menus()["Open post…"]["options"]]
    assert labels == [f"{r.rank}. {r.author}" for r in expected[3 * (pages - 1) : good]]

    await discord_sample.press(reply.message, WEAKER, asker)  # the same page, now with what follows
    shown = expected[3 * (pages - 1) : 3 * pages]
    assert reply.message["content"] == (
        f"Results {shown[0].rank}–{shown[-1].rank} of 11 for “{QUESTION}” · page {pages} of 4"
        f" · weaker matches from result {good + 1}"
    )
    assert _authors(reply) == [f"**{escape(r.author)}**" for r in shown]
    assert WEAKER not in reply.buttons() and reply.buttons()["Next"].get("disabled", False) is False
    await discord_sample.press(reply.message, "Next", asker)
    assert _authors(reply) == [f"**{escape(r.author)}**" for r in expected[3 * pages : 3 * pages + 3]]
    check_all_sent(discord_sample.transport.sent)


async def test_a_question_nothing_answers_says_so_and_shows_the_closest_only_when_asked(discord_sample):
    asker = User()
    reply = await discord_sample.command("ask", user=asker, question=OFF_TOPIC)
    assert reply.message["content"] == f"No good matches for “{OFF_TOPIC}” · the closest posts are weaker matches"
    assert reply.embeds == [] and reply.menus() == {} and list(reply.buttons()) == [WEAKER]
    await discord_sample.press(reply.message, WEAKER, asker)
    assert reply.message["content"] == f"Results 1–3 of 11 for “{OFF_TOPIC}” · page 1 of 4 · all weaker matches"
    assert len(reply.embeds) == 3 and "Open post…" in reply.menus()
    check_all_sent(discord_sample.transport.sent)


async def test_with_the_floor_off_every_result_is_a_good_match(make_discord, unfloored_sample):
    d = await make_discord(unfloored_sample)
    reply = await d.command("ask", question=OFF_TOPIC)
    assert reply.message["content"] == f"Results 1–3 of 11 for “{OFF_TOPIC}” · page 1 of 4"
    assert WEAKER not in reply.buttons()


async def test_pages_hold_three_results_by_default_and_never_more_than_five(make_discord, unfloored_sample):
    default = await make_discord(unfloored_sample)
    assert default.bot.settings.bot.results_per_page == 3
    reply = await default.command("ask", question=QUESTION)
    assert len(reply.embeds) == 3 and "page 1 of 4" in reply.message["content"]
    assert len((await default.command("ask", question=QUESTION, limit=5)).embeds) == 5
    assert len((await default.command("ask", question=QUESTION, limit=1)).embeds) == 1
    wide = await make_discord(unfloored_sample, results_per_page=10)  # a config written for ten a page
    reply = await wide.command("ask", question=QUESTION)
    assert len(reply.embeds) == 5 and reply.message["content"].startswith("Results 1–5 of 11")
    assert "page 1 of 3" in reply.message["content"]


def test_the_limit_option_offers_one_to_five(tmp_path):
    [ask] = [p for p in command_payloads(make_settings(tmp_path / "data", [])) if p["name"] == "ask"]
    [limit] = [o for o in ask["options"] if o["name"] == "limit"]
    assert (limit["min_value"], limit["max_value"]) == (1, 5) and "1-5" in limit["description"]


async def test_copies_of_one_text_are_one_card_naming_where_else_it_was_posted(make_discord, copies_service):
    results = copies_service.search(LOAN, 10)
    answer = next(r for r in results if r.passage.startswith("Fact : If your company terminates you"))
    assert answer.good and len(answer.also_in) == 2
    d = await make_discord(copies_service)
    asker = User()
    reply = await d.command("ask", user=asker, question=LOAN)
    if WEAKER in reply.buttons():  # the car questions are no answer to a loan question
        await d.press(reply.message, WEAKER, asker)
    cards = [e["description"] for e in reply.embeds]
    assert reply.message["content"].startswith(f"Results 1–3 of {len(results)} for")  # 10 posts, 4 texts
    [card] = [c for c in cards if "company terminates you" in c.replace("\\", "")]
    head = card_lines(card)[2].split("\n")[0]  # under the byline and the thread
    assert head == "*also in: PERSONAL LOAN AND WORK TERMINATION (post 2) ×2*"
    assert sum("company terminates you" in c.replace("\\", "") for c in cards) == 1
    check_all_sent(d.transport.sent)


def test_the_also_in_line_counts_copies_at_one_place_of_one_title():
    copies = [Copy("a", "t1", "Best Bank", 2), Copy("b", "t2", "Banks in Doha", 0), Copy("c", "t3", "Best Bank", 2)]
    assert also_in_line(copies) == "Best Bank (post 3) ×2, Banks in Doha (post 1)"
    assert also_in_line(copies[1:2]) == "Banks in Doha (post 1)"
