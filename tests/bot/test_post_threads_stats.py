"""/post, /threads, /stats (and /quote) through the real CommandTree on real indexes."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path

from bot_harness import MANAGE_GUILD, User
from card_lines import card_lines, shown_title, unescaped
from conftest import LONG_POST_CHARS, SPECIAL_THREAD
from discord_rules import check_all_sent

from bot.render import archive_date
from bot.text import escape, link_url


def _thread(service):
    return service.threads()[0]


async def test_post_shows_whole_post_with_quotes_marked(discord_sample, sample_service):
    thread = _thread(sample_service)
    quoting = next(v for v in sample_service.thread_posts(thread.thread_id) if v.quoted_spans)
    reply = await discord_sample.command("post", thread=thread.thread_id, number=quoting.post_index + 1)
    e = reply.embeds[0]
    head = f"**{escape(quoting.author)}** · {archive_date(quoting.posted_at)} forum time"
    assert e["description"].startswith(f"{head} · post {quoting.post_index + 1} of {thread.post_count}\n")
    title, target = shown_title(e["description"])  # the thread: the small line under the byline
    assert unescaped(title) == thread.title and target == link_url(quoting.url) and "author" not in e
    span = quoting.quoted_spans[0]
    label = f"*↳ quoting {escape(span.source_author)}, {archive_date(span.source_posted_at)} forum time (post "
    text = e["description"]
    assert label in text
    # the quoted words are block-quoted, every line of the quote (the empty ones too) behind "> "
    quoted_first_words = " ".join(quoting.body[span.start : span.end].split()[:6])
    lines = text.split("\n")
    at = next(i for i, x in enumerate(lines) if quoted_first_words[:30] in x.replace("\\", ""))
    assert lines[at].startswith("> ") and lines[at - 1].startswith("*↳ quoting")
    assert all(line.startswith("> ") or not line.startswith(">") for line in lines)
    assert reply.ephemeral  # private unless asked otherwise
    check_all_sent(reply.sent)


async def test_30000_character_post_is_split_into_pages(make_discord, special_service):
    d = await make_discord(special_service)
    asker = User()
    reply = await d.command("post", user=asker, thread=SPECIAL_THREAD, number=1)
    body = special_service.post(SPECIAL_THREAD, 1).body
    assert len(body) == LONG_POST_CHARS
    head = "\n".join(card_lines(reply.embeds[0]["description"])[:2])

    def text(description: str) -> str:
        assert description.startswith(head + "\n")  # who, when and where on every page
        return description[len(head) + 1 :]

    pages = [text(reply.embeds[0]["description"])]
    footer = reply.embeds[0]["footer"]["text"]
    count = int(re.match(r"page 1 of (\d+)", footer).group(1))
    assert count >= 8  # 30,000 characters cannot fit in fewer 4096-character pages
    for n in range(2, count + 1):
        await d.press(reply.message, "Next", asker)
        assert reply.embeds[0]["footer"]["text"] == f"page {n} of {count}"
        pages.append(text(reply.embeds[0]["description"]))
    assert reply.buttons()["Next"]["disabled"] is True
    assert check_all_sent(d.transport.sent) == count  # the first page + one edit per page turn
    assert all(len(p) <= 4096 for p in pages)
    assert " ".join(" ".join(pages).split()) == " ".join(body.split())  # every word, in order, nothing lost


async def test_mentions_and_markdown_render_as_written(make_discord, special_service):
    d = await make_discord(special_service)
    reply = await d.command("post", thread=SPECIAL_THREAD, number=2)
    desc = reply.embeds[0]["description"]
    assert "@everyone" not in desc and "@\u200beveryone" in desc
    assert "@\u200bhere" in desc
    assert "<@123456789012345678>" not in desc and "<@&234567890123456789>" not in desc
    assert r"\*\*unanimously\*\*" in desc and r"\_\_pear\_\_" in desc and r"\~\~apples\~\~" in desc
    assert r"\# not a heading" in desc and r"\`orchard\`" in desc
    # a ">" line of a post is a quote: shown as one, labelled, never as the archive's own markup
    assert "*↳ quoted from an earlier message*\n> this line looks like a quote" in desc
    # the thread's title is archived text like any other: escaped, so it shows as written and pings nobody
    title, _ = shown_title(desc)
    assert title == "Grain levy \\*\\*minutes\\*\\* & @\u200beveryone notes" and "author" not in reply.embeds[0]
    edit = [s for s in reply.sent if s.method == "PATCH"][0]
    assert edit.payload["allowed_mentions"]["parse"] == []  # the client's AllowedMentions.none()


async def test_ask_escapes_passages_too(make_discord, special_service):
    d = await make_discord(special_service)
    reply = await d.command("ask", question="orchard collective voted for pear trees", limit=1)
    desc = reply.embeds[0]["description"]
    assert reply.embeds[0]["description"].startswith("**Mention Tester** · ")
    assert "@\u200beveryone" in desc and "@everyone" not in desc


async def test_post_number_out_of_range(discord_sample, sample_service):
    thread = _thread(sample_service)
    reply = await discord_sample.command("post", thread=thread.thread_id, number=99)
    assert reply.ephemeral and f"1 to {thread.post_count}" in reply.message["content"]


async def test_threads_is_one_line_per_thread_with_its_posts_and_years(discord_sample, sample_service):
    asker = User()
    reply = await discord_sample.command("threads", user=asker)
    [thread] = sample_service.threads()
    [e] = reply.embeds
    assert e["title"] == "1 thread"
    assert e["description"] == f"**{escape(thread.title)}** — {thread.post_count} posts · 2009"
    assert e["footer"]["text"] == "page 1 of 1" and "Next" not in reply.buttons()
    menu = reply.menus()["Open thread…"]  # the jump menu
    assert [o["label"] for o in menu["options"]] == [thread.title]
    await discord_sample.select(reply.message, "Open thread…", "t0", asker)
    assert card_lines(reply.embeds[0]["description"])[2].startswith("**1.** ")
    assert "Back to threads" in reply.buttons()


async def test_threads_filter_ignores_case_and_accents_and_a_miss_names_the_closest(discord_sample, sample_service):
    [thread] = sample_service.threads()
    found = await discord_sample.command("threads", title="STALIN-ÉRA")
    assert found.embeds[0]["title"] == "1 thread matching “STALIN-ÉRA”"
    missed = await discord_sample.command("threads", title="Stalin era trials", private=False)
    text = missed.message["content"]
    assert missed.ephemeral and not missed.embeds  # nothing found: said privately
    assert text == (  # the words are a filter, not a thread's name; the fix is the list without it
        f"No thread title has the words “Stalin era trials”. Did you mean “{escape(thread.title)}”? "
        "Run `/threads` without a title for the whole list."
    )


async def test_threads_of_one_title_are_told_apart_in_the_list_its_menu_and_the_suggestions(
    make_discord, copies_service
):
    d = await make_discord(copies_service)
    asker = User()
    reply = await d.command("threads", user=asker, title="personal loan")
    lines = reply.embeds[0]["description"].split("\n")
    options = reply.menus()["Open thread…"]["options"]
    assert len(lines) == len(options) == 3  # the data set holds this thread three times
    assert len({o["label"] for o in options}) == 1 and len({o["description"] for o in options}) == 3
    for line, option in zip(lines, options, strict=True):  # each entry says what its line says
        assert line.endswith(option["description"].split(" · ", 2)[2])
    wrong = await d.command("ask", question="loan", thread="personal loan")
    title = "PERSONAL LOAN AND WORK TERMINATION"
    assert wrong.message["content"].startswith(f"No thread is called “personal loan”. Did you mean “{title}”? ")


def test_threads_pages_hold_fifteen_and_tell_repeated_titles_apart():
    from datetime import datetime
    from types import SimpleNamespace

    from bot.render import threads_pages

    def t(day: int, posts: int):
        when = datetime(2009, 8, day, 14, 32)
        return SimpleNamespace(thread_id=f"t{day}", title="Purges", post_count=posts, first_posted_at=when,
                               last_posted_at=datetime(2012, 1, 1))  # fmt: skip

    pages = threads_pages([t(1 + n % 20, n + 1) for n in range(40)])
    assert len(pages) == 3 and [len(p.description.split("\n")) for p in pages] == [15, 15, 10]
    lines = pages[0].description.split("\n")
    assert lines[0] == "**Purges** — 1 post · 2009–2012 · started 1 Aug 2009, 14:32"
    assert len(set(line for p in pages for line in p.description.split("\n"))) == 40  # no two alike
    assert pages[0].title == "40 threads" and pages[2].footer.text == "page 3 of 3"


async def test_stats_for_members_says_how_big_and_how_recent(discord_sample, sample_service):
    reply = await discord_sample.command("stats")
    stats = sample_service.stats()
    [e] = reply.embeds
    assert e["title"] == "The archive"
    lines = e["description"].split("\n")
    assert lines[0] == f"1 thread · {stats.posts} posts · 2009"
    assert re.fullmatch(r"updated <t:\d+:R>", lines[1])
    shown = reply.text
    for technical in (stats.model, stats.build_id, "dimensions", "Passages", "Data directory", "Sources"):
        assert technical not in shown


async def test_stats_for_an_admin_adds_the_details_privately(make_discord, rebuild_service):
    await asyncio.to_thread(rebuild_service.rebuild)  # from the configured sources: <tmp>/src
    d = await make_discord(rebuild_service)
    admin = User(permissions=MANAGE_GUILD)
    reply = await d.command("stats", user=admin)
    assert reply.ephemeral
    member, details = reply.embeds
    stats = rebuild_service.stats()
    fields = {f["name"]: f["value"] for f in details["fields"]}
    assert fields["Passages"] == f"{stats.passages:,}" and fields["Quotes"] == f"{stats.quotes:,}"
    assert stats.model in fields["Model"] and stats.build_id in fields["Index built"]
    assert fields["Data directory"].endswith(("KB", "MB", "GB"))
    [configured] = rebuild_service.settings.sources
    assert stats.sources == [configured]  # the index holds the absolute path...
    assert fields["Sources"] == "src"  # ...admins see its name
    assert str(Path(configured).parent) not in reply.text

    public = await d.command("stats", user=admin, private=False)
    assert not public.ephemeral and [e["title"] for e in public.embeds] == ["The archive"]
    [followup] = public.followups()  # the details, for the admin's eyes only
    assert followup.ephemeral and followup.data["embeds"][0]["title"] == "Index details (admins only)"


async def test_autocomplete_authors_and_threads(make_discord, special_service, sample_service):
    d = await make_discord(special_service)
    choices = await d.autocomplete("ask", "author", question="x", author="")
    assert 0 < len(choices) <= 25
    assert len(special_service.authors("", limit=100)) > 25  # the cap is really needed here
    for typed in ("Mention", "méntion", "TESTER"):  # any case, any accents, any word of the name
        narrowed = await d.autocomplete("ask", "author", question="x", author=typed)
        assert [c["value"] for c in narrowed] == ["Mention Tester"], typed
    threads = await d.autocomplete("post", "thread", thread="roll")
    assert [c["value"] for c in threads] == ["roll-call"] and threads[0]["name"].startswith("Roll call")
    typo = await d.autocomplete("post", "thread", thread="rol cal")
    assert [c["value"] for c in typo][:1] == ["roll-call"]


async def test_autocomplete_answers_in_time_when_the_service_is_slow(discord_sample, monkeypatch):
    import time

    monkeypatch.setattr("bot.client.AUTOCOMPLETE_TIMEOUT", 0.2)
    monkeypatch.setattr(discord_sample.bot.service, "author_suggestions", lambda *a, **k: time.sleep(1) or ["late"])
    started = time.monotonic()
    choices = await discord_sample.autocomplete("ask", "author", question="x", author="a")
    assert choices == [] and time.monotonic() - started < 0.9


async def test_quote_names_one_original_and_the_later_quoters_as_a_timeline(discord_sample, sample_service):
    relation = sample_service.quotes()[0]
    passage = " ".join(relation.text.split()[:14])
    asker = User()
    reply = await discord_sample.command("quote", user=asker, text=passage)
    assert reply.ephemeral
    [e] = reply.embeds
    source = sample_service.post(relation.thread_id, relation.source_post_index + 1)
    first, _, _ = card_lines(e["description"])
    assert first == (
        f"**{escape(relation.source_author)}** wrote this first · {archive_date(relation.source_posted_at)} forum time"
        f" · post {relation.source_post_index + 1}"
    )
    title, target = shown_title(e["description"])  # the original's thread, linking to the post when it can
    assert unescaped(title) == source.thread_title and target == link_url(source.url)
    assert "First written in" not in reply.text and "footer" not in e  # one original, no match score
    later = next(f for f in e["fields"] if f["name"].startswith("Quoted later by"))
    lines = later["value"].split("\n")
    assert any(escape(relation.quoting_author) in line for line in lines)
    dates = [re.match(r"(\d+ \w+ \d{4}, \d\d:\d\d) forum time — ", line).group(1) for line in lines]
    assert dates == sorted(dates, key=lambda d: datetime.strptime(d, "%d %b %Y, %H:%M"))  # a timeline
    assert "**" in e["description"]  # the matched passage is highlighted in its context
    # the menu opens the original, whole
    await discord_sample.select(reply.message, "Open post…", "o0", asker)
    assert f"post {relation.source_post_index + 1} of" in reply.embeds[0]["description"].split("\n")[0]
    assert "Back to answer" in reply.buttons()
    check_all_sent(reply.sent)


async def test_a_quote_that_matches_nothing_is_a_private_reply(make_discord, sample_service):
    d = await make_discord(sample_service, private_by_default=False)
    reply = await d.command("quote", text="zebra xylophone quantum marmalade orchestra")
    assert reply.ephemeral and "I found no post containing" in reply.message["content"] and not reply.embeds


def test_source_names_are_relative_to_the_configured_sources(tmp_path):
    from bot.render import source_names

    forum = tmp_path / "archive" / "forum"
    configured = [str(forum), str(tmp_path / "exports" / "one.jsonl")]
    sources = [str(forum), str(forum / "2009" / "a.txt"), str(tmp_path / "exports" / "one.jsonl"), "/elsewhere/b.txt"]
    assert source_names(sources, configured) == ["forum", "forum/2009/a.txt", "one.jsonl", "b.txt"]
    assert source_names([str(forum / "x.txt")], []) == ["x.txt"]  # built from paths given on the command line
    names = [str(forum / "notes."), str(forum / "2009" / "..."), str(tmp_path / "exports.")]
    assert source_names(names, [str(forum), str(tmp_path / "exports.")]) == [
        "forum/notes.",
        "forum/2009/...",
        "exports.",
    ]
