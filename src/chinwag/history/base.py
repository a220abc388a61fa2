"""The history store interface: records, retention, and the write queue both stores share.

A :class:`HistoryStore` keeps the public chat lines of each room. The relay
hands it lines with :meth:`HistoryStore.append`, which only puts them in a
bounded in-memory queue and returns at once; one writer task drains the queue
in batches through the store's ``_write`` (a thread for SQLite, a pipeline of
Lua calls for Redis), so relaying never waits on a disk or a network.

Faults never reach the caller. A failed batch goes back to the front of the
queue and is retried with a bounded exponential back-off; a failure streak is
logged once when it starts and once when it ends; a query that fails returns
an empty result. Three plain counters are kept for ``/metrics``: ``written``
(lines stored), ``failed`` (failed store operations: write attempts and
queries) and ``dropped`` (lines discarded because the queue was full, oldest
first, or still queued when the store closed). Only the operator commands
:meth:`purge` and :meth:`export` raise, :class:`HistoryUnavailable`, because a
silent failure there would be a lie to the person who asked.

Line ids are positive integers below 2**53 (exact in JavaScript), assigned by
the store when the line is written, increasing in the order lines are stored
within a room, and never reused for that room. Clients send them back as
``before`` (paging) or as the last line they saw (resume).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import msgspec

__all__ = [
    "DAY",
    "ChatLine",
    "ChatRecord",
    "HistoryStore",
    "HistoryUnavailable",
    "Retention",
]

log = logging.getLogger("chinwag.history")

DAY = 86400.0
_T = TypeVar("_T")


class ChatLine(msgspec.Struct, frozen=True):
    """A public chat line as the relay saw it, before the store gives it an id."""

    room: str
    name: str
    date_ms: int  # the sender's line date, Unix milliseconds, as relayed
    text: str


class ChatRecord(msgspec.Struct, frozen=True):
    """A stored chat line: ``id`` orders the lines of one room (see the module docstring)."""

    room: str
    id: int
    name: str
    date_ms: int
    text: str


class HistoryUnavailable(Exception):
    """The store cannot be reached or written (only ``purge`` and ``export`` raise it)."""


@dataclass(frozen=True)
class Retention:
    """How much history is kept: at most ``max_lines`` lines a room, none older than
    ``max_age``, and at most ``max_total`` lines in all (the oldest go first, whatever room)."""

    max_lines: int = 1000
    max_age: float = 30 * DAY  # seconds
    max_total: int = 100_000

    def cutoff_ms(self, now: float) -> int:
        """Lines dated before this Unix millisecond are too old to keep."""
        return int((now - self.max_age) * 1000)


class HistoryStore(ABC):
    """Chat history per room behind one interface; see the module docstring for the rules.

    Subclasses implement the ``_``-prefixed storage methods; this class owns the
    queue, the writer and pruner tasks, the back-off and the counters.
    """

    def __init__(
        self,
        retention: Retention = Retention(),
        *,
        clock: Callable[[], float] = time.time,
        max_pending: int = 10_000,
        batch_size: int = 500,
        max_backoff: float = 5.0,
        prune_interval: float = 60.0,
    ) -> None:
        self.retention = retention
        self.clock = clock  # Unix seconds; tests move it to age lines out
        self.max_pending = max_pending
        self.batch_size = batch_size
        self.max_backoff = max_backoff
        self.prune_interval = prune_interval
        self.written = 0
        self.failed = 0
        self.dropped = 0
        self._pending: deque[ChatLine] = deque()
        self._in_flight = 0
        self._wakeup = asyncio.Event()
        self._progress = asyncio.Event()  # set when lines were written or dropped
        self._closing = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._write_streak = 0
        self._read_streak = 0

    # -- what the relay calls -----------------------------------------------------

    def append(self, line: ChatLine) -> None:
        """Queue ``line`` for storing and return at once; never raises, never waits.

        It is a plain function, not a coroutine, so the relay can call it from
        anywhere on the event loop without an ``await`` that could be mistaken
        for a wait. When the queue is full the oldest queued line is dropped.
        """
        if self._closing.is_set():
            self.dropped += 1
            return
        self._start()
        self._pending.append(line)
        self._trim_queue()
        self._wakeup.set()

    @property
    def pending(self) -> int:
        """Lines queued or being written."""
        return len(self._pending) + self._in_flight

    @property
    def appended(self) -> int:
        """Lines appended so far: written, dropped, or still queued."""
        return self.written + self.dropped + self.pending

    async def settled(self, appended: int) -> None:
        """Wait until the first ``appended`` lines (see ``appended``) are written or dropped.

        Lines are written in the order they were appended, so a reader that
        took ``appended`` first then sees every line appended before it.
        """
        while self.written + self.dropped < appended:
            self._progress.clear()
            await self._progress.wait()

    async def flush(self, within: float = 10.0) -> bool:
        """Wait until every line queued so far is stored; False if ``within`` s passed first."""
        deadline = time.monotonic() + within
        while self.pending:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def recent(self, room: str, limit: int) -> list[ChatRecord]:
        """The newest ``limit`` lines of ``room``, oldest first ([] if the store fails)."""
        return await self._query(self._recent(room, limit))

    async def before(self, room: str, line_id: int, limit: int) -> list[ChatRecord]:
        """The newest ``limit`` lines older than ``line_id``, oldest first: one page back."""
        return await self._query(self._before(room, line_id, limit))

    async def since(self, room: str, line_id: int) -> list[ChatRecord]:
        """Every stored line newer than ``line_id``, oldest first, each once: for a resume."""
        return await self._query(self._since(room, line_id, self.retention.max_lines))

    async def prune(self) -> None:
        """Apply the retention now (the store also does it every ``prune_interval``)."""
        await self._query(self._prune(self.retention.cutoff_ms(self.clock())))

    # -- operator commands ----------------------------------------------------------

    async def purge(self, room: str | None = None) -> int:
        """Delete the history of ``room`` (every room if None); returns the lines deleted."""
        return await self._command(self._purge(room))

    async def rooms(self) -> list[str]:
        """Every room id with stored lines (a room's key; a locked room's key and lock)."""
        return await self._command(self._rooms())

    async def export(self, room: str, page: int = 500) -> AsyncIterator[ChatRecord]:
        """Every stored line of ``room``, oldest first."""
        after = 0
        while True:
            records = await self._command(self._since(room, after, page))
            for record in records:
                yield record
            if len(records) < page:
                return
            after = records[-1].id

    async def close(self, grace: float = 5.0) -> None:
        """Write what is queued (for up to ``grace`` s), stop the tasks, release the store."""
        if not self._closing.is_set():
            if self._tasks:
                await self.flush(grace)
            self._closing.set()
            self._wakeup.set()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self.dropped += len(self._pending)
            self._pending.clear()
            self._progress.set()
        with contextlib.suppress(Exception):
            await self._close()

    # -- storage, per backend ---------------------------------------------------------

    @abstractmethod
    async def _write(self, lines: Sequence[ChatLine]) -> None:
        """Store ``lines`` in order, all or none; raise on any failure."""

    @abstractmethod
    async def _recent(self, room: str, limit: int) -> list[ChatRecord]: ...

    @abstractmethod
    async def _before(self, room: str, line_id: int, limit: int) -> list[ChatRecord]: ...

    @abstractmethod
    async def _since(self, room: str, line_id: int, limit: int) -> list[ChatRecord]:
        """At most ``limit`` lines newer than ``line_id``, oldest first."""

    @abstractmethod
    async def _prune(self, cutoff_ms: int) -> None:
        """Delete lines dated before ``cutoff_ms``, all but each room's newest ``max_lines``,
        then the oldest lines of any room past ``max_total``."""

    @abstractmethod
    async def _purge(self, room: str | None) -> int: ...

    @abstractmethod
    async def _rooms(self) -> list[str]: ...

    @abstractmethod
    async def _close(self) -> None: ...

    # -- the queue, the writer and the pruner -----------------------------------------

    def _start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._write_forever(), name="history-writer"),
                asyncio.create_task(self._prune_forever(), name="history-pruner"),
            ]

    def _trim_queue(self) -> None:
        while len(self._pending) > self.max_pending:
            self._pending.popleft()
            self.dropped += 1
            self._progress.set()

    async def _write_forever(self) -> None:
        backoff = 0.05
        while not self._closing.is_set():
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            size = min(self.batch_size, len(self._pending))
            batch = [self._pending.popleft() for _ in range(size)]
            self._in_flight = len(batch)
            try:
                await self._write(batch)
            except Exception as error:  # any failure: keep the lines, retry later
                self._pending.extendleft(reversed(batch))
                self._in_flight = 0
                self._trim_queue()
                self._write_failed(error)
                await self._pause(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            self._in_flight = 0
            self.written += len(batch)
            self._progress.set()
            backoff = 0.05
            if self._write_streak:
                log.info("history writes recovered after %d failed attempts", self._write_streak)
                self._write_streak = 0

    async def _prune_forever(self) -> None:
        while not self._closing.is_set():
            await self.prune()
            await self._pause(self.prune_interval)

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the store is closing."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _write_failed(self, error: Exception) -> None:
        self.failed += 1
        self._write_streak += 1
        if self._write_streak == 1:
            log.warning(
                "history writes failing, %d lines queued and retried: %s: %s",
                self.pending,
                type(error).__name__,
                error,
            )

    async def _query(self, operation: Awaitable[_T]) -> _T | list[ChatRecord]:
        """Await a query; on failure count it, log the streak's first, return []."""
        try:
            result = await operation
        except Exception as error:
            self.failed += 1
            self._read_streak += 1
            if self._read_streak == 1:
                log.warning("history queries failing: %s", error)
            return []
        if self._read_streak:
            log.info("history queries recovered after %d failures", self._read_streak)
            self._read_streak = 0
        return result

    async def _command(self, operation: Awaitable[_T]) -> _T:
        try:
            return await operation
        except Exception as error:
            self.failed += 1
            raise HistoryUnavailable(str(error)) from error
