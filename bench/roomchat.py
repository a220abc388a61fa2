"""The load-generator worker of bench/rooms.py: loadgen's worker plus room chat.

One more op on top of bench/loadgen.py's (``open``, ``signin``, ``close`` ...):

- ``chat``: the worker's clients are whole rooms (``rooms`` gives each client's
  room); every room says one line per ``1 / rate_per_room`` seconds, its members
  taking turns, the rooms' lines spread evenly over each second. Each line's text
  is ``t<CLOCK_MONOTONIC ns>`` at sending, so every receiver (the sender too: chat
  goes to the whole room) reads its delivery latency off the text without any
  bookkeeping shared between clients. Lines sent inside the measured window are
  counted in and, at the receivers, out.

The text is found with a byte search instead of a JSON decode: at 10,000
deliveries a second the load generator's CPU is part of what is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from loadgen import Worker, serve
from wsclient import WsClient

__all__ = ["worker_main"]

_now_ns = time.monotonic_ns
_TEXT_MARK = b'"text":"t'
_CHAT_TYPE = b'"type":"message"'


@dataclass(slots=True)
class _ChatRun:
    """One measured chat window in this worker: what was sent and seen in it."""

    measure_from: int
    measure_to: int
    sent: int = 0  # lines sent inside the window
    expected: int = 0  # their deliveries: each line goes to every member of its room
    delivered: int = 0
    sending_done: bool = False
    all_in: asyncio.Event = field(default_factory=asyncio.Event)
    latencies_us: array[int] = field(default_factory=lambda: array("I"))
    sent_ms: array[int] = field(default_factory=lambda: array("I"))  # into the window


def _drop(client: WsClient, payload: bytes) -> None:
    """Between measurements: ignore chat and presence."""


def _chat_handler(client: WsClient, payload: bytes) -> None:
    """A chat line arrived: if it was sent inside the window, keep its latency."""
    start = payload.find(_TEXT_MARK)
    if start < 0 or _CHAT_TYPE not in payload:
        return
    now = _now_ns()
    start += len(_TEXT_MARK)
    sent = int(payload[start : payload.index(b'"', start)])
    run: _ChatRun = client.tag  # type: ignore[assignment]
    if run.measure_from <= sent < run.measure_to:
        run.delivered += 1
        run.latencies_us.append((now - sent) // 1000)
        run.sent_ms.append((sent - run.measure_from) // 1_000_000)
        if run.sending_done and run.delivered >= run.expected:
            run.all_in.set()


async def _chat(
    clients: list[WsClient],
    rooms: list[int],
    rate_per_room: float,
    at: float,
    measure_from: float,
    measure_to: float,
    send_until: float,
    drain: float,
) -> dict[str, Any]:
    """Every room chats at ``rate_per_room`` lines/s from ``at`` to ``send_until``."""
    members: dict[int, list[WsClient]] = {}
    for client, room in zip(clients, rooms, strict=True):
        members.setdefault(room, []).append(client)
    groups = list(members.values())
    run = _ChatRun(int(measure_from * 1e9), int(measure_to * 1e9))
    for client in clients:
        client.tag = run
        client.handler = _chat_handler
    total_rate = rate_per_room * len(groups)
    delay = at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    start = _now_ns()
    stop = int(send_until * 1e9)
    line = 0
    while (now := _now_ns()) < stop:
        due = int((now - start) * total_rate / 1e9) + 1
        while line < due:
            group = groups[line % len(groups)]
            sender = group[(line // len(groups)) % len(group)]
            sent = _now_ns()
            sender.send_text(b'{"type":"message","text":"t%d"}' % sent)
            if run.measure_from <= sent < run.measure_to:
                run.sent += 1
                run.expected += len(group)
            line += 1
        await asyncio.sleep(0.002)
    run.sending_done = True
    if run.delivered < run.expected:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain):
                await run.all_in.wait()
    for client in clients:
        client.handler = _drop
        client.tag = None
    return {
        "sent": run.sent,
        "expected": run.expected,
        "delivered": run.delivered,
        "lines_total": line,
        "latencies_us": run.latencies_us.tobytes(),
        "sent_ms": run.sent_ms.tobytes(),
    }


class RoomWorker(Worker):
    """loadgen's worker, with room chat."""

    async def op_chat(self, group: str, rooms: list[int], **timing: Any) -> dict[str, Any]:
        clients, _ = self.groups[group]
        if len(clients) != len(rooms):
            raise RuntimeError(f"{len(clients)} clients open but {len(rooms)} rooms given")
        return await _chat(clients, rooms, **timing)


def worker_main(pipe: Connection) -> None:
    """Entry point of a worker process."""
    asyncio.run(serve(pipe, RoomWorker()))
