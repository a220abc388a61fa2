"""Frames from clients: parsed, counted, rate-checked and handed to their desk (no I/O).

A fault inside the core while handling one frame is logged and answered to
that sender alone (``server-error``); the rules compute before they change
anything, so no other connection is touched.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Final

from .errors import ProtocolError, error_message
from .members import Member, MemberState
from .moderation import is_waiting_key
from .protocol import (
    Chat,
    HistoryRequest,
    Inbound,
    JoinRoom,
    RecordingRequest,
    Relay,
    RoomAction,
    RoomRequest,
    SfuRequest,
    SignIn,
    parse_frame,
)
from .routing import message_type

if TYPE_CHECKING:
    from .context import Context
    from .desks import Desks

__all__ = ["Dispatch"]

log = logging.getLogger(__name__)

#: Relayed types counted by name in /metrics; any other is "other", so that
#: client-chosen type names cannot create unlimited metric labels.
_METRIC_TYPES: Final = frozenset(
    {
        "video-offer",
        "video-answer",
        "new-ice-candidate",
        "hang-up",
        "call-invite",
        "call-accept",
        "call-decline",
        "call-connected",
        "media-state",
        "call-diagnosis",
        "call-report",
        "room-signal",
    }
)


def _metric_type(message: Inbound) -> str:
    if message.__class__ is Relay:  # the hot path: one attribute, one set lookup
        kind = message.type
        return kind if kind in _METRIC_TYPES else "other"
    return message_type(message)


class Dispatch:
    """Hands each client frame to the desk whose rule it is."""

    def __init__(self, context: Context, desks: Desks) -> None:
        self._ctx = context
        self._desks = desks
        self.received: dict[str, int] = {}  # messages by type; a plain dict counts faster
        self.error_codes: Counter[str] = Counter()  # errors the lobby sent, by code

    def receive(self, member: Member, data: str | bytes) -> None:
        """One frame from a member that is not waiting on the cluster."""
        try:
            message = parse_frame(data)
            kind = _metric_type(message)
            self.received[kind] = self.received.get(kind, 0) + 1
            if self._desks.router.within_rate(member, message):
                self._dispatch(member, message)
        except ProtocolError as error:
            self.error_codes[error.code] += 1
            self._ctx.outbox.send((member.conn,), error.as_message())
        except Exception:  # a bug: this sender alone hears of it; the others go on
            log.exception("lobby: failed on a frame from %s (%s)", member.conn, member.name)
            self.error_codes["server-error"] += 1
            failed = error_message("server-error", "The server failed to handle that message.")
            self._ctx.outbox.send((member.conn,), failed)

    def _dispatch(self, member: Member, message: Inbound) -> None:
        if isinstance(message, SignIn):
            self._desks.hand_overs.sign_in(member, message)
        elif member.state is MemberState.SIGNING_IN or member.name is None:
            kind = message_type(message)
            raise ProtocolError("not-signed-in", "Sign in with a `username` message first.", kind)
        elif message.__class__ is Relay and not is_waiting_key(member.room):  # the hot path
            self._desks.router.relay(member, message)
        elif is_waiting_key(member.room) and not isinstance(message, JoinRoom):
            raise ProtocolError(
                "waiting",
                "You are waiting for a host to let you in; that has to wait too.",
                message_type(message),
            )
        elif isinstance(message, Chat):
            self._desks.router.chat(member, message.text)
        elif isinstance(message, JoinRoom):
            room, password, public, title, invite = message
            before = member.room
            self._desks.rooms.join_room(member, room, password, public, title, invite)
            if member.room != before:  # a new room: its history, as on signing in
                self._desks.history.joined(member)
        elif isinstance(message, RoomRequest):
            self._room_request(member, message)
        elif isinstance(message, HistoryRequest):
            self._desks.history.request(member, message)
        elif isinstance(message, SfuRequest):
            self._desks.sfu.request(member, message)
        elif isinstance(message, RecordingRequest):
            self._desks.recording.request(member, message)
        elif isinstance(message, RoomAction):
            self._desks.hosts.act(member, message)
        else:
            assert isinstance(message, Relay)
            self._desks.router.relay(member, message)

    def _room_request(self, member: Member, request: RoomRequest) -> None:
        kind = request.type
        if kind == "list-rooms":
            self._desks.rooms.list_rooms(member, request.offset)
        elif kind == "room-call-join":
            self._desks.calls.call_join(member)
        else:
            self._desks.calls.call_leave(member)
