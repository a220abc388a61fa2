"""Ringing: the chinwag call set-up on top of :class:`~chinwag.client.ChinwagClient`.

One state machine over one line, like the web client's call.js: the rules
are all here; the line they act on (its states, direction and dial outcome)
is ``line.py``.

A :class:`Phone` has at most one line in use (docs/protocol.md, "Busy"). Its
states are the server's and the web client's (``idle``, ``ringing``,
``connecting``, ``active``, ``ended``), with a direction: ``outgoing`` (we
called) or ``incoming`` (we were called). What moves it on:

=====================  ==============================================================
idle                   ``dial()`` -> ringing outgoing; ``call-invite`` or a plain
                       ``video-offer`` -> ringing incoming
ringing, outgoing      ``call-accept`` -> connecting as the impolite caller, which
                       offers; ``call-decline``, ``hang-up``, ``no-such-user`` or
                       the ring timeout -> ended; the callee's crossing
                       ``call-invite`` -> connecting as callee if our name sorts lower
ringing, incoming      accept -> connecting as the polite callee (answering a held
                       plain offer at once); decline or the caller's ``hang-up``
                       -> ended
connecting             the peer connection connects -> active (``call-connected``
                       tells the server and the partner)
connecting, active     ``hang-up``, a connection that never connected, or
                       ``hang_up()`` -> ended
active                 the path is cut (the partner restarts ICE, or ours fails)
                       -> connecting: a new peer connection through ``call-invite``
                       ``rejoin`` (we offer once accepted); the partner's own
                       rejoin -> connecting as the callee on a new connection
ended                  the line is gone: idle again
=====================  ==============================================================

aiortc cannot restart ICE, so a cut path is recovered the way the web
client recovers a reloaded page: a fresh RTCPeerConnection with the same
partner (docs/python.md, "A cut path"). At most ``MAX_RENEWALS`` per call, and
each must be accepted within ``REJOIN_WAIT``.

Anyone else who calls while the line is in use gets ``call-decline``
(``busy``), plus ``hang-up`` when they sent a plain offer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ..client import (
    CallAccept,
    CallDecline,
    CallInvite,
    ChinwagClient,
    ClientError,
    ErrorReceived,
    Event,
    HangUp,
    IceCandidate,
    IceServers,
    SessionLost,
    VideoAnswer,
    VideoOffer,
)
from ..core.calls import CallState
from .call import Call, rtc_configuration
from .line import DECLINE_OUTCOMES, DialOutcome, Direction, Line, first_of
from .media import CallMedia
from .relays import usable_ice_servers

__all__ = ["CallState", "DialOutcome", "Direction", "Phone"]

logger = logging.getLogger("chinwag.peer.phone")

#: Asked whether to take a call from the named user; True accepts.
Decide = Callable[[str], Awaitable[bool]]

#: How long :meth:`Phone.dial` rings before the outcome is "no answer", by default.
RING_TIMEOUT = 30.0

#: New connections one call may make after its path was cut.
MAX_RENEWALS = 5

#: How long the partner may take to accept a rejoin (the web client's own wait).
REJOIN_WAIT = 10.0


async def accept_always(caller: str) -> bool:
    """The default decision: take every call."""
    return True


class Phone:
    """Answers and places calls for one signed-in client.

    Run :meth:`run` as a task for as long as the phone should ring; it reads
    the client's events. :meth:`dial` rings someone; :meth:`hang_up` ends the
    call. ``call_ended`` is set each time a call (or ringing) ends.
    """

    def __init__(
        self,
        client: ChinwagClient,
        media_for_call: Callable[[], CallMedia],
        *,
        decide: Decide = accept_always,
        relay_only: bool = False,
        ring_timeout: float = RING_TIMEOUT,
    ) -> None:
        self.client = client
        self.media_for_call = media_for_call
        self.decide = decide
        self.relay_only = relay_only
        self.ring_timeout = ring_timeout
        self.line: Line | None = None
        self.call_ended = asyncio.Event()
        self.call_started = asyncio.Event()
        self._events = client.subscribe()
        # One event (or decision) at a time, so a call's offer, answer and
        # candidates reach aiortc in the order they were sent.
        self._lock = asyncio.Lock()
        self._watchers: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()  # cut connections still closing
        # The last ice-servers message and its copy fitted to aiortc (see relays.py).
        self._relay_order: tuple[IceServers, IceServers] | None = None

    @property
    def call(self) -> Call | None:
        """The running call, if any."""
        return self.line.call if self.line else None

    @property
    def state(self) -> CallState:
        return self.line.state if self.line else CallState.IDLE

    # ---- public actions

    async def run(self) -> None:
        """Handle events until the connection closes; then end any call."""
        try:
            async for event in self._events:
                async with self._lock:
                    await self._guarded(self._handle(event))
        finally:
            self._events.close()
            async with self._lock:
                await self._hang_up_line("hung-up")

    async def dial(self, target: str) -> DialOutcome:
        """Ring ``target`` and wait until they accept, refuse or do not answer.

        On ACCEPTED the call goes on (``call`` is set) until ``call_ended``.
        """
        if self.line is not None:
            raise RuntimeError(f"the line is in use (with {self.line.remote})")
        dialed = asyncio.get_running_loop().create_future()
        self.line = Line(target, Direction.OUTGOING, dialed=dialed)
        self.call_ended.clear()
        await self.client.invite(target)
        try:
            async with asyncio.timeout(self.ring_timeout):
                return await asyncio.shield(dialed)
        except TimeoutError:
            async with self._lock:
                await self.client.hang_up(target, "no-answer")
                await self._end_line()
            return DialOutcome.NO_ANSWER

    async def hang_up(self, reason: str = "hung-up") -> None:
        """End the ringing or running call, telling the other side."""
        async with self._lock:
            await self._hang_up_line(reason)

    async def _hang_up_line(self, reason: str) -> None:
        if self.line is not None:
            reason = "cancelled" if self.line.outgoing_ringing else reason
            with contextlib.suppress(ClientError):  # the connection may be gone already
                await self.client.hang_up(self.line.remote, reason)
            await self._end_line()

    # ---- the dispatcher

    async def _handle(self, event: Event) -> None:
        line = self.line
        if isinstance(event, ErrorReceived):
            self._on_error(event)
            return
        if isinstance(event, SessionLost):
            # A new session after a drop: the server has already hung up our partner.
            if line is not None:
                logger.info("the session was lost; the call with %s ended", line.remote)
                await self._end_line()
            return
        sender = getattr(event, "name", None)
        if line is not None and sender == line.remote:
            await self._from_partner(line, event)
        elif isinstance(event, CallInvite | VideoOffer):
            if line is None:
                await self._ring(event)
            else:
                await self._refuse_busy(event)

    async def _guarded(self, step: Awaitable[None]) -> None:
        """Run one step; if aiortc or the socket fails in it, end the call instead of the phone."""
        try:
            await step
        except ClientError as error:
            logger.warning("signaling failed: %s", error)
            await self._end_line()
        except Exception:
            logger.exception("the call failed")
            await self._hang_up_line("failed")

    async def _from_partner(self, line: Line, event: Event) -> None:
        if isinstance(event, CallAccept) and (line.outgoing_ringing or line.rejoining):
            line.rejoining = False
            await self._connect(line, polite=False)
        elif isinstance(event, CallInvite) and line.outgoing_ringing:
            await self._invite_glare(line)
        elif isinstance(event, CallInvite) and (line.call is not None or line.rejoining):
            await self._answer_rejoin(line)
        elif isinstance(event, CallDecline):
            line.resolve(DECLINE_OUTCOMES.get(event.reason, DialOutcome.DECLINED))
            logger.info("%s declined (%s)", line.remote, event.reason)
            await self._end_line()
        elif isinstance(event, HangUp):
            line.resolve(DialOutcome.HUNG_UP)
            logger.info("%s hung up (%s)", line.remote, event.reason)
            await self._end_line()
        elif isinstance(event, VideoOffer | VideoAnswer | IceCandidate):
            if line.call is not None:
                await line.call.handle(event)
            elif line.state is CallState.RINGING:
                line.held.append(event)  # answered once the user accepts

    def _on_error(self, event: ErrorReceived) -> None:
        line = self.line
        if (
            line is not None
            and line.outgoing_ringing
            and event.code == "no-such-user"
            and event.target == line.remote
        ):
            line.resolve(DialOutcome.NO_SUCH_USER)
            self.line = None
            self.call_ended.set()
        else:
            logger.warning("server error %s: %s", event.code, event.message)

    # ---- ringing

    async def _ring(self, event: CallInvite | VideoOffer) -> None:
        line = Line(event.name, Direction.INCOMING)
        if isinstance(event, VideoOffer):
            line.held.append(event)  # a reference caller: its offer rings like an invite
        self.line = line
        self.call_ended.clear()
        logger.info("%s is calling", event.name)
        line.prompt = asyncio.create_task(self._ask(line))

    async def _ask(self, line: Line) -> None:
        take = await self.decide(line.remote)
        async with self._lock:
            if self.line is not line:  # the caller gave up meanwhile
                return
            await self._guarded(self._accept(line) if take else self._decline(line))

    async def _accept(self, line: Line) -> None:
        plain_offer = any(isinstance(e, VideoOffer) for e in line.held)
        if not plain_offer:
            await self.client.accept(line.remote)
        await self._connect(line, polite=True)

    async def _decline(self, line: Line) -> None:
        if any(isinstance(e, VideoOffer) for e in line.held):
            await self.client.hang_up(line.remote, None)  # what a reference caller understands
        await self.client.decline(line.remote, "declined")
        await self._end_line()

    async def _refuse_busy(self, event: CallInvite | VideoOffer) -> None:
        logger.info("%s called while busy", event.name)
        await self.client.decline(event.name, "busy")
        if isinstance(event, VideoOffer):
            await self.client.hang_up(event.name, None)

    async def _invite_glare(self, line: Line) -> None:
        """Both invited each other: the lower name accepts and becomes the callee."""
        if self.client.name < line.remote:
            await self.client.accept(line.remote)
            await self._connect(line, polite=True)
        # else: ignore the crossing invite; they will accept ours

    # ---- connecting and active

    async def _connect(self, line: Line, *, polite: bool) -> None:
        servers = await self._usable_ice_servers()
        line.set_state(CallState.CONNECTING)
        line.call = Call(
            self.client,
            line.remote,
            polite=polite,
            media=self.media_for_call(),
            configuration=rtc_configuration(servers, self.relay_only),
        )
        line.resolve(DialOutcome.ACCEPTED)
        self.call_started.set()
        watcher = asyncio.create_task(self._watch(line, line.call))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        if not polite:
            await line.call.start()
        held, line.held = line.held, []
        for event in held:
            await line.call.handle(event)

    async def _answer_rejoin(self, line: Line) -> None:
        """The partner asks for a new connection (a reloaded page, or its own
        rejoin): take the call up again as the callee. Both at once: the lower
        name answers, as the web client does."""
        if line.rejoining and self.client.name > line.remote:
            return  # they will answer ours
        await self._drop_connection(line)
        await self.client.accept(line.remote)
        await self._connect(line, polite=True)

    async def _renew(self, line: Line, call: Call) -> None:
        """The path was cut: ask the partner for a new connection (we offer once
        it accepts); give up after ``MAX_RENEWALS`` or an unanswered ``REJOIN_WAIT``."""
        # The network may have changed under us (UDP now blocked, say): find the TURN
        # URL that works from here now, before the partner's connect timer starts.
        await self._usable_ice_servers(fresh=True)
        async with self._lock:
            if self.line is not line or line.call is not call:
                return
            line.renewals += 1
            if line.renewals > MAX_RENEWALS:
                await self._hang_up_line("failed")
                return
            logger.info("call with %s: path lost; asking for a new connection", line.remote)
            await self._drop_connection(line)
            line.rejoining = True
            await self.client.invite(line.remote, rejoin=True)
        await asyncio.sleep(REJOIN_WAIT)
        async with self._lock:
            if self.line is line and line.rejoining:
                logger.info("call with %s: no answer to the rejoin", line.remote)
                with contextlib.suppress(ClientError):
                    await self.client.call_report(line.remote, "failed", "connection-lost")
                await self._hang_up_line("failed")

    async def _drop_connection(self, line: Line) -> None:
        """Close the current peer connection but keep the line (a new one follows)."""
        call, line.call = line.call, None
        line.rejoining = False
        line.set_state(CallState.CONNECTING)
        if call is not None:
            # Not awaited: over a cut path, aioice retries deleting its TURN allocations
            # for up to half a minute, and the new connection must not wait for that.
            closing = asyncio.create_task(call.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def _usable_ice_servers(self, fresh: bool = False) -> IceServers | None:
        """The server's ICE servers with a TURN URL that works first (aiortc uses only
        the first) and no silent STUN URL; probed once per ``ice-servers`` message,
        or again when ``fresh``."""
        servers = await self.client.wait_for_ice_servers()
        if servers is None:
            return None
        if fresh or self._relay_order is None or self._relay_order[0] is not servers:
            self._relay_order = (servers, await usable_ice_servers(servers))
        return self._relay_order[1]

    async def _watch(self, line: Line, call: Call) -> None:
        """Report media flowing (``active``); renew a connection whose path was cut;
        hang up when one never connected."""
        await self._report_active(line, call)
        await first_of(call.ended, call.restart_wanted)
        if self.line is not line or line.call is not call:
            return  # hung up, or already replaced
        if call.connected.is_set():
            await self._renew(line, call)
        else:
            logger.info("call with %s failed", line.remote)
            # Before the hang-up, so the server counts it while the call is live.
            with contextlib.suppress(ClientError):
                await self.client.call_report(line.remote, "failed", "no-path")
            await self.hang_up("failed")

    async def _report_active(self, line: Line, call: Call) -> None:
        """Once the peer connection connects, tell the server and the partner."""
        await first_of(call.connected, call.ended)
        if call.connected.is_set() and not call.ended.is_set() and self.line is line:
            line.set_state(CallState.ACTIVE)
            with contextlib.suppress(ClientError):  # the socket may be resuming
                await self.client.call_connected(line.remote)
                await self.client.call_report(line.remote, "connected")

    async def _end_line(self) -> None:
        line, self.line = self.line, None
        if line is None:
            return
        line.set_state(CallState.ENDED)
        if line.prompt is not None and line.prompt is not asyncio.current_task():
            line.prompt.cancel()
        if line.call is not None:
            await line.call.close()
        line.resolve(DialOutcome.HUNG_UP)
        self.call_started.clear()
        self.call_ended.set()
