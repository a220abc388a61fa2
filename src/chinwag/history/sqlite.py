"""Chat history in one SQLite file: the embedded default.

Every database call runs in one dedicated thread (a one-worker executor), so
the event loop never waits on the disk and the connection is only ever used
by one thread. The file is in WAL mode with ``synchronous=NORMAL``: a commit
survives the process being killed (``kill -9``); only a power cut may lose
the last few commits, never corrupt the file.

Line ids are the table's ``AUTOINCREMENT`` rowids: increasing across all rooms
(hence within each) and never reused, even after the newest lines are pruned
or purged. After any failure the connection is closed and opened afresh on
the next call, so a data directory that was read-only or full recovers by
itself once it is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .base import ChatLine, ChatRecord, HistoryStore

__all__ = ["SqliteHistory"]

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL,
    name TEXT NOT NULL,
    date_ms INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lines_by_room ON lines (room, id);
CREATE INDEX IF NOT EXISTS lines_by_date ON lines (date_ms);
"""
_COLUMNS = "room, id, name, date_ms, text"
_BUSY_TIMEOUT = 0.5  # seconds to wait for another writer's lock before failing and retrying


class SqliteHistory(HistoryStore):
    """History in the SQLite file ``path`` (its directory is made if missing)."""

    def __init__(self, path: Path, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="chinwag-history")
        self._db: sqlite3.Connection | None = None

    async def _write(self, lines: Sequence[ChatLine]) -> None:
        rows = [(line.room, line.name, line.date_ms, line.text) for line in lines]
        sql = "INSERT INTO lines (room, name, date_ms, text) VALUES (?, ?, ?, ?)"

        def insert(db: sqlite3.Connection) -> None:
            # Returns nothing on purpose: a cursor handed to the event loop's thread and
            # collected there would reset its statement while this thread uses the
            # connection (SQLITE_MISUSE, "bad parameter or other API misuse").
            db.executemany(sql, rows).close()

        await self._run(insert, write=True)

    async def _recent(self, room: str, limit: int) -> list[ChatRecord]:
        return await self._select_newest("room = ?", (room,), limit)

    async def _before(self, room: str, line_id: int, limit: int) -> list[ChatRecord]:
        return await self._select_newest("room = ? AND id < ?", (room, line_id), limit)

    async def _since(self, room: str, line_id: int, limit: int) -> list[ChatRecord]:
        sql = f"SELECT {_COLUMNS} FROM lines WHERE room = ? AND id > ? ORDER BY id LIMIT ?"
        rows = await self._run(lambda db: db.execute(sql, (room, line_id, limit)).fetchall())
        return [ChatRecord(*row) for row in rows]

    async def _prune(self, cutoff_ms: int) -> None:
        keep = self.retention.max_lines

        def prune(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM lines WHERE date_ms < ?", (cutoff_ms,))
            rooms = [room for (room,) in db.execute("SELECT DISTINCT room FROM lines")]
            for room in rooms:
                db.execute(
                    "DELETE FROM lines WHERE room = ? AND id <= (SELECT id FROM lines"
                    " WHERE room = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (room, room, keep),
                )
            # Ids grow across rooms: the oldest lines overall are the lowest ids.
            db.execute(
                "DELETE FROM lines WHERE id <= (SELECT id FROM lines ORDER BY id DESC"
                " LIMIT 1 OFFSET ?)",
                (self.retention.max_total,),
            )

        await self._run(prune, write=True)

    async def _purge(self, room: str | None) -> int:
        def purge(db: sqlite3.Connection) -> int:
            if room is None:
                return db.execute("DELETE FROM lines").rowcount
            return db.execute("DELETE FROM lines WHERE room = ?", (room,)).rowcount

        return await self._run(purge, write=True)

    async def _rooms(self) -> list[str]:
        rows = await self._run(lambda db: db.execute("SELECT DISTINCT room FROM lines").fetchall())
        return sorted(room for (room,) in rows)

    async def _close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown(wait=True)

    # -- in the database thread ------------------------------------------------------

    async def _select_newest(
        self, where: str, params: tuple[Any, ...], limit: int
    ) -> list[ChatRecord]:
        sql = f"SELECT {_COLUMNS} FROM lines WHERE {where} ORDER BY id DESC LIMIT ?"
        rows = await self._run(lambda db: db.execute(sql, (*params, limit)).fetchall())
        return [ChatRecord(*row) for row in reversed(rows)]

    async def _run(
        self,
        work: Callable[[sqlite3.Connection], _T],
        *,
        write: bool = False,
    ) -> _T:
        """Run ``work`` on the connection in the database thread (in a transaction if ``write``)."""

        def call() -> _T:
            try:
                db = self._connect()
                if not write:
                    return work(db)
                with _transaction(db):
                    return work(db)
            except Exception:
                self._disconnect()
                raise

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
            except Exception:
                db.close()
                raise
            self._db = db
        return self._db

    def _disconnect(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            with contextlib.suppress(sqlite3.Error):
                db.close()


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:  # SQLite may have rolled back itself (a full disk does)
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
