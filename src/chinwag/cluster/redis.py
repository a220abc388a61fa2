"""The Redis bus: chinwag processes sharing one Redis behave as one server.

The lease, the two pub/sub channels, the outage-and-resync story and the
claims are one connection's life and live here; the Lua scripts are in
``scripts.py``, the outbound queue and its writer in ``outbound.py``, the
room claims (and their keys) in ``redisrooms.py``.

Keys and channels (``prefix`` is ``chinwag:`` unless told otherwise; one Redis
server, with or without replicas, not Redis Cluster)::

    {prefix}nodes           set: every registered node
    {prefix}alive:{node}    the node's lease: a key with a PX expiry it renews,
                            holding its announcement "FORMAT VERSION"
    {prefix}users:{node}    hash: key -> msgpack UserRecord, the node's users
    {prefix}name:{key}      the node holding the name (valid while it is alive)
    {prefix}{db}:bus        channel: ``publish``, for every node
    {prefix}{db}:bus:{node} channel: ``send(node, ...)``, for that node only

(Pub/sub channels are shared by every database of a Redis server, so the
channel names carry the database number: clusters on different databases of
one Redis do not hear each other.)

where ``key`` is the name's :func:`~chinwag.core.names.name_key`, computed
here from the record's name: a claim is exclusive by key, so "alice",
"Alice" and "alice" with a Cyrillic "a" (U+0430) exclude each other across processes, while the
record keeps the name as its owner typed it. (Every process of one cluster
must run a version that keys names this way.)

Rules:

* A name belongs to its node for as long as the node's lease lives, so a node
  renews every one of its names with a single PEXPIRE per tick, whatever its
  user count. Claims are Lua scripts, hence atomic; a name whose owner's lease
  has lapsed is free for the next claim.
* Every tick (``renew_interval``) one script renews this node's lease, lists
  the live nodes, and reaps the keys of dead ones (whoever notices first;
  reaping twice is harmless). Each node hands its own lobby ``NodeGone`` for
  every node it knew that is no longer alive, so a node killed with -9 is gone
  everywhere within ``lease + renew_interval``.
* ``publish`` and ``send`` only append to a queue (``outbound.py``). One
  writer task drains it and pipelines PUBLISH commands, merging consecutive
  events for one channel into one envelope (sender node, events); the order
  of events is kept.
* Joining (at start, and again after any loss of Redis): subscribe, register
  the lease (announcing this process's :data:`~chinwag.cluster.bus.CLUSTER_FORMAT`
  and version; a live node of another format makes the script refuse, and
  ``start`` raises :class:`~chinwag.cluster.bus.ClusterRefused`) and re-claim
  this node's names in one script, read every live
  node's users, and only then start reading the channels. The lobby gets
  ``NamesLost`` for names another node took meanwhile, then ``NodeUsers`` for
  each other live node; other nodes get this node's ``NodeUsers``. Because the
  channels are read only after the snapshot, every event is applied on top of
  a snapshot at least as old as the event, which makes the rebuild exact.
* While Redis is unreachable the node keeps serving its own users:
  ``available`` is False, ``claim`` and ``directory`` raise BusUnavailable,
  ``publish``/``send`` drop their events (the rejoin re-syncs presence), and
  ``release``/``update`` are remembered for the rejoin. Reconnection backs off
  exponentially up to ``max_backoff``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Sequence
from typing import Any

import msgspec
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from .. import __version__
from ..core.events import BusEvent, NodeUsers, UserRecord
from ..core.names import name_key
from .bus import CLUSTER_FORMAT, Bus, BusUnavailable, ClusterRefused, EventHandler
from .membership import Membership, decode_record
from .outbound import Envelope, Outbox, encode, not_cancelled
from .redis_placement import RedisClaims
from .scripts import Scripts

__all__ = ["RedisBus"]

log = logging.getLogger("chinwag.cluster.redis")

_ERRORS = (RedisError, OSError)  # what a lost or refused connection raises
_MAX_CONNECTIONS = 32  # to Redis, per node: pub/sub, writer, ticker, and claims


class _Lost(Exception):
    """This node's registration is gone (lease lapsed, Redis restarted): rejoin."""


def _redacted(url: str) -> str:
    """The URL with any password hidden, for logs."""
    return re.sub(r"//([^@/]*)@", "//***@", url)


class RedisBus(RedisClaims, Bus):
    """The bus for ``--redis URL``; see the module docstring for how it works.

    ``lease`` is how long a node's names outlive it, ``renew_interval`` how
    often it renews them and checks the others (keep it well under a third of
    the lease). ``timeout`` bounds every Redis command.
    """

    def __init__(
        self,
        url: str,
        node: str | None = None,
        *,
        prefix: str = "chinwag:",
        lease: float = 10.0,
        renew_interval: float = 3.0,
        timeout: float = 5.0,
        max_backoff: float = 5.0,
        max_pending: int = 100_000,
    ) -> None:
        super().__init__(node)
        self.url = url
        self.prefix = prefix
        self.lease = lease
        self.renew_interval = renew_interval
        self.timeout = timeout
        self.max_backoff = max_backoff
        db = parse_url(url).get("db", 0)
        self._channels = f"{prefix}{db}:bus"
        self._broadcast = self._channels
        self._inbox = f"{self._channels}:{self.node}"
        self._redis: Redis | None = None
        self._registered: Scripts | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._available = False
        self._joined = asyncio.Event()
        self._rejoin = asyncio.Event()  # set when a command finds the registration gone
        # undelivered is looked up late: the cluster link sets it after construction.
        self._outbox = Outbox(
            self.node, self._channels, max_pending, lambda *lost: self.undelivered(*lost)
        )
        self._mine: dict[str, UserRecord] = {}  # key -> record this node holds, to re-claim
        self._members = Membership(self.node, self._broadcast, lease, lambda: self._handler)
        self._down_since: float | None = None
        self._refused: ClusterRefused | None = None  # why the first join was refused

    # -- the Bus interface ---------------------------------------------------

    @property
    def available(self) -> bool:
        return self._available

    def is_alive(self, node: str) -> bool:
        return self._members.is_alive(node, self._available)

    async def start(self, handler: EventHandler) -> None:
        """Connect and join; if Redis is down, keep trying in the background."""
        await super().start(handler)
        pool = BlockingConnectionPool.from_url(
            self.url,
            max_connections=_MAX_CONNECTIONS,  # a burst of sign-ins waits for a free one
            timeout=self.timeout,
            socket_timeout=self.timeout,
            socket_connect_timeout=min(self.timeout, 2.0),
            retry=Retry(NoBackoff(), 1),  # once, on a fresh connection; then the supervisor
        )
        self._redis = Redis.from_pool(pool)
        self._registered = Scripts.load(self._redis)
        self._supervisor = asyncio.create_task(self._supervise(), name=f"bus {self.node}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._joined.wait(), self.timeout)
        if self._refused is not None:
            await self.stop()
            raise self._refused
        if not self._available:
            log.error(
                "redis: %s unreachable; serving local users only, sign-ins refused, retrying",
                _redacted(self.url),
            )

    async def stop(self) -> None:
        """Leave: flush queued events, say goodbye, free this node's names."""
        if self._supervisor is not None:
            await _cancel([self._supervisor], self.timeout)
            self._supervisor = None
        if self._redis is None:
            return
        if self._available:
            self._available = False
            with contextlib.suppress(*_ERRORS, TimeoutError):
                await asyncio.wait_for(self._say_goodbye(), self.timeout)
        self._outbox.discard()
        with contextlib.suppress(*_ERRORS, TimeoutError):
            await asyncio.wait_for(self._redis.aclose(), self.timeout)
        self._redis = None
        if self._refused is None:  # a refused node never joined
            log.info("redis: this node (%s) left the cluster", self.node)

    async def claim(self, record: UserRecord) -> bool:
        key = name_key(record.name)
        result = await self._run(self._scripts.claim, key, encode(record))
        if result == -1:
            self._rejoin.set()
            raise BusUnavailable("this node's Redis lease lapsed; rejoining")
        claimed: bool = result == 1
        if claimed:
            self._mine[key] = record
        return claimed

    async def release(self, name: str) -> None:
        """Free ``name``; while Redis is down, the rejoin forgets it instead."""
        key = name_key(name)
        if self._mine.pop(key, None) is not None and self._available:
            with contextlib.suppress(BusUnavailable):
                await self._run(self._scripts.release, key)

    async def update(self, record: UserRecord) -> None:
        """Store a changed record (maybe a new spelling of the name); while Redis is
        down, the rejoin stores it."""
        key = name_key(record.name)
        if key in self._mine:
            self._mine[key] = record
            if self._available:
                with contextlib.suppress(BusUnavailable):
                    await self._run(self._scripts.update, key, encode(record))

    async def claim_seat(self, room: str, name: str, cap: int) -> bool:
        """One of ``cap`` seats of room ``room``'s call, counted in Redis, atomically."""
        result = await self._run(self._scripts.claim_seat, room, name, str(cap))
        return bool(result == 1)

    async def release_seat(self, room: str, name: str) -> None:
        if self._available:
            with contextlib.suppress(BusUnavailable):
                await self._run(self._scripts.release_seat, room, name)

    async def hand_over(self, record: UserRecord) -> None:
        """Give a name this node holds to ``record.node``, atomically."""
        key = name_key(record.name)
        if self._mine.pop(key, None) is not None and self._available:
            with contextlib.suppress(BusUnavailable):
                await self._run(self._scripts.hand_over, key, record.node, encode(record))

    async def adopt(self, record: UserRecord) -> None:
        """Count a handed-over name as this node's (re-claimed after an outage)."""
        self._mine[name_key(record.name)] = record

    def publish(self, event: BusEvent) -> None:
        self._outbox.put(self._broadcast, event)

    def send(self, node: str, event: BusEvent) -> None:
        if not self._outbox.put(f"{self._channels}:{node}", event):
            self.undelivered(node, event)

    async def directory(self) -> list[UserRecord]:
        entries = await self._run(self._scripts.directory)
        return [decode_record(raw) for entry in entries for raw in entry[1:]]

    # -- commands ------------------------------------------------------------

    @property
    def _scripts(self) -> Scripts:
        assert self._registered is not None, "start() registers the scripts"
        return self._registered

    async def _run(self, script: AsyncScript, *args: str | bytes) -> Any:
        """Run one script for this node; a lost connection becomes BusUnavailable."""
        if not self._available:
            raise BusUnavailable(f"Redis at {_redacted(self.url)} is unreachable")
        try:
            return await script(args=[self.prefix, self.node, *args])
        except _ERRORS as error:
            self._rejoin.set()
            raise BusUnavailable(f"Redis at {_redacted(self.url)}: {error}") from error

    # -- joining and staying joined ------------------------------------------

    async def _supervise(self) -> None:
        """Join, serve until Redis is lost, back off, join again; until cancelled."""
        failures = 0
        while not_cancelled():
            try:
                pubsub = await self._join()
                failures = 0
                try:
                    await self._serve(pubsub)
                finally:
                    await _close(pubsub)
            except ClusterRefused as error:
                if not self._joined.is_set():  # at start: start() raises it, the process exits
                    self._refused = error
                    self._joined.set()
                    return
                log.error("redis: %s", error)  # a rejoin: stay out until that node is gone
                self._went_down(error)
            except (*_ERRORS, _Lost, msgspec.DecodeError) as error:
                self._went_down(error)
            except Exception as error:  # a bug: log it, but keep the node in the cluster
                log.exception("redis: unexpected failure")
                self._went_down(error)
            if self._redis is not None:
                with contextlib.suppress(*_ERRORS):  # pooled connections may be stale now
                    await self._redis.connection_pool.disconnect()
            failures += 1
            delay = min(self.max_backoff, 0.05 * 2**failures) * random.uniform(0.5, 1.0)
            log.debug("redis: reconnecting in %.2f s", delay)
            await asyncio.sleep(delay)

    async def _join(self) -> PubSub:
        """Subscribe, register and re-claim, snapshot the others; see the module doc."""
        assert self._redis is not None
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._broadcast, self._inbox)
            early = await self._confirmed(pubsub)
            pairs = [part for key, r in self._mine.items() for part in (key, encode(r))]
            lease_ms = str(int(self.lease * 1000))
            announcement = f"{CLUSTER_FORMAT} {__version__}"
            refusal, lost_raw = await self._scripts.register(
                args=[self.prefix, self.node, lease_ms, announcement, *pairs]
            )
            if refusal:
                raise ClusterRefused.by_node(
                    _redacted(self.url), refusal[0].decode(), refusal[1].decode()
                )
            entries = await self._scripts.directory(args=[self.prefix, self.node])
        except BaseException:
            await _close(pubsub)
            raise
        lost = tuple(self._mine.pop(key.decode()).name for key in lost_raw)
        self._rejoin.clear()
        self._outbox.open(self._broadcast, NodeUsers(self.node, tuple(self._mine.values())))
        self._members.snapshot(lost, entries)
        for channel, data in early:
            self._members.receive(channel, data)
        self._available = True
        self._joined.set()
        self._log_joined(len(self._mine), lost)
        return pubsub

    async def _confirmed(self, pubsub: PubSub) -> list[tuple[bytes, bytes]]:
        """Wait for both subscriptions; keep messages that came in between."""
        confirmed = 0
        early: list[tuple[bytes, bytes]] = []
        deadline = time.monotonic() + self.timeout
        while confirmed < 2:
            if time.monotonic() > deadline:
                raise TimeoutError("Redis did not confirm the subscriptions")
            message = await pubsub.get_message(timeout=self.timeout)
            if message is None:
                continue
            if message["type"] == "subscribe":
                confirmed += 1
            elif message["type"] == "message":
                early.append((message["channel"], message["data"]))
        return early

    def _log_joined(self, kept: int, lost: Sequence[str]) -> None:
        if self._down_since is None:
            log.info("redis: node %s joined the cluster at %s", self.node, _redacted(self.url))
            return
        log.warning(
            "redis: reconnected to %s after %.1f s; node %s re-claimed %d names%s",
            _redacted(self.url),
            time.monotonic() - self._down_since,
            self.node,
            kept,
            f", lost {len(lost)} to other nodes: {', '.join(lost)}" if lost else "",
        )
        if self._outbox.dropped:
            log.warning(
                "redis: %d events were dropped while Redis was unreachable", self._outbox.dropped
            )
            self._outbox.dropped = 0
        self._down_since = None

    def _went_down(self, error: BaseException) -> None:
        was_available = self._available
        self._available = False
        self._outbox.shut()
        if was_available:
            self._down_since = time.monotonic()
            log.warning(
                "redis: lost %s (%s); serving local users only, sign-ins refused, reconnecting",
                _redacted(self.url),
                str(error) or type(error).__name__,
            )

    async def _serve(self, pubsub: PubSub) -> None:
        """Read, write and tick until one fails or a command finds the registration
        gone; raise what failed. A task group owns the three loops for this session:
        each ends soon after a cancel even if redis-py swallows it (they check
        ``not_cancelled``; every command is bounded by ``timeout``)."""
        redis = self._redis
        assert redis is not None
        try:
            async with asyncio.TaskGroup() as session:
                session.create_task(self._read(pubsub), name=f"bus {self.node} read")
                session.create_task(self._outbox.write(redis), name=f"bus {self.node} write")
                session.create_task(self._tick(), name=f"bus {self.node} tick")
                await self._rejoin.wait()
                raise _Lost("this node's registration is gone")
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None

    async def _read(self, pubsub: PubSub) -> None:
        while not_cancelled():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and message["type"] == "message":
                self._members.receive(message["channel"], message["data"])

    async def _tick(self) -> None:
        lease_ms = str(int(self.lease * 1000))
        while not_cancelled():
            await asyncio.sleep(self.renew_interval)
            live = await self._scripts.heartbeat(args=[self.prefix, self.node, lease_ms])
            if live is None:
                raise _Lost(
                    "this node's lease had lapsed (Redis restarted, or this process stalled)"
                )
            self._members.check({node.decode() for node in live})

    async def _say_goodbye(self) -> None:
        """Publish what is queued and a bye, then free this node's keys."""
        assert self._redis is not None
        pipe = self._redis.pipeline(transaction=False)
        self._outbox.drain_into(pipe)
        pipe.publish(self._broadcast, encode(Envelope(self.node, [], bye=True)))
        await pipe.execute()
        await self._scripts.leave(args=[self.prefix, self.node])


async def _cancel(tasks: Sequence[asyncio.Task[Any]], within: float) -> None:
    """Cancel ``tasks`` and wait for them, bounded: a stuck task must not hang a shutdown."""
    for task in tasks:
        task.cancel()
    _, stuck = await asyncio.wait(tasks, timeout=within)
    for task in stuck:
        log.warning("redis: task %s did not stop within %.1f s", task.get_name(), within)


async def _close(pubsub: PubSub) -> None:
    with contextlib.suppress(*_ERRORS):
        await pubsub.aclose()
