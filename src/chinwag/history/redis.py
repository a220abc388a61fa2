"""Chat history in Redis Streams, so every chinwag process serves the same history.

One stream per room, ``{prefix}history:{room}``; each entry has the fields
``n`` (name), ``d`` (date, Unix ms) and ``t`` (text). The stream id is
``<ms>-<seq>`` where ``ms`` is the line's date (raised to the stream's last ms
if a node's clock is behind, so ids only grow) and ``seq < 1000`` counts lines
within that millisecond (a thousandth line moves on to the next ms). The line
id clients see is ``ms * 1000 + seq``: an integer below 2**53 until the year
2255, mapping one-to-one onto the stream id.

Appends are one Lua script per batch (ids assigned atomically, whichever node
writes) with ``MAXLEN ~`` trimming; :meth:`prune` trims exactly, by count and
with ``MINID`` by age. Purging empties a stream with ``XTRIM MAXLEN 0`` rather
than deleting it, so the stream keeps its last id and ids are never reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .base import ChatLine, ChatRecord, HistoryStore

__all__ = ["RedisHistory", "line_id", "stream_id"]

_SEQ_PER_MS = 1000
_TRIM_SLACK = 100  # MAXLEN ~ may keep up to about one stream node more than asked
_TRIM_ROUND = 10_000  # lines over the total cap deleted by one prune (it runs every minute)

# KEYS: the stream of each line. ARGV[1]: max lines; then date_ms, name, text per line.
_APPEND = """
local maxlen = ARGV[1]
for i, key in ipairs(KEYS) do
  local at = 2 + (i - 1) * 3
  local ms, seq = tonumber(ARGV[at]), 0
  if redis.call('EXISTS', key) == 1 then
    local info = redis.call('XINFO', 'STREAM', key)
    local last
    for j = 1, #info, 2 do
      if info[j] == 'last-generated-id' then last = info[j + 1] end
    end
    local last_ms, last_seq = string.match(last, '^(%d+)-(%d+)$')
    last_ms, last_seq = tonumber(last_ms), tonumber(last_seq)
    if ms <= last_ms then
      ms, seq = last_ms, last_seq + 1
      if seq >= 1000 then ms, seq = ms + 1, 0 end
    end
  end
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, string.format('%d-%d', ms, seq),
             'n', ARGV[at + 1], 'd', ARGV[at], 't', ARGV[at + 2])
end
return #KEYS
"""


def stream_id(line_id: int) -> str:
    """The Redis stream id of a line id."""
    return f"{line_id // _SEQ_PER_MS}-{line_id % _SEQ_PER_MS}"


def line_id(raw: bytes) -> int:
    """The line id of a Redis stream id."""
    ms, seq = raw.split(b"-")
    return int(ms) * _SEQ_PER_MS + int(seq)


class RedisHistory(HistoryStore):
    """History in the Redis at ``url`` (``redis://HOST:PORT/DB``)."""

    def __init__(
        self,
        url: str,
        *args: Any,
        prefix: str = "chinwag:",
        timeout: float = 2.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = prefix + "history:"
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=8,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),  # once, on a fresh connection; then the writer's back-off
        )
        self._redis = Redis.from_pool(pool)
        self._append = self._redis.register_script(_APPEND)

    def _key(self, room: str) -> str:
        return self.prefix + room

    async def _write(self, lines: Sequence[ChatLine]) -> None:
        args: list[Any] = [self.retention.max_lines + _TRIM_SLACK]
        for line in lines:
            args += [line.date_ms, line.name, line.text]
        await self._append(keys=[self._key(line.room) for line in lines], args=args)

    async def _recent(self, room: str, limit: int) -> list[ChatRecord]:
        entries = await self._redis.xrevrange(self._key(room), "+", "-", count=limit)
        return _records(room, (entries or [])[::-1])

    async def _before(self, room: str, line_id: int, limit: int) -> list[ChatRecord]:
        start = "(" + stream_id(line_id)
        entries = await self._redis.xrevrange(self._key(room), start, "-", count=limit)
        return _records(room, (entries or [])[::-1])

    async def _since(self, room: str, line_id: int, limit: int) -> list[ChatRecord]:
        start = "(" + stream_id(line_id)
        entries = await self._redis.xrange(self._key(room), start, "+", count=limit)
        return _records(room, entries)

    async def _prune(self, cutoff_ms: int) -> None:
        keys = []
        async for key in self._redis.scan_iter(match=self.prefix + "*", count=500):
            keys.append(key)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xtrim(key, minid=f"{max(cutoff_ms, 0)}-0", approximate=False)
                pipe.xtrim(key, maxlen=self.retention.max_lines, approximate=False)
                await pipe.execute()
        await self._trim_total(keys)

    async def _trim_total(self, keys: list[bytes]) -> None:
        """Past ``max_total`` lines in all, delete the oldest of any room.

        Stream ids start with the line's date, so they compare across rooms:
        the oldest ``excess`` ids of all streams give one cutoff, and every
        stream is trimmed below it (at most :data:`_TRIM_ROUND` lines a prune).
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.xlen(key)
            lengths = await pipe.execute()
        excess = min(sum(lengths) - self.retention.max_total, _TRIM_ROUND)
        if excess <= 0:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.xrange(key, "-", "+", count=excess)
            heads = await pipe.execute()
        oldest = sorted(line_id(raw) for entries in heads for raw, _ in entries)[:excess]
        cutoff = stream_id(oldest[-1] + 1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.xtrim(key, minid=cutoff, approximate=False)
            await pipe.execute()

    async def _purge(self, room: str | None) -> int:
        if room is not None:
            removed: int = await self._redis.xtrim(self._key(room), maxlen=0, approximate=False)
            return removed
        total = 0
        async for key in self._redis.scan_iter(match=self.prefix + "*", count=500):
            total += await self._redis.xtrim(key, maxlen=0, approximate=False)
        return total

    async def _rooms(self) -> list[str]:
        found = []
        async for key in self._redis.scan_iter(match=self.prefix + "*", count=500):
            if await self._redis.xlen(key):  # a purged stream stays, empty, to keep its ids
                found.append(key.decode()[len(self.prefix) :])
        return sorted(found)

    async def _close(self) -> None:
        await self._redis.aclose()


def _records(room: str, entries: Any) -> list[ChatRecord]:
    return [
        ChatRecord(
            room, line_id(raw), fields[b"n"].decode(), int(fields[b"d"]), fields[b"t"].decode()
        )
        for raw, fields in entries
    ]
