"""Offline Discord for the bot's tests: real discord.py objects, fake network transport.

Only the two places where discord.py touches the network are replaced, and both record what
would have been sent:

* ``HTTPClient.request`` of the bot (REST: login, application info, command sync, channel messages);
* the webhook adapter in ``discord.webhook.async_.async_context`` (interaction callbacks, edits of the
  original response, follow-ups) — the same seam discord.py's own tests use.

Like Discord, the transport refuses (HTTP 400) a message over Discord's limits (checked by
``discord_rules``) and (HTTP 401) a use of an interaction token older than 15 minutes on its fake
clock ``Transport.now``.

Interactions are fed in as raw ``INTERACTION_CREATE`` gateway payloads through
``ConnectionState.parse_interaction_create``, so the real CommandTree, transformers, checks,
autocomplete and the view store all run.
"""
from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import discord
from discord.http import Route
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

APP_ID = 900000000000000001
BOT_USER = {"id": str(APP_ID), "username": "threadbot", "discriminator": "0", "global_name": None,
            "avatar": None, "bot": True}
GUILD_ID = 800000000000000001
CHANNEL_ID = 700000000000000001
MANAGE_GUILD = discord.Permissions(manage_guild=True).value
EVERYDAY = discord.Permissions(send_messages=True, view_channel=True, use_application_commands=True).value
TOKEN_LIFETIME = 15 * 60  # seconds an interaction token can be used

_ids = itertools.count(1_000_000_000_000_000_000)


def snowflake() -> int:
    return next(_ids)


@dataclass
class Sent:
    """One request that would have gone to Discord."""

    method: str
    path: str
    payload: Any = None
    params: dict | None = None

    @property
    def data(self) -> dict:
        """The message-ish part of the payload (interaction callbacks nest it under "data")."""
        if isinstance(self.payload, dict) and "type" in self.payload and "data" in self.payload:
            return self.payload["data"] or {}
        return self.payload if isinstance(self.payload, dict) else {}

    @property
    def callback_type(self) -> int | None:
        return self.payload.get("type") if self.path.endswith("/callback") else None

    @property
    def ephemeral(self) -> bool:
        return bool((self.data.get("flags") or 0) & 64)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Transport:
    """Records every request and answers like Discord would."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.messages: dict[int, dict] = {}  # message id → current message payload
        self.original: dict[str, int] = {}  # interaction token → id of its original response message
        self.adapter = _Adapter(self)
        self.fail_http: dict[str, Exception] = {}  # path prefix → exception to raise (e.g. a rejected token)
        # Interaction tokens expire TOKEN_LIFETIME after their interaction; `now` is a fake clock (seconds) that
        # tests advance, `born` when each token's interaction arrived.
        self.now = 0.0
        self.born: dict[str, float] = {}

    # ---- helpers for tests
    def clear(self) -> None:
        self.sent.clear()

    def by_token(self, token: str) -> list[Sent]:
        return [s for s in self.sent if f"/{token}" in s.path]

    def message_for(self, token: str) -> dict:
        return self.messages[self.original[token]]

    def _message(self, payload: dict | None, *, channel_id: int = CHANNEL_ID, msg_id: int | None = None) -> dict:
        payload = payload or {}
        msg = {
            "id": str(msg_id or snowflake()), "channel_id": str(channel_id), "author": BOT_USER,
            "content": payload.get("content") or "", "type": 0, "timestamp": _now(), "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": payload.get("embeds") or [], "pinned": False, "components": payload.get("components") or [],
            "flags": payload.get("flags") or 0,
        }
        self.messages[int(msg["id"])] = msg
        return msg

    def _edit(self, msg_id: int, payload: dict | None) -> dict:
        msg = self.messages[msg_id]
        for key in ("content", "embeds", "components", "flags"):
            if payload and key in payload:
                msg[key] = payload[key] if payload[key] is not None else ([] if key != "content" else "")
        msg["edited_timestamp"] = _now()
        return dict(msg)

    @staticmethod
    def _enforce_limits(data: Any) -> None:
        """Discord answers 400 to a message over its limits; so does this transport."""
        from discord_rules import RuleBroken, check_message

        if isinstance(data, dict) and ("embeds" in data or "content" in data):
            try:
                check_message(data)
            except RuleBroken as exc:
                raise discord.HTTPException(FakeResponse(400, "Bad Request"),
                                            {"code": 50035, "message": f"Invalid Form Body: {exc}"}) from None

    def expired(self, token: str) -> bool:
        return token in self.born and self.now - self.born[token] >= TOKEN_LIFETIME

    # ---- webhook / interaction endpoints
    def webhook(self, method: str, path: str, payload: Any, params: dict | None) -> Any:
        self.sent.append(Sent(method, path, payload, params))
        parts = path.strip("/").split("/")
        if self.expired(parts[2]):
            raise discord.HTTPException(FakeResponse(401, "Unauthorized"),
                                        {"code": 50027, "message": "Invalid Webhook Token"})
        self._enforce_limits(Sent(method, path, payload, params).data)
        if parts[0] == "interactions":  # POST /interactions/{id}/{token}/callback
            interaction_id, token = parts[1], parts[2]
            kind = payload["type"]
            body = {"interaction": {"id": interaction_id, "type": 2}}
            if kind in (4, 5):  # message / deferred message: Discord creates the original response
                data = dict(payload.get("data") or {})
                if kind == 5:
                    data["flags"] = (data.get("flags") or 0) | 128  # loading
                msg = self._message(data)
                self.original[token] = int(msg["id"])
                body["interaction"].update(response_message_id=msg["id"],
                                           response_message_ephemeral=bool((data.get("flags") or 0) & 64))
                body["resource"] = {"type": kind, "message": msg}
            elif kind == 7:  # update the component's message
                msg = self._edit(self.original[token], payload.get("data"))
                body["resource"] = {"type": 7, "message": msg}
            return body
        # /webhooks/{app_id}/{token}[/messages/{id|@original}]
        token = parts[2]
        if len(parts) == 3 and method == "POST":  # follow-up
            msg = self._message(payload)
            if token not in self.original:
                self.original[token] = int(msg["id"])
            elif self.messages[self.original[token]]["flags"] & 128:  # first follow-up fills the deferral
                self.messages[self.original[token]].update(msg, id=str(self.original[token]))
                self.messages[self.original[token]]["flags"] &= ~128
                return dict(self.messages[self.original[token]])
            return msg
        target = parts[4]
        msg_id = self.original[token] if target == "@original" else int(target)
        if method == "PATCH":
            if self.messages[msg_id]["flags"] & 128:
                self.messages[msg_id]["flags"] &= ~128
            return self._edit(msg_id, payload)
        if method == "GET":
            return dict(self.messages[msg_id])
        if method == "DELETE":
            self.messages.pop(msg_id, None)
            if self.original.get(token) == msg_id:
                del self.original[token]
            return None
        raise AssertionError(f"unexpected webhook request {method} {path}")

    # ---- REST endpoints used by the bot
    async def http_request(self, route: Route, *, files=None, form=None, **kwargs) -> Any:
        path = route.url[len(Route.BASE):]
        payload = kwargs.get("json")
        if payload is None and form:
            payload = json.loads(next(f["value"] for f in form if f["name"] == "payload_json"))
        self.sent.append(Sent(route.method, path, payload, kwargs.get("params")))
        if route.method in ("POST", "PATCH") and "/messages" in path:
            self._enforce_limits(payload)
        for prefix, exc in self.fail_http.items():
            if path.startswith(prefix):
                raise exc
        if route.method == "GET" and path == "/users/@me":
            return dict(BOT_USER)
        if route.method == "GET" and path == "/oauth2/applications/@me":
            return {"id": str(APP_ID), "name": "threadbot", "description": "", "icon": None, "rpc_origins": [],
                    "bot_public": False, "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0,
                    "owner": {"id": "1", "username": "owner", "discriminator": "0", "avatar": None},
                    "team": None, "summary": ""}
        if route.method == "PUT" and path.endswith("/commands"):
            return [dict(cmd, id=str(snowflake()), application_id=str(APP_ID), version="1") for cmd in payload]
        if route.method == "POST" and path.startswith("/channels/") and path.endswith("/messages"):
            return self._message(payload, channel_id=int(path.split("/")[2]))
        raise AssertionError(f"unexpected REST request {route.method} {path}")


class _Adapter(AsyncWebhookAdapter):
    def __init__(self, transport: Transport):
        super().__init__()
        self.transport = transport

    async def request(self, route, session, *, payload=None, multipart=None, files=None, params=None, **_):
        if payload is None and multipart:
            payload = json.loads(next(p["value"] for p in multipart if p["name"] == "payload_json"))
        return self.transport.webhook(route.method, route.url[len(Route.BASE):], payload, params)


class FakeHTTPError(Exception):
    pass


class FakeResponse:
    """Enough of aiohttp.ClientResponse for discord.HTTPException."""

    def __init__(self, status: int, reason: str = ""):
        self.status = status
        self.reason = reason


# ---------------------------------------------------------------------------- interaction payloads
@dataclass
class User:
    id: int = field(default_factory=snowflake)
    name: str = "asker"
    permissions: int = EVERYDAY
    roles: tuple[int, ...] = ()

    def member(self) -> dict:
        return {"user": {"id": str(self.id), "username": self.name, "discriminator": "0", "avatar": None,
                         "global_name": None},
                "roles": [str(r) for r in self.roles], "joined_at": _now(), "deaf": False, "mute": False,
                "flags": 0, "permissions": str(self.permissions), "nick": None, "avatar": None}


def _base(kind: int, user: User, guild: bool = True) -> dict:
    payload = {
        "id": str(snowflake()), "application_id": str(APP_ID), "type": kind,
        "token": f"tok{snowflake()}", "version": 1, "locale": "en-US", "attachment_size_limit": 8 << 20,
        "app_permissions": str(discord.Permissions.all().value), "entitlements": [],
        "channel": {"id": str(CHANNEL_ID), "type": 0, "name": "general", "position": 0,
                    "permission_overwrites": [], "nsfw": False, "parent_id": None},
    }
    if guild:
        payload.update(guild_id=str(GUILD_ID), guild_locale="en-US", member=user.member(),
                       context=0)
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

    def command_payload(self, name: str, user: User, guild: bool = True, **options) -> dict:
        command = self.bot.tree.get_command(name)
        assert command is not None, f"no /{name}"
        payload = _base(2, user, guild)
        payload["data"] = {"id": str(snowflake()), "type": 1, "name": name, "options": _options(command, options)}
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

    async def command(self, name: str, user: User | None = None, guild: bool = True, **options) -> "Reply":
        payload = await self.run(self.command_payload(name, user or User(), guild, **options))
        return Reply(self.transport, payload["token"])

    async def autocomplete(self, name: str, focused: str, user: User | None = None, **options) -> list[dict]:
        command = self.bot.tree.get_command(name)
        payload = _base(4, user or User())
        payload["data"] = {"id": str(snowflake()), "type": 1, "name": name,
                           "options": _options(command, options, focused=focused)}
        await self.run(payload)
        [sent] = self.transport.by_token(payload["token"])
        assert sent.callback_type == 8, sent
        return sent.payload["data"]["choices"]

    async def press(self, message: dict, label: str, user: User) -> "Reply":
        """Press the button labelled `label` on `message` (a message payload as Discord holds it)."""
        custom_id = next(c["custom_id"] for row in message["components"] for c in row["components"]
                         if c.get("label") == label)
        payload = _base(3, user)
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        payload["message"] = dict(message)
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
            parts += [e.get("title", ""), e.get("description", ""), e.get("author", {}).get("name", ""),
                      e.get("footer", {}).get("text", "")]
            parts += [f["name"] + "\n" + f["value"] for f in e.get("fields", [])]
        return "\n".join(parts)

    def buttons(self) -> dict[str, dict]:
        return {c["label"]: c for row in self.message["components"] for c in row["components"]}

    def followups(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "POST" and s.path.startswith("/webhooks/")]
