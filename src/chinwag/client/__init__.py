"""An asyncio client for chinwag's signaling protocol (``docs/protocol.md``).

It is what ``chinwag peer`` and ``chinwag call`` are built on, and what a bot
uses::

    async with connect("http://127.0.0.1:6503/", "echo") as client:
        with client.subscribe() as events:
            async for event in events:
                if isinstance(event, ChatMessage) and event.name != client.name:
                    await client.chat(f"{event.name} said {event.text}")

Modules, lowest layer first (import every name from ``chinwag.client``):

* :mod:`.events` - one typed, frozen :class:`Event` per message type (no I/O),
  rooms and room calls included (:class:`RoomEntered`, :class:`RoomCall`,
  :class:`RoomList`, :class:`RoomSignal`).
* :mod:`.parsing` - :func:`parse_event` turns one decoded JSON message into
  its event (no I/O). Messages relayed from other clients are checked here:
  one that does not have the shape the protocol gives its type becomes
  :class:`Unknown`, so a bad peer cannot crash the client.
* :mod:`.roster` - :class:`Roster`, the presence bookkeeping (a full
  ``userlist``, then ``presence`` deltas), also with no I/O.
* :mod:`.reconnect` - :class:`ReconnectPolicy`: which close codes are worth
  coming back from, and the backoff between attempts (no I/O).
* :mod:`.handshake` - :func:`websocket_url` and the sign-in message (no I/O).
* :mod:`.subscription` - :class:`Subscription`, one reader's queue of events.
* :mod:`.fanout` - hands each event to every :class:`Subscription` and
  callback (``client.on``), and the end of the connection to them all.
* :mod:`.calling` - the one-to-one call's messages (``invite``, ``offer``,
  ``hang_up``, ...), one method each, inherited by :class:`ChinwagClient`.
* :mod:`.rooms` - the room messages (``join_room``, ``list_rooms``,
  ``join_room_call``, ``room_signal``, ...), inherited the same way.
* :mod:`.connection` - :class:`ChinwagClient` owns the WebSocket: one reader
  task parses every frame, updates the roster and the ICE servers, then hands
  the event to the fan-out; after a drop it signs in again (resume).
* :mod:`.errors` - what the client raises::

    ChinwagError (chinwag.core.errors)
    └── ClientError          raised by this client
        ├── ConnectionClosed the socket closed (or never opened)
        └── ErrorReply       the server answered with an ``error`` message;
                             ``code`` is one of chinwag.core.errors.ERROR_CODES
"""

from __future__ import annotations

from .calling import CallMessages
from .connection import DEFAULT_FEATURES, ChinwagClient, connect
from .errors import ClientError, ConnectionClosed, ErrorReply
from .events import (
    CallAccept,
    CallDecline,
    CallInvite,
    ChatMessage,
    ErrorReceived,
    Event,
    FileMessage,
    HangUp,
    IceCandidate,
    IceServer,
    IceServers,
    MediaState,
    Moderation,
    NameTaken,
    Participant,
    Presence,
    PublicRoom,
    Reconnecting,
    Resumed,
    RoomCall,
    RoomEntered,
    RoomList,
    RoomSignal,
    SessionLost,
    SignedIn,
    Unknown,
    UserList,
    VideoAnswer,
    VideoOffer,
    Welcome,
)
from .fanout import Callback, EventFanout
from .handshake import sign_in_message, websocket_url
from .parsing import parse_event
from .reconnect import RETRY_CLOSE_CODES, ReconnectPolicy
from .rooms import RoomMessages
from .roster import Roster
from .subscription import Subscription

__all__ = [
    "DEFAULT_FEATURES",
    "RETRY_CLOSE_CODES",
    "CallAccept",
    "CallDecline",
    "CallInvite",
    "CallMessages",
    "Callback",
    "ChatMessage",
    "ChinwagClient",
    "ClientError",
    "ConnectionClosed",
    "ErrorReceived",
    "ErrorReply",
    "Event",
    "EventFanout",
    "FileMessage",
    "HangUp",
    "IceCandidate",
    "IceServer",
    "IceServers",
    "MediaState",
    "Moderation",
    "NameTaken",
    "Participant",
    "Presence",
    "PublicRoom",
    "ReconnectPolicy",
    "Reconnecting",
    "Resumed",
    "RoomCall",
    "RoomEntered",
    "RoomList",
    "RoomMessages",
    "RoomSignal",
    "Roster",
    "SessionLost",
    "SignedIn",
    "Subscription",
    "Unknown",
    "UserList",
    "VideoAnswer",
    "VideoOffer",
    "Welcome",
    "connect",
    "parse_event",
    "sign_in_message",
    "websocket_url",
]
