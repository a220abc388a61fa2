"""The lobby's rules, tested by calling it: no sockets, no event loop."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chinwag.core.effects import Close, Send
from chinwag.core.lobby import Lobby

FEATURES = ["deltas", "ringing", "plain-text"]


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def sent(effects: list[Any], conn: int) -> list[dict[str, Any]]:
    """Messages the effects deliver to ``conn``, decoded, in order."""
    out = []
    for effect in effects:
        if isinstance(effect, Send) and conn in effect.conns:
            out.append(json.loads(effect.payload))
    return out


def types(effects: list[Any], conn: int) -> list[str]:
    return [m["type"] for m in sent(effects, conn)]


class World:
    """A lobby plus helpers to sign people in."""

    def __init__(self) -> None:
        self.lobby = Lobby(clock=lambda: 1_700_000_000.5)
        self.next = 0

    def join(self, name: str, features: list[str] | None = None) -> int:
        self.next += 1
        conn = self.next
        self.lobby.connect(conn)
        message: dict[str, Any] = {"type": "username", "name": name}
        if features:
            message["features"] = features
        self.lobby.receive(conn, json.dumps(message))
        return conn

    def say(self, conn: int, **fields: Any) -> list[Any]:
        return self.lobby.receive(conn, json.dumps(fields))


@pytest.fixture
def world() -> World:
    return World()


def test_connect_greets_with_id(world: World) -> None:
    effects = world.lobby.connect(42)
    assert sent(effects, 42) == [{"type": "id", "id": 42}]


def test_sign_in_then_one_userlist_for_everyone(world: World) -> None:
    a = world.join("alice")
    b = world.join("bob")
    effects = world.lobby.flush_presence()
    expected = {"type": "userlist", "users": ["alice", "bob"]}
    assert sent(effects, a) == [expected]
    assert sent(effects, b) == [expected]
    assert not world.lobby.presence_pending


def test_presence_is_coalesced_until_flush(world: World) -> None:
    a = world.join("alice")
    world.lobby.flush_presence()
    for name in ("b", "c", "d"):
        world.join(name)
    assert world.lobby.presence_pending
    effects = world.lobby.flush_presence()
    assert sent(effects, a) == [{"type": "userlist", "users": ["alice", "b", "c", "d"]}]
    assert world.lobby.flush_presence() == []


def test_taken_name_gets_number_and_rejectusername(world: World) -> None:
    world.join("alice")
    world.lobby.connect(9)
    effects = world.say(9, type="username", name="alice")
    assert sent(effects, 9) == [{"type": "rejectusername", "id": 9, "name": "alice1"}]
    assert world.lobby.usernames() == ["alice", "alice1"]


def test_numbered_name_stays_within_32_characters(world: World) -> None:
    long = "x" * 32
    world.join(long)
    world.lobby.connect(9)
    effects = world.say(9, type="username", name=long)
    assigned = sent(effects, 9)[0]["name"]
    assert assigned == "x" * 31 + "1"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "x" * 33,
        "<b>",
        "a&b",
        'say"hi',
        "it's",
        "tab\there",
        "n\nl",
        "bell\x07",
        12,
        None,
    ],
)
def test_invalid_names_are_refused(world: World, name: Any) -> None:
    world.lobby.connect(1)
    effects = world.say(1, type="username", name=name)
    [error] = sent(effects, 1)
    assert error["type"] == "error" and error["code"] == "bad-name"
    assert world.lobby.usernames() == []


def test_name_is_trimmed(world: World) -> None:
    world.join("  alice  ")
    assert world.lobby.usernames() == ["alice"]


def test_only_username_before_sign_in(world: World) -> None:
    world.lobby.connect(1)
    for message in ({"type": "message", "text": "hi"}, {"type": "video-offer", "target": "x"}):
        [error] = sent(world.say(1, **message), 1)
        assert error["code"] == "not-signed-in"
        assert error["for"] == message["type"]


def test_rename_updates_list_and_keeps_order(world: World) -> None:
    a = world.join("alice")
    world.join("bob")
    world.lobby.flush_presence()
    world.say(a, type="username", name="alicia")
    effects = world.lobby.flush_presence()
    assert sent(effects, a) == [{"type": "userlist", "users": ["bob", "alicia"]}]


def test_rename_to_same_name_is_a_no_op(world: World) -> None:
    a = world.join("alice")
    world.lobby.flush_presence()
    assert world.say(a, type="username", name="alice") == []
    assert not world.lobby.presence_pending


def test_chat_goes_to_everyone_with_server_name_date_and_id(world: World) -> None:
    a = world.join("alice")
    b = world.join("bob")
    effects = world.say(a, type="message", text="hello", name="mallory", id=99, date=5)
    expected = {
        "type": "message",
        "name": "alice",
        "id": a,
        "date": 1_700_000_000_500,
        "text": "hello",
    }
    assert sent(effects, a) == [expected]
    assert sent(effects, b) == [expected]


def test_chat_html_is_stripped_and_escaped_for_reference_clients(world: World) -> None:
    a = world.join("alice")
    plain = world.join("bob", FEATURES)
    text = "<b>hi</b> <img src=x onerror=alert(1)"
    effects = world.say(a, type="message", text=text)
    assert sent(effects, a)[0]["text"] == "hi &lt;img src=x onerror=alert(1)"
    assert sent(effects, plain)[0]["text"] == text


def test_chat_length_limit(world: World) -> None:
    a = world.join("alice")
    [error] = sent(world.say(a, type="message", text="x" * 2001), a)
    assert error["code"] == "text-too-long"
    assert sent(world.say(a, type="message", text="x" * 2000), a)[0]["type"] == "message"


def test_relay_sets_name_and_goes_to_target_only(world: World) -> None:
    a = world.join("alice")
    b = world.join("bob")
    c = world.join("carol")
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}
    effects = world.say(a, type="new-ice-candidate", target="bob", candidate=candidate)
    assert sent(effects, b) == [
        {"type": "new-ice-candidate", "target": "bob", "candidate": candidate, "name": "alice"}
    ]
    assert sent(effects, a) == [] and sent(effects, c) == []


def test_relay_overwrites_forged_name(world: World) -> None:
    a = world.join("alice")
    b = world.join("bob")
    effects = world.say(a, type="video-offer", target="bob", name="carol", sdp={"type": "offer"})
    assert sent(effects, b)[0]["name"] == "alice"


def test_untargeted_relay_is_broadcast(world: World) -> None:
    a = world.join("alice")
    b = world.join("bob")
    effects = world.say(a, type="wave", target="")
    assert types(effects, a) == ["wave"] and types(effects, b) == ["wave"]


def test_target_not_online_gets_no_such_user(world: World) -> None:
    a = world.join("alice")
    [error] = sent(world.say(a, type="video-offer", target="ghost"), a)
    assert error == {
        "type": "error",
        "code": "no-such-user",
        "message": "ghost is not online; the video-offer was not delivered.",
        "for": "video-offer",
        "target": "ghost",
    }


@pytest.mark.parametrize("kind", ["id", "userlist", "rejectusername", "error", "presence"])
def test_server_types_cannot_be_relayed(world: World, kind: str) -> None:
    a = world.join("alice")
    b = world.join("bob")
    effects = world.say(a, type=kind, target="bob", users=["<img>"])
    assert sent(effects, b) == []
    assert sent(effects, a)[0]["code"] == "bad-type"


def test_deltas_client_gets_full_list_then_deltas(world: World) -> None:
    world.join("alice")
    d = world.join("dora", FEATURES)
    effects = world.lobby.flush_presence()
    assert sent(effects, d) == [{"type": "userlist", "users": ["alice", "dora"], "busy": []}]
    world.join("eve")
    e = world.lobby.flush_presence()
    assert sent(e, d) == [
        {"type": "presence", "joined": ["eve"], "left": [], "renamed": [], "busy": [], "idle": []}
    ]


def test_deltas_net_out_within_an_interval(world: World) -> None:
    d = world.join("dora", FEATURES)
    a = world.join("alice")
    world.lobby.flush_presence()
    world.say(a, type="username", name="alicia")  # rename ...
    world.lobby.disconnect(a)  # ... then leave: only the leave of "alice" is news
    world.join("ghost")
    gone = world.join("brief")
    world.lobby.disconnect(gone)  # joined and left within the interval: no news
    effects = world.lobby.flush_presence()
    assert sent(effects, d) == [
        {
            "type": "presence",
            "joined": ["ghost"],
            "left": ["alice"],
            "renamed": [],
            "busy": [],
            "idle": [],
        }
    ]


def test_deltas_report_renames(world: World) -> None:
    d = world.join("dora", FEATURES)
    a = world.join("alice")
    world.lobby.flush_presence()
    world.say(a, type="username", name="alicia")
    effects = world.lobby.flush_presence()
    assert sent(effects, d)[0]["renamed"] == [["alice", "alicia"]]


def call(world: World, caller: int, callee: int, callee_name: str, caller_name: str) -> None:
    world.say(caller, type="call-invite", target=callee_name)
    world.say(callee, type="call-accept", target=caller_name)


def test_accepted_call_marks_both_busy_and_hang_up_frees_them(world: World) -> None:
    d = world.join("dora", FEATURES)
    a = world.join("alice", FEATURES)
    b = world.join("bob", FEATURES)
    world.lobby.flush_presence()
    call(world, a, b, "bob", "alice")
    assert world.lobby.is_busy("alice") and world.lobby.is_busy("bob")
    effects = world.lobby.flush_presence()
    assert sent(effects, d)[0]["busy"] == ["alice", "bob"]
    world.say(b, type="hang-up", target="alice")
    assert not world.lobby.is_busy("alice") and not world.lobby.is_busy("bob")
    assert sent(world.lobby.flush_presence(), d)[0]["idle"] == ["alice", "bob"]


def test_reference_offer_and_answer_also_mark_a_call(world: World) -> None:
    a = world.join("alice")
    b = world.join("bob")
    world.say(a, type="video-offer", target="bob", sdp={})
    assert not world.lobby.is_busy("alice")
    world.say(b, type="video-answer", target="alice", sdp={})
    assert world.lobby.partner_of("alice") == "bob" and world.lobby.is_busy("bob")


def test_disconnect_hangs_up_the_partner(world: World) -> None:
    a = world.join("alice", FEATURES)
    b = world.join("bob", FEATURES)
    call(world, a, b, "bob", "alice")
    effects = world.lobby.disconnect(a)
    assert sent(effects, b) == [
        {"type": "hang-up", "name": "alice", "target": "bob", "reason": "gone"}
    ]
    assert world.lobby.partner_of("bob") is None


def test_disconnect_while_ringing_cancels_the_prompt(world: World) -> None:
    a = world.join("alice", FEATURES)
    b = world.join("bob", FEATURES)
    world.say(a, type="call-invite", target="bob")
    assert types(world.lobby.disconnect(a), b) == ["hang-up"]


def test_callee_vanishing_while_ringing_tells_the_caller(world: World) -> None:
    a = world.join("alice", FEATURES)
    b = world.join("bob", FEATURES)
    world.say(a, type="call-invite", target="bob")
    assert sent(world.lobby.disconnect(b), a)[0]["name"] == "bob"
    assert world.lobby.partner_of("alice") is None


def test_server_accepts_invite_for_reference_client(world: World) -> None:
    a = world.join("alice", FEATURES)
    ref = world.join("ref")
    effects = world.say(a, type="call-invite", target="ref")
    assert sent(effects, ref) == []
    assert sent(effects, a) == [
        {"type": "call-accept", "name": "ref", "target": "alice", "auto": True}
    ]


def test_server_declines_busy_reference_client(world: World) -> None:
    a = world.join("alice", FEATURES)
    ref = world.join("ref")
    c = world.join("carol")
    world.say(c, type="video-offer", target="ref", sdp={})
    world.say(ref, type="video-answer", target="carol", sdp={})
    effects = world.say(a, type="call-invite", target="ref")
    assert sent(effects, a)[0] == {
        "type": "call-decline",
        "name": "ref",
        "target": "alice",
        "reason": "busy",
    }


def test_rename_mid_call_is_refused(world: World) -> None:
    a = world.join("alice", FEATURES)
    b = world.join("bob", FEATURES)
    call(world, a, b, "bob", "alice")
    [error] = sent(world.say(a, type="username", name="alicia"), a)
    assert error["code"] == "in-call" and world.lobby.usernames() == ["alice", "bob"]
    assert world.lobby.partner_of("bob") == "alice"
    world.lobby.check()


def test_rename_while_ringing_is_refused(world: World) -> None:
    a = world.join("alice", FEATURES)
    b = world.join("bob", FEATURES)
    world.say(a, type="call-invite", target="bob")
    assert types(world.say(b, type="username", name="bobby"), b) == ["error"]
    assert world.lobby.partner_of("alice") == "bob"


def test_call_connected_marks_the_call_active_and_reaches_the_partner(world: World) -> None:
    a = world.join("alice", FEATURES)
    b = world.join("bob", FEATURES)
    call(world, a, b, "bob", "alice")
    effects = world.say(a, type="call-connected", target="bob")
    assert sent(effects, b) == [{"type": "call-connected", "name": "alice", "target": "bob"}]
    assert world.lobby.is_busy("alice") and world.lobby.active_calls() == 1


def test_call_connected_outside_a_call_is_refused(world: World) -> None:
    a = world.join("alice", FEATURES)
    b = world.join("bob", FEATURES)
    effects = world.say(a, type="call-connected", target="bob")
    assert sent(effects, b) == []
    [error] = sent(effects, a)
    assert error["code"] == "not-in-call" and error["target"] == "bob"


def test_unknown_connection_is_ignored(world: World) -> None:
    assert world.lobby.receive(404, "{}") == []
    assert world.lobby.disconnect(404) == []


def test_no_close_effects_from_normal_traffic(world: World) -> None:
    a = world.join("alice")
    effects = world.say(a, type="message", text="x")
    assert not any(isinstance(e, Close) for e in effects)
