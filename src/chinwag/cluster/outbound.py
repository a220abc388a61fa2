"""The Redis bus's outbound side: events queued, then written by one writer task.

``publish`` and ``send`` only append to the :class:`Outbox`. Its writer task
(:meth:`Outbox.write`, run by the bus while it is joined) drains the queue and
pipelines PUBLISH commands, merging consecutive events for one channel into
one :class:`Envelope` (sender node, events); the order of events is kept.
While the bus is not joined nothing is queued: events are dropped and counted,
and a ``send``'s sender is told it was not delivered.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec
from redis.asyncio import Redis

from ..core.events import BusEvent

__all__ = ["Envelope", "Outbox", "decode_envelope", "encode", "not_cancelled"]

_ENVELOPE_EVENTS = 256  # events merged into one PUBLISH at most
_ENVELOPE_BYTES = 256 * 1024  # and about this many payload bytes


class Envelope(msgspec.Struct, array_like=True, frozen=True):
    """One PUBLISH: events from ``node``, in order; ``bye`` when it leaves."""

    node: str
    events: list[BusEvent]
    bye: bool = False


encode = msgspec.msgpack.Encoder().encode
decode_envelope = msgspec.msgpack.Decoder(Envelope).decode


def not_cancelled() -> bool:
    """False once this task was asked to stop, even if a library swallowed the request.

    redis-py can absorb a CancelledError that lands inside one of its timeouts;
    loops check this so that such a task still ends.
    """
    task = asyncio.current_task()
    return task is None or not task.cancelling()


class Outbox:
    """This node's queue of outgoing events and the writer that empties it.

    ``channels`` is the bus's channel prefix: a ``send`` to a node goes to
    ``{channels}:{node}``, and an event lost there is reported to
    ``undelivered(node, event)``.
    """

    def __init__(
        self,
        node: str,
        channels: str,
        max_pending: int,
        undelivered: Callable[[str, BusEvent], None],
    ) -> None:
        self.node = node
        self.max_pending = max_pending
        self.dropped = 0  # events dropped while not joined (or over max_pending)
        self._node_prefix = f"{channels}:"
        self._undelivered = undelivered
        self._queue: deque[tuple[str, BusEvent]] = deque()
        self._wake = asyncio.Event()
        self._writing = False  # events are queued only while a writer runs

    def put(self, channel: str, event: BusEvent) -> bool:
        """Queue ``event`` for the writer; False when it was dropped instead."""
        if not self._writing or len(self._queue) >= self.max_pending:
            self.dropped += 1
            return False
        if not self._queue:
            self._wake.set()
        self._queue.append((channel, event))
        return True

    def open(self, channel: str, first: BusEvent) -> None:
        """The bus (re)joined: queue from now on, ``first`` before anything else."""
        self._writing = True
        self._queue.clear()
        self._queue.append((channel, first))
        self._wake.set()

    def shut(self) -> None:
        """The bus lost Redis: queue nothing more; tell each ``send``'s sender it was lost."""
        self._writing = False
        lost = list(self._queue)
        self._queue.clear()
        self._lost(lost)

    def discard(self) -> None:
        """The bus left: queue nothing more, forget what is queued."""
        self._writing = False
        self._queue.clear()

    async def write(self, redis: Redis) -> None:
        """Write queued events as they come, until cancelled; raise a failed write's error
        (its events reported lost)."""
        queue = self._queue
        while not_cancelled():
            if not queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            pipe = redis.pipeline(transaction=False)
            batch = list(_runs(queue))
            for channel, events in batch:
                pipe.publish(channel, encode(Envelope(self.node, events)))
            try:
                await pipe.execute()
            except BaseException:
                self._lost((channel, event) for channel, events in batch for event in events)
                raise

    def drain_into(self, pipe: Any) -> None:
        """Add a PUBLISH of everything queued to ``pipe`` (a Redis pipeline), in order."""
        queue = self._queue
        while queue:
            for channel, events in _runs(queue):
                pipe.publish(channel, encode(Envelope(self.node, events)))

    def _lost(self, lost: Iterable[tuple[str, BusEvent]]) -> None:
        """Events that will never be written: tell the sender of each ``send``."""
        prefix = self._node_prefix
        for channel, event in lost:
            if channel.startswith(prefix):
                self._undelivered(channel[len(prefix) :], event)


def _runs(queue: deque[tuple[str, BusEvent]]) -> Iterator[tuple[str, list[BusEvent]]]:
    """Take queued events off ``queue`` as runs of one channel, in order, bounded."""
    taken = 0
    while queue and taken < 64 * _ENVELOPE_EVENTS:
        channel = queue[0][0]
        events: list[BusEvent] = []
        size = 0
        while (
            queue
            and queue[0][0] == channel
            and len(events) < _ENVELOPE_EVENTS
            and size < _ENVELOPE_BYTES
        ):
            event = queue.popleft()[1]
            events.append(event)
            size += len(getattr(event, "payload", b"")) + 64
        taken += len(events)
        yield channel, events
