"""Carries the core's history effects out against a history store.

``StoreChat`` becomes ``store.append`` (a queue put: it never waits);
``PurgeHistory`` (a locked room ended) a purge once the lines queued before it
are written.
``LoadHistory`` becomes a read in a task (for a join, once every line appended
before it is written, so that a line said just before someone joined reaches
them either live or in their history), whose answer goes back to the lobby
through ``Lobby.history_loaded``; every load is answered exactly once, with
None when the store took longer than ``timeout`` or when ``max_loads`` reads
were already under way (the lobby then releases the member's held chat, or
answers ``unavailable`` to a page request). The store's own counters feed
``/metrics``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Final

from ..background import Background
from ..config import Settings
from ..core.effects import Effect, LoadHistory, PurgeHistory, StoreChat
from ..core.lobby import Lobby, StoredLine
from ..history import ChatLine, HistoryStore, HistoryUnavailable, create_history

__all__ = ["HistoryLink"]

log = logging.getLogger("chinwag.transport.history")

READ_TIMEOUT: Final = 2.0  # seconds a join waits for its history before live chat goes on
MAX_LOADS: Final = 64  # reads under way at once, across every connection


class HistoryLink:
    """One server's history store, fed by the lobby's effects."""

    def __init__(
        self,
        store: HistoryStore,
        lobby: Lobby,
        apply: Callable[[Iterable[Effect]], None],
        timeout: float = READ_TIMEOUT,
        max_loads: int = MAX_LOADS,
    ) -> None:
        self.store = store
        self._lobby = lobby
        self._apply = apply
        self._timeout = timeout
        self._max_loads = max_loads
        self._loads = Background("history")

    @classmethod
    def from_settings(
        cls, settings: Settings, lobby: Lobby, apply: Callable[[Iterable[Effect]], None]
    ) -> HistoryLink | None:
        """The link for these settings, or None with ``--no-history``."""
        store = create_history(settings)
        return cls(store, lobby, apply) if store is not None else None

    def carry(self, effect: Effect) -> bool:
        """Carry out ``effect`` if it is a history effect; False if it is not one."""
        if isinstance(effect, StoreChat):
            self.store.append(ChatLine(effect.room, effect.name, effect.date, effect.text))
        elif isinstance(effect, LoadHistory):
            if len(self._loads) >= self._max_loads:
                self._apply(self._lobby.history_loaded(effect, None))
            else:
                self._spawn(self._load(effect, self.store.appended), "history-load")
        elif isinstance(effect, PurgeHistory):
            self._spawn(self._purge(effect.room, self.store.appended), "history-purge")
        else:
            return False
        return True

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._loads.spawn(work, name)

    async def _purge(self, room: str, appended: int) -> None:
        """A locked room ended: its lines go, once the lines queued before are written."""
        await self.store.settled(appended)
        try:
            await self.store.purge(room)
        except HistoryUnavailable as error:  # pruned by age and count later, and never sent
            log.warning("history of an ended locked room not purged: %s", error)

    def counters(self) -> dict[str, int]:
        """The store's counters for ``/metrics``, as ``Snapshot`` fields."""
        store = self.store
        return {
            "history_written": store.written,
            "history_failed": store.failed,
            "history_dropped": store.dropped,
            "history_pending": store.pending,
        }

    async def close(self) -> None:
        """Stop the reads under way and close the store (it writes what is queued first)."""
        await self._loads.stop()
        await self.store.close()

    async def _load(self, load: LoadHistory, appended: int) -> None:
        lines: list[StoredLine] | None = None
        try:
            lines = await asyncio.wait_for(self._read(load, appended), self._timeout)
        except TimeoutError:
            log.warning("history read for conn %d took over %.1f s", load.conn, self._timeout)
        finally:
            self._apply(self._lobby.history_loaded(load, lines))

    async def _read(self, load: LoadHistory, appended: int) -> list[StoredLine]:
        if load.joining:
            await self.store.settled(appended)
        limit = load.limit + 1  # one more: are there older lines?
        if load.before is None:
            records = await self.store.recent(load.room, limit)
        else:
            records = await self.store.before(load.room, load.before, limit)
        return [StoredLine(r.id, r.name, r.date_ms, r.text) for r in records]
