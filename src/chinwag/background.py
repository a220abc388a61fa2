"""Background tasks owned by one object, in an :class:`asyncio.TaskGroup`.

The server, the cluster link and the history link each start small tasks (a
TLS handshake, a webhook runner, a bus claim, a history read) that must not
outlive them. Each owns one :class:`Background`: ``spawn`` adds a task and
``stop`` cancels what is left and returns once every task has ended, so
nothing runs on after its owner. A task that fails is logged with what it
was doing and leaves its siblings alone (each is guarded: a bare TaskGroup
would cancel them all). The group runs in a task of its own because owners
start and stop in separate calls, not inside one ``async with`` block.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

__all__ = ["Background"]

log = logging.getLogger("chinwag.background")

Work = Coroutine[Any, Any, None]


class Background:
    """The tasks of one owner; ``len()`` is how many are queued or running."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._group: asyncio.TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._queued: list[tuple[Work, str]] = []  # spawned before the group opened
        self._live: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._stopped = False

    def __len__(self) -> int:
        return len(self._queued) + len(self._live)

    def spawn(self, work: Work, what: str) -> None:
        """Run ``work`` (``what`` names it in logs) until it ends or :meth:`stop`."""
        if self._stopped:
            work.close()  # the owner is gone: nothing starts any more
            return
        if self._group is None:
            self._queued.append((work, what))
            if self._runner is None:
                self._runner = asyncio.create_task(self._run(), name=self.name)
            return
        self._start(self._group, work, what)

    async def stop(self) -> None:
        """Cancel every task and wait until each has ended; later spawns run nothing."""
        self._stopped = True
        for work, _ in self._queued:
            work.close()
        self._queued.clear()
        self._stopping.set()
        if self._runner is not None:
            await self._runner

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._group = group
            queued, self._queued = self._queued, []
            for work, what in queued:
                self._start(group, work, what)
            await self._stopping.wait()
            for task in list(self._live):
                task.cancel()
        self._group = None

    def _start(self, group: asyncio.TaskGroup, work: Work, what: str) -> None:
        task = group.create_task(self._guarded(work, what), name=f"{self.name}: {what}")
        self._live.add(task)
        task.add_done_callback(self._live.discard)

    async def _guarded(self, work: Work, what: str) -> None:
        try:
            await work
        except Exception:  # one task's failure is its own, not its siblings'
            log.exception("%s: %s failed", self.name, what)
