"""Command payloads against Discord's rules; run/sync/commands entry points without a network."""

from __future__ import annotations

import discord
import pytest
from conftest import make_settings
from discord_rules import RuleBroken, check_command
from transport import APP_ID, FakeResponse, Transport

from bot.client import ThreadBot
from bot.runner import EXIT_BAD_TOKEN, EXIT_NO_TOKEN, EXIT_USAGE, command_payloads, run_bot, sync_commands

COMMANDS = {"ask", "post", "threads", "stats", "reindex", "quote"}


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "data", [], dev_guild_id=4242)


def test_every_command_payload_follows_discords_rules(settings):
    payloads = command_payloads(settings)
    assert {p["name"] for p in payloads} == COMMANDS
    for p in payloads:
        check_command(p)
    reindex = next(p for p in payloads if p["name"] == "reindex")
    assert int(reindex["default_member_permissions"]) == discord.Permissions(manage_guild=True).value
    assert reindex["contexts"] == [0]  # guild only


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "Ask", "description": "x"},
        {"name": "a" * 33, "description": "x"},
        {"name": "ask", "description": ""},
        {"name": "ask", "description": "d" * 101},
        {
            "name": "ask",
            "description": "x",
            "options": [
                {"type": 3, "name": "opt", "description": "x"},
                {"type": 3, "name": "req", "description": "x", "required": True},
            ],
        },
        {
            "name": "ask",
            "description": "x",
            "options": [{"type": 3, "name": f"o{i}", "description": "x"} for i in range(26)],
        },
    ],
)
def test_the_rule_checker_rejects_bad_payloads(bad):
    with pytest.raises(RuleBroken):
        check_command(bad)


def _offline_factory(transport):
    def factory(settings, service, **kwargs):
        bot = ThreadBot(settings, service, **kwargs)
        bot.http.request = transport.http_request
        return bot

    return factory


def test_sync_to_dev_guild_sends_exactly_the_payloads(settings, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "offline")
    transport = Transport()
    assert sync_commands(settings, global_=False, bot_factory=_offline_factory(transport)) == 0
    puts = [s for s in transport.sent if s.method == "PUT"]
    assert [s.path for s in puts] == [f"/applications/{APP_ID}/guilds/4242/commands"]
    assert sorted(puts[0].payload, key=lambda p: p["name"]) == sorted(
        command_payloads(settings), key=lambda p: p["name"]
    )


def test_global_sync_only_when_asked(settings, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "offline")
    transport = Transport()
    assert sync_commands(settings, global_=True, bot_factory=_offline_factory(transport)) == 0
    assert [s.path for s in transport.sent if s.method == "PUT"] == [f"/applications/{APP_ID}/commands"]


def test_sync_without_dev_guild_explains(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_TOKEN", "offline")
    transport = Transport()
    code = sync_commands(make_settings(tmp_path, []), global_=False, bot_factory=_offline_factory(transport))
    assert code == EXIT_USAGE and "--global" in capsys.readouterr().err
    assert not [s for s in transport.sent if s.method == "PUT"]


async def test_start_does_not_sync_by_default(settings):
    """Commands are never synced on every start, even with a dev guild configured."""
    transport = Transport()
    bot = ThreadBot(settings, None)
    bot.http.request = transport.http_request
    await bot.login("offline")  # runs setup_hook
    loaded = {c.name for c in bot.tree.get_commands()}
    await bot.close()
    assert [s for s in transport.sent if s.method == "PUT" or "/commands" in s.path] == []
    assert loaded == COMMANDS  # the commands are loaded, just not synced


async def test_sync_on_start_goes_to_the_dev_guild_only_never_globally(settings):
    for dev_guild, expected in ((4242, [f"/applications/{APP_ID}/guilds/4242/commands"]), (None, [])):
        transport = Transport()
        bot = ThreadBot(make_settings(settings.data_dir, [], dev_guild_id=dev_guild), None, sync_on_start=True)
        bot.http.request = transport.http_request
        await bot.login("offline")
        await bot.close()
        assert [s.path for s in transport.sent if s.method == "PUT"] == expected


def _no_gateway_factory(transport):
    """Like _offline_factory, but `connect` returns at once, so `bot.run` logs in, runs setup_hook and stops."""

    def factory(settings, service, **kwargs):
        bot = _offline_factory(transport)(settings, service, **kwargs)

        async def connect(*a, **k):
            return None

        bot.connect = connect
        return bot

    return factory


@pytest.mark.parametrize(
    "sync, expected",
    [
        (False, []),
        (True, [f"/applications/{APP_ID}/guilds/4242/commands"]),
    ],
)
def test_run_syncs_only_with_sync_and_only_to_the_dev_guild(settings, monkeypatch, sync, expected):
    monkeypatch.setenv("DISCORD_TOKEN", "offline")
    transport = Transport()
    assert run_bot(settings, sync, service_factory=lambda s: None, bot_factory=_no_gateway_factory(transport)) == 0
    assert any(s.path == "/users/@me" for s in transport.sent)  # it did log in
    assert [s.path for s in transport.sent if s.method == "PUT"] == expected


def test_run_sync_without_dev_guild_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_TOKEN", "offline")
    transport = Transport()
    code = run_bot(
        make_settings(tmp_path, []),
        sync=True,
        service_factory=lambda s: None,
        bot_factory=_no_gateway_factory(transport),
    )
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and "dev_guild_id" in err and "--global" in err and "Traceback" not in err
    assert transport.sent == []  # not even a login


def test_run_without_token(settings, monkeypatch, capsys):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert run_bot(settings, service_factory=lambda s: None) == EXIT_NO_TOKEN
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN" in err and "Traceback" not in err


def test_run_with_rejected_token(settings, monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")
    transport = Transport()
    transport.fail_http["/users/@me"] = discord.HTTPException(
        FakeResponse(401, "Unauthorized"), {"message": "401: Unauthorized", "code": 0}
    )
    code = run_bot(settings, service_factory=lambda s: None, bot_factory=_offline_factory(transport))
    err = capsys.readouterr().err
    assert code == EXIT_BAD_TOKEN and "rejected" in err and "Traceback" not in err


def test_client_defaults(settings):
    bot = ThreadBot(settings, None)
    assert bot.allowed_mentions.to_dict() == discord.AllowedMentions.none().to_dict()
    assert not bot.intents.message_content and not bot.intents.members


async def test_start_up_warms_the_model_and_index_in_the_background(make_discord, sample_service, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="threadbot.bot"):
        d = await make_discord(sample_service)
        await d.bot._warm_up_task
    assert any(r.getMessage().startswith("serving 11 posts of 1 threads") for r in caplog.records)
