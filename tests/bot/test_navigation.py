"""One tap deeper, and shared on purpose: the menus of a results page open a whole post ("Back to results"
returns), a post opens its thread, a result is shared to the channel as a compact card that pings nobody. The
relevance floor's "only N good matches" and "Show weaker matches": test_floor.py."""

from __future__ import annotations

from bot_harness import User
from card_lines import card_lines, shown_title, unescaped
from discord_rules import check_all_sent
from markup_rules import message_problems

from bot.text import escape
from bot.views import NOT_YOURS

QUESTION = "Were the purges aimed at real counter-revolutionary networks?"


async def test_the_open_menu_shows_the_whole_post_and_back_returns_to_the_same_page(discord_sample, sample_service):
    asker = User()
    reply = await discord_sample.command("ask", user=asker, question=QUESTION, limit=2)
    await discord_sample.press(reply.message, "Next", asker)
    page2 = (reply.message["content"], reply.embeds)
    menu = reply.menus()["Open post…"]
    second = sample_service.search(QUESTION, 2, offset=2)
    assert [o["label"].split(" · ")[0] for o in menu["options"]] == [f"{r.rank}. {r.author}" for r in second]

    await discord_sample.select(reply.message, "Open post…", menu["options"][1]["value"], asker)
    r = second[1]
    post = sample_service.post(r.thread_id, r.post_index + 1)
    [card] = reply.embeds
    assert card["description"].startswith(f"**{escape(post.author)}** · ")
    assert f"post {r.post_index + 1} of {r.post_count}" in card["description"].split("\n")[0]
    own = next(line for line in post.body.split("\n") if len(line.split()) > 4 and not line.startswith(">"))
    assert " ".join(own.split()[:4]) in card["description"].replace("\\", "")  # the post itself, whole
    assert reply.message["content"] == ""  # the results header is gone with the results
    assert {"Back to results", "Open thread"} <= set(reply.buttons())

    await discord_sample.press(reply.message, "Back to results", asker)
    assert (reply.message["content"], reply.embeds) == page2  # the page it was left at
    check_all_sent(discord_sample.transport.sent)


async def test_a_post_opens_its_thread_and_the_thread_opens_any_post(discord_sample, sample_service):
    [thread] = sample_service.threads()
    asker = User()
    reply = await discord_sample.command("post", user=asker, thread=thread.thread_id, number=1)
    assert "Back to results" not in reply.buttons()  # nothing below it
    await discord_sample.press(reply.message, "Open thread", asker)
    head, title, rest = card_lines(reply.embeds[0]["description"])
    lines = rest.split("\n")
    posts = sample_service.thread_posts(thread.thread_id)
    assert head == "**11 posts** · 2009" and unescaped(shown_title(reply.embeds[0]["description"])[0]) == thread.title
    assert len(lines) == 10 and lines[0].startswith(f"**1.** {escape(posts[0].author)} · ")
    assert reply.embeds[0]["footer"]["text"] == "page 1 of 2"
    await discord_sample.press(reply.message, "Next", asker)
    assert card_lines(reply.embeds[0]["description"])[2].startswith(f"**11.** {escape(posts[10].author)}")
    await discord_sample.select(reply.message, "Open post…", "p10", asker)
    assert "post 11 of 11" in reply.embeds[0]["description"].split("\n")[0]
    assert "Back to thread" in reply.buttons() and "Open thread" not in reply.buttons()
    await discord_sample.press(reply.message, "Back to thread", asker)
    assert card_lines(reply.embeds[0]["description"])[2].startswith("**11.**")  # the page it was left at
    await discord_sample.press(reply.message, "Back to post", asker)
    assert "post 1 of 11" in reply.embeds[0]["description"].split("\n")[0]


async def test_share_posts_one_result_to_the_channel_pinging_nobody(discord_sample, sample_service):
    asker = User(name="asker")
    reply = await discord_sample.command("ask", user=asker, question=QUESTION)
    assert reply.ephemeral  # the results are the asker's
    before = dict(reply.message)
    shared = await discord_sample.select(reply.message, "Share to the channel…", "r1", asker)
    [callback] = shared.sent
    assert callback.callback_type == 4 and not callback.ephemeral  # a new message, for everyone
    data = callback.data
    assert data["content"] == f"Shared by <@{asker.id}>"
    assert data["allowed_mentions"] == {"parse": []}  # the mention names the member and pings nobody
    assert not data.get("components")  # a card, not controls
    r = sample_service.search(QUESTION, 3)[1]
    [card] = data["embeds"]
    assert card["description"].startswith(f"**{escape(r.author)}** · ") and "author" not in card
    assert unescaped(shown_title(card["description"])[0]) == r.thread_title  # the thread: the small second line
    assert message_problems(data, allowed={f"<@{asker.id}>"}) == []
    assert reply.message["embeds"] == before["embeds"]  # the asker's page stays as it was
    check_all_sent(discord_sample.transport.sent)


async def test_the_menus_belong_to_the_asker(make_discord, sample_service):
    d = await make_discord(sample_service, private_by_default=False)
    asker, other = User(), User()
    reply = await d.command("ask", user=asker, question=QUESTION)
    for menu in ("Open post…", "Share to the channel…"):
        intruder = await d.select(reply.message, menu, "r0", other)
        [refusal] = intruder.sent
        assert refusal.ephemeral and refusal.data["content"] == NOT_YOURS
    assert reply.message["content"].startswith("Only ")  # the good matches (test_floor.py)
