"""Room calls on an SFU, in the core: when a call moves, who may ask what, what Janus is told.

The lobby is called directly (no sockets); the effects it returns are what the
SFU link would carry out. The Janus side of the same rules is in
tests/sfu/test_janus_room.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chinwag.core.context import Policy
from chinwag.core.effects import SfuEnd, SfuLeave, SfuSignal
from chinwag.core.errors import ProtocolError
from chinwag.core.lobby import Lobby
from chinwag.core.protocol import parse_frame
from chinwag.core.rooms import RoomBook
from tests.unit.test_lobby import sent
from tests.unit.test_lobby_rooms import ROOMS

OFFER = {"type": "offer", "sdp": "v=0\r\n"}


class Call:
    """A lobby with an SFU configured (mesh of at most ``mesh_max``), and people in room ``r``."""

    def __init__(self, mesh_max: int | None = 2, recordings: bool = False) -> None:
        self.now = 1_700_000_000.0
        self.book = RoomBook()
        policy = Policy(room_call_max=50, mesh_max=mesh_max, recordings=recordings)
        self.lobby = Lobby(policy, rooms=self.book, clock=lambda: self.now)
        self.conns: dict[str, int] = {}

    def opened(self) -> int:
        room = self.book.get("r")
        assert room is not None and room.call is not None
        return room.call.opened

    def person(self, name: str, room: str = "r") -> int:
        conn = len(self.conns) + 1
        self.conns[name] = conn
        self.lobby.connect(conn)
        hello = {"type": "username", "name": name, "features": ROOMS, "room": room}
        self.lobby.receive(conn, json.dumps(hello))
        return conn

    def say(self, who: str, **fields: Any) -> list[Any]:
        self.now += 0.001
        effects = self.lobby.receive(self.conns[who], json.dumps(fields))
        self.lobby.check()
        return effects

    def seat(self, *names: str) -> list[Any]:
        effects: list[Any] = []
        for name in names:
            if name not in self.conns:
                self.person(name)
            effects += self.say(name, type="room-call-join")
        return effects


def last_room_call(effects: list[Any], conn: int) -> dict[str, Any]:
    return [m for m in sent(effects, conn) if m["type"] == "room-call"][-1]


def errors(effects: list[Any], conn: int) -> list[str]:
    return [m["code"] for m in sent(effects, conn) if m["type"] == "error"]


def test_a_call_stays_a_mesh_up_to_mesh_max_then_moves_to_the_sfu_and_stays() -> None:
    call = Call(mesh_max=2)
    effects = call.seat("ann", "ben")
    assert "mode" not in last_room_call(effects, call.conns["ann"])  # a mesh, as before
    effects = call.seat("cat")
    assert last_room_call(effects, call.conns["ann"])["mode"] == "sfu"
    effects = call.say("cat", type="room-call-leave")
    # Back to two: the call stays on the SFU (one move per call).
    assert last_room_call(effects, call.conns["ann"])["mode"] == "sfu"


def test_without_an_sfu_a_call_is_always_a_mesh() -> None:
    call = Call(mesh_max=None)
    effects = call.seat("ann", "ben", "cat", "dan", "eve")
    assert "mode" not in last_room_call(effects, call.conns["ann"])
    effects = call.say("ann", type="sfu-publish", description=OFFER)
    assert errors(effects, call.conns["ann"]) == ["not-sfu-call"]
    assert not [e for e in effects if isinstance(e, SfuSignal)]


def test_a_participant_publishes_and_subscribes_as_itself_whatever_it_writes() -> None:
    call = Call()
    call.seat("ann", "ben", "cat")
    effects = call.say(
        "ann", type="sfu-publish", description=OFFER, name="ben", room="elsewhere", target="ben"
    )
    signals = [e for e in effects if isinstance(e, SfuSignal)]
    assert len(signals) == 1
    assert (signals[0].name, signals[0].room, signals[0].kind) == ("ann", "r", "sfu-publish")
    assert signals[0].description == OFFER
    effects = call.say("ben", type="sfu-view", views={"ann": "low", "cat": "off"})
    (view,) = [e for e in effects if isinstance(e, SfuSignal)]
    assert (view.name, view.views) == ("ben", (("ann", "low"), ("cat", "off")))


def test_someone_outside_the_call_or_in_another_room_gets_nothing_from_the_sfu() -> None:
    call = Call()
    call.seat("ann", "ben", "cat")
    call.person("dan")  # in the room, not in the call
    call.person("eve", room="other")
    for name in ("dan", "eve"):
        for request in (
            {"type": "sfu-publish", "description": OFFER},
            {"type": "sfu-subscribe"},
            {"type": "sfu-view", "views": {"ann": "high"}},
        ):
            effects = call.say(name, **request)
            assert errors(effects, call.conns[name]) == ["not-in-call"], (name, request)
            assert not [e for e in effects if isinstance(e, SfuSignal)]


def test_server_only_sfu_messages_cannot_be_sent_by_a_client() -> None:
    call = Call()
    call.seat("ann", "ben", "cat")
    for kind in ("sfu-offer", "sfu-published", "sfu-speaker", "sfu-moved"):
        effects = call.say("ann", type=kind, target="ben", description=OFFER)
        assert errors(effects, call.conns["ann"]) == ["bad-type"], kind
        assert sent(effects, call.conns["ben"]) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "sfu-publish"},
        {"type": "sfu-publish", "description": {"type": "answer", "sdp": "v=0"}},
        {"type": "sfu-publish", "description": {"type": "offer", "sdp": 5}},
        {"type": "sfu-answer", "description": "v=0"},
        {"type": "sfu-view", "views": ["ann"]},
        {"type": "sfu-view", "views": {"ann": "huge"}},
    ],
)
def test_bad_sfu_requests_are_refused_saying_which_field(fields: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_frame(json.dumps(fields))
    assert refused.value.code == "bad-field"
    assert refused.value.for_type == fields["type"]


def test_leaving_dropping_or_ending_tells_the_sfu_at_once() -> None:
    call = Call()
    call.seat("ann", "ben", "cat", "dan")
    opened = call.opened()
    effects = call.say("cat", type="room-call-leave")
    assert SfuLeave("r", opened, "cat") in effects
    effects = call.lobby.disconnect(call.conns["dan"], clean=True)
    assert SfuLeave("r", opened, "dan") in effects
    effects = call.say("ben", type="join-room", room="elsewhere")
    assert SfuLeave("r", opened, "ben") in effects
    effects = call.say("ann", type="room-call-leave")
    assert SfuLeave("r", opened, "ann") in effects and SfuEnd("r", opened) in effects


def test_answers_from_the_sfu_reach_only_current_participants() -> None:
    call = Call()
    call.seat("ann", "ben", "cat")
    opened = call.opened()
    offer = {"type": "sfu-offer", "description": OFFER, "streams": []}
    effects = call.lobby.sfu_reply("r", opened, "ann", offer)
    assert [m["type"] for m in sent(effects, call.conns["ann"])] == ["sfu-offer"]
    call.say("ann", type="room-call-leave")
    assert sent(call.lobby.sfu_reply("r", opened, "ann", offer), call.conns["ann"]) == []
    # An answer for an older call in the same room goes nowhere.
    assert sent(call.lobby.sfu_reply("r", opened - 1, "ben", offer), call.conns["ben"]) == []
    effects = call.lobby.sfu_speaker("r", opened, "ben")
    assert {"type": "sfu-speaker", "name": "ben"} in sent(effects, call.conns["cat"])


def test_with_no_janus_a_small_call_goes_back_to_a_mesh_and_a_large_one_waits() -> None:
    call = Call(mesh_max=2, recordings=True)
    call.seat("ann", "ben", "cat")
    call.person("dan")  # in the room, not in the call
    call.say("ann", type="room-recording", action="start")
    opened = call.opened()

    effects = call.lobby.sfu_unavailable()  # three people: too many for a mesh of two
    call.lobby.check()
    for name in ("ann", "ben", "cat"):
        told = sent(effects, call.conns[name])
        assert {"type": "sfu-waiting"} in told, (name, told)
        stop = [m for m in told if m["type"] == "room-recording"]
        assert stop and stop[-1]["reason"] == "media-server-lost", told
        assert last_room_call(effects, call.conns[name])["mode"] == "sfu"
    assert {"type": "sfu-waiting"} not in sent(effects, call.conns["dan"])
    assert not [e for e in effects if isinstance(e, SfuEnd)]

    call.say("cat", type="room-call-leave")
    effects = call.lobby.sfu_unavailable("r")  # the link asks again after each leave
    call.lobby.check()
    for name in ("ann", "ben", "dan"):  # everyone in the room sees a mesh call of two
        message = last_room_call(effects, call.conns[name])
        assert "mode" not in message and len(message["participants"]) == 2, message
    assert [e for e in effects if isinstance(e, SfuEnd)] == [SfuEnd("r", opened)]
    assert errors(call.say("ann", type="sfu-publish", description=OFFER), call.conns["ann"]) == [
        "not-sfu-call"
    ]
    assert call.lobby.sfu_unavailable() == []  # nothing left on the SFU

    effects = call.seat("cat")  # growing past mesh_max moves it to the SFU again
    assert last_room_call(effects, call.conns["ann"])["mode"] == "sfu"
