"""Writing to clients: one write per connection per loop turn, and one flow-control rule.

Batching: frames the lobby sends during one event-loop turn are queued per
connection (:meth:`Batcher.queue`) and written with one ``write`` each when
the turn's socket read ends (:meth:`Batcher.flush`), so a client gets
everything of one turn in one ``send`` system call.

The flow-control rule holds for every byte written, HTTP or WebSocket, data or
control (pongs and close frames included), because every write goes through
one path, ``Connection.write`` (this batcher's flushes too), which applies it:

* while a connection's unsent output is over :data:`PAUSE_READING_ABOVE`, the
  transport calls ``pause_writing`` and the connection stops reading (it
  resumes below :data:`RESUME_READING_BELOW`): a client that sends but never
  reads stops being read, and so stops costing memory;
* a connection whose unsent output passes ``send_buffer`` is a slow reader and
  is dropped, so it never holds up anyone else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Protocol, TypeVar

__all__ = [
    "PAUSE_READING_ABOVE",
    "RESUME_READING_BELOW",
    "Batcher",
    "Output",
]

K = TypeVar("K")

#: Unsent bytes above which a connection stops being read (the transport's high-water mark).
PAUSE_READING_ABOVE: Final = 64 * 1024
RESUME_READING_BELOW: Final = 16 * 1024


class Output(Protocol):
    """What the batcher needs of a connection: its queue and its one write path."""

    out: list[bytes]
    sending: bool  # False once closing: nothing more is queued for it

    def write(self, data: bytes) -> None: ...


class Batcher:
    """Queues frames per connection; writes each connection's frames at once.

    ``on_flushed`` gets how long the oldest frame of a flush waited since its
    read (one sample per loop turn, for the relay-latency histogram).
    """

    def __init__(self, on_flushed: Callable[[float], None]) -> None:
        self._on_flushed = on_flushed
        self._dirty: list[Output] = []
        self._scheduled = False
        self.reading = False  # inside a socket read, whose end flushes
        self.frame_time: float | None = None  # when the frames being handled were read
        self._batch_time: float | None = None  # when the oldest frame of this flush was read

    def queue(self, keys: Iterable[K], targets: Mapping[K, Output], frame: bytes) -> None:
        """Queue ``frame`` for ``targets[key]`` of each key, if still sending; flush() writes it."""
        dirty = self._dirty
        for key in keys:
            target = targets.get(key)
            if target is None or not target.sending:
                continue
            if not target.out:
                dirty.append(target)
            target.out.append(frame)
        if dirty and self._batch_time is None:  # only sends a flush will write count
            self._batch_time = self.frame_time
        if dirty and not self._scheduled and not self.reading:
            self._scheduled = True  # outside a read (timers, bus): write next turn
            asyncio.get_running_loop().call_soon(self.flush)

    def handle_read(self, handle: Callable[[memoryview], None], data: memoryview) -> None:
        """Handle one socket read with ``handle``, then write everything it queued.

        Written now, not on the next loop turn: that turn would cost another
        ``epoll_wait`` for nothing.
        """
        self.reading = True
        self.frame_time = time.perf_counter()  # when the frames of this read arrived
        try:
            handle(data)
        finally:
            self.reading = False
            self.frame_time = None
        self.flush()

    def flush(self) -> None:
        """Write everything queued: one write per connection."""
        self._scheduled = False
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, []
        for target in dirty:  # flush_one, inlined: once per client per loop turn
            out = target.out
            if not out:  # already written (before a close frame)
                continue
            data = out[0] if len(out) == 1 else b"".join(out)
            out.clear()
            target.write(data)
        if self._batch_time is not None:
            self._on_flushed(time.perf_counter() - self._batch_time)
            self._batch_time = None

    @staticmethod
    def flush_one(target: Output) -> None:
        """Write what is queued for one connection now (before its close frame, say)."""
        out = target.out
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        target.write(data)
