"""Recording an SFU call, in the core: who may, what everyone (and a late joiner) sees."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chinwag.config import ConfigError, settings_for_tests
from chinwag.core.context import Policy
from chinwag.core.effects import SfuRecord
from chinwag.core.lobby import Lobby
from tests.unit.test_lobby import sent
from tests.unit.test_lobby_rooms import ROOMS
from tests.unit.test_lobby_sfu import Call, errors, last_room_call


class RecordedCall(Call):
    """An SFU call (mesh of at most 2) on a server with ``--recordings`` on or off."""

    def __init__(self, recordings: bool = True) -> None:
        super().__init__(mesh_max=2)
        policy = Policy(room_call_max=50, mesh_max=2, recordings=recordings)
        self.lobby = Lobby(policy, rooms=self.book, clock=lambda: self.now)

    def arrive(self, name: str) -> dict[str, Any]:
        """``name`` signs in to room ``r``; its ``signed-in`` message."""
        conn = self.conns[name] = len(self.conns) + 1
        self.lobby.connect(conn)
        hello = {"type": "username", "name": name, "features": ROOMS, "room": "r"}
        effects = self.lobby.receive(conn, json.dumps(hello))
        [welcome] = [m for m in sent(effects, conn) if m["type"] == "signed-in"]
        return welcome


def records(effects: list[Any]) -> list[SfuRecord]:
    return [e for e in effects if isinstance(e, SfuRecord)]


def notices(effects: list[Any], conn: int) -> list[dict[str, Any]]:
    return [m for m in sent(effects, conn) if m["type"] == "room-recording"]


def test_anyone_in_an_sfu_call_starts_a_recording_and_everyone_is_told() -> None:
    call = RecordedCall()
    call.seat("ann", "ben", "cat")
    call.person("dan")  # in the room, not in the call: sees it too
    effects = call.say("ben", type="room-recording", action="start")
    [start] = records(effects)
    assert (start.room, start.by, start.on, start.opened) == ("r", "ben", True, call.opened())
    for name in ("ann", "ben", "cat", "dan"):
        state = last_room_call(effects, call.conns[name])["recording"]
        assert state == {"since": start.since, "by": "ben"}, name
        [notice] = notices(effects, call.conns[name])
        assert notice == {
            "type": "room-recording", "room": "r", "action": "start", "by": "ben",
            "since": start.since,
        }  # fmt: skip


def test_a_late_joiner_sees_the_recording_in_the_room_state() -> None:
    call = RecordedCall()
    call.seat("ann", "ben", "cat")
    [start] = records(call.say("ann", type="room-recording", action="start"))
    welcome = call.arrive("eve")
    assert welcome["room"]["call"]["recording"] == {"since": start.since, "by": "ann"}
    effects = call.seat("eve")
    assert last_room_call(effects, call.conns["eve"])["recording"]["by"] == "ann"


def test_anyone_in_the_call_may_stop_it_and_everyone_is_told_who() -> None:
    call = RecordedCall()
    call.seat("ann", "ben", "cat")
    [start] = records(call.say("ann", type="room-recording", action="start"))
    effects = call.say("cat", type="room-recording", action="stop")
    [stop] = records(effects)
    assert (stop.on, stop.since, stop.by) == (False, start.since, "ann")  # names the recording
    for name in ("ann", "ben", "cat"):
        assert last_room_call(effects, call.conns[name])["recording"] is None
        [notice] = notices(effects, call.conns[name])
        assert (notice["action"], notice["by"]) == ("stop", "cat")


def test_it_stops_when_whoever_started_it_leaves_or_drops() -> None:
    call = RecordedCall()
    call.seat("ann", "ben", "cat")
    call.say("ann", type="room-recording", action="start")
    effects = call.say("ann", type="room-call-leave")
    [stop] = records(effects)
    assert not stop.on
    [notice] = notices(effects, call.conns["ben"])
    assert (notice["by"], notice["reason"]) == ("ann", "left")
    assert last_room_call(effects, call.conns["ben"])["recording"] is None
    call.say("ben", type="room-recording", action="start")
    effects = call.lobby.disconnect(call.conns["ben"])
    call.lobby.check()
    assert [r.on for r in records(effects)] == [False]


def test_the_media_server_failing_stops_it_for_everyone() -> None:
    call = RecordedCall()
    call.seat("ann", "ben", "cat")
    [start] = records(call.say("ann", type="room-recording", action="start"))
    assert call.lobby.sfu_recording_failed("r", call.opened(), start.since - 1, "x") == []
    effects = call.lobby.sfu_recording_failed("r", call.opened(), start.since, "media-server")
    [notice] = notices(effects, call.conns["cat"])
    assert (notice["by"], notice["reason"]) == (None, "media-server")
    assert last_room_call(effects, call.conns["cat"])["recording"] is None


def test_refusals_change_nothing() -> None:
    off = RecordedCall(recordings=False)
    off.seat("ann", "ben", "cat")
    effects = off.say("ann", type="room-recording", action="start")
    assert errors(effects, off.conns["ann"]) == ["recordings-off"] and not records(effects)

    call = RecordedCall()
    call.seat("ann", "ben")  # still a mesh
    effects = call.say("ann", type="room-recording", action="start")
    assert errors(effects, call.conns["ann"]) == ["not-sfu-call"]
    call.seat("cat")
    call.person("dan")  # not in the call
    effects = call.say("dan", type="room-recording", action="start")
    assert errors(effects, call.conns["dan"]) == ["not-in-call"] and not records(effects)
    effects = call.say("ann", type="room-recording", action="stop")
    assert errors(effects, call.conns["ann"]) == ["not-recording"]
    call.say("ann", type="room-recording", action="start")
    effects = call.say("ben", type="room-recording", action="start")
    assert errors(effects, call.conns["ben"]) == ["already-recording"] and not records(effects)
    effects = call.say("ben", type="room-recording", action="pause")
    assert errors(effects, call.conns["ben"]) == ["bad-field"]
    effects = call.say("ben", type="room-recording")
    assert errors(effects, call.conns["ben"]) == ["bad-field"]


def test_recordings_need_an_sfu_and_work_in_a_cluster() -> None:
    with pytest.raises(ConfigError, match="recordings needs sfu"):
        settings_for_tests(recordings=True)
    assert settings_for_tests(recordings=True, sfu=["ws://127.0.0.1:8188"]).recordings
    clustered = settings_for_tests(
        recordings=True, sfu=["ws://127.0.0.1:8188"], sfu_secret="s" * 20, redis="redis://x"
    )
    assert clustered.recordings and clustered.redis


def test_sfu_signaling_keeps_a_seat_that_room_signals_would() -> None:
    """An SFU participant sends sfu-* requests, never room-signal: those keep its seat."""
    call = RecordedCall()
    ticks = [0.0]
    policy = Policy(room_call_max=50, mesh_max=2, recordings=True, room_call_idle=30.0)
    call.lobby = Lobby(policy, rooms=call.book, clock=lambda: call.now, monotonic=lambda: ticks[0])
    call.seat("ann", "ben", "cat")
    for second in range(1, 61):  # a minute in which ann answers Janus's offers, cat does not
        ticks[0] = float(second)
        if second % 10 == 0:
            call.say("ann", type="sfu-answer", description={"type": "answer", "sdp": "v=0\r\n"})
        call.lobby.expire()
    room = call.book.get("r")
    assert room is not None and room.call is not None
    assert room.call.has("ann") and not room.call.has("cat")
