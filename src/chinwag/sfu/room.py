"""One room call on Janus: its VideoRoom, and each participant's publisher and subscription.

chinwag holds every Janus handle on behalf of its participants (the
browsers only ever see SDP), so what one may publish or receive is decided
here, from the name the core checked, never from what a client wrote:

* the VideoRoom has an id, ``secret`` and ``pin`` derived with HMAC from the
  operator's secret and the call (every chinwag process of a cluster finds
  the same room; nobody without the secret can guess them), and an
  ``allowed`` list: a participant's random token is added before it joins
  and removed when it leaves;
* one *watcher* handle per call joins as a publisher that never publishes:
  it hears who starts and stops publishing (``publishers``,
  ``unpublished``, ``leaving``) and who talks (``talking``);
* a participant's publisher joins with ``joinandconfigure`` (``display`` =
  its name, a random feed id); its subscription is one multistream
  subscriber handle receiving every other feed of the same call, updated as
  publishers come and go;
* a host's mute is a ``moderate`` of the publisher's m-line (``moderation.py``);
* leaving is a ``kick`` (Janus stops forwarding that feed to everyone at
  once), then the handles are detached and the token removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .janus import JanusError, JanusHandle, JanusLost, JanusSession
from .moderation import moderate, offer_mids
from .recorder import keyframes_until_recorded, start_recording, stop_recording

__all__ = ["JanusRoom", "room_identity"]

log = logging.getLogger("chinwag.sfu.room")

VIDEOROOM: Final = "janus.plugin.videoroom"
_ROOM_EXISTS: Final = 427
#: The simulcast substream Janus forwards for each tile size (0 is the smallest).
SUBSTREAM: Final = {"high": 2, "medium": 1, "low": 0}

Reply = Callable[[str, dict[str, Any]], None]  # (name, message) to that participant
Speaker = Callable[[str], None]  # name heard talking


def room_identity(key: bytes, room: str, opened: int) -> tuple[int, str, str]:
    """The VideoRoom id, secret and pin of the call ``room``/``opened`` (same on every node)."""

    def derive(label: str) -> bytes:
        return hmac.new(key, f"{label}\0{room}\0{opened}".encode(), hashlib.sha256).digest()

    room_id = int.from_bytes(derive("id")[:6], "big") or 1  # below 2**53: exact in JSON
    return room_id, derive("secret").hex(), derive("pin").hex()[:32]


def _jsep(description: dict[str, str]) -> dict[str, Any]:
    # The browser sends its candidates inside the SDP (it waits for gathering).
    return {"type": description["type"], "sdp": description["sdp"], "trickle": False}


@dataclass(eq=False)
class _Seat:
    """One participant's part on Janus."""

    name: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    feed: int = 0
    mids: dict[str, list[str]] = field(default_factory=dict)  # kind -> its published mids
    publisher: JanusHandle | None = None
    subscriber: JanusHandle | None = None
    #: feed -> its streams in our subscription, as (mid, kind)
    subscribed: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    wants_streams: bool = False
    #: An offer went to the participant and its answer has not come back: Janus takes
    #: one negotiation at a time, so further subscription changes wait for it.
    offer_out: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class JanusRoom:
    """One call's VideoRoom on one Janus (see the module docstring)."""

    def __init__(
        self,
        session: JanusSession,
        identity: tuple[int, str, str],
        reply: Reply,
        speaker: Speaker,
        admin_key: str | None = None,
    ) -> None:
        self.session = session
        self.id, self._secret, self._pin = identity
        self._admin_key = admin_key  # the VideoRoom's admin_key: only chinwag creates rooms
        self._reply = reply
        self._speaker = speaker
        self.seats: dict[str, _Seat] = {}
        self.feeds: dict[int, str] = {}  # active publishers (watcher's view): feed -> name
        self._admin: JanusHandle | None = None
        self._watcher: JanusHandle | None = None
        self._ready = asyncio.Lock()
        self._background_tasks: set[asyncio.Task[Any]] = set()

    @property
    def pin(self) -> str:
        """The room's pin (server side only: chinwag sends it with each join it makes)."""
        return self._pin

    def media_counts(self) -> tuple[int, int]:
        """(publishers, subscriptions) chinwag holds in this room now, for /metrics."""
        seats = self.seats.values()
        return (
            sum(1 for seat in seats if seat.publisher is not None),
            sum(1 for seat in seats if seat.subscriber is not None),
        )

    # -- the room ----------------------------------------------------------------

    async def open(self, capacity: int) -> None:
        """Create the VideoRoom (or find it, made by another node) and start watching it."""
        async with self._ready:
            if self._watcher is not None:
                return
            self._admin = await self.session.attach(VIDEOROOM)
            admin_key = {"admin_key": self._admin_key} if self._admin_key else {}
            try:
                await self._admin.request(
                    {
                        **admin_key,
                        "request": "create",
                        "room": self.id,
                        "secret": self._secret,
                        "pin": self._pin,
                        "is_private": True,
                        "allowed": [],
                        "publishers": capacity + 1,  # and the watcher
                        "audiolevel_event": True,
                        "audio_active_packets": 50,
                        "audio_level_average": 40,
                        "videocodec": "vp8",
                        "notify_joining": False,
                        "lock_record": True,  # only with the room's secret: only chinwag
                    }
                )
            except JanusError as error:
                if error.code != _ROOM_EXISTS:
                    raise
            watch_token = await self._allow()
            watcher = await self.session.attach(VIDEOROOM, self._on_watch)
            joined = await watcher.request(
                {
                    "request": "join",
                    "ptype": "publisher",
                    "room": self.id,
                    "pin": self._pin,
                    "token": watch_token,
                    "display": "",
                }
            )
            self._watcher = watcher
            self._note_publishers(joined.data.get("publishers", []))

    async def close(self) -> None:
        """The call ended: destroy the VideoRoom (Janus hangs up everyone left in it)."""
        for task in list(self._background_tasks):
            task.cancel()
        for seat in list(self.seats.values()):
            await self._detach(seat)
        self.seats.clear()
        if self._admin is not None:
            with contextlib.suppress(JanusError, JanusLost):
                await self._admin.request(
                    {"request": "destroy", "room": self.id, "secret": self._secret}
                )
            await self._admin.detach()
        if self._watcher is not None:
            await self._watcher.detach()

    # -- one participant -----------------------------------------------------------

    async def admit(self, name: str) -> str:
        """``name``'s seat, its token now on the room's ``allowed`` list; the token."""
        seat = self.seats.get(name)
        if seat is None:
            seat = self.seats[name] = _Seat(name)
            await self._allow(seat.token)
        return seat.token

    async def publish(self, name: str, offer: dict[str, str]) -> dict[str, Any]:
        """Publish ``name``'s media; Janus's answer. A second publish replaces the first."""
        await self.admit(name)
        seat = self.seats[name]
        async with seat.lock:
            if seat.publisher is not None:
                await self._unpublish(seat)
            seat.feed = secrets.randbelow(2**52) + 1
            seat.mids = offer_mids(offer["sdp"])
            seat.publisher = await self.session.attach(VIDEOROOM)
            reply = await seat.publisher.request(
                {
                    "request": "joinandconfigure",
                    "ptype": "publisher",
                    "room": self.id,
                    "pin": self._pin,
                    "token": seat.token,
                    "id": seat.feed,
                    "display": name,
                },
                _jsep(offer),
            )
        if reply.jsep is None:
            raise JanusError(0, "Janus answered the publish without an SDP answer")
        return {"type": reply.jsep["type"], "sdp": reply.jsep["sdp"]}

    async def subscribe(self, name: str) -> None:
        """``name`` wants everyone else's streams (an ``sfu-offer`` follows when there are any)."""
        await self.admit(name)
        seat = self.seats[name]
        seat.wants_streams = True
        await self._refresh(seat)

    async def answer(self, name: str, answer: dict[str, str]) -> None:
        """``name``'s answer to the latest offer of its subscription."""
        seat = self.seats.get(name)
        if seat is None or seat.subscriber is None:
            raise JanusError(0, "there is no subscription offer to answer")
        try:
            await seat.subscriber.request({"request": "start"}, _jsep(answer))
        except JanusError as error:
            # The subscription and Janus disagree on which offer is answered (two
            # renegotiations crossed): start it afresh, on a new connection.
            log.warning("janus room %s: %s's subscription restarts: %s", self.id, name, error)
            async with seat.lock:
                if seat.subscriber is not None:
                    await seat.subscriber.detach()
                seat.subscriber = None
                seat.subscribed.clear()
        finally:
            seat.offer_out = False
        await self._refresh(seat)  # publishers that came while the offer was out

    async def view(self, name: str, views: tuple[tuple[str, str], ...]) -> None:
        """Forward each person's video at the layer its tile needs, or not at all."""
        seat = self.seats.get(name)
        if seat is None or seat.subscriber is None:
            return
        by_name = {self.feeds.get(feed): mids for feed, mids in seat.subscribed.items()}
        streams: list[dict[str, Any]] = []
        for person, layer in views:
            for mid, kind in by_name.get(person, []):
                if kind != "video":
                    continue
                stream: dict[str, Any] = {"mid": mid, "send": layer != "off"}
                if layer in SUBSTREAM:
                    stream["substream"] = SUBSTREAM[layer]
                streams.append(stream)
        if streams:
            await seat.subscriber.request({"request": "configure", "streams": streams})

    async def moderate(self, name: str, muted: frozenset[str]) -> None:
        """Janus forwards none of ``name``'s ``muted`` kinds of stream, and the others again."""
        seat = self.seats.get(name)
        if seat is not None and seat.publisher is not None and self._admin is not None:
            await moderate(self._admin, (self.id, self._secret), seat.feed, seat.mids, muted)

    async def leave(self, name: str) -> None:
        """``name`` is out of the call: kicked (its media stops at once), handles detached."""
        seat = self.seats.pop(name, None)
        if seat is None:
            return
        if seat.feed and self._admin is not None:
            with contextlib.suppress(JanusError, JanusLost):
                await self._admin.request(
                    {"request": "kick", "room": self.id, "secret": self._secret, "id": seat.feed}
                )
        self.feeds.pop(seat.feed, None)
        await self._detach(seat)

    async def record(self, folder: Path | None) -> dict[str, str]:
        """Record every publisher into ``folder`` from now on (None: stop); who publishes now
        (feed id as text -> name), to name the files."""
        assert self._admin is not None
        if folder is None:
            await stop_recording(self._admin, self.id, self._secret)
        else:
            await start_recording(self._admin, self.id, self._secret, folder)
            self._background(keyframes_until_recorded(folder, self._keyframe))
        return {str(feed): name for feed, name in self.feeds.items()}

    async def _keyframe(self, feed: str) -> None:
        """Ask the publisher of ``feed`` for a keyframe of each of its videos."""
        for seat in list(self.seats.values()):
            if str(seat.feed) == feed and seat.publisher is not None:
                await seat.publisher.request({"request": "configure", "keyframe": True})

    # -- helpers -----------------------------------------------------------------

    async def _allow(self, token: str | None = None) -> str:
        token = token or secrets.token_urlsafe(18)
        assert self._admin is not None
        await self._admin.request(
            {
                "request": "allowed",
                "room": self.id,
                "secret": self._secret,
                "action": "add",
                "allowed": [token],
            }
        )
        return token

    async def _disallow(self, token: str) -> None:
        if self._admin is None:
            return
        with contextlib.suppress(JanusError, JanusLost):
            await self._admin.request(
                {
                    "request": "allowed",
                    "room": self.id,
                    "secret": self._secret,
                    "action": "remove",
                    "allowed": [token],
                }
            )

    async def _unpublish(self, seat: _Seat) -> None:
        if seat.publisher is not None:
            await seat.publisher.detach()
            seat.publisher = None
        self.feeds.pop(seat.feed, None)
        if seat.subscriber is not None:  # a new publisher: a new subscription too
            await seat.subscriber.detach()
            seat.subscriber = None
            seat.subscribed.clear()

    async def _detach(self, seat: _Seat) -> None:
        for handle in (seat.publisher, seat.subscriber):
            if handle is not None:
                await handle.detach()
        seat.publisher = seat.subscriber = None
        await self._disallow(seat.token)

    async def _refresh(self, seat: _Seat) -> None:
        """Bring ``seat``'s subscription to every active feed but its own."""
        async with seat.lock:
            if not seat.wants_streams or seat.offer_out or self.seats.get(seat.name) is not seat:
                return
            wanted = {feed for feed, who in self.feeds.items() if who != seat.name}
            have = set(seat.subscribed)
            for gone in have - wanted:  # Janus already dropped a left publisher's streams
                del seat.subscribed[gone]
            new = sorted(wanted - have)
            if not new:
                return
            streams = [{"feed": feed} for feed in new]
            if seat.subscriber is None:
                seat.subscriber = await self.session.attach(
                    VIDEOROOM, lambda _h, data, jsep: self._on_subscription(seat, data, jsep)
                )
                reply = await seat.subscriber.request(
                    {
                        "request": "join",
                        "ptype": "subscriber",
                        "room": self.id,
                        "pin": self._pin,
                        "token": seat.token,
                        "use_msid": True,
                        "streams": streams,
                    }
                )
            else:
                reply = await seat.subscriber.request({"request": "subscribe", "streams": streams})
            for feed in new:
                seat.subscribed.setdefault(feed, [])
            self._on_subscription(seat, reply.data, reply.jsep)

    def _on_subscription(
        self, seat: _Seat, data: dict[str, Any], jsep: dict[str, Any] | None
    ) -> None:
        """An ``attached``/``updated`` layout (with Janus's offer): to the participant."""
        streams = data.get("streams")
        if data.get("videoroom") not in ("attached", "updated") or jsep is None:
            return
        listed: list[dict[str, Any]] = []
        mids: dict[int, list[tuple[str, str]]] = {}
        for stream in streams if isinstance(streams, list) else []:
            feed = stream.get("feed_id")
            if not isinstance(feed, int) or stream.get("type") not in ("audio", "video"):
                continue
            who = self.feeds.get(feed) or str(stream.get("feed_display", ""))
            mid = str(stream.get("mid"))
            mids.setdefault(feed, []).append((mid, stream["type"]))
            listed.append({"mid": mid, "name": who, "kind": stream["type"]})
        for feed in list(seat.subscribed):
            seat.subscribed[feed] = mids.get(feed, [])
        seat.offer_out = True
        description = {"type": jsep["type"], "sdp": jsep["sdp"]}
        offer: dict[str, Any] = {"type": "sfu-offer", "description": description, "streams": listed}
        if data.get("videoroom") == "attached":  # a new subscription: a new connection
            offer["fresh"] = True
        self._reply(seat.name, offer)

    def _on_watch(self, _handle: JanusHandle, data: dict[str, Any], _jsep: Any) -> None:
        """The watcher's events: publishers coming and going, and who talks."""
        event = data.get("videoroom")
        if event == "talking":
            name = self.feeds.get(data.get("id", 0))
            if name:
                self._speaker(name)
            return
        if "publishers" in data:
            self._note_publishers(data["publishers"])
        for key in ("unpublished", "leaving", "kicked"):
            gone = data.get(key)
            if isinstance(gone, int) and self.feeds.pop(gone, None) is not None:
                self._refresh_all()

    def _note_publishers(self, publishers: object) -> None:
        added = False
        for publisher in publishers if isinstance(publishers, list) else []:
            feed, display = publisher.get("id"), publisher.get("display")
            if isinstance(feed, int) and isinstance(display, str) and display:
                added = added or feed not in self.feeds
                self.feeds[feed] = display
        if added:
            self._refresh_all()

    def _refresh_all(self) -> None:
        for seat in list(self.seats.values()):
            if seat.wants_streams:
                self._background(self._refresh_quietly(seat))

    def _background(self, work: Coroutine[Any, Any, object]) -> None:
        """Run ``work`` beside the caller; the room cancels it when it closes."""
        task = asyncio.get_running_loop().create_task(work)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    async def _refresh_quietly(self, seat: _Seat) -> None:
        try:
            await self._refresh(seat)
        except (JanusError, JanusLost) as error:
            log.warning("janus room %s: no new streams for %s: %s", self.id, seat.name, error)
