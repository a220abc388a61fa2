"""Carries the core's SFU effects out against one or more Janus instances.

``SfuSignal`` (a participant's checked request), ``SfuLeave`` and ``SfuEnd``
become work on the call's :class:`~chinwag.sfu.room.JanusRoom`; answers go
back through the lobby (``Lobby.sfu_reply``/``sfu_speaker``), which checks
that the participant is still in that call before anything reaches it.

Each participant's requests run one after another, in the order they came
(a publish before the subscription that follows it); different participants'
run side by side.

Placement: a call goes to the least loaded Janus that answers, through the
bus (``Bus.place_call``, ``cluster/placement.py``): the first process to
place a call records its pick atomically (in Redis with ``--redis``, else in
a private in-memory bus) and every process gets that answer until the Janus
is lost to it. Load: over the VideoRoom's ``list`` (admin key: private rooms
too), participants squared, summed (each stream goes in once and out to each
other participant). With Redis unreachable a process applies the rule alone.
Rooms' id, secret and pin are derived from the call alike everywhere
(``room.py``). A process places nothing before it has tried every instance.
A Janus whose socket closes, or that leaves a keep-alive unanswered, is taken
out at once; the participants of its calls are told ``sfu-moved`` and
publish again, which places the call on the next instance. When no instance is left, the
lobby takes over (``Lobby.sfu_unavailable``): calls of ``--mesh-max`` or
fewer go back to a mesh, larger ones are told ``sfu-waiting``, and
``sfu-moved`` once a Janus answers again. A lost Janus is reconnected to
every few seconds and takes new calls again once it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, Final

from ..cluster import Bus, BusUnavailable
from ..cluster.memory import MemoryBus, MemoryHub
from ..cluster.placement import call_key, least_loaded
from ..config import Settings
from ..core.effects import Effect, SfuEnd, SfuLeave, SfuModerate, SfuRecord, SfuSignal
from ..core.lobby import Lobby
from ..history import data_dir
from .janus import JanusError, JanusHandle, JanusLost, JanusSession
from .recorder import CallRecordings, Recorder
from .room import VIDEOROOM, JanusRoom, room_identity

__all__ = ["SfuLink"]

log = logging.getLogger("chinwag.sfu.link")

#: Seconds between attempts to reach a Janus that is down (or not yet up).
RECONNECT_INTERVAL: Final = 2.0
#: Keep-alive period and answer deadline: a hung Janus is noticed within about 9 s.
KEEPALIVE: Final = 5.0
ANSWER_TIMEOUT: Final = 4.0

CallKey = tuple[str, int]  # (room key, opened)


class _Node:
    """One Janus instance and chinwag's session on it (None while it is down)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session: JanusSession | None = None
        #: Set after the first attempt to connect, answered or not: placing a call
        #: before every instance was tried could pick differently from other processes.
        self.tried = asyncio.Event()
        self.lister: JanusHandle | None = None  # reads the VideoRoom's room list (the load)

    async def load(self, admin_key: str | None) -> int:
        """Streams this Janus forwards, estimated: participants squared, summed over rooms."""
        session = self.session
        if session is None:
            raise JanusLost(f"Janus at {self.url} is down")
        if self.lister is None or self.lister.session is not session:
            self.lister = await session.attach(VIDEOROOM)
        key = {"admin_key": admin_key} if admin_key else {}
        rooms = (await self.lister.request({"request": "list", **key})).data.get("list", [])
        counts = [room.get("num_participants", 0) for room in rooms if isinstance(room, dict)]
        return sum(n * n for n in counts if isinstance(n, int))


class SfuLink:
    """The Janus instances of one chinwag process, fed by the lobby's SFU effects."""

    def __init__(
        self,
        urls: Iterable[str],
        api_secret: str | None,
        lobby: Lobby,
        apply: Callable[[Iterable[Effect]], None],
        capacity: int = 50,
        recordings: Path | None = None,
        bus: Bus | None = None,
    ) -> None:
        self.nodes = [_Node(url) for url in urls]
        #: Where calls are placed: the cluster's bus, or one of this process's own.
        self._placement = bus if bus is not None else MemoryBus(MemoryHub())
        self._placing = asyncio.Lock()  # one placement at a time: no call gets two rooms
        self._secret = api_secret
        # Names rooms; shared by a cluster's processes only through the operator's secret.
        self._key = api_secret.encode() if api_secret else secrets.token_bytes(32)
        self._lobby = lobby
        self._apply = apply
        self._capacity = capacity
        self.rooms: dict[CallKey, JanusRoom] = {}
        self._placed: dict[CallKey, _Node] = {}
        self._chains: dict[tuple[CallKey, str], asyncio.Task[None]] = {}
        #: Streams a host muted at Janus, per call and name, until the person unmutes or the
        #: call ends: kept outside the Janus room so a re-publish (sfu-moved) stays muted.
        self._muted: dict[CallKey, dict[str, frozenset[str]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Sessions of lost Janus instances being closed: stop closes them too (a close task
        #: it cancels before it ran would have done nothing).
        self._lost_sessions: set[JanusSession] = set()
        self.moves = 0  # calls moved off a lost Janus
        self.to_mesh = 0  # calls back to a mesh because no Janus was left
        #: Calls stranded when the last Janus went, and their people here: told ``sfu-moved``
        #: (publish again) once a Janus answers (those back on a mesh are no longer asked).
        self._waiting: dict[CallKey, set[str]] = {}
        self.opened = 0  # calls this process placed on Janus (each moved there from a mesh)
        self.janus_lost = 0  # times a Janus stopped answering
        #: Recordings this process started (None: ``--recordings`` is off).
        self.recordings = (
            CallRecordings(Recorder(recordings), self._recording_failed) if recordings else None
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        lobby: Lobby,
        apply: Callable[[Iterable[Effect]], None],
        bus: Bus | None = None,
    ) -> SfuLink | None:
        """The link for these settings (placing calls through ``bus``), or None without
        ``--sfu``."""
        if not settings.sfu:
            return None
        recordings = data_dir(settings) / "recordings" if settings.recordings else None
        cap = settings.call_cap()
        return cls(settings.sfu, settings.sfu_secret, lobby, apply, cap, recordings, bus)

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Connect to every Janus (those that are down are retried in the background)."""
        for node in self.nodes:
            self._spawn(self._keep_connected(node))

    async def stop(self) -> None:
        for task in list(self._tasks) + list(self._chains.values()):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._chains.values(), return_exceptions=True)
        for room in list(self.rooms.values()):
            with contextlib.suppress(JanusError, JanusLost):
                await room.close()
        for session in [node.session for node in self.nodes] + list(self._lost_sessions):
            if session is not None:
                await session.close()
        if self.recordings is not None:
            await self.recordings.recorder.close()

    def placed(self) -> dict[str, str]:
        """Where each SFU call of this process is: room key -> the Janus URL."""
        return {call[0]: node.url for call, node in self._placed.items()}

    def up(self) -> list[str]:
        """The URLs of the Janus instances answering now."""
        return [node.url for node in self.nodes if node.session is not None]

    def counters(self) -> dict[str, int]:
        """The SFU figures of /metrics (see metrics_export for what each means)."""
        counts = [room.media_counts() for room in self.rooms.values()]
        recorder = self.recordings.recorder if self.recordings is not None else None
        return {
            "sfu_calls": len(self.rooms),
            "sfu_publishers": sum(publishers for publishers, _ in counts),
            "sfu_subscribers": sum(subscribers for _, subscribers in counts),
            "sfu_janus_up": len(self.up()),
            "sfu_janus_lost": self.janus_lost,
            "sfu_moves_to_sfu": self.opened,
            "sfu_moves_to_janus": self.moves,
            "sfu_moves_to_mesh": self.to_mesh,
            "recordings_active": len(self.recordings.active) if self.recordings else 0,
            "recordings_converting": recorder.converting if recorder else 0,
            "recordings_ready": recorder.outcomes["ready"] if recorder else 0,
            "recordings_failed": recorder.outcomes["failed"] if recorder else 0,
        }

    # -- effects -----------------------------------------------------------------

    def carry(self, effect: Effect) -> bool:
        """Carry out ``effect`` if it is an SFU effect; False if it is not one."""
        if isinstance(effect, SfuSignal):
            call = (effect.room, effect.opened)
            self._in_turn(call, effect.name, self._signal(call, effect))
        elif isinstance(effect, SfuLeave):
            call = (effect.room, effect.opened)
            self._in_turn(call, effect.name, self._leave(call, effect.name))
            if not self.up():  # a call waiting for a Janus may be small enough for a mesh now
                asyncio.get_running_loop().call_soon(self._unavailable, effect.room)
        elif isinstance(effect, SfuModerate):
            call = (effect.room, effect.opened)
            self._in_turn(call, effect.name, self._moderate(call, effect))
        elif isinstance(effect, SfuEnd):
            self._spawn(self._end((effect.room, effect.opened)))
        elif isinstance(effect, SfuRecord):
            # In the call's own turn ("" is no one's name): a stop waits for its start.
            self._in_turn((effect.room, effect.opened), "", self._record(effect))
        else:
            return False
        return True

    def _in_turn(self, call: CallKey, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` after the participant's earlier requests."""
        key = (call, name)
        before = self._chains.get(key)

        async def run() -> None:
            if before is not None:
                await asyncio.wait([before])  # its outcome is its own
            await work

        task = asyncio.create_task(run(), name=f"sfu-{name}")
        self._chains[key] = task
        task.add_done_callback(lambda done: self._chain_done(key, done))

    def _chain_done(self, key: tuple[CallKey, str], task: asyncio.Task[None]) -> None:
        if self._chains.get(key) is task:
            del self._chains[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("sfu: %s failed", key, exc_info=task.exception())

    async def _signal(self, call: CallKey, signal: SfuSignal) -> None:
        name = signal.name
        try:
            room = await self._room(call)
            if signal.kind == "sfu-publish":
                assert signal.description is not None
                answer = await room.publish(name, signal.description)
                published: dict[str, Any] = {"type": "sfu-published", "description": answer}
                muted = self._muted.get(call, {}).get(name)
                if muted:  # before the answer: no muted packet reaches anyone
                    await room.moderate(name, muted)
                    published["muted"] = sorted(muted)  # so the client shows it
                self._reply(call, name, published)
            elif signal.kind == "sfu-subscribe":
                await room.subscribe(name)
            elif signal.kind == "sfu-answer":
                assert signal.description is not None
                await room.answer(name, signal.description)
            else:
                await room.view(name, signal.views)
        except (JanusError, JanusLost) as error:
            log.warning("sfu: %s of %s in %r failed: %s", signal.kind, name, call[0], error)
            if signal.kind == "sfu-view":  # a layer choice that raced a renegotiation
                return
            self._reply(
                call,
                name,
                {
                    "type": "error",
                    "code": "sfu-unavailable",
                    "message": "The media server could not do that; try again shortly.",
                    "for": signal.kind,
                    "target": None,
                },
            )

    async def _moderate(self, call: CallKey, effect: SfuModerate) -> None:
        people = self._muted.setdefault(call, {})
        before = people.get(effect.name, frozenset())
        muted = before | {effect.kind} if effect.mute else before - {effect.kind}
        if muted == before:  # nothing to change (an unmute of what no host muted)
            return
        people[effect.name] = muted
        room = self.rooms.get(call)
        if room is not None:  # else the publish to come applies it
            try:
                await room.moderate(effect.name, muted)
            except (JanusError, JanusLost) as error:
                log.warning("sfu: moderating %s in %r failed: %s", effect.name, call[0], error)

    async def _leave(self, call: CallKey, name: str) -> None:
        room = self.rooms.get(call)
        if room is not None:
            with contextlib.suppress(JanusError, JanusLost):
                await room.leave(name)

    async def _record(self, effect: SfuRecord) -> None:
        call = (effect.room, effect.opened)
        if self.recordings is None:  # the core refuses recording without --recordings
            return
        if effect.on:
            await self.recordings.start(
                call, lambda: self._room(call), effect.since, effect.by, effect.title
            )
        else:
            await self.recordings.stop(call, self.rooms.get(call))

    def _recording_failed(self, call: CallKey, since: int, reason: str) -> None:
        self._apply(self._lobby.sfu_recording_failed(call[0], call[1], since, reason))

    async def _end(self, call: CallKey) -> None:
        recording = self._chains.get((call, ""))
        if recording is not None:  # the last stop, before the room goes
            await asyncio.wait([recording])
        room = self.rooms.pop(call, None)
        self._placed.pop(call, None)
        self._muted.pop(call, None)
        self._waiting.pop(call, None)
        with contextlib.suppress(BusUnavailable):
            await self._placement.unplace_call(call_key(*call))
        if room is not None:
            with contextlib.suppress(JanusError, JanusLost):
                await room.close()

    # -- placement ---------------------------------------------------------------

    async def _room(self, call: CallKey) -> JanusRoom:
        """The call's room on its Janus, created on first use."""
        room = self.rooms.get(call)
        if room is None or room.session.lost:
            tried = [node.tried.wait() for node in self.nodes]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tried), ANSWER_TIMEOUT + 1)
            async with self._placing:
                room = self.rooms.get(call)
                if room is None or room.session.lost:
                    room = await self._new_room(call, moved=room is not None)
        await room.open(self._capacity)
        return room

    async def _new_room(self, call: CallKey, moved: bool) -> JanusRoom:
        node = await self._place(call)
        self.opened += not moved
        assert node.session is not None
        room = JanusRoom(
            node.session,
            room_identity(self._key, call[0], call[1]),
            lambda name, message: self._reply(call, name, message),
            lambda name: self._apply(self._lobby.sfu_speaker(call[0], call[1], name)),
            self._secret,
        )
        self.rooms[call] = room
        self._placed[call] = node
        return room

    async def _place(self, call: CallKey) -> _Node:
        """The Janus for ``call``: the one the bus says, among those answering now."""
        live = {node.url: node for node in self.nodes if node.session is not None}
        loads: dict[str, int] = {}
        for url, node in live.items():
            try:
                loads[url] = await node.load(self._secret)
            except JanusLost:
                continue  # gone meanwhile: not a candidate
            except JanusError as error:  # answers, but not the list: place as if empty
                log.warning("sfu: no room list from %s: %s", url, error)
                loads[url] = 0
        if not loads:
            raise JanusLost("no Janus instance is answering")
        try:
            url = await self._placement.place_call(call_key(*call), loads)
        except BusUnavailable:  # the same rule, alone: may split a call until the bus is back
            url = least_loaded(loads, [node.url for node in self._placed.values()])
        return live[url]  # the bus picks among the loads it was given

    def _reply(self, call: CallKey, name: str, message: dict[str, Any]) -> None:
        self._apply(self._lobby.sfu_reply(call[0], call[1], name, message))

    # -- Janus instances ---------------------------------------------------------

    async def _keep_connected(self, node: _Node) -> None:
        while True:
            if node.session is None:
                session = JanusSession(
                    node.url,
                    self._secret,
                    timeout=ANSWER_TIMEOUT,
                    keepalive=KEEPALIVE,
                    on_lost=lambda lost, node=node: self._lost(node, lost),  # type: ignore[misc]
                )
                try:
                    await session.open()
                except (JanusError, JanusLost) as error:
                    log.debug("sfu: %s not reachable: %s", node.url, error)
                else:
                    node.session = session
                    log.info("sfu: connected to Janus at %s", node.url)
                    waiting, self._waiting = self._waiting, {}
                    for call, names in waiting.items():
                        for name in names:
                            self._reply(call, name, {"type": "sfu-moved"})
                node.tried.set()
            await asyncio.sleep(RECONNECT_INTERVAL)

    def _lost(self, node: _Node, session: JanusSession) -> None:
        """``node`` stopped answering: its calls move (participants publish again)."""
        if node.session is not session:
            return
        node.session = None
        self.janus_lost += 1
        moved = [call for call, placed in self._placed.items() if placed is node]
        log.error(
            "sfu: Janus at %s is lost; %d call(s) affected: %s",
            node.url,
            len(moved),
            ", ".join(f"{room!r}" for room, _ in moved) or "none",
        )
        self._lost_sessions.add(session)
        self._spawn(self._close_lost(session))
        stranded = not self.up()
        for call in moved:
            if self.recordings is not None:
                self.recordings.lost(call)
            room = self.rooms.pop(call)
            del self._placed[call]
            if stranded:  # nowhere to move to: the lobby decides below
                self._waiting[call] = set(room.seats)
                continue
            self.moves += 1
            for name in list(room.seats):
                self._reply(call, name, {"type": "sfu-moved"})
        if stranded:
            log.error("sfu: no Janus instance is answering: small calls go back to a mesh")
            self._unavailable(None)

    def _unavailable(self, room: str | None) -> None:
        """No Janus answers: the lobby moves small SFU calls (or ``room``'s) back to a mesh."""
        if self.up():  # one came back meanwhile
            return
        effects = self._lobby.sfu_unavailable(room)
        self.to_mesh += sum(isinstance(effect, SfuEnd) for effect in effects)  # one per call
        self._apply(effects)

    async def _close_lost(self, session: JanusSession) -> None:
        await session.close()
        self._lost_sessions.discard(session)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
