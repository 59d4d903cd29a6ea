"""/reindex: admin check at run time, progress edits, the real rebuild lock, answers during a rebuild."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import replace

from bot_harness import CHANNEL_ID, MANAGE_GUILD, User
from card_lines import card_lines
from discord_rules import check_all_sent

ADMIN = MANAGE_GUILD


def gate_rebuild(service):
    """Hold the *real* rebuild (and so its lock) at its first progress report until `release` is set."""
    entered, release = threading.Event(), threading.Event()
    real = service.rebuild

    def rebuild(*args, progress=None, **kwargs):
        def gated(stage, done, total):
            if progress:  # report first, so the held rebuild has progress to show
                progress(stage, done, total)
            if not entered.is_set():
                entered.set()
                release.wait(30)

        return real(*args, progress=gated, **kwargs)

    service.rebuild = rebuild
    return entered, release


async def _wait_for(event: threading.Event, timeout: float = 30) -> None:
    assert await asyncio.to_thread(event.wait, timeout)


async def test_non_admin_is_refused_even_when_the_command_is_visible(make_discord, rebuild_service, caplog):
    d = await make_discord(rebuild_service)
    calls = []
    rebuild_service.rebuild = lambda *a, **k: calls.append(1)
    member = User(name="member")  # the server let them see /reindex, but they lack Manage Server
    with caplog.at_level(logging.WARNING, logger="threadbot.bot"):
        reply = await d.command("reindex", user=member)
    assert reply.ephemeral and "Only bot admins" in reply.message["content"]
    assert calls == []
    assert any("refused /reindex" in r.getMessage() and str(member.id) in r.getMessage() for r in caplog.records)


async def test_configured_admins_replace_the_default(make_discord, rebuild_service):
    admin_role = 555
    d = await make_discord(rebuild_service, admin_user_ids=(42,), admin_role_ids=(admin_role,))
    calls = []
    rebuild_service.rebuild = lambda *a, **k: calls.append(k["started_by"]) or _report()
    manager = User(name="manager", permissions=ADMIN)  # with admins listed, Manage Server does not suffice
    assert "Only bot admins" in (await d.command("reindex", user=manager)).message["content"]
    await d.command("reindex", user=User(id=42, name="listed"))
    await d.command("reindex", user=User(name="role-holder", roles=(admin_role,)))
    assert calls == ["listed", "role-holder"]


def _report():
    from embeddings.models import BuildReport

    return BuildReport("b1", 1, 1, 1, 0, 1, 0, 0.1)


async def test_rebuild_reports_progress_and_counts(make_discord, rebuild_service):
    d = await make_discord(rebuild_service, progress_interval_seconds=0.2)
    entered, release = gate_rebuild(rebuild_service)
    admin = User(name="admin", permissions=ADMIN)
    payload = d.command_payload("reindex", admin)
    tasks = d.dispatch(payload)
    await _wait_for(entered)
    await asyncio.sleep(0.5)
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 120)

    sent = d.transport.by_token(payload["token"])
    assert sent[0].callback_type == 4 and not sent[0].ephemeral and "Rebuilding" in sent[0].data["content"]
    progress = [s for s in sent if s.method == "PATCH" and "Rebuilding" in (s.payload.get("content") or "")]
    assert progress and any(
        "Embedding passages" in s.payload["content"] or "Parsing" in s.payload["content"] for s in progress
    )
    final = d.transport.message_for(payload["token"])
    embed = final["embeds"][0]
    assert embed["title"] == "Rebuild finished"
    stats = rebuild_service.stats()
    assert f"{stats.posts:,} posts" in embed["description"] and f"{stats.passages:,} passages" in embed["description"]
    check_all_sent(sent)


async def test_progress_edits_are_rate_limited(make_discord, rebuild_service):
    interval = 0.3
    d = await make_discord(rebuild_service, progress_interval_seconds=interval)
    real = rebuild_service.rebuild

    def chatty(*args, progress=None, **kwargs):  # a rebuild that reports progress very often
        for i in range(40):
            progress("embed", i, 40)
            time.sleep(0.03)
        return real(*args, progress=progress, **kwargs)

    rebuild_service.rebuild = chatty
    stamps = []
    original = d.transport.webhook

    def stamped(method, path, payload, params):
        if method == "PATCH" and "Rebuilding" in ((payload or {}).get("content") or ""):
            stamps.append(time.monotonic())
        return original(method, path, payload, params)

    d.transport.webhook = stamped
    await d.command("reindex", user=User(permissions=ADMIN))
    assert len(stamps) >= 2
    assert all(b - a >= interval * 0.9 for a, b in zip(stamps, stamps[1:]))
    chatty_phase = [t for t in stamps if t - stamps[0] <= 1.2]  # the real rebuild after it reports on its own
    assert len(chatty_phase) <= 1.2 / interval + 2  # 40 reports in ~1.2 s, not 40 edits


async def test_one_rebuild_at_a_time_and_ask_answers_meanwhile(make_discord, rebuild_service):
    d = await make_discord(rebuild_service, progress_interval_seconds=0.1)
    entered, release = gate_rebuild(rebuild_service)
    first = User(name="first-admin", permissions=ADMIN)
    payload = d.command_payload("reindex", first)
    tasks = d.dispatch(payload)
    try:
        await _wait_for(entered)  # the real rebuild holds its lock now
        second = await d.command("reindex", user=User(name="second-admin", permissions=ADMIN))
        assert second.ephemeral and "already running by first-admin" in second.message["content"]

        ask = await asyncio.wait_for(d.command("ask", question="Were the purges justified?"), 20)
        assert len(ask.embeds) == 3 and card_lines(ask.embeds[0]["description"])[1]

        stats = await d.command("stats")
        assert "A rebuild is running, started by first-admin" in stats.embeds[0]["description"]
    finally:
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    assert d.transport.message_for(payload["token"])["embeds"][0]["title"] == "Rebuild finished"


async def test_rebuild_failure_keeps_the_old_index(make_discord, rebuild_service, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    rebuild_service.settings = replace(rebuild_service.settings, sources=(str(empty),))
    d = await make_discord(rebuild_service)
    payload = d.command_payload("reindex", User(permissions=ADMIN))
    await d.run(payload)
    text = d.transport.message_for(payload["token"])["content"]
    assert text.startswith("Rebuild failed") and "previous index is still serving" in text
    ask = await d.command("ask", question="Were the purges justified?")
    assert len(ask.embeds) == 3


async def test_rebuild_outlasting_the_interaction_window_reports_in_the_channel(make_discord, rebuild_service):
    d = await make_discord(rebuild_service, progress_interval_seconds=0.05)
    cog = d.bot.get_cog("ReindexCog")
    cog.interaction_window = 0.3  # stands in for Discord's 15 minutes
    entered, release = gate_rebuild(rebuild_service)
    admin = User(name="patient-admin", permissions=ADMIN)
    payload = d.command_payload("reindex", admin)
    tasks = d.dispatch(payload)
    await _wait_for(entered)
    await asyncio.sleep(0.5)
    edits_before = len([s for s in d.transport.by_token(payload["token"]) if s.method == "PATCH"])
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 120)

    sent = d.transport.by_token(payload["token"])
    assert len([s for s in sent if s.method == "PATCH"]) == edits_before  # the token is no longer used
    [post] = [s for s in d.transport.sent if s.path == f"/channels/{CHANNEL_ID}/messages"]
    assert f"<@{admin.id}>" in post.payload["content"] and "has ended" in post.payload["content"]
    assert post.payload["embeds"][0]["title"] == "Rebuild finished"
    assert [int(u) for u in post.payload["allowed_mentions"]["users"]] == [admin.id]


# ------------------------------------------------------------------ no host paths in the channel
def test_skipped_input_is_named_like_stats_names_sources():
    from bot.render import report_embed
    from embeddings.models import BuildReport

    errors = [
        "/home/ops/private/archive/forum/a.jsonl:3: not JSON",
        "/home/ops/private/archive/forum/2009/b.txt: not a regular file, skipped",
        "/home/ops/private/elsewhere/c.mbox:9: message 2: no usable date (none)",
    ]
    report = BuildReport("b1", 1, 1, 1, 0, 1, 0, 0.1, errors=errors)
    [field] = report_embed(report, ["/home/ops/private/archive/forum"], "/var/lib/threadbot").to_dict()["fields"]
    assert "/home/ops" not in field["value"] and "private" not in field["value"]
    assert field["value"].split("\n") == [
        "forum/a.jsonl:3: not JSON",
        "forum/2009/b.txt: not a regular file, skipped",
        "c.mbox:9: message 2: no usable date (none)",
    ]


async def test_reindex_reports_skipped_input_without_host_paths(make_discord, rebuild_service, tmp_path):
    src = rebuild_service.settings.sources[0]
    (tmp_path / "src" / "broken.jsonl").write_text('{"not": "a post"}\nnot json at all\n', encoding="utf-8")
    d = await make_discord(rebuild_service)
    reply = await d.command("reindex", user=User(permissions=ADMIN))
    [embed] = reply.embeds
    [field] = [f for f in embed["fields"] if f["name"].startswith("Skipped input")]
    shown = reply.text.replace("\\", "")  # as it reads, escapes aside
    assert "src/broken.jsonl:1" in field["value"] and "src/broken.jsonl:2" in field["value"]
    assert str(tmp_path) not in shown and src not in shown


async def test_a_failed_rebuild_names_no_host_path(make_discord, rebuild_service):
    from embeddings.errors import StorageError

    data_dir = rebuild_service.settings.data_dir

    def full_disk(*args, **kwargs):
        raise StorageError(data_dir / "builds" / "20240101-1.tmp", "No space left on device")

    rebuild_service.rebuild = full_disk
    d = await make_discord(rebuild_service)
    reply = await d.command("reindex", user=User(permissions=ADMIN))
    text = reply.message["content"]
    assert text.startswith("Rebuild failed: data\\_dir/builds/20240101-1.tmp: No space left on device"), text
    assert str(data_dir) not in text.replace("\\", "")


async def test_reindex_with_nothing_changed_says_so_and_prune_is_passed_on(make_discord, rebuild_service):
    d = await make_discord(rebuild_service)
    admin = User(name="admin", permissions=ADMIN)
    first = (await d.command("reindex", user=admin)).embeds[0]  # the copied index read other paths: a build
    assert first["title"] == "Rebuild finished"
    again = (await d.command("reindex", user=admin)).embeds[0]
    assert again["title"] == "Index up to date" and "No source changed" in again["description"]

    calls = []
    rebuild_service.rebuild = lambda *a, **k: calls.append(k["prune"]) or _report()
    await d.command("reindex", user=admin, prune=True)
    await d.command("reindex", user=admin)
    assert calls == [True, False]


async def test_reindex_refuses_when_a_source_is_gone_and_names_no_host_path(make_discord, rebuild_service, tmp_path):
    import shutil

    d = await make_discord(rebuild_service)
    admin = User(name="admin", permissions=ADMIN)
    await d.command("reindex", user=admin)
    live = rebuild_service.data.current_build()
    shutil.rmtree(tmp_path / "src")
    text = (await d.command("reindex", user=admin)).message["content"]
    assert text.startswith("Rebuild failed: a source of the index is gone") and "prune" in text
    assert str(tmp_path) not in text.replace("\\", "") and rebuild_service.data.current_build() == live


def test_an_extension_that_found_no_new_post_says_so():
    from bot.render import report_embed
    from embeddings.models import BuildReport

    grown = report_embed(BuildReport("b2", 1, 3, 9, 9, 0, 2, 0.5, kind="incremental", new_posts=2)).to_dict()
    assert grown["title"] == "Index extended" and grown["description"].startswith("2 new posts added.")
    copied = report_embed(BuildReport("b3", 1, 3, 9, 0, 0, 2, 0.5, kind="incremental", new_posts=0)).to_dict()
    assert copied["title"] == "Index up to date" and copied["description"].startswith("No new posts:")
