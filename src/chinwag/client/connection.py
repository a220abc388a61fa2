"""The WebSocket side: :class:`ChinwagClient` and :func:`connect`.

One reader task parses every frame, updates the roster and the ICE servers,
then hands the event to the fan-out (:mod:`.fanout`: every
:class:`~chinwag.client.Subscription` and callback). This module owns the
socket loop, sign-in and resume after a drop, and the plain sends (chat,
rename); the call messages (:mod:`.calling`) and the room messages
(:mod:`.rooms`) are inherited; the rules all of these follow live in the
no-I/O modules beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Final

import aiohttp

from .calling import CallMessages
from .errors import ConnectionClosed, ErrorReply
from .events import (
    E,
    ErrorReceived,
    Event,
    IceServers,
    NameTaken,
    Reconnecting,
    Resumed,
    RoomCall,
    RoomEntered,
    SessionLost,
    SignedIn,
    UserList,
    Welcome,
)
from .fanout import EventFanout
from .handshake import sign_in_message, websocket_url
from .parsing import parse_event
from .reconnect import ReconnectPolicy
from .rooms import RoomMessages
from .roster import Roster
from .subscription import Subscription

__all__ = ["DEFAULT_FEATURES", "ChinwagClient", "connect"]

# One logger for the whole client package, so log lines keep their old name.
logger = logging.getLogger("chinwag.client")

#: What a chinwag client asks for when signing in (see docs/protocol.md).
DEFAULT_FEATURES: Final = ("deltas", "ringing", "plain-text", "seq")

#: aiohttp's code for a socket that ended without a close frame.
_ABNORMAL_CLOSURE: Final = 1006


class ChinwagClient(CallMessages, RoomMessages):
    """One signed-in connection to a chinwag server.

    ``await client.connect()`` opens the socket and signs in; then
    :meth:`subscribe` (or :meth:`on`) delivers events, and the send methods
    speak the protocol. ``roster`` and ``ice_servers`` stay up to date.
    ``await client.close()`` (or ``async with``) ends it.

    When the socket drops (no close frame, or the server going away), the
    client signs in again by itself with its resume token, as ``reconnect``
    says (True: the default :class:`ReconnectPolicy`; False: never). It
    emits :class:`Reconnecting` before each attempt, then :class:`Resumed`
    or :class:`SessionLost`; subscriptions carry on across the gap, and sends
    meanwhile raise ConnectionClosed. See docs/python.md.
    """

    def __init__(
        self,
        url: str,
        name: str,
        *,
        features: Iterable[str] = DEFAULT_FEATURES,
        credential: str | None = None,
        session: aiohttp.ClientSession | None = None,
        connect_timeout: float = 10.0,
        reconnect: bool | ReconnectPolicy = True,
        heartbeat: float | None = 20.0,
        room: str | None = None,
        room_password: str | None = None,
    ) -> None:
        self.url = websocket_url(url)
        self.connect_timeout = connect_timeout
        self.name = name
        self.features = tuple(features)
        if room is not None and "rooms" not in self.features:
            self.features += ("rooms",)
        self.credential = credential
        #: The room to sign in to (``rooms`` feature), and its password.
        self.room_name = room
        self.room_password = room_password
        #: Where the server says this client is, and that room's call (None: no call).
        self.room: RoomEntered | None = None
        self.room_call: RoomCall | None = None
        self.id: int | None = None
        self.accepted_features: frozenset[str] = frozenset()
        self.file_max_bytes = 0  # from ``signed-in``: the largest file to send or accept
        self.roster = Roster()
        self.ice_servers: IceServers | None = None
        self.close_code: int | None = None
        self.reconnect_policy = ReconnectPolicy.from_setting(reconnect)
        # Ping this often; no pong within half of it counts as a drop (a silent network).
        self.heartbeat = heartbeat
        #: The token of the last ``signed-in``, to take the session back after a drop.
        self.resume_token: str | None = None
        #: The highest ``seq`` received in this session (``seq`` feature).
        self.last_seq = 0
        self._signed_in = False  # sends go out (False while signing in or reconnecting)
        self._closing = False  # close() was called: a closed socket is not a drop
        self._reconnecting = False
        self._own_session = session is None
        self._session = session
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._fanout = EventFanout(lambda: self.name, lambda: self.close_code)
        self._got_ice_servers = asyncio.Event()

    # ---- lifecycle

    async def connect(self) -> SignedIn:
        """Open the socket and sign in; return the server's ``signed-in``.

        Returns once the name is confirmed and the first user list arrived.
        Raises ErrorReply (``bad-name``, ``auth-failed``, ...) when the server
        refuses the sign-in, ConnectionClosed when it cannot be reached, and
        TimeoutError after ``connect_timeout`` seconds.
        """
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            signed_in = await self._sign_in()
        except BaseException:
            await self.close()
            raise
        # Frames after the first list wait in the socket until this task next
        # awaits, so subscriptions made right after connect() miss nothing.
        self._reader = asyncio.create_task(self._read(), name=f"chinwag-client-{self.name}")
        return signed_in

    async def _sign_in(self, *, after_drop: bool = False) -> SignedIn:
        """Open a socket and sign in, resuming the session when there is a token.

        ``after_drop``: emit :class:`Resumed` or :class:`SessionLost` as soon as
        the server says which, before the messages it kept for this user.
        On failure the new socket is closed and the error raised.
        """
        assert self._session is not None
        try:
            async with asyncio.timeout(self.connect_timeout):
                self._socket = await self._open_socket(self._session)
                welcome = await self._read_until(Welcome)
                await self._write(
                    sign_in_message(
                        welcome.id,
                        self.name,
                        self.features,
                        credential=self.credential,
                        room=self.room_name,
                        room_password=self.room_password,
                        resume_token=self.resume_token,
                        seq=self.last_seq if "seq" in self.accepted_features else None,
                    )
                )
                # Without features the server sends no signed-in (reference mode).
                if self.features:
                    signed_in = await self._read_until(SignedIn)
                else:
                    signed_in = SignedIn(id=self.id, name=self.name, features=frozenset())
                self._signed_in = True  # the server takes messages from here on
                if after_drop:
                    self._announce_return(signed_in)
                # After signed-in, errors (bad-resume, or replies the server kept) are events.
                await self._read_until(UserList, errors_raise=not self.features)
        except BaseException:
            self._signed_in = False
            if self._socket is not None and not self._socket.closed:
                await self._socket.close()
            raise
        return signed_in

    async def _open_socket(self, session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
        try:
            return await session.ws_connect(
                self.url,
                protocols=("json",),
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
                heartbeat=self.heartbeat,
            )
        except (aiohttp.ClientError, OSError) as error:
            raise ConnectionClosed(f"cannot connect to {self.url}: {error}") from error

    async def _read_until(self, kind: type[E], *, errors_raise: bool = True) -> E:
        """While signing in: read and dispatch frames until one of ``kind`` arrives."""
        assert self._socket is not None
        while True:
            frame = await self._socket.receive()
            if frame.type is not aiohttp.WSMsgType.TEXT:
                self.close_code = self._socket.close_code
                raise ConnectionClosed("the server closed the connection", self.close_code)
            event = self._receive_text(frame.data)
            if isinstance(event, kind):
                return event
            if isinstance(event, ErrorReceived) and errors_raise:
                raise event.exception()

    def _announce_return(self, signed_in: SignedIn) -> None:
        """After a drop: tell subscribers whether the session survived."""
        if signed_in.resumed:
            logger.info("%s: session resumed", self.name)
            self._dispatch(Resumed(name=signed_in.name))
        else:
            logger.info("%s: session lost; signed in afresh as %s", self.name, signed_in.name)
            self.last_seq = 0  # a new session numbers its messages from 1 again
            self._dispatch(SessionLost(name=signed_in.name))

    async def close(self) -> None:
        """Close the socket (code 1000), stop reconnecting, and end every subscription."""
        self._closing = True
        self._signed_in = False
        if self._reconnecting and self._reader is not None:
            self._reader.cancel()  # waiting out a backoff, or half-way through signing in
        if self._socket is not None and not self._socket.closed:
            await self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._fanout.finish()
        await self._close_session()

    async def _close_session(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def closed(self) -> bool:
        """Whether the socket is closed (or was never opened)."""
        return self._socket is None or self._socket.closed

    async def __aenter__(self) -> ChinwagClient:
        if self._socket is None:
            await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # ---- receiving

    def subscribe(self) -> Subscription:
        """Start queueing every event from now on; see :class:`Subscription`."""
        return self._fanout.subscribe()

    async def events(self) -> AsyncIterator[Event]:
        """Every event from now until the connection closes."""
        with self.subscribe() as subscription:
            async for event in subscription:
                yield event

    def on(self, event_type: type[E], callback: Callable[[E], Awaitable[None] | None]) -> None:
        """Call ``callback(event)`` for each event of ``event_type``.

        A coroutine function's result runs as a task; errors are logged.
        """
        self._fanout.on(event_type, callback)

    async def wait_for_ice_servers(self, patience: float = 2.0) -> IceServers | None:
        """The server's latest ``ice-servers``, waiting up to ``patience`` s for the first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(patience):
                await self._got_ice_servers.wait()
        return self.ice_servers

    async def _read(self) -> None:
        """Dispatch every frame; after a drop, reconnect while the policy allows."""
        try:
            while True:
                assert self._socket is not None
                self.close_code = await self._read_socket(self._socket)
                self._signed_in = False
                logger.debug("%s: connection closed (%s)", self.name, self.close_code)
                if not await self._come_back():
                    return
        finally:
            self._fanout.finish()

    async def _read_socket(self, socket: aiohttp.ClientWebSocketResponse) -> int | None:
        """Dispatch frames until the socket closes; return its close code (1006: no close frame)."""
        while True:
            frame = await socket.receive()
            if frame.type is aiohttp.WSMsgType.TEXT:
                self._receive_text(frame.data)
            elif frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING):
                return socket.close_code  # the server's close frame, or close() here
            elif frame.type is aiohttp.WSMsgType.CLOSED or socket.closed:
                # aiohttp reports an end of stream as 1000; without a close frame it was a drop.
                return _ABNORMAL_CLOSURE
            else:
                logger.warning("%s: ignoring a %s frame", self.name, frame.type.name)

    async def _come_back(self) -> bool:
        """After the socket closed: reconnect with backoff; return whether signed in again."""
        policy = self.reconnect_policy
        if self._closing or not policy.should_retry(self.close_code):
            return False
        self._reconnecting = True
        try:
            for attempt in range(1, policy.attempts + 1):
                delay = policy.delay(attempt)
                self._dispatch(Reconnecting(attempt=attempt, delay=delay, code=self.close_code))
                await asyncio.sleep(delay)
                try:
                    await self._sign_in(after_drop=True)
                    return True
                except ErrorReply as refusal:
                    logger.warning("%s: reconnect refused: %s", self.name, refusal)
                    if refusal.code != "unavailable":
                        return False
                except (ConnectionClosed, TimeoutError) as error:
                    logger.info("%s: reconnect attempt %d failed: %r", self.name, attempt, error)
            return False
        finally:
            self._reconnecting = False

    def _receive_text(self, text: str) -> Event | None:
        try:
            message = json.loads(text)
        except ValueError:
            logger.warning("%s: ignoring a frame that is not JSON", self.name)
            return None
        if not isinstance(message, dict):
            logger.warning("%s: ignoring a frame that is not a JSON object", self.name)
            return None
        logger.debug("%s < %s", self.name, message.get("type"))
        seq = message.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool) and seq > self.last_seq:
            self.last_seq = seq
        event = parse_event(message)
        self._dispatch(event)
        return event

    def _dispatch(self, event: Event) -> None:
        self._update_state(event)
        self._fanout.publish(event)

    def _update_state(self, event: Event) -> None:
        if self.roster.apply(event):
            return
        if isinstance(event, Welcome):
            self.id = event.id
        elif isinstance(event, SignedIn):
            self.name = event.name
            self.accepted_features = event.features
            self.file_max_bytes = event.file_max_bytes
            if event.resume is not None:
                self.resume_token = event.resume
            if event.room is not None:
                self._update_state(event.room)
        elif isinstance(event, RoomEntered):
            self.room = event
            self.room_name = event.room  # a fresh sign-in after a lost session comes back here
            self.room_call = (
                event.call if event.call is not None and event.call.participants else None
            )
        elif isinstance(event, RoomCall):
            self.room_call = event if event.participants else None
        elif isinstance(event, NameTaken):
            self.name = event.name
        elif isinstance(event, IceServers):
            self.ice_servers = event
            self._got_ice_servers.set()

    # ---- sending

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send any message (one JSON object).

        Raises ConnectionClosed when closed, and also while reconnecting: the
        caller decides whether to retry after :class:`Resumed`.
        """
        if not self._signed_in:
            raise ConnectionClosed(code=self.close_code)
        await self._write(message)

    async def _write(self, message: Mapping[str, Any]) -> None:
        if self._socket is None or self._socket.closed:
            raise ConnectionClosed(code=self.close_code)
        logger.debug("%s > %s", self.name, message.get("type"))
        try:
            await self._socket.send_str(json.dumps(message))
        except (aiohttp.ClientError, ConnectionError) as error:
            raise ConnectionClosed(str(error), self.close_code) from error

    async def chat(self, text: str) -> None:
        """Say ``text`` to everyone."""
        await self.send(
            {"type": "message", "text": text, "id": self.id, "date": int(time.time() * 1000)}
        )

    async def rename(self, name: str) -> None:
        """Ask for a new name; the roster and ``name`` follow the server's answer."""
        await self.send({"type": "username", "name": name, "features": list(self.features)})


@contextlib.asynccontextmanager
async def connect(
    url: str,
    name: str,
    *,
    features: Iterable[str] = DEFAULT_FEATURES,
    credential: str | None = None,
    connect_timeout: float = 10.0,
    reconnect: bool | ReconnectPolicy = True,
    room: str | None = None,
    room_password: str | None = None,
) -> AsyncIterator[ChinwagClient]:
    """Connect and sign in for the ``async with`` block; see :meth:`ChinwagClient.connect`.

    ``room`` signs in straight into that room (adding the ``rooms`` feature).
    """
    client = ChinwagClient(
        url,
        name,
        features=features,
        credential=credential,
        connect_timeout=connect_timeout,
        reconnect=reconnect,
        room=room,
        room_password=room_password,
    )
    await client.connect()
    try:
        yield client
    finally:
        await client.close()
