"""The load-generator worker process of bench/relay.py.

Each worker runs one asyncio loop holding many WebSocket clients
(``wsclient.WsClient``) and obeys commands from the parent over a
multiprocessing pipe, one at a time, answering each with a dict:

- ``open``: open a group of connections, optionally sign each in, and wait
  until each is ready (got its ``id``, its ``signed-in``, or a user list that
  names it);
- ``signin``: at an agreed instant, sign every connection of a group in and
  time how long until each holds the complete user list;
- ``stream``: the relay test, pairs streaming ``new-ice-candidate`` messages
  with at most ``window`` in flight per direction, closed-loop or paced;
- ``clients``: the cost of one message in each WebSocket client library;
- ``close``, ``quit``.

Times the parent sends are ``time.monotonic()`` seconds (CLOCK_MONOTONIC is
one clock for every process of the machine), so the parent can read /proc at
the edges of the very window the workers count in. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from array import array
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import msgspec
from wsclient import WsClient, connect

__all__ = ["Worker", "candidate_message", "serve", "username_message", "worker_main"]

HOST = "127.0.0.1"
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_now_ns = time.monotonic_ns

# A server-reflexive candidate as Chrome writes it; documentation addresses only.
# The foundation (the number after "candidate:") carries the sequence number.
_CANDIDATE_TAIL = (
    b" 1 udp 1686052607 203.0.113.45 54400 typ srflx raddr 192.0.2.10 rport 54400"
    b' generation 0 ufrag EsAw network-id 1 network-cost 10","sdpMid":"0",'
    b'"sdpMLineIndex":0,"usernameFragment":"EsAw"}}'
)
_SEQ_DIGITS = 10


def candidate_prefix(target: str) -> bytes:
    """The bytes of a ``new-ice-candidate`` to ``target`` up to the sequence number."""
    return (
        b'{"type":"new-ice-candidate","target":"%s","candidate":{"candidate":"candidate:'
        % target.encode()
    )


def candidate_message(target: str, seq: int) -> bytes:
    """One whole ``new-ice-candidate`` message, as the load generator sends it."""
    return candidate_prefix(target) + b"%010d" % seq + _CANDIDATE_TAIL


def username_message(
    name: str, features: list[str], conn_id: Any, extra: dict[str, Any] | None = None
) -> bytes:
    """The sign-in message of the tutorial's client, plus chinwag's features if any.

    ``extra`` adds fields, such as ``room`` for a sign-in straight into a room.
    """
    message: dict[str, Any] = {
        "type": "username",
        "name": name,
        "date": int(time.time() * 1000),
        "id": conn_id,
    }
    if features:
        message["features"] = features
    if extra:
        message.update(extra)
    return _encode(message)


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


# --- open ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Opening:
    """A connection being opened: its name and what it waits for."""

    name: str | None
    features: list[str]
    wait: str  # "id", "signed-in" or "listed"
    ready: asyncio.Future[None]
    extra: dict[str, Any] | None = None
    conn_id: Any = None


def _opening_handler(client: WsClient, payload: bytes) -> None:
    state: _Opening = client.tag  # type: ignore[assignment]
    if state.ready.done():
        return
    message = _decode(payload)
    kind = message.get("type")
    if kind == "id":
        state.conn_id = message.get("id")
        if state.name is not None:
            client.send_text(
                username_message(state.name, state.features, state.conn_id, state.extra)
            )
        if state.wait == "id":
            state.ready.set_result(None)
    elif (kind == "signed-in" and state.wait == "signed-in") or (
        kind == "userlist" and state.wait == "listed" and state.name in message["users"]
    ):
        state.ready.set_result(None)
    elif kind in ("error", "rejectusername"):
        state.ready.set_exception(RuntimeError(f"{state.name}: {message}"))


async def _open_one(
    port: int,
    name: str | None,
    features: list[str],
    wait: str,
    patience: float,
    extra: dict[str, Any] | None = None,
) -> WsClient:
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    async with asyncio.timeout(patience):
        state = _Opening(name, features, wait, ready, extra)
        client = await connect(HOST, port, handler=_opening_handler, tag=state)
        await ready
    client.handler = _count_errors
    client.tag = None
    return client


_errors_seen: list[bytes] = []


def _count_errors(client: WsClient, payload: bytes) -> None:
    """Idle handler: ignore presence and the like, keep the first few errors."""
    if b'"error"' in payload and len(_errors_seen) < 20:
        _errors_seen.append(payload[:300])


async def _open(
    port: int,
    count: int,
    names: list[str] | None,
    features: list[str],
    wait: str,
    concurrency: int,
    patience: float,
    extras: list[dict[str, Any]] | None = None,
) -> tuple[list[WsClient], list[str]]:
    """Open ``count`` connections, at most ``concurrency`` handshakes at a time.

    ``extras``, if given, holds each sign-in's added fields (one per name).
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> WsClient:
        async with gate:
            name = names[index] if names is not None else None
            extra = extras[index] if extras is not None else None
            return await _open_one(port, name, features, wait, patience, extra)

    results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    clients = [r for r in results if isinstance(r, WsClient)]
    failures = [repr(r) for r in results if not isinstance(r, WsClient)]
    return clients, failures


# --- signin -------------------------------------------------------------------------------


@dataclass(slots=True)
class _View:
    """What one client believes the user list is, and when it became complete."""

    users: set[str] = field(default_factory=set)
    complete_at: int = 0


@dataclass(slots=True)
class _SigninCheck:
    """The complete list every client must reach; shared by a worker's clients."""

    expected: frozenset[str]
    shortest_full_list: int  # a payload shorter than this cannot hold the whole list
    waiting: int  # clients not complete yet
    all_complete: asyncio.Event = field(default_factory=asyncio.Event)
    errors: int = 0

    def settle(self, view: _View) -> None:
        if len(view.users) == len(self.expected) and view.users == self.expected:
            view.complete_at = _now_ns()
            self.waiting -= 1
            if not self.waiting:
                self.all_complete.set()


def _reference_handler(check: _SigninCheck) -> Callable[[WsClient, bytes], None]:
    """Full ``userlist`` each time: decode only payloads long enough to be complete."""

    def handle(client: WsClient, payload: bytes) -> None:
        view: _View = client.tag  # type: ignore[assignment]
        if view.complete_at:
            return
        if len(payload) < check.shortest_full_list:
            if b'"error"' in payload:
                check.errors += 1
            return
        message = _decode(payload)
        if message.get("type") == "userlist":
            view.users = set(message["users"])
            check.settle(view)

    return handle


def _delta_handler(check: _SigninCheck) -> Callable[[WsClient, bytes], None]:
    """One full list, then ``presence`` deltas applied in the documented order."""

    def handle(client: WsClient, payload: bytes) -> None:
        view: _View = client.tag  # type: ignore[assignment]
        if view.complete_at:
            return
        message = _decode(payload)
        kind = message.get("type")
        if kind == "userlist":
            view.users = set(message["users"])
        elif kind == "presence":
            users = view.users
            users.difference_update(message.get("left", ()))
            for old, new in message.get("renamed", ()):
                users.discard(old)
                users.add(new)
            users.update(message.get("joined", ()))
        elif kind == "error":
            check.errors += 1
            return
        else:
            return
        check.settle(view)

    return handle


async def _signin(
    clients: list[WsClient],
    names: list[str],
    all_names: list[str],
    deltas: bool,
    at: float,
    patience: float,
    features: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Sign every client in at ``at``; time until each holds the list ``all_names``.

    ``features`` replaces the default (``deltas`` or none); ``extra`` adds
    sign-in fields (``room``).
    """
    expected = frozenset(all_names)
    check = _SigninCheck(expected, sum(len(n) + 3 for n in all_names), len(clients))
    handler = _delta_handler(check) if deltas else _reference_handler(check)
    if features is None:
        features = ["deltas"] if deltas else []
    views = []
    for client in clients:
        client.tag = view = _View()
        views.append(view)
        client.handler = handler
    await _sleep_until(at)
    start = _now_ns()
    for client, name in zip(clients, names, strict=True):
        client.send_text(username_message(name, features, None, extra))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(patience):
            await check.all_complete.wait()
    for client in clients:
        client.handler = _count_errors
    done = [(v.complete_at - start) / 1e9 for v in views if v.complete_at]
    return {"complete_after": done, "incomplete": len(views) - len(done), "errors": check.errors}


# --- stream -------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Run:
    """One relay measurement in this worker: its window and what was seen in it."""

    measure_from: int
    measure_to: int
    send_until: int
    closed_loop: bool
    window: int
    in_flight: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    delivered: int = 0
    sent_in_window: int = 0
    corrupt: int = 0
    unexpected: int = 0
    latencies_us: array[int] = field(default_factory=lambda: array("I"))


class _Stream:
    """Messages from one client to its partner, with their send times in order."""

    __slots__ = ("expect_seq", "next_seq", "prefix", "run", "sender", "sender_name", "sent_at")

    def __init__(self, run: _Run, sender: WsClient, sender_name: str, target: str) -> None:
        self.run = run
        self.sender = sender
        self.sender_name = sender_name
        self.prefix = candidate_prefix(target)
        self.sent_at: deque[int] = deque()
        self.next_seq = 0
        self.expect_seq = 0

    def send(self) -> None:
        seq = self.next_seq
        self.next_seq = seq + 1
        now = _now_ns()
        self.sent_at.append(now)
        run = self.run
        run.in_flight += 1
        if run.measure_from <= now < run.measure_to:
            run.sent_in_window += 1
        self.sender.send_text(self.prefix + b"%010d" % seq + _CANDIDATE_TAIL)

    def delivered(self, message: dict[str, Any]) -> None:
        now = _now_ns()
        run = self.run
        if not self.sent_at:
            run.unexpected += 1
            return
        sent = self.sent_at.popleft()
        run.in_flight -= 1
        seq = int(message["candidate"]["candidate"][10 : 10 + _SEQ_DIGITS])
        if seq != self.expect_seq or message.get("name") != self.sender_name:
            run.corrupt += 1
        self.expect_seq = seq + 1
        if run.measure_from <= now < run.measure_to:
            run.delivered += 1
            run.latencies_us.append((now - sent) // 1000)
        if now < run.send_until:
            if run.closed_loop:
                self.send()
        elif not run.in_flight:
            run.drained.set()


def _stream_handler(client: WsClient, payload: bytes) -> None:
    stream: _Stream | None = client.tag  # type: ignore[assignment]
    message = _decode(payload)
    kind = message.get("type")
    if kind == "new-ice-candidate" and stream is not None:
        stream.delivered(message)
    elif kind == "error" and len(_errors_seen) < 20:
        _errors_seen.append(payload[:300])


async def _pace(run: _Run, streams: list[_Stream], rate: float, start: float) -> None:
    """Send ``rate`` messages per second spread over the streams, within their windows."""
    burst = max(1.0, rate * 0.01)  # catch up at most 10 ms after a late wake-up
    credit = 0.0
    last = _now_ns()
    turn = 0
    count = len(streams)
    await _sleep_until(start)
    while (now := _now_ns()) < run.send_until:
        credit = min(burst, credit + (now - last) * rate / 1e9)
        last = now
        blocked = 0
        while credit >= 1.0 and blocked < count:
            stream = streams[turn]
            turn = (turn + 1) % count
            if len(stream.sent_at) < run.window:
                stream.send()
                credit -= 1.0
                blocked = 0
            else:
                blocked += 1
        await asyncio.sleep(0.001)


async def _stream(
    clients: list[WsClient],
    names: list[str],
    window: int,
    rate: float | None,
    at: float,
    measure_from: float,
    measure_to: float,
    drain: float,
) -> dict[str, Any]:
    """Pairs (clients 2k and 2k+1) stream to each other; count what lands in the window."""
    seconds_to_ns = 1_000_000_000
    run = _Run(
        int(measure_from * seconds_to_ns),
        int(measure_to * seconds_to_ns),
        int(measure_to * seconds_to_ns),
        closed_loop=rate is None,
        window=window,
    )
    streams: list[_Stream] = []
    for k in range(0, len(clients) - 1, 2):
        one, other = clients[k], clients[k + 1]
        to_other = _Stream(run, one, names[k], names[k + 1])
        to_one = _Stream(run, other, names[k + 1], names[k])
        other.tag, one.tag = to_other, to_one
        one.handler = other.handler = _stream_handler
        streams += (to_other, to_one)
    if rate is None:
        await _sleep_until(at)
        for stream in streams:
            for _ in range(window):
                stream.send()
    else:
        await _pace(run, streams, rate, at)
    await _sleep_until(measure_to)
    if run.in_flight:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain):
                await run.drained.wait()
    for client in clients:
        client.handler = _count_errors
        client.tag = None
    return {
        "delivered": run.delivered,
        "sent_in_window": run.sent_in_window,
        "latencies_us": run.latencies_us.tobytes(),
        "corrupt": run.corrupt,
        "unexpected": run.unexpected,
        "lost": sum(len(s.sent_at) for s in streams),
        "errors": [e.decode(errors="replace") for e in _errors_seen],
    }


# --- clients: what one message costs in each client library ---------------------------------


async def _client_cost(
    kind: str, port: int, pairs: int, window: int, seconds: float
) -> dict[str, Any]:
    """Ping-pong over the relay; process CPU per received-and-answered message."""
    costs = {"raw": _cost_raw, "aiohttp": _cost_aiohttp, "websockets": _cost_websockets}
    try:
        return await costs[kind](port, pairs, window, seconds)
    except ImportError as error:
        return {"kind": kind, "error": f"not installed: {error}"}
    except Exception as error:
        return {"kind": kind, "error": repr(error)}


def _pair_names(pairs: int, prefix: str) -> list[str]:
    return [f"{prefix}{side}{k}" for k in range(pairs) for side in "ab"]


async def _measure_counting(counter: list[int], seconds: float) -> dict[str, Any]:
    """Let traffic warm up for 1 s, then count messages and process CPU for ``seconds``."""
    await asyncio.sleep(1.0)
    cpu0, count0, t0 = time.process_time(), counter[0], time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, count1, t1 = time.process_time(), counter[0], time.monotonic()
    messages = count1 - count0
    return {
        "messages": messages,
        "rate": messages / (t1 - t0),
        "cpu_us_per_message": (cpu1 - cpu0) * 1e6 / max(1, messages),
    }


async def _cost_raw(port: int, pairs: int, window: int, seconds: float) -> dict[str, Any]:
    names = _pair_names(pairs, "craw")
    clients, failures = await _open(port, len(names), names, [], "listed", 50, patience=20.0)
    if failures:
        return {"error": failures[0]}
    counter = [0]

    def bounce(client: WsClient, payload: bytes) -> None:
        if _decode(payload).get("type") == "new-ice-candidate":
            counter[0] += 1
            client.send_text(client.tag)  # type: ignore[arg-type]

    for k in range(0, len(clients), 2):
        clients[k].tag = candidate_message(names[k + 1], k)
        clients[k + 1].tag = candidate_message(names[k], k)
        clients[k].handler = clients[k + 1].handler = bounce
    for k in range(0, len(clients), 2):
        for _ in range(window):
            clients[k].send_text(clients[k].tag)  # type: ignore[arg-type]
    result = await _measure_counting(counter, seconds)
    for client in clients:
        client.handler = _count_errors
        client.close()
    return result


async def _cost_aiohttp(port: int, pairs: int, window: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    names = _pair_names(pairs, "caio")
    counter = [0]
    async with aiohttp.ClientSession() as session:
        sockets = [
            await _aiohttp_sign_in(session, port, name) for name in names
        ]  # sequential: setup cost is not measured
        texts = [candidate_message(names[k ^ 1], k).decode() for k in range(len(names))]

        async def bounce(index: int) -> None:
            socket, reply = sockets[index], texts[index]
            async for frame in socket:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                if _decode(frame.data).get("type") == "new-ice-candidate":
                    counter[0] += 1
                    await socket.send_str(reply)

        return await _ping_pong(sockets, texts, bounce, _send_aiohttp, window, seconds, counter)


async def _aiohttp_sign_in(session: Any, port: int, name: str) -> Any:
    socket = await session.ws_connect(f"http://{HOST}:{port}/", protocols=("json",))
    hello = _decode((await socket.receive()).data)
    await socket.send_str(username_message(name, [], hello.get("id")).decode())
    async with asyncio.timeout(10):
        while True:
            message = _decode((await socket.receive()).data)
            if message.get("type") == "userlist" and name in message["users"]:
                return socket


async def _cost_websockets(port: int, pairs: int, window: int, seconds: float) -> dict[str, Any]:
    from websockets.asyncio.client import connect as ws_connect

    names = _pair_names(pairs, "cwsk")
    counter = [0]
    sockets = []
    for name in names:
        socket = await ws_connect(
            f"ws://{HOST}:{port}/",
            subprotocols=["json"],  # type: ignore[list-item]
            compression=None,
        )
        hello = _decode(await socket.recv())
        await socket.send(username_message(name, [], hello.get("id")).decode())
        async with asyncio.timeout(10):
            while True:
                message = _decode(await socket.recv())
                if message.get("type") == "userlist" and name in message["users"]:
                    break
        sockets.append(socket)
    texts = [candidate_message(names[k ^ 1], k).decode() for k in range(len(names))]

    async def bounce(index: int) -> None:
        socket, reply = sockets[index], texts[index]
        async for frame in socket:
            if _decode(frame).get("type") == "new-ice-candidate":
                counter[0] += 1
                await socket.send(reply)

    return await _ping_pong(sockets, texts, bounce, _send_websockets, window, seconds, counter)


async def _send_aiohttp(socket: Any, text: str) -> None:
    await socket.send_str(text)


async def _send_websockets(socket: Any, text: str) -> None:
    await socket.send(text)


async def _ping_pong(
    sockets: list[Any],
    texts: list[str],
    bounce: Callable[[int], Coroutine[Any, Any, None]],
    send: Callable[[Any, str], Awaitable[None]],
    window: int,
    seconds: float,
    counter: list[int],
) -> dict[str, Any]:
    """Start every socket's bouncer, prime ``window`` messages per pair, and measure."""
    readers = [asyncio.create_task(bounce(i)) for i in range(len(sockets))]
    for k in range(0, len(sockets), 2):
        for _ in range(window):
            await send(sockets[k], texts[k])
    result = await _measure_counting(counter, seconds)
    for reader in readers:
        reader.cancel()
    for socket in sockets:
        await socket.close()
    return result


# --- the command loop -----------------------------------------------------------------------


class Worker:
    """The groups of connections this worker holds, and the commands on them."""

    def __init__(self) -> None:
        self.groups: dict[str, tuple[list[WsClient], list[str]]] = {}

    async def run(self, command: dict[str, Any]) -> dict[str, Any]:
        op = command.pop("op")
        handler = getattr(self, f"op_{op}")
        result: dict[str, Any] = await handler(**command)
        return result

    async def op_open(
        self,
        group: str,
        port: int,
        names: list[str],
        sign_in: bool,
        features: list[str],
        wait: str,
        concurrency: int,
        patience: float,
        extras: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        start = time.monotonic()
        clients, failures = await _open(
            port,
            len(names),
            names if sign_in else None,
            features,
            wait,
            concurrency,
            patience,
            extras,
        )
        kept = [c for c in clients if not c.closed]
        self.groups[group] = (kept, names)
        return {
            "opened": len(kept),
            "failures": failures[:5],
            "failed": len(names) - len(kept),
            "seconds": time.monotonic() - start,
        }

    async def op_signin(
        self,
        group: str,
        all_names: list[str],
        deltas: bool,
        at: float,
        patience: float,
        features: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        clients, names = self.groups[group]
        return await _signin(clients, names, all_names, deltas, at, patience, features, extra)

    async def op_stream(self, group: str, **timing: Any) -> dict[str, Any]:
        clients, names = self.groups[group]
        return await _stream(clients, names, **timing)

    async def op_clients(self, **args: Any) -> dict[str, Any]:
        return await _client_cost(**args)

    async def op_close(self, group: str) -> dict[str, Any]:
        clients, _ = self.groups.pop(group, ([], []))
        for client in clients:
            client.close()
        await asyncio.sleep(0.05)
        return {
            "closed": len(clients),
            "errors": [e.decode(errors="replace") for e in _errors_seen],
        }


async def serve(pipe: Connection, worker: Worker) -> None:
    """Obey the parent's commands on ``pipe`` with ``worker``'s ops until ``quit``."""
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    loop.add_reader(pipe.fileno(), lambda: commands.put_nowait(pipe.recv()))
    while True:
        command = await commands.get()
        if command["op"] == "quit":
            break
        try:
            reply = await worker.run(command)
        except Exception as error:  # report to the parent instead of dying silently
            reply = {"error": repr(error)}
        pipe.send(reply)
    for clients, _ in worker.groups.values():
        for client in clients:
            client.close()
    with contextlib.suppress(Exception):
        pipe.send({"bye": True})


def worker_main(pipe: Connection) -> None:
    """Entry point of a worker process."""
    asyncio.run(serve(pipe, Worker()))
