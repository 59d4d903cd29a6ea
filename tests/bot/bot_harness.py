"""Offline Discord for the bot's tests: real discord.py objects, fake network transport.

The network is the recording transport of ``transport.py``. Interactions are fed in as raw ``INTERACTION_CREATE`` gateway payloads through
``ConnectionState.parse_interaction_create``, so the real CommandTree, transformers, checks,
autocomplete and the view store all run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

import discord
from discord.webhook.async_ import async_context
from transport import APP_ID, CHANNEL_ID, Sent, Transport, now_iso, snowflake

from bot.client import ThreadBot
from embeddings.config import BotSettings

GUILD_ID = 800000000000000001
MANAGE_GUILD = discord.Permissions(manage_guild=True).value
EVERYDAY = discord.Permissions(send_messages=True, view_channel=True, use_application_commands=True).value


def components(message: dict) -> list[dict]:
    """Every component of a message payload, row by row."""
    return [c for row in message.get("components") or [] for c in row["components"]]


# ---------------------------------------------------------------------------- interaction payloads
@dataclass
class User:
    id: int = field(default_factory=snowflake)
    name: str = "asker"
    permissions: int = EVERYDAY
    roles: tuple[int, ...] = ()

    def member(self) -> dict:
        return {
            "user": {
                "id": str(self.id),
                "username": self.name,
                "discriminator": "0",
                "avatar": None,
                "global_name": None,
            },
            "roles": [str(r) for r in self.roles],
            "joined_at": now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(self.permissions),
            "nick": None,
            "avatar": None,
        }


def _base(kind: int, user: User, guild: bool = True, channel_id: int = CHANNEL_ID) -> dict:
    payload = {
        "id": str(snowflake()),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"tok{snowflake()}",
        "version": 1,
        "locale": "en-US",
        "attachment_size_limit": 8 << 20,
        "app_permissions": str(discord.Permissions.all().value),
        "entitlements": [],
        "channel": {
            "id": str(channel_id),
            "type": 0,
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        },
    }
    if guild:
        payload.update(guild_id=str(GUILD_ID), guild_locale="en-US", member=user.member(), context=0)
        payload["channel"]["guild_id"] = str(GUILD_ID)
    else:
        payload.update(user=user.member()["user"], context=1)
    return payload


def _options(command, values: dict, focused: str | None = None) -> list[dict]:
    out = []
    for name, value in values.items():
        param = command.get_parameter(name)
        assert param is not None, f"/{command.name} has no option {name!r}"
        opt = {"type": param.type.value, "name": name, "value": value}
        if name == focused:
            opt["focused"] = True
        out.append(opt)
    return out


class Discord:
    """Drives a ThreadBot offline: slash commands, autocomplete and button presses in, recorded requests out."""

    def __init__(self, bot, transport: Transport):
        self.bot = bot
        self.transport = transport

    def command_payload(
        self, name: str, user: User, guild: bool = True, channel_id: int = CHANNEL_ID, **options
    ) -> dict:
        command = self.bot.tree.get_command(name)
        assert command is not None, f"no /{name}"
        payload = _base(2, user, guild, channel_id)
        payload["data"] = {"id": str(snowflake()), "type": 1, "name": name, "options": _options(command, options)}
        return payload

    def autocomplete_payload(self, name: str, focused: str, user: User, **options) -> dict:
        command = self.bot.tree.get_command(name)
        payload = _base(4, user)
        payload["data"] = {
            "id": str(snowflake()),
            "type": 1,
            "name": name,
            "options": _options(command, options, focused=focused),
        }
        return payload

    @staticmethod
    def press_payload(message: dict, label: str, user: User) -> dict:
        """The component interaction of pressing the button labelled `label` on `message` (as Discord holds it)."""
        custom_id = next(c["custom_id"] for c in components(message) if c["type"] == 2 and c.get("label") == label)
        payload = _base(3, user)
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        payload["message"] = dict(message)
        return payload

    @staticmethod
    def select_payload(message: dict, placeholder: str, value: str, user: User) -> dict:
        """The component interaction of choosing the option `value` in the menu `placeholder` of `message`."""
        menu = next(c for c in components(message) if c["type"] == 3 and c.get("placeholder") == placeholder)
        assert value in [o["value"] for o in menu["options"]], (value, menu["options"])
        payload = _base(3, user)
        payload["data"] = {"custom_id": menu["custom_id"], "component_type": 3, "values": [value]}
        payload["message"] = dict(message)
        return payload

    def dispatch(self, payload: dict) -> set[asyncio.Task]:
        """Deliver an INTERACTION_CREATE; returns the tasks discord.py started for it."""
        token = async_context.set(self.transport.adapter)
        try:
            before = asyncio.all_tasks()
            self.bot._connection.parse_interaction_create(payload)
            return asyncio.all_tasks() - before
        finally:
            async_context.reset(token)

    async def run(self, payload: dict, timeout: float = 60) -> dict:
        self.transport.born.setdefault(payload["token"], self.transport.now)
        tasks = self.dispatch(payload)
        if tasks:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout)
        return payload

    async def command(self, name: str, user: User | None = None, guild: bool = True, **options) -> Reply:
        payload = await self.run(self.command_payload(name, user or User(), guild, **options))
        return Reply(self.transport, payload["token"])

    async def autocomplete(self, name: str, focused: str, user: User | None = None, **options) -> list[dict]:
        payload = self.autocomplete_payload(name, focused, user or User(), **options)
        await self.run(payload)
        [sent] = self.transport.by_token(payload["token"])
        assert sent.callback_type == 8, sent
        return sent.payload["data"]["choices"]

    async def press(self, message: dict, label: str, user: User) -> Reply:
        """Press the button labelled `label` on `message` (a message payload as Discord holds it)."""
        return await self._component(message, self.press_payload(message, label, user))

    async def select(self, message: dict, placeholder: str, value: str, user: User) -> Reply:
        """Choose `value` in the menu `placeholder` of `message`."""
        return await self._component(message, self.select_payload(message, placeholder, value, user))

    async def _component(self, message: dict, payload: dict) -> Reply:
        self.transport.original[payload["token"]] = int(message["id"])
        await self.run(payload)
        return Reply(self.transport, payload["token"])


class Reply:
    """What the bot sent for one interaction."""

    def __init__(self, transport: Transport, token: str):
        self.transport = transport
        self.token = token

    @property
    def sent(self) -> list[Sent]:
        return self.transport.by_token(self.token)

    @property
    def message(self) -> dict:
        """The interaction's visible response message as Discord would now show it."""
        return self.transport.message_for(self.token)

    @property
    def ephemeral(self) -> bool:
        return bool(self.message["flags"] & 64)

    @property
    def embeds(self) -> list[dict]:
        return self.message["embeds"]

    @property
    def text(self) -> str:
        """Everything visible in the response: content and every embed string."""
        msg = self.message
        parts = [msg.get("content") or ""]
        for e in msg["embeds"]:
            parts += [
                e.get("title", ""),
                e.get("description", ""),
                e.get("author", {}).get("name", ""),
                e.get("footer", {}).get("text", ""),
            ]
            parts += [f["name"] + "\n" + f["value"] for f in e.get("fields", [])]
        return "\n".join(parts)

    def buttons(self) -> dict[str, dict]:
        return {c["label"]: c for c in components(self.message) if c["type"] == 2}

    def menus(self) -> dict[str, dict]:
        """The message's select menus by placeholder."""
        return {c["placeholder"]: c for c in components(self.message) if c["type"] == 3}

    def followups(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "POST" and s.path.startswith("/webhooks/")]


# ---------------------------------------------------------------------------- a bot on the recording transport
async def start_discord(service, **bot_settings) -> Discord:
    """A logged-in ThreadBot (real login path: GET /users/@me, application info, setup_hook) on `service`, with
    `bot_settings` as its [bot] settings and the recording transport as its network."""
    settings = replace(service.settings, bot=BotSettings(**bot_settings))
    transport = Transport()
    bot = ThreadBot(settings, service)
    bot.http.request = transport.http_request  # the REST transport: recorded, never sent
    await bot.login("offline-test-token")
    return Discord(bot, transport)


def stop_views(bot) -> None:
    """Stop every live view (cancels their timeout timers)."""
    store = bot._connection._view_store
    for view in {id(i.view): i.view for items in store._views.values() for i in items.values() if i.view}.values():
        view.stop()


async def stop_discord(discord_: Discord) -> None:
    stop_views(discord_.bot)
    await discord_.bot.close()
