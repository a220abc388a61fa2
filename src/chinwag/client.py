"""An asyncio client for chinwag's signaling protocol (``docs/protocol.md``).

It is what ``chinwag peer`` and ``chinwag call`` are built on, and what a bot
uses::

    async with connect("http://127.0.0.1:6503/", "echo") as client:
        with client.subscribe() as events:
            async for event in events:
                if isinstance(event, ChatMessage) and event.name != client.name:
                    await client.chat(f"{event.name} said {event.text}")

Layers, lowest first:

* :func:`parse_event` turns one decoded JSON message into a typed, frozen
  :class:`Event` (no I/O). Messages relayed from other clients are checked
  here: one that does not have the shape the protocol gives its type becomes
  :class:`Unknown`, so a bad peer cannot crash the client.
* :class:`Roster` is the presence bookkeeping (a full ``userlist``, then
  ``presence`` deltas), also with no I/O.
* :class:`ChinwagClient` owns the WebSocket: one reader task parses every
  frame, updates the roster and the ICE servers, then hands the event to
  every :class:`Subscription` and callback.

Errors::

    ChinwagError (chinwag.errors)
    └── ClientError          raised by this client
        ├── ConnectionClosed the socket closed (or never opened)
        └── ErrorReply       the server answered with an ``error`` message;
                             ``code`` is one of chinwag.errors.ERROR_CODES
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, TypeVar, overload

import aiohttp

from .errors import ChinwagError

__all__ = [
    "DEFAULT_FEATURES",
    "CallAccept",
    "CallDecline",
    "CallInvite",
    "ChatMessage",
    "ChinwagClient",
    "ClientError",
    "ConnectionClosed",
    "ErrorReceived",
    "ErrorReply",
    "Event",
    "HangUp",
    "IceCandidate",
    "IceServer",
    "IceServers",
    "MediaState",
    "NameTaken",
    "Presence",
    "Roster",
    "SignedIn",
    "Subscription",
    "Unknown",
    "UserList",
    "VideoAnswer",
    "VideoOffer",
    "Welcome",
    "connect",
    "parse_event",
    "websocket_url",
]

logger = logging.getLogger("chinwag.client")

#: What a chinwag client asks for when signing in (see docs/protocol.md).
DEFAULT_FEATURES: Final = ("deltas", "ringing", "plain-text")


# --------------------------------------------------------------------------- errors


class ClientError(ChinwagError):
    """Base class of the errors :class:`ChinwagClient` raises."""


class ConnectionClosed(ClientError):
    """The WebSocket is closed; ``code`` is its close code when known."""

    def __init__(self, message: str = "the connection is closed", code: int | None = None):
        super().__init__(message)
        self.code = code


class ErrorReply(ClientError):
    """The server refused something this client sent (an ``error`` message).

    ``code`` is a code from :data:`chinwag.errors.ERROR_CODES`, ``for_type``
    the type of the message that failed, ``target`` the user it concerned.
    """

    def __init__(
        self, code: str, message: str, for_type: str | None = None, target: str | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.for_type = for_type
        self.target = target


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class Event:
    """One message from the server; ``raw`` is the message exactly as received."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class Welcome(Event):
    """``id``: the socket is open; the server numbered this connection."""

    id: int


@dataclass(frozen=True, kw_only=True)
class SignedIn(Event):
    """``signed-in``: the name (after any numbering) and the features accepted."""

    id: int | None
    name: str
    features: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class NameTaken(Event):
    """``rejectusername``: the wanted name was taken; the server gave ``name``."""

    name: str


@dataclass(frozen=True, kw_only=True)
class UserList(Event):
    """``userlist``: everyone online, in sign-in order, and who is in a call."""

    users: tuple[str, ...]
    busy: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class Presence(Event):
    """``presence``: what changed since the last list or delta."""

    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    busy: tuple[str, ...] = ()
    idle: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ChatMessage(Event):
    """``message``: one chat line from ``name`` (the sender's own lines included)."""

    name: str
    text: str
    date: int | None = None


@dataclass(frozen=True, kw_only=True)
class IceServer:
    """One entry of ``iceServers``, as ``RTCIceServer`` takes it."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True, kw_only=True)
class IceServers(Event):
    """``ice-servers``: what to use for calls; ``expires`` is Unix time, or None."""

    servers: tuple[IceServer, ...]
    expires: int | None = None


@dataclass(frozen=True, kw_only=True)
class CallInvite(Event):
    """``call-invite``: ``name`` is calling; ``audio``/``video`` say what it offers."""

    name: str
    audio: bool = True
    video: bool = True


@dataclass(frozen=True, kw_only=True)
class CallAccept(Event):
    """``call-accept``: ``name`` accepted (``auto`` when the server did it for them)."""

    name: str
    auto: bool = False


@dataclass(frozen=True, kw_only=True)
class CallDecline(Event):
    """``call-decline``: ``name`` will not take the call; ``reason`` says why."""

    name: str
    reason: str = "declined"


@dataclass(frozen=True, kw_only=True)
class HangUp(Event):
    """``hang-up``: ``name`` ended a ringing or running call."""

    name: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class VideoOffer(Event):
    """``video-offer``: an SDP offer from ``name``."""

    name: str
    sdp: str


@dataclass(frozen=True, kw_only=True)
class VideoAnswer(Event):
    """``video-answer``: an SDP answer from ``name``."""

    name: str
    sdp: str


@dataclass(frozen=True, kw_only=True)
class IceCandidate(Event):
    """``new-ice-candidate``: a trickled candidate (``candidate`` is "" at the end)."""

    name: str
    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None
    username_fragment: str | None = None


@dataclass(frozen=True, kw_only=True)
class MediaState(Event):
    """``media-state``: what ``name`` is sending (mute, camera off, screen share)."""

    name: str
    audio: bool
    video: bool
    screen: bool = False


@dataclass(frozen=True, kw_only=True)
class ErrorReceived(Event):
    """``error``: the server refused something this client sent."""

    code: str
    message: str
    for_type: str | None = None
    target: str | None = None

    def exception(self) -> ErrorReply:
        """The same error as an exception, to raise."""
        return ErrorReply(self.code, self.message, self.for_type, self.target)


@dataclass(frozen=True, kw_only=True)
class Unknown(Event):
    """A message of a type this client does not know, or of a shape it cannot use."""

    type: str
    name: str | None = None


class _Malformed(ValueError):
    """A field is missing or has the wrong type; the message becomes :class:`Unknown`."""


def _str(message: Mapping[str, Any], key: str) -> str:
    value = message.get(key)
    if not isinstance(value, str):
        raise _Malformed(key)
    return value


def _opt_str(message: Mapping[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise _Malformed(key)
    return value


def _opt_int(message: Mapping[str, Any], key: str) -> int | None:
    value = message.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(key)
    return int(value)


def _names(message: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = message.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Malformed(key)
    return tuple(value)


def _bool(message: Mapping[str, Any], key: str, default: bool) -> bool:
    value = message.get(key, default)
    if not isinstance(value, bool):
        raise _Malformed(key)
    return value


def _sdp(message: Mapping[str, Any], kind: str) -> str:
    description = message.get("sdp")
    if not isinstance(description, dict) or description.get("type") != kind:
        raise _Malformed("sdp")
    return _str(description, "sdp")


def _renamed(message: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    value = message.get("renamed", [])
    if not isinstance(value, list):
        raise _Malformed("renamed")
    pairs = []
    for pair in value:
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, str) for n in pair)
        ):
            raise _Malformed("renamed")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _ice_servers(message: Mapping[str, Any]) -> tuple[IceServer, ...]:
    value = message.get("iceServers")
    if not isinstance(value, list):
        raise _Malformed("iceServers")
    servers = []
    for entry in value:
        if not isinstance(entry, dict):
            raise _Malformed("iceServers")
        urls = entry.get("urls")
        url_list = [urls] if isinstance(urls, str) else urls
        if not isinstance(url_list, list) or not all(isinstance(u, str) for u in url_list):
            raise _Malformed("urls")
        servers.append(
            IceServer(
                urls=tuple(url_list),
                username=_opt_str(entry, "username"),
                credential=_opt_str(entry, "credential"),
            )
        )
    return tuple(servers)


def _candidate(message: Mapping[str, Any]) -> IceCandidate:
    body = message.get("candidate")
    if body is None:  # the tutorial's client never sends this; treat as end of candidates
        return IceCandidate(raw=message, name=_str(message, "name"), candidate="")
    if not isinstance(body, dict):
        raise _Malformed("candidate")
    return IceCandidate(
        raw=message,
        name=_str(message, "name"),
        candidate=_opt_str(body, "candidate") or "",
        sdp_mid=_opt_str(body, "sdpMid"),
        sdp_mline_index=_opt_int(body, "sdpMLineIndex"),
        username_fragment=_opt_str(body, "usernameFragment"),
    )


def _media(message: Mapping[str, Any]) -> tuple[bool, bool]:
    media = message.get("media")
    if media is None:
        return True, True
    if not isinstance(media, dict):
        raise _Malformed("media")
    return _bool(media, "audio", True), _bool(media, "video", True)


def _call_invite(m: Mapping[str, Any]) -> Event:
    audio, video = _media(m)
    return CallInvite(raw=m, name=_str(m, "name"), audio=audio, video=video)


_PARSERS: Final[dict[str, Callable[[Mapping[str, Any]], Event]]] = {
    "id": lambda m: Welcome(raw=m, id=_opt_int(m, "id") or 0),
    "signed-in": lambda m: SignedIn(
        raw=m,
        id=_opt_int(m, "id"),
        name=_str(m, "name"),
        features=frozenset(_names(m, "features")),
    ),
    "rejectusername": lambda m: NameTaken(raw=m, name=_str(m, "name")),
    "userlist": lambda m: UserList(
        raw=m, users=_names(m, "users"), busy=frozenset(_names(m, "busy"))
    ),
    "presence": lambda m: Presence(
        raw=m,
        joined=_names(m, "joined"),
        left=_names(m, "left"),
        renamed=_renamed(m),
        busy=_names(m, "busy"),
        idle=_names(m, "idle"),
    ),
    "message": lambda m: ChatMessage(
        raw=m, name=_str(m, "name"), text=_str(m, "text"), date=_opt_int(m, "date")
    ),
    "ice-servers": lambda m: IceServers(
        raw=m, servers=_ice_servers(m), expires=_opt_int(m, "expires")
    ),
    "call-invite": _call_invite,
    "call-accept": lambda m: CallAccept(raw=m, name=_str(m, "name"), auto=_bool(m, "auto", False)),
    "call-decline": lambda m: CallDecline(
        raw=m, name=_str(m, "name"), reason=_opt_str(m, "reason") or "declined"
    ),
    "hang-up": lambda m: HangUp(raw=m, name=_str(m, "name"), reason=_opt_str(m, "reason")),
    "video-offer": lambda m: VideoOffer(raw=m, name=_str(m, "name"), sdp=_sdp(m, "offer")),
    "video-answer": lambda m: VideoAnswer(raw=m, name=_str(m, "name"), sdp=_sdp(m, "answer")),
    "new-ice-candidate": _candidate,
    "media-state": lambda m: MediaState(
        raw=m,
        name=_str(m, "name"),
        audio=_bool(m, "audio", True),
        video=_bool(m, "video", True),
        screen=_bool(m, "screen", False),
    ),
    "error": lambda m: ErrorReceived(
        raw=m,
        code=_str(m, "code"),
        message=_opt_str(m, "message") or "",
        for_type=_opt_str(m, "for"),
        target=_opt_str(m, "target"),
    ),
}


def parse_event(message: Mapping[str, Any]) -> Event:
    """Turn one decoded message into its typed event; never raises.

    A message whose type is unknown, or whose fields do not have the shape
    docs/protocol.md gives them, becomes :class:`Unknown`.
    """
    kind = message.get("type")
    name = message.get("name")
    fallback = Unknown(
        raw=message,
        type=kind if isinstance(kind, str) else "",
        name=name if isinstance(name, str) else None,
    )
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        return fallback
    try:
        return parser(message)
    except _Malformed as problem:
        logger.warning("ignoring a %s message with a bad %s field", kind, problem)
        return fallback


# --------------------------------------------------------------------------- presence


class Roster:
    """Who is online, in sign-in order, and who is in a call (no I/O).

    Feed it the first ``userlist`` (:meth:`apply_userlist`) and then every
    ``presence`` delta (:meth:`apply_presence`); ``users`` and ``busy`` are
    then what the server's full list would say.
    """

    def __init__(self) -> None:
        self.users: list[str] = []
        self.busy: set[str] = set()

    def __contains__(self, name: object) -> bool:
        return name in self.users

    def apply_userlist(self, users: Iterable[str], busy: Iterable[str] = ()) -> None:
        """Replace everything with a full list."""
        self.users = list(dict.fromkeys(users))
        self.busy = set(busy).intersection(self.users)

    def apply_presence(
        self,
        joined: Iterable[str] = (),
        left: Iterable[str] = (),
        renamed: Iterable[tuple[str, str]] = (),
        busy: Iterable[str] = (),
        idle: Iterable[str] = (),
    ) -> None:
        """Apply one delta in the protocol's order: left, renamed, joined, busy/idle."""
        gone = set(left)
        self.users = [name for name in self.users if name not in gone]
        self.busy -= gone
        for old, new in renamed:
            self.users = [new if name == old else name for name in self.users]
            if old in self.busy:
                self.busy.discard(old)
                self.busy.add(new)
        for name in joined:
            if name not in self.users:
                self.users.append(name)
        self.busy.update(name for name in busy if name in self.users)
        self.busy.difference_update(idle)

    def apply(self, event: Event) -> bool:
        """Apply a :class:`UserList` or :class:`Presence`; return whether it was one."""
        if isinstance(event, UserList):
            self.apply_userlist(event.users, event.busy)
        elif isinstance(event, Presence):
            self.apply_presence(event.joined, event.left, event.renamed, event.busy, event.idle)
        else:
            return False
        return True


# --------------------------------------------------------------------------- the client

E = TypeVar("E", bound=Event)
Callback = Callable[[Any], Awaitable[None] | None]


def websocket_url(url: str) -> str:
    """Accept ``http(s)://host:port/`` (what ``chinwag serve`` prints) or ``ws(s)://``."""
    for web, socket in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(web):
            url = socket + url[len(web) :]
    if not url.startswith(("ws://", "wss://")):
        raise ValueError(f"not a chinwag server URL: {url!r} (expected http://, https://, ws://)")
    host_and_path = url.split("://", 1)[1]
    return url if "/" in host_and_path else url + "/"


class Subscription:
    """A queue of every event that arrives after it was created.

    Use it as ``with client.subscribe() as events:``; iterate it, or
    :meth:`wait_for` one kind of event. Create it *before* sending what the
    awaited event answers, so the answer cannot slip past.
    """

    def __init__(self, client: ChinwagClient) -> None:
        self._client = client
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving events."""
        self._client._subscriptions.discard(self)

    def _put(self, event: Event | None) -> None:
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        """The next event; raises ConnectionClosed once the connection has closed.

        Bound the wait with ``async with asyncio.timeout(seconds):``.
        """
        event = await self._queue.get()
        if event is None:
            self._queue.put_nowait(None)  # every later get() sees the end too
            raise ConnectionClosed(code=self._client.close_code)
        return event

    @overload
    async def wait_for(
        self, kind: type[E], /, *, where: Callable[[E], bool] | None = None
    ) -> E: ...

    @overload
    async def wait_for(
        self, *kinds: type[Event], where: Callable[[Any], bool] | None = None
    ) -> Event: ...

    async def wait_for(
        self, *kinds: type[Event], where: Callable[[Any], bool] | None = None
    ) -> Event:
        """Skip events until one of ``kinds`` (matching ``where``) arrives, and return it.

        An :class:`ErrorReceived` that is not among ``kinds`` is raised as
        :class:`ErrorReply`: list ``ErrorReceived`` to get errors as events.
        Bound the wait with ``async with asyncio.timeout(seconds):``.
        """
        while True:
            event = await self.get()
            if isinstance(event, kinds) and (where is None or where(event)):
                return event
            if isinstance(event, ErrorReceived) and ErrorReceived not in kinds:
                raise event.exception()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            try:
                yield await self.get()
            except ConnectionClosed:
                return


class ChinwagClient:
    """One signed-in connection to a chinwag server.

    ``await client.connect()`` opens the socket and signs in; then
    :meth:`subscribe` (or :meth:`on`) delivers events, and the send methods
    speak the protocol. ``roster`` and ``ice_servers`` stay up to date.
    ``await client.close()`` (or ``async with``) ends it.
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
    ) -> None:
        self.url = websocket_url(url)
        self.connect_timeout = connect_timeout
        self.name = name
        self.features = tuple(features)
        self.credential = credential
        self.id: int | None = None
        self.accepted_features: frozenset[str] = frozenset()
        self.roster = Roster()
        self.ice_servers: IceServers | None = None
        self.close_code: int | None = None
        self._own_session = session is None
        self._session = session
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscriptions: set[Subscription] = set()
        self._callbacks: list[tuple[type[Event], Callback]] = []
        self._callback_tasks: set[asyncio.Future[None]] = set()
        self._got_ice_servers = asyncio.Event()
        self._finished = False  # the connection has ended; subscriptions see the end at once

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
            self._socket = await self._session.ws_connect(
                self.url, protocols=("json",), timeout=aiohttp.ClientWSTimeout(ws_close=5.0)
            )
        except (aiohttp.ClientError, OSError) as error:
            await self._close_session()
            raise ConnectionClosed(f"cannot connect to {self.url}: {error}") from error
        try:
            async with asyncio.timeout(self.connect_timeout):
                welcome = await self._read_until(Welcome)
                await self.send(self._sign_in_message(welcome.id))
                # Without features the server sends no signed-in (reference mode).
                signed_in = await self._read_until(SignedIn) if self.features else None
                await self._read_until(UserList)
        except BaseException:
            await self.close()
            raise
        # Frames after the first list wait in the socket until this task next
        # awaits, so subscriptions made right after connect() miss nothing.
        self._reader = asyncio.create_task(self._read(), name=f"chinwag-client-{self.name}")
        if signed_in is not None:
            return signed_in
        return SignedIn(id=self.id, name=self.name, features=frozenset())

    async def _read_until(self, kind: type[E]) -> E:
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
            if isinstance(event, ErrorReceived):
                raise event.exception()

    def _sign_in_message(self, connection_id: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "username",
            "name": self.name,
            "date": int(time.time() * 1000),
            "id": connection_id,
            "features": list(self.features),
        }
        if self.credential is not None:
            message["credential"] = self.credential
        return message

    async def close(self) -> None:
        """Close the socket (code 1000) and end every subscription."""
        if self._socket is not None and not self._socket.closed:
            await self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._finish()
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
        subscription = Subscription(self)
        if self._finished:
            subscription._put(None)
        else:
            self._subscriptions.add(subscription)
        return subscription

    async def events(self) -> AsyncIterator[Event]:
        """Every event from now until the connection closes."""
        with self.subscribe() as subscription:
            async for event in subscription:
                yield event

    def on(self, event_type: type[E], callback: Callable[[E], Awaitable[None] | None]) -> None:
        """Call ``callback(event)`` for each event of ``event_type``.

        A coroutine function's result runs as a task; errors are logged.
        """
        self._callbacks.append((event_type, callback))

    async def wait_for_ice_servers(self, patience: float = 2.0) -> IceServers | None:
        """The server's latest ``ice-servers``, waiting up to ``patience`` s for the first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(patience):
                await self._got_ice_servers.wait()
        return self.ice_servers

    async def _read(self) -> None:
        assert self._socket is not None
        try:
            async for frame in self._socket:
                if frame.type is aiohttp.WSMsgType.TEXT:
                    self._receive_text(frame.data)
                else:
                    logger.warning("%s: ignoring a %s frame", self.name, frame.type.name)
        finally:
            self.close_code = self._socket.close_code
            logger.debug("%s: connection closed (%s)", self.name, self.close_code)
            self._finish()

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
        event = parse_event(message)
        self._dispatch(event)
        return event

    def _dispatch(self, event: Event) -> None:
        self._update_state(event)
        for subscription in list(self._subscriptions):
            subscription._put(event)
        for event_type, callback in self._callbacks:
            if isinstance(event, event_type):
                self._run_callback(callback, event)

    def _update_state(self, event: Event) -> None:
        if self.roster.apply(event):
            return
        if isinstance(event, Welcome):
            self.id = event.id
        elif isinstance(event, SignedIn):
            self.name = event.name
            self.accepted_features = event.features
        elif isinstance(event, NameTaken):
            self.name = event.name
        elif isinstance(event, IceServers):
            self.ice_servers = event
            self._got_ice_servers.set()

    def _run_callback(self, callback: Callback, event: Event) -> None:
        try:
            result = callback(event)
        except Exception:
            logger.exception("%s: callback for %s failed", self.name, type(event).__name__)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._callback_tasks.add(task)
            task.add_done_callback(self._callback_done)

    def _callback_done(self, task: asyncio.Future[None]) -> None:
        self._callback_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s: callback failed", self.name, exc_info=task.exception())

    def _finish(self) -> None:
        self._finished = True
        for subscription in list(self._subscriptions):
            subscription._put(None)
        self._subscriptions.clear()

    # ---- sending

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send any message (one JSON object); raises ConnectionClosed if closed."""
        if self._socket is None or self._socket.closed:
            raise ConnectionClosed(code=self.close_code)
        logger.debug("%s > %s", self.name, message.get("type"))
        try:
            await self._socket.send_str(json.dumps(message))
        except (aiohttp.ClientError, ConnectionError) as error:
            raise ConnectionClosed(str(error), self.close_code) from error

    async def _to(self, kind: str, target: str, **fields: Any) -> None:
        await self.send({"type": kind, "name": self.name, "target": target, **fields})

    async def chat(self, text: str) -> None:
        """Say ``text`` to everyone."""
        await self.send(
            {"type": "message", "text": text, "id": self.id, "date": int(time.time() * 1000)}
        )

    async def rename(self, name: str) -> None:
        """Ask for a new name; the roster and ``name`` follow the server's answer."""
        await self.send({"type": "username", "name": name, "features": list(self.features)})

    async def invite(self, target: str, *, audio: bool = True, video: bool = True) -> None:
        """Ring ``target`` (``call-invite``); expect CallAccept, CallDecline or an error."""
        await self._to("call-invite", target, media={"audio": audio, "video": video})

    async def accept(self, target: str) -> None:
        """Accept ``target``'s invitation; this side becomes the polite callee."""
        await self._to("call-accept", target)

    async def decline(self, target: str, reason: str = "declined") -> None:
        """Refuse ``target``'s call: ``declined``, ``busy``, ``no-media``, ``permission-denied``."""
        await self._to("call-decline", target, reason=reason)

    async def hang_up(self, target: str, reason: str | None = "hung-up") -> None:
        """End a ringing or running call with ``target``."""
        await self._to("hang-up", target, **({"reason": reason} if reason else {}))

    async def offer(self, target: str, sdp: str) -> None:
        """Send an SDP offer (``video-offer``)."""
        await self._to("video-offer", target, sdp={"type": "offer", "sdp": sdp})

    async def answer(self, target: str, sdp: str) -> None:
        """Send an SDP answer (``video-answer``)."""
        await self._to("video-answer", target, sdp={"type": "answer", "sdp": sdp})

    async def send_candidate(
        self, target: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Trickle one ICE candidate (``candidate:...`` line) to ``target``."""
        body = {"candidate": candidate, "sdpMid": sdp_mid, "sdpMLineIndex": sdp_mline_index}
        await self._to("new-ice-candidate", target, candidate=body)

    async def media_state(
        self, target: str, *, audio: bool, video: bool, screen: bool = False
    ) -> None:
        """Tell ``target`` what this side is sending."""
        await self._to("media-state", target, audio=audio, video=video, screen=screen)


@contextlib.asynccontextmanager
async def connect(
    url: str,
    name: str,
    *,
    features: Iterable[str] = DEFAULT_FEATURES,
    credential: str | None = None,
    connect_timeout: float = 10.0,
) -> AsyncIterator[ChinwagClient]:
    """Connect and sign in for the ``async with`` block; see :meth:`ChinwagClient.connect`."""
    client = ChinwagClient(
        url, name, features=features, credential=credential, connect_timeout=connect_timeout
    )
    await client.connect()
    try:
        yield client
    finally:
        await client.close()
