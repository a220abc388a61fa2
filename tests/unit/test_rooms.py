"""The room-call state machine (core/roomcall.py) and room settings (core/rooms.py)."""

from __future__ import annotations

import re

import pytest

from chinwag.core import roomcall
from chinwag.core.errors import ProtocolError
from chinwag.core.roomcall import (
    TRANSITIONS,
    CallEvent,
    Participant,
    RoomCall,
    RoomCallState,
    RoomRefused,
)
from chinwag.core.rooms import clean_room, lock, opens


def seat(call: RoomCall, name: str, since: int, *, elsewhere: bool = False) -> None:
    call.join(Participant(since, name, True), seated_elsewhere=elsewhere)


def test_docstring_table_is_the_transition_table() -> None:
    assert roomcall.__doc__ is not None
    rows = re.findall(r"^(idle|active|full|ended)\s+([a-z]+)\s+(\w+)$", roomcall.__doc__, re.M)
    documented = {(RoomCallState(a), CallEvent(e)): RoomCallState(b) for a, e, b in rows}
    assert documented == TRANSITIONS


def test_a_call_fills_refuses_then_frees_a_seat_and_ends() -> None:
    call = RoomCall(cap=2)
    seat(call, "alice", 10)
    assert call.state is RoomCallState.ACTIVE and call.started == 10
    seat(call, "bob", 20)
    assert call.state is RoomCallState.FULL
    with pytest.raises(RoomRefused) as refused:
        seat(call, "carol", 30)
    assert refused.value.code == "room-call-full"
    assert call.names() == ["alice", "bob"]  # nothing changed
    call.leave("alice")
    assert call.state is RoomCallState.ACTIVE and call.started == 20
    call.leave("bob")
    assert call.state is RoomCallState.ENDED and call.started is None
    call.check()


def test_participants_are_in_join_order_whatever_order_the_news_came_in() -> None:
    one, other = RoomCall(8), RoomCall(8)
    for name, since in (("carol", 30), ("alice", 10), ("bob", 20)):
        seat(one, name, since)
    for name, since in (("bob", 20), ("carol", 30), ("alice", 10)):
        seat(other, name, since)
    assert one.names() == other.names() == ["alice", "bob", "carol"]


def test_another_node_may_seat_one_past_the_cap_and_it_stays_full_until_below() -> None:
    call = RoomCall(cap=1)
    seat(call, "alice", 10)
    seat(call, "bob", 11, elsewhere=True)  # the race: both nodes gave the last seat
    assert call.state is RoomCallState.FULL and call.names() == ["alice", "bob"]
    call.leave("alice")
    assert call.state is RoomCallState.FULL  # still at the cap
    call.check()


def test_leaving_without_a_seat_is_not_in_call() -> None:
    call = RoomCall(cap=3)
    with pytest.raises(RoomRefused) as refused:
        call.leave("alice")
    assert refused.value.code == "not-in-call"


def test_room_call_message_shape() -> None:
    call = RoomCall(cap=3)
    call.join(Participant(5, "bob", False))
    assert call.as_message("Team") == {
        "type": "room-call",
        "room": "Team",
        "started": 5,
        "participants": [{"name": "bob", "rollback": False}],
    }


def test_passwords_are_salted_digests_and_checked() -> None:
    settings = lock("s3cret", 1, "alice", "Team", True)
    assert settings.locked and b"s3cret" not in settings.digest + settings.salt
    assert opens(settings, "s3cret")
    assert not opens(settings, "S3cret") and not opens(settings, None)
    assert opens(lock("", 1, "alice", "", False), None)
    assert lock("x", 1, "a", "", False).salt != lock("x", 1, "a", "", False).salt


@pytest.mark.parametrize(
    ("raw", "wanted"),
    [("  team ", "team"), ("", ""), ("Ünïcode room", "Ünïcode room"), ("x" * 64, "x" * 64)],
)
def test_good_room_names(raw: str, wanted: str) -> None:
    assert clean_room(raw, "join-room") == wanted


@pytest.mark.parametrize("raw", ["x" * 65, "<b>", "a&b", "tab\there", 7, None])
def test_bad_room_names(raw: object) -> None:
    with pytest.raises(ProtocolError) as error:
        clean_room(raw, "join-room")
    assert error.value.code == "bad-room" and error.value.for_type == "join-room"
