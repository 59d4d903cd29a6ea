"""/post, /threads, /stats (and /quote) through the real CommandTree on real indexes."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot_harness import User
from conftest import LONG_POST_CHARS, SPECIAL_THREAD
from discord_rules import check_all_sent

from bot.render import archive_date
from bot.text import escape


def _thread(service):
    return service.threads()[0]


async def test_post_shows_whole_post_with_quotes_marked(discord_sample, sample_service):
    thread = _thread(sample_service)
    quoting = next(v for v in sample_service.thread_posts(thread.thread_id) if v.quoted_spans)
    reply = await discord_sample.command("post", thread=thread.thread_id, number=quoting.post_index + 1)
    e = reply.embeds[0]
    assert e["author"]["name"] == quoting.author
    assert f"post {quoting.post_index + 1} of {thread.post_count}" in e["title"]
    assert archive_date(quoting.posted_at) in e["fields"][0]["value"]
    span = quoting.quoted_spans[0]
    label = f"quoting {span.source_author}, {archive_date(span.source_posted_at)}"
    text = "\n".join(e["description"] for e in _all_pages(reply))
    assert label in text
    # the quoted words are block-quoted, not presented as the poster's own
    quoted_first_words = " ".join(quoting.body[span.start : span.end].split()[:6])
    line = next(x for x in text.split("\n") if quoted_first_words[:30] in x.replace("\\", ""))
    assert line.startswith("> ")
    check_all_sent(reply.sent)


def _all_pages(reply):
    return [reply.embeds[0]]


async def test_30000_character_post_is_split_into_pages(make_discord, special_service):
    d = await make_discord(special_service)
    asker = User()
    reply = await d.command("post", user=asker, thread=SPECIAL_THREAD, number=1)
    body = special_service.post(SPECIAL_THREAD, 1).body
    assert len(body) == LONG_POST_CHARS
    pages = [reply.embeds[0]["description"]]
    footer = reply.embeds[0]["footer"]["text"]
    count = int(re.match(r"Page 1/(\d+)", footer).group(1))
    assert count >= 8  # 30,000 characters cannot fit in fewer 4096-character pages
    for n in range(2, count + 1):
        await d.press(reply.message, "Next", asker)
        assert reply.embeds[0]["footer"]["text"].startswith(f"Page {n}/{count}")
        pages.append(reply.embeds[0]["description"])
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
    assert (
        reply.embeds[0]["title"].startswith(r"Grain levy \*\*minutes\*\*")
        and "@\u200beveryone" in reply.embeds[0]["title"]
    )
    edit = [s for s in reply.sent if s.method == "PATCH"][0]
    assert edit.payload["allowed_mentions"]["parse"] == []  # the client's AllowedMentions.none()


async def test_ask_escapes_passages_too(make_discord, special_service):
    d = await make_discord(special_service)
    reply = await d.command("ask", question="orchard collective voted for pear trees", limit=1)
    desc = reply.embeds[0]["description"]
    assert reply.embeds[0]["author"]["name"] == "Mention Tester"
    assert "@\u200beveryone" in desc and "@everyone" not in desc


async def test_post_number_out_of_range(discord_sample, sample_service):
    thread = _thread(sample_service)
    reply = await discord_sample.command("post", thread=thread.thread_id, number=99)
    assert reply.ephemeral and f"1 to {thread.post_count}" in reply.message["content"]


async def test_threads_lists_counts_and_dates(discord_sample, sample_service):
    reply = await discord_sample.command("threads")
    [thread] = sample_service.threads()
    [field] = reply.embeds[0]["fields"]
    assert field["name"] == escape(thread.title)
    assert f"{thread.post_count} posts" in field["value"]
    assert archive_date(thread.first_posted_at) in field["value"]
    assert archive_date(thread.last_posted_at) in field["value"]
    assert "Page 1/1" in reply.embeds[0]["footer"]["text"]
    assert not reply.message["components"]  # one page: no buttons


async def test_threads_pages(make_discord, special_service):
    from bot.render import threads_pages

    pages = threads_pages(special_service.threads() * 6, per_page=10)
    assert len(pages) == 2 and all(len(p.fields) <= 10 for p in pages)


async def test_stats(discord_sample, sample_service):
    reply = await discord_sample.command("stats")
    stats = sample_service.stats()
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Posts"] == f"{stats.posts:,}" and fields["Threads"] == f"{stats.threads:,}"
    assert fields["Passages"] == f"{stats.passages:,}" and fields["Quotes"] == f"{stats.quotes:,}"
    assert stats.model in fields["Model"] and stats.build_id in fields["Index built"]
    assert fields["Data directory"].endswith(("KB", "MB", "GB"))


async def test_autocomplete_authors_and_threads(make_discord, special_service, sample_service):
    d = await make_discord(special_service)
    choices = await d.autocomplete("ask", "author", question="x", author="")
    assert 0 < len(choices) <= 25
    assert len(special_service.authors("", limit=100)) > 25  # the cap is really needed here
    narrowed = await d.autocomplete("ask", "author", question="x", author="Mention")
    assert [c["value"] for c in narrowed] == ["Mention Tester"]
    threads = await d.autocomplete("post", "thread", thread="roll")
    assert [c["value"] for c in threads] == ["roll-call"] and threads[0]["name"].startswith("Roll call")


async def test_autocomplete_answers_in_time_when_the_service_is_slow(discord_sample, monkeypatch):
    import time

    monkeypatch.setattr("bot.client.AUTOCOMPLETE_TIMEOUT", 0.2)
    monkeypatch.setattr(discord_sample.bot.service, "authors", lambda *a, **k: time.sleep(1) or ["late"])
    started = time.monotonic()
    choices = await discord_sample.autocomplete("ask", "author", question="x", author="a")
    assert choices == [] and time.monotonic() - started < 0.9


async def test_quote_finds_original_and_later_quoters(discord_sample, sample_service):
    relation = sample_service.quotes()[0]
    passage = " ".join(relation.text.split()[:14])
    reply = await discord_sample.command("quote", text=passage)
    e = reply.embeds[0]
    assert e["author"]["name"] == relation.source_author
    later = next(f for f in e["fields"] if f["name"].startswith("Quoted later by"))
    assert relation.quoting_author in later["value"]
    assert "**" in e["description"]  # the matched passage is highlighted in its context
    check_all_sent(reply.sent)


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


async def test_stats_names_sources_without_host_paths(make_discord, rebuild_service):
    await asyncio.to_thread(rebuild_service.rebuild)  # from the configured sources: <tmp>/src
    d = await make_discord(rebuild_service)
    reply = await d.command("stats")
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    [configured] = rebuild_service.settings.sources
    assert rebuild_service.stats().sources == [configured]  # the index holds the absolute path...
    assert fields["Sources"] == "src"  # ...members see its name
    assert str(Path(configured).parent) not in reply.text and "/" not in fields["Sources"]
