"""Rooms and room calls in the lobby, tested by calling it (the socket-level twins are in
tests/server/test_rooms.py)."""

from __future__ import annotations

import json
from typing import Any

from chinwag.core.context import Policy
from chinwag.core.effects import CountCall
from chinwag.core.events import RoomSettings
from chinwag.core.lobby import Lobby
from chinwag.core.rooms import Room, RoomBook, lock
from tests.unit.test_lobby import sent, types

ROOMS = ["deltas", "ringing", "plain-text", "rooms"]


class Rooms:
    def __init__(self, book: RoomBook | None = None, cap: int = 8) -> None:
        self.now = 1_700_000_000.0
        self.lobby = Lobby(Policy(room_call_max=cap), rooms=book, clock=lambda: self.now)
        self.next = 0

    def join(self, name: str, room: str | None = None, **extra: Any) -> tuple[int, list[Any]]:
        self.next += 1
        conn = self.next
        self.lobby.connect(conn)
        message: dict[str, Any] = {"type": "username", "name": name, "features": ROOMS, **extra}
        if room is not None:
            message["room"] = room
        effects = self.lobby.receive(conn, json.dumps(message))
        self.lobby.check()
        return conn, effects

    def say(self, conn: int, **fields: Any) -> list[Any]:
        self.now += 0.001
        effects = self.lobby.receive(conn, json.dumps(fields))
        self.lobby.check()
        return effects


def errors(effects: list[Any], conn: int) -> list[str]:
    return [m["code"] for m in sent(effects, conn) if m["type"] == "error"]


def test_signed_in_names_the_room_and_lists_only_its_people() -> None:
    world = Rooms()
    a, effects = world.join("alice", "team")
    welcome = sent(effects, a)[0]
    assert welcome["room"] == {
        "room": "team",
        "title": "",
        "public": False,
        "locked": False,
        "call": None,
    }
    b, _ = world.join("bob", "Team")  # the same room: compared by key
    c, _ = world.join("carol")
    flushed = world.lobby.flush_presence()
    assert [m["users"] for m in sent(flushed, b) if m["type"] == "userlist"] == [["alice", "bob"]]
    assert [m["users"] for m in sent(flushed, c) if m["type"] == "userlist"] == [["carol"]]


def test_chat_relays_and_invites_stay_in_the_room() -> None:
    world = Rooms()
    a, _ = world.join("alice", "team")
    b, _ = world.join("bob", "team")
    c, _ = world.join("carol")
    effects = world.say(a, type="message", text="hi team")
    assert "message" in types(effects, b) and not sent(effects, c)
    effects = world.say(c, type="call-invite", target="alice")
    assert errors(effects, c) == ["no-such-user"] and not sent(effects, a)
    effects = world.say(c, type="anything")  # untargeted: carol's room only
    assert "anything" in types(effects, c) and not sent(effects, a) and not sent(effects, b)


def test_room_call_join_fill_refuse_leave() -> None:
    world = Rooms(cap=2)
    a, _ = world.join("alice", "team")
    b, _ = world.join("bob", "team", features=[*ROOMS, "no-rollback"])
    c, _ = world.join("carol", "team")
    world.say(a, type="room-call-join")
    effects = world.say(b, type="room-call-join")
    call = next(m for m in sent(effects, c) if m["type"] == "room-call")
    assert call["participants"] == [
        {"name": "alice", "rollback": True},
        {"name": "bob", "rollback": False},
    ]
    assert errors(world.say(c, type="room-call-join"), c) == ["room-call-full"]
    assert errors(world.say(c, type="room-signal", target="alice"), c) == ["not-in-call"]
    signal = world.say(a, type="room-signal", target="bob", description={"type": "offer"})
    assert sent(signal, b)[0]["name"] == "alice"
    world.say(a, type="room-call-leave")
    effects = world.say(b, type="room-call-leave")
    ended = next(m for m in sent(effects, c) if m["type"] == "room-call")
    assert ended["started"] is None and ended["participants"] == []


def test_the_last_to_leave_for_good_ends_the_call_and_the_room() -> None:
    world = Rooms()
    a, _ = world.join("alice", "team", roomPassword="pw")
    world.say(a, type="room-call-join")
    world.lobby.disconnect(a, clean=True)
    world.lobby.check()
    b, effects = world.join("bob", "team")  # a new room: no password, no call
    assert sent(effects, b)[0]["room"]["locked"] is False


def test_passwords_creator_set_right_wrong_missing() -> None:
    world = Rooms()
    world.join("alice", "team", roomPassword="s3cret")
    b, effects = world.join("bob", "team")
    assert errors(effects, b) == ["room-password-required"]
    b2, effects = world.join("bob", "team", roomPassword="nope")
    assert errors(effects, b2) == ["room-password-wrong"]
    assert world.lobby.room_of("bob") is None
    b3, effects = world.join("bob", "team", roomPassword="s3cret")
    assert sent(effects, b3)[0]["room"]["locked"] is True
    assert world.lobby.room_of("bob") == "team"


def test_wrong_passwords_are_rate_limited() -> None:
    world = Rooms()
    _a, _ = world.join("alice", "team", roomPassword="s3cret")
    c, _ = world.join("carol")
    codes = [errors(world.say(c, type="join-room", room="team", password="x"), c) for _ in range(7)]
    assert codes[0] == ["room-password-wrong"] and ["rate-limited"] in codes


def test_restricted_rooms() -> None:
    configured = Room("Board", lock("pw", 0, "", "The board", True), configured=True)
    world = Rooms(RoomBook([configured], restricted=True))
    a, effects = world.join("alice", "elsewhere")
    assert errors(effects, a) == ["no-such-room"]
    b, effects = world.join("bob", "board", roomPassword="pw")
    room = sent(effects, b)[0]["room"]
    assert (room["room"], room["title"], room["public"]) == ("Board", "The board", True)
    effects = world.say(b, type="list-rooms")
    assert sent(effects, b)[-1]["rooms"] == [{"room": "Board", "title": "The board", "count": 1}]


def test_switching_rooms_is_seen_by_both_rooms() -> None:
    world = Rooms()
    a, _ = world.join("alice", "team")
    b, _ = world.join("bob")
    world.lobby.flush_presence()
    effects = world.say(a, type="join-room", room="", title="ignored for the lobby")
    assert types(effects, a)[0] == "room"
    flushed = world.lobby.flush_presence()
    assert next(m for m in sent(flushed, b) if m["type"] == "presence")["joined"] == ["alice"]
    assert next(m for m in sent(flushed, a) if m["type"] == "userlist")["users"] == ["bob", "alice"]


def test_reference_clients_cannot_use_rooms_and_never_hear_of_them() -> None:
    world = Rooms()
    world.lobby.connect(99)
    world.lobby.receive(99, json.dumps({"type": "username", "name": "ref", "room": "team"}))
    assert world.lobby.room_of("ref") == ""
    effects = world.lobby.receive(99, json.dumps({"type": "join-room", "room": "team"}))
    assert errors(effects, 99) == ["bad-room"]
    a, _ = world.join("alice")
    effects = world.say(a, type="room-call-join")
    assert "room-call" in types(effects, a) and not sent(effects, 99)


def test_in_call_rules() -> None:
    world = Rooms()
    a, _ = world.join("alice")
    b, _ = world.join("bob")
    world.say(a, type="call-invite", target="bob")
    assert errors(world.say(a, type="join-room", room="x"), a) == ["in-call"]
    assert errors(world.say(a, type="room-call-join"), a) == ["in-call"]
    c, _ = world.join("carol")
    world.say(c, type="room-call-join")
    effects = world.say(b, type="call-invite", target="carol")
    assert (
        sent(effects, b)[-1]["type"] == "call-decline" and sent(effects, b)[-1]["reason"] == "busy"
    )
    assert errors(world.say(c, type="username", name="carol2", features=ROOMS), c) == ["in-call"]


def test_remote_settings_tie_break_is_the_earliest_opener() -> None:
    room = Room("team", RoomSettings(created=5, opener="bob"))
    room.adopt(RoomSettings(title="first", created=3, opener="alice"))
    room.adopt(RoomSettings(title="later", created=9, opener="carol"))
    assert room.settings.title == "first"


def test_a_room_call_participant_cannot_place_a_one_to_one_call() -> None:
    world = Rooms()
    a, _ = world.join("alice")
    b, _ = world.join("bob")
    world.say(a, type="room-call-join")
    effects = world.say(a, type="call-invite", target="bob")
    assert errors(effects, a) == ["in-call"] and not sent(effects, b)


def test_a_failed_room_call_link_is_counted_once_and_only_between_seated_people() -> None:
    world = Rooms()
    a, _ = world.join("alice", "team")
    b, _ = world.join("bob", "team")
    world.join("carol", "team")  # in the room, not in its call
    d, _ = world.join("dan", "elsewhere")
    world.say(a, type="room-call-join")
    world.say(b, type="room-call-join")
    world.say(d, type="room-call-join")

    def failures(conn: int, target: str, refused: bool = False) -> list[CountCall]:
        report = {"outcome": "failed", "reason": "credentials-refused"}
        effects = world.say(conn, type="call-report", target=target, **report)
        codes = [m["code"] for m in sent(effects, conn) if m["type"] == "error"]
        assert codes == (["not-in-call"] if refused else []), codes  # no call: nothing counted
        return [e for e in effects if isinstance(e, CountCall) and e.event == "failed"]

    assert failures(b, "alice") == [CountCall("failed", "credentials-refused")]
    assert failures(a, "carol", refused=True) == []  # carol holds no link to alice
    assert failures(a, "dan", refused=True) == []  # a call in another room
