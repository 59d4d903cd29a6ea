"""A stand-in for Discord on 127.0.0.1: its REST API over HTTP and its gateway over a websocket.

The bot under test is the real discord.py client with only two URLs changed (:meth:`FakeDiscord.pointed`):
``discord.http.Route.BASE`` (REST, webhooks and interaction callbacks) and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``. Requests are answered by the recording ``Transport`` of
``transport.py`` (its message model, Discord's limits, token expiry), reached through real HTTP. The gateway
speaks the real protocol: HELLO, IDENTIFY → READY and GUILD_CREATE, heartbeats and their ACKs, zlib-stream
compression when asked, RESUME → the missed events and RESUMED (or INVALID_SESSION for a wrong session or seq).
Every HTTP request and gateway frame is recorded with its arrival time (``time.monotonic``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import yarl
from aiohttp import WSMsgType, web
from discord.gateway import DiscordWebSocket
from discord.http import Route
from transport import APP_ID, BOT_USER, CHANNEL_ID, Transport, now_iso

API_PATH = "/api/v10"
TOKEN = "wire-test-token"
GUILDS = {800000000000000001: "Archive Club", 800000000000000002: "Second Server"}
OTHER_CHANNEL_ID = 700000000000000002  # a second text channel in the first guild


@dataclass
class Hit:
    """One HTTP request as it arrived."""

    at: float
    method: str
    path: str  # below the API base, e.g. /interactions/1/tok/callback
    payload: Any
    query: dict
    status: int = 0  # what the fake answered


@dataclass
class Frame:
    """One gateway message from the client."""

    at: float
    op: int
    d: Any
    url_path: str  # which gateway URL the connection was opened on


@dataclass
class RateLimit:
    """Answer the next request matching `method` and `path_match` with 429 and `retry_after` seconds."""

    method: str
    path_match: Callable[[str], bool]
    retry_after: float


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    url_path: str
    zlib: Any = None  # a compressor when the client asked for zlib-stream
    identified: bool = False
    client_close_code: int | None = None  # the code of the client's close frame; None if it sent none
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: dict) -> None:
        raw = json.dumps(message)
        if self.zlib is None:
            await self.ws.send_str(raw)
        else:
            await self.ws.send_bytes(self.zlib.compress(raw.encode()) + self.zlib.flush(zlib.Z_SYNC_FLUSH))


def _channel(channel_id: int, guild_id: int, name: str) -> dict:
    return {"id": str(channel_id), "type": 0, "name": name, "position": 0, "guild_id": str(guild_id)}


def guild_create(guild_id: int, name: str) -> dict:
    """A GUILD_CREATE: the first guild holds the harness's channel and OTHER_CHANNEL_ID, any other one channel."""
    if guild_id == next(iter(GUILDS)):
        channels = [_channel(CHANNEL_ID, guild_id, "general"), _channel(OTHER_CHANNEL_ID, guild_id, "announcements")]
    else:
        channels = [_channel(guild_id + 1, guild_id, "general")]
    everyone = {"id": str(guild_id), "name": "@everyone", "permissions": "0", "position": 0, "color": 0}
    return {
        "id": str(guild_id),
        "name": name,
        "owner_id": "1",
        "joined_at": now_iso(),
        "member_count": 2,
        "large": False,
        "unavailable": False,
        "features": [],
        "roles": [everyone],
        "emojis": [],
        "stickers": [],
        "channels": channels,
        "threads": [],
        "members": [],
        "voice_states": [],
        "presences": [],
    }


def _json(body: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    """A JSON answer with Discord's exact content type (discord.py parses JSON only for `application/json`)."""
    headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(body).encode(), status=status, headers=headers)


class FakeDiscord:
    """Discord on 127.0.0.1 for one bot: start(), pointed(monkeypatch), then watch and drive it."""

    def __init__(self, *, heartbeat_interval: float = 0.5, token: str = TOKEN, guilds: dict[int, str] = GUILDS):
        self.transport = Transport()
        self.heartbeat_interval = heartbeat_interval
        self.token = token
        self.guilds = dict(guilds)
        self.hits: list[Hit] = []
        self.frames: list[Frame] = []
        self.rate_limits: list[RateLimit] = []
        self.session_id: str | None = None
        self.seq = 0
        self.events: list[dict] = []  # every dispatch of this session, for replay on RESUME
        self.connections: list[_Connection] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway-resume", self._gateway)  # the resume_gateway_url of READY
        app.router.add_route("*", API_PATH + "/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PATH}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def pointed(self, monkeypatch) -> None:
        """Point discord.py's REST base URL and default gateway at this fake (for the rest of the test)."""
        monkeypatch.setattr(Route, "BASE", self.api_base)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url))

    # ------------------------------------------------------------------ waiting
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until `condition()` is truthy (checked after every request and frame); returns its value."""

        async def wait() -> Any:
            async with self._changed:
                while not (value := condition()):
                    await self._changed.wait()
                return value

        return await asyncio.wait_for(wait(), timeout)

    def ops(self, op: int) -> list[Frame]:
        return [f for f in self.frames if f.op == op]

    def requests(self, method: str | None = None, contains: str = "") -> list[Hit]:
        return [h for h in self.hits if (method is None or h.method == method) and contains in h.path]

    # ------------------------------------------------------------------ REST
    def rate_limit_next(self, method: str, path_match: Callable[[str], bool], retry_after: float = 0.5) -> None:
        self.rate_limits.append(RateLimit(method, path_match, retry_after))

    async def _http(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        payload = None
        if request.content_type == "application/json":
            payload = await request.json()
        elif request.content_type.startswith("multipart/"):
            form = await request.post()
            payload = json.loads(form["payload_json"]) if "payload_json" in form else None
        hit = Hit(time.monotonic(), request.method, path, payload, dict(request.query))
        self.hits.append(hit)
        try:
            response = self._answer(request, hit)
        finally:
            await self._notify()
        hit.status = response.status
        return response

    def _answer(self, request: web.Request, hit: Hit) -> web.Response:
        token_free = hit.path.startswith(("/webhooks/", "/interactions/"))  # these are authorised by their token
        if not token_free and request.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for rule in self.rate_limits:
            if rule.method == hit.method and rule.path_match(hit.path):
                self.rate_limits.remove(rule)
                body = {"message": "You are being rate limited.", "retry_after": rule.retry_after, "global": False}
                headers = {"Via": "1.1 google", "Retry-After": str(max(1, round(rule.retry_after)))}
                headers |= {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": str(rule.retry_after)}
                return _json(body, status=429, headers=headers)
        try:
            if token_free:
                body = self.transport.webhook(hit.method, hit.path, hit.payload, hit.query)
            else:
                body = self.transport.rest(hit.method, hit.path, hit.payload, hit.query)
        except discord.HTTPException as exc:
            return _json({"code": exc.code, "message": exc.text}, status=exc.status)
        except AssertionError as exc:  # an endpoint this fake (and the bot) does not use
            return _json({"code": 0, "message": f"404: Not Found ({exc})"}, status=404)
        return web.Response(status=204) if body is None else _json(body)

    # ------------------------------------------------------------------ gateway
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(ws, request.path)
        if request.query.get("compress") == "zlib-stream":
            conn.zlib = zlib.compressobj()
        self.connections.append(conn)
        interval_ms = int(self.heartbeat_interval * 1000)
        await conn.send({"op": 10, "d": {"heartbeat_interval": interval_ms}, "s": None, "t": None})
        try:
            while True:
                msg = await ws.receive()
                if msg.type is WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    self.frames.append(Frame(time.monotonic(), data["op"], data.get("d"), request.path))
                    await self._on_frame(conn, data["op"], data.get("d"))
                    await self._notify()
                elif msg.type is WSMsgType.CLOSE:  # the client closed the connection properly
                    conn.client_close_code = msg.data
                    break
                elif msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):  # we closed, or it broke
                    break
        finally:
            conn.done.set()
            await self._notify()
        return ws

    async def _on_frame(self, conn: _Connection, op: int, d: Any) -> None:
        if op == 1:  # heartbeat → heartbeat ACK
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:  # IDENTIFY → READY, then each guild
            if d.get("token") != self.token:
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            conn.identified = True
            self.session_id, self.seq, self.events = secrets.token_hex(16), 0, []
            await self.dispatch("READY", self._ready(), conn)
            for guild_id, name in self.guilds.items():
                await self.dispatch("GUILD_CREATE", guild_create(guild_id, name), conn)
        elif op == 6:  # RESUME → the events the client missed, then RESUMED
            if d.get("token") != self.token or d.get("session_id") != self.session_id or d.get("seq") is None:
                await conn.send({"op": 9, "d": False, "s": None, "t": None})
                return
            conn.identified = True
            for event in [e for e in self.events if e["s"] > d["seq"]]:
                await conn.send(event)
            await self.dispatch("RESUMED", {}, conn)

    def _ready(self) -> dict:
        return {
            "v": 10,
            "user": dict(BOT_USER),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": self.session_id,
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway-resume",
            "shard": [0, 1],
            "application": {"id": str(APP_ID), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }

    @property
    def live(self) -> _Connection | None:
        """The open, identified (or resumed) connection, if any."""
        for conn in reversed(self.connections):
            if conn.identified and not conn.ws.closed:
                return conn
        return None

    async def dispatch(self, event: str, data: dict, conn: _Connection | None = None) -> int:
        """Send a DISPATCH with the next sequence number (kept for replay); returns that number. With no live
        connection the event waits, as on Discord, for the client to RESUME."""
        self.seq += 1
        message = {"op": 0, "t": event, "s": self.seq, "d": data}
        self.events.append(message)
        conn = conn or self.live
        if conn is not None:
            with contextlib.suppress(ConnectionResetError):
                await conn.send(message)
        return self.seq

    async def interaction(self, payload: dict) -> float:
        """Send INTERACTION_CREATE; returns when it was sent. A component interaction's original response is the
        message holding the component, as on Discord."""
        if payload["type"] == 3:
            self.transport.original[payload["token"]] = int(payload["message"]["id"])
        sent = time.monotonic()
        await self.dispatch("INTERACTION_CREATE", payload)
        return sent

    async def drop(self, code: int = 4000) -> None:
        """Close the live connection with `code` (4000, "unknown error", lets the client resume)."""
        conn = self.live
        assert conn is not None, "no live gateway connection"
        await conn.ws.close(code=code, message=b"wire test: reconnect")
        await asyncio.wait_for(conn.done.wait(), 5)
