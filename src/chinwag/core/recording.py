"""Recording an SFU room call, with everyone's knowledge (no I/O).

Only when the operator enabled ``--recordings``, and only in a call on the
SFU (Janus records each published stream; a mesh has nowhere to record):

* any participant may start a recording (``room-recording`` ``start``);
  while it runs the call's state (``room-call``, and the ``call`` of ROOM that
  late joiners and newcomers get) carries ``recording: {since, by}``, so
  every client shows a persistent indicator;
* any participant may stop it (``stop``): being able to end a recording one
  did not agree to is part of consent. It also stops when the person who
  started it leaves the call (or is dropped), and with the call;
* each start and stop is announced to the room as ``room-recording``
  (``action``, ``by``, ``since``), for a notice; a failure on the media
  server stops it the same way, with ``by`` null and ``reason``.

The SFU link does the recording itself (:class:`~chinwag.core.effects.SfuRecord`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .effects import SfuRecord
from .errors import ProtocolError
from .requests import RecordingRequest
from .roomcall import CallMode, Recording

if TYPE_CHECKING:
    from .context import Context
    from .members import Member
    from .ports import CallNews
    from .roomcall import RoomCall
    from .rooms import Room

__all__ = ["RecordingDesk"]

_FOR = "room-recording"


class RecordingDesk:
    """Starts and stops recordings of SFU calls and tells each room."""

    def __init__(self, context: Context, calls: CallNews) -> None:
        self._ctx = context
        self._calls = calls

    def request(self, member: Member, request: RecordingRequest) -> None:
        """``room-recording`` from a participant; ProtocolError if it may not, nothing changed."""
        name = member.name
        assert name is not None
        if not self._ctx.policy.recordings:
            raise ProtocolError("recordings-off", "This server does not record calls.", _FOR)
        room = self._ctx.rooms.get(member.room)
        call = room.call if room is not None else None
        if room is None or call is None or not call.has(name):
            raise ProtocolError("not-in-call", "You are not in this room's call.", _FOR)
        if call.mode is not CallMode.SFU:
            raise ProtocolError(
                "not-sfu-call", "Only a call on the media server can be recorded.", _FOR
            )
        if request.action == "start":
            if call.recording is not None:
                raise ProtocolError(
                    "already-recording",
                    f"{call.recording.by} is already recording this call.",
                    _FOR,
                )
            self._start(room, call, name)
        else:
            if call.recording is None:
                raise ProtocolError("not-recording", "This call is not being recorded.", _FOR)
            self.stop(room, name)

    def _start(self, room: Room, call: RoomCall, name: str) -> None:
        since = int(self._ctx.clock() * 1000)
        call.recording = Recording(since, name)
        self._ctx.outbox.emit(SfuRecord(room.key, call.opened, since, name, True, room.name))
        self._announce(room, {"action": "start", "by": name, "since": since})

    def stop(self, room: Room, by: str | None, reason: str | None = None) -> None:
        """End the recording of ``room``'s call, if any: ``by`` a participant, or None when
        the media server failed (``reason`` says why); the link converts what was recorded."""
        call = room.call
        if call is None or call.recording is None:
            return
        since, starter = call.recording
        call.recording = None
        self._ctx.outbox.emit(SfuRecord(room.key, call.opened, since, starter, False, room.name))
        notice: dict[str, Any] = {"action": "stop", "by": by, "since": since}
        if reason is not None:
            notice["reason"] = reason
        self._announce(room, notice)

    def left(self, room: Room, name: str) -> None:
        """``name`` is out of ``room``'s call: its recording, if it started one, stops."""
        call = room.call
        if call is not None and call.recording is not None and call.recording.by == name:
            self.stop(room, name, "left")

    def failed(self, key: str, opened: int, since: int, reason: str) -> None:
        """The SFU link could not record (or lost Janus): tell the room it stopped."""
        room = self._ctx.rooms.get(key)
        call = room.call if room is not None else None
        if room is None or call is None or call.opened != opened:
            return
        if call.recording is not None and call.recording.since == since:
            self.stop(room, None, reason)

    def _announce(self, room: Room, notice: dict[str, Any]) -> None:
        """The call's new state, then the notice, to everyone in the room with ``rooms``."""
        self._calls.call_changed(room, None)
        self._calls.tell_room(room, {"type": "room-recording", "room": room.name, **notice})
