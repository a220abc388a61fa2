"""Minimal relay of chinwag's wire protocol on aiohttp, for bench/relay.py only.

The project rule makes aiohttp the default HTTP/WebSocket stack "unless a
benchmark shows better"; chinwag's server uses its own small asyncio WebSocket
transport, and this relay is the other side of that comparison. It does what the
benchmark exercises, the same way as bench/node_relay/relay.js: ``id``, sign-in
with numbered names, ``signed-in`` for feature clients, coalesced presence (full
``userlist`` or ``presence`` deltas), targeted and broadcast relay with the
sender's ``name`` set, and ``no-such-user`` / ``bad-json`` errors. JSON goes
through msgspec, as in chinwag, so the difference measured is the transport.

Usage: python bench/aiohttp_relay.py [--host 127.0.0.1] [--port 0]
Prints "relay listening on http://HOST:PORT/" once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

PRESENCE_INTERVAL = 0.05
SERVER_TYPES = frozenset(
    {"id", "rejectusername", "userlist", "error", "signed-in", "presence", "ice-servers"}
)
KNOWN_FEATURES = frozenset({"deltas", "ringing", "plain-text"})
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


@dataclass(slots=True, eq=False)
class Member:
    """One WebSocket connection and, once signed in, its name."""

    id: int
    socket: web.WebSocketResponse
    name: str | None = None
    deltas: bool = False
    fresh: bool = False


@dataclass(slots=True)
class Relay:
    """Who is signed in, and the presence changes not yet sent."""

    members: dict[str, Member] = field(default_factory=dict)
    next_id: int = 1
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    renamed: list[list[str]] = field(default_factory=list)


def error_frame(code: str, message: str, kind: Any = None, target: Any = None) -> bytes:
    """Encode one ``error`` message."""
    return _encode(
        {"type": "error", "code": code, "message": message, "for": kind, "target": target}
    )


async def send(member: Member, frame: bytes) -> None:
    """Send one encoded JSON message as a text frame, skipping sockets already closing."""
    if not member.socket.closed:
        await member.socket.send_frame(frame, WSMsgType.TEXT)


async def sign_in(relay: Relay, member: Member, msg: dict[str, Any]) -> None:
    """Sign in or rename, numbering a taken name as the reference server does."""
    raw = msg.get("name")
    wanted = raw.strip() if isinstance(raw, str) else ""
    if not wanted or len(wanted) > 32:
        await send(member, error_frame("bad-name", "Bad username.", "username"))
        return
    if member.name == wanted:
        return
    name, number = wanted, 0
    while name in relay.members:
        number += 1
        name = f"{wanted}{number}"
    if member.name is None:
        asked = msg.get("features")
        features = sorted(KNOWN_FEATURES.intersection(asked if isinstance(asked, list) else []))
        member.deltas = "deltas" in features
        member.fresh = True
        relay.joined.append(name)
        if features:
            signed = {"type": "signed-in", "id": member.id, "name": name, "features": features}
            await send(member, _encode(signed))
    else:
        del relay.members[member.name]
        relay.renamed.append([member.name, name])
    if name != wanted:
        await send(member, _encode({"type": "rejectusername", "id": member.id, "name": name}))
    member.name = name
    relay.members[name] = member


async def pass_on(relay: Relay, member: Member, msg: dict[str, Any], kind: Any) -> None:
    """Relay a signaling message to its target, or to everyone without one."""
    if kind in SERVER_TYPES:
        await send(member, error_frame("bad-type", f"{kind} is sent by the server only.", kind))
        return
    msg["name"] = member.name
    frame = _encode(msg)
    target = msg.get("target")
    if isinstance(target, str) and target:
        other = relay.members.get(target)
        if other is None:
            text = f"{target} is not online."
            await send(member, error_frame("no-such-user", text, kind, target))
        else:
            await send(other, frame)
        return
    for other in list(relay.members.values()):
        await send(other, frame)


async def receive(relay: Relay, member: Member, data: str) -> None:
    """Handle one text frame from a client."""
    try:
        msg = _decode(data)
    except msgspec.DecodeError:
        await send(member, error_frame("bad-json", "The frame is not valid JSON."))
        return
    if not isinstance(msg, dict):
        await send(member, error_frame("bad-message", "A message must be a JSON object."))
        return
    kind = msg.get("type")
    if kind == "username":
        await sign_in(relay, member, msg)
    elif member.name is None:
        await send(member, error_frame("not-signed-in", "Sign in first.", kind))
    elif kind == "message":
        line = {
            "type": "message",
            "text": str(msg.get("text")),
            "name": member.name,
            "date": int(time.time() * 1000),
            "id": member.id,
        }
        frame = _encode(line)
        for other in list(relay.members.values()):
            await send(other, frame)
    else:
        await pass_on(relay, member, msg, kind)


def leave(relay: Relay, member: Member) -> None:
    """Forget a closed connection and note its name as gone."""
    if member.name is None or relay.members.get(member.name) is not member:
        return
    del relay.members[member.name]
    if member.name in relay.joined:
        relay.joined.remove(member.name)
    else:
        relay.left.append(member.name)


async def handle_socket(request: web.Request) -> web.StreamResponse:
    """One WebSocket connection: send its ``id``, then read frames until it closes."""
    relay: Relay = request.app["relay"]
    socket = web.WebSocketResponse(protocols=("json",), autoping=True)
    await socket.prepare(request)
    member = Member(relay.next_id, socket)
    relay.next_id += 1
    await send(member, _encode({"type": "id", "id": member.id}))
    try:
        async for frame in socket:
            if frame.type == WSMsgType.TEXT:
                await receive(relay, member, frame.data)
            elif frame.type == WSMsgType.BINARY:
                await send(member, error_frame("binary-frame", "Send JSON text."))
    finally:
        leave(relay, member)
    return socket


async def flush_presence(relay: Relay) -> None:
    """Send the presence changes of the last interval: lists to some, deltas to others."""
    if not (relay.joined or relay.left or relay.renamed):
        return
    users = list(relay.members)
    full = _encode({"type": "userlist", "users": users})
    full_for_deltas = _encode({"type": "userlist", "users": users, "busy": []})
    delta = _encode(
        {
            "type": "presence",
            "joined": relay.joined,
            "left": relay.left,
            "renamed": relay.renamed,
            "busy": [],
            "idle": [],
        }
    )
    relay.joined, relay.left, relay.renamed = [], [], []
    for member in list(relay.members.values()):
        frame = full if not member.deltas else full_for_deltas if member.fresh else delta
        member.fresh = False
        await send(member, frame)


async def presence_loop(relay: Relay) -> None:
    """Coalesce presence: at most one update per client per interval."""
    while True:
        await asyncio.sleep(PRESENCE_INTERVAL)
        await flush_presence(relay)


async def serve(host: str, port: int) -> None:
    """Run the relay until SIGTERM or SIGINT."""
    app = web.Application()
    app["relay"] = relay = Relay()
    app.router.add_get("/", handle_socket)
    app.router.add_get("/ws", handle_socket)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.base_events.Server)
    bound = server.sockets[0].getsockname()[1]
    print(f"relay listening on http://{host}:{bound}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    flusher = asyncio.create_task(presence_loop(relay))
    await stop.wait()
    flusher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await flusher
    await runner.cleanup()


def main() -> None:
    """Parse flags and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
