"""The fake network of the bot's tests: a recording transport in place of discord.py's HTTP and webhook calls.

Only the two places where discord.py touches the network are replaced, and both record what would have been sent:
``HTTPClient.request`` of the bot (REST) and the webhook adapter in ``discord.webhook.async_.async_context``
(interaction callbacks, edits of the original response, follow-ups). Like Discord, the transport refuses (HTTP 400)
a message over Discord's limits (``discord_rules``) and (HTTP 401) an interaction token older than 15 minutes on its
fake clock ``Transport.now``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import discord
from discord.http import Route
from discord.webhook.async_ import AsyncWebhookAdapter

APP_ID = 900000000000000001
BOT_USER = {
    "id": str(APP_ID),
    "username": "threadbot",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}
CHANNEL_ID = 700000000000000001
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


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


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
            "id": str(msg_id or snowflake()),
            "channel_id": str(channel_id),
            "author": BOT_USER,
            "content": payload.get("content") or "",
            "type": 0,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": payload.get("embeds") or [],
            "pinned": False,
            "components": payload.get("components") or [],
            "flags": payload.get("flags") or 0,
        }
        self.messages[int(msg["id"])] = msg
        return msg

    def _edit(self, msg_id: int, payload: dict | None) -> dict:
        msg = self.messages[msg_id]
        for key in ("content", "embeds", "components", "flags"):
            if payload and key in payload:
                msg[key] = payload[key] if payload[key] is not None else ([] if key != "content" else "")
        msg["edited_timestamp"] = now_iso()
        return dict(msg)

    @staticmethod
    def _enforce_limits(data: Any) -> None:
        """Discord answers 400 to a message over its limits; so does this transport."""
        from discord_rules import RuleBroken, check_message

        if isinstance(data, dict) and ("embeds" in data or "content" in data):
            try:
                check_message(data)
            except RuleBroken as exc:
                raise discord.HTTPException(
                    FakeResponse(400, "Bad Request"), {"code": 50035, "message": f"Invalid Form Body: {exc}"}
                ) from None

    def expired(self, token: str) -> bool:
        return token in self.born and self.now - self.born[token] >= TOKEN_LIFETIME

    # ---- webhook / interaction endpoints
    def webhook(self, method: str, path: str, payload: Any, params: dict | None) -> Any:
        self.sent.append(Sent(method, path, payload, params))
        parts = path.strip("/").split("/")
        if self.expired(parts[2]):
            raise discord.HTTPException(
                FakeResponse(401, "Unauthorized"), {"code": 50027, "message": "Invalid Webhook Token"}
            )
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
                body["interaction"].update(
                    response_message_id=msg["id"], response_message_ephemeral=bool((data.get("flags") or 0) & 64)
                )
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
        payload = kwargs.get("json")
        if payload is None and form:
            payload = json.loads(next(f["value"] for f in form if f["name"] == "payload_json"))
        return self.rest(route.method, route.url[len(Route.BASE) :], payload, kwargs.get("params"))

    def rest(self, method: str, path: str, payload: Any = None, params: dict | None = None) -> Any:
        """One REST request (path below the API base); the answer's JSON, or discord.HTTPException as Discord
        would refuse it. An endpoint the bot has no business calling is an AssertionError."""
        self.sent.append(Sent(method, path, payload, params))
        if method in ("POST", "PATCH") and "/messages" in path:
            self._enforce_limits(payload)
        for prefix, exc in self.fail_http.items():
            if path.startswith(prefix):
                raise exc
        if method == "GET" and path == "/users/@me":
            return dict(BOT_USER)
        if method == "GET" and path == "/oauth2/applications/@me":
            return {
                "id": str(APP_ID),
                "name": "threadbot",
                "description": "",
                "icon": None,
                "rpc_origins": [],
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": {"id": "1", "username": "owner", "discriminator": "0", "avatar": None},
                "team": None,
                "summary": "",
            }
        if method == "PUT" and path.endswith("/commands"):
            return [dict(cmd, id=str(snowflake()), application_id=str(APP_ID), version="1") for cmd in payload]
        if method == "POST" and path.startswith("/channels/") and path.endswith("/messages"):
            return self._message(payload, channel_id=int(path.split("/")[2]))
        raise AssertionError(f"unexpected REST request {method} {path}")


class _Adapter(AsyncWebhookAdapter):
    def __init__(self, transport: Transport):
        super().__init__()
        self.transport = transport

    async def request(self, route, session, *, payload=None, multipart=None, files=None, params=None, **_):
        if payload is None and multipart:
            payload = json.loads(next(p["value"] for p in multipart if p["name"] == "payload_json"))
        return self.transport.webhook(route.method, route.url[len(Route.BASE) :], payload, params)


class FakeHTTPError(Exception):
    pass


class FakeResponse:
    """Enough of aiohttp.ClientResponse for discord.HTTPException."""

    def __init__(self, status: int, reason: str = ""):
        self.status = status
        self.reason = reason
