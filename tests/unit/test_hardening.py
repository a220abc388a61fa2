"""The core's answers to issue 14's attacks (no sockets; tests/reliability attacks a server)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chinwag.core.auth import MAX_TOKEN_LIFETIME, Authenticator, issue_token, read_token
from chinwag.core.effects import Close, Forward
from chinwag.core.errors import ProtocolError
from chinwag.core.events import Deliver, Joined, ResumeRequest, UserRecord
from chinwag.core.limits import FailureBackoff, Rate
from chinwag.core.lobby import Lobby, Policy
from chinwag.core.names import name_key
from chinwag.core.protocol import clean_name, relayed
from tests.unit.test_lobby_sessions import FEATURES, World, sent, token_of
from tests.unit.test_protocol import relay_of

SECRET = "a-token-secret-long-enough-for-hs256"

ALIKE = ["alice", "Alice", "ALICE", "\uff41\uff4c\uff49\uff43\uff45", "\u0430lice", "alic\u0435"]


@pytest.mark.parametrize("name", ALIKE)
def test_names_people_cannot_tell_apart_share_a_key(name: str) -> None:
    assert name_key(name) == name_key("alice")


@pytest.mark.parametrize(
    ("look_alike", "name"),
    [("PauI", "Paul"), ("b0b", "bob"), ("BiII", "Bill"), ("aIice", "alice"), ("PIans", "Plans")],
)
def test_capital_i_and_zero_look_alikes_share_a_key(look_alike: str, name: str) -> None:
    # The skeleton maps "I" to "l" and "0" to "O": it must run before case folding.
    assert name_key(look_alike) == name_key(name)


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=16))
def test_the_name_key_is_a_fixed_point(name: str) -> None:
    key = name_key(name)
    assert name_key(key) == key


def test_different_names_keep_different_keys() -> None:
    names = ("alice", "alicia", "bob", "b\u00f6b", "\u674e\u96f7", "Paula", "plan")
    assert len({name_key(n) for n in names}) == len(names)


@pytest.mark.parametrize("invisible", ["\u200d", "\u200b", "\u2060", "\u3164", "\u115f", "\u00ad"])
def test_invisible_and_filler_characters_are_refused(invisible: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        clean_name(f"ali{invisible}ce")
    assert caught.value.code == "bad-name"
    assert f"U+{ord(invisible):04X}" in caught.value.message
    assert name_key(f"ali{invisible}ce") == name_key("alice")  # and the key ignores them anyway


def test_look_alike_names_are_numbered_and_targets_are_found_by_key() -> None:
    world = World()
    alice, _ = world.join("alice")
    for n, name in enumerate(ALIKE[1:], start=1):
        conn, effects = world.join(name)
        # Each is numbered past the look-alikes before it: "Alice1", then "ALICE2" ...
        assert sent(effects, conn)[0] == {
            "type": "rejectusername",
            "id": conn,
            "name": f"{name}{n}",
        }
        assert world.lobby.usernames()[n] == f"{name}{n}"
    bob, _ = world.join("bob")
    delivered = sent(world.say(bob, type="poke", target="ALICE"), alice)
    assert delivered == [{"type": "poke", "target": "ALICE", "name": "bob"}]
    world.lobby.check()


def test_a_new_spelling_of_ones_own_name_is_not_numbered() -> None:
    world = World()
    alice, _ = world.join("alice")
    world.say(alice, type="username", name="Alice")
    assert world.lobby.usernames() == ["Alice"]
    world.lobby.check()


def token_world(**policy: Any) -> World:
    return World(Policy(**policy), authenticator=Authenticator(token_secret=SECRET))


def token_for(world: World, name: str, ttl: float = 3600) -> str:
    return issue_token(SECRET, name, world.clock.now + ttl)


def test_a_token_name_takes_over_its_older_session_and_is_never_numbered() -> None:
    world = token_world()
    old, _ = world.join("bob", FEATURES, credential=token_for(world, "bob"))
    carol, _ = world.join("carol", FEATURES, credential=token_for(world, "carol"))
    world.say(carol, type="call-invite", target="bob")
    new, effects = world.join("bob", FEATURES, credential=token_for(world, "bob"))
    assert sent(effects, new)[0]["type"] == "signed-in"
    assert sent(effects, new)[0]["name"] == "bob"
    assert Close(old, 4001, "signed in elsewhere") in effects
    assert sent(effects, old)[0]["code"] == "name-taken"
    assert {"type": "hang-up", "name": "bob", "target": "carol", "reason": "gone"} in sent(
        effects, carol
    )
    assert world.lobby.usernames() == ["carol", "bob"]
    world.lobby.check()


def test_a_token_for_a_look_alike_of_a_listed_name_is_refused() -> None:
    world = token_world()
    world.join("bob", FEATURES, credential=token_for(world, "bob"))
    conn, effects = world.join("Bob", FEATURES, credential=token_for(world, "Bob"))
    error = sent(effects, conn)[0]
    assert (error["code"], error["target"]) == ("name-taken", "bob")
    assert world.lobby.usernames() == ["bob"]


def test_a_resume_after_the_token_expired_is_refused_and_ends_the_session() -> None:
    world = token_world(resume_grace=600.0)
    conn, effects = world.join("bob", FEATURES, credential=token_for(world, "bob", ttl=60))
    world.lobby.disconnect(conn, clean=False)
    world.clock.now += 61
    again = world.open()
    back = world.say(again, type="username", name="bob", resume=token_of(effects, conn))
    assert sent(back, again)[0]["code"] == "auth-expired"
    assert world.lobby.usernames() == []
    world.lobby.check()


def test_tokens_are_strict_and_bounded() -> None:
    token = issue_token(SECRET, "bob", 2_000_000_000)
    assert read_token(SECRET, token).name == "bob"
    for forged in (token + "!!", token + "=", token + " ", token.replace(".", "..", 1)):
        with pytest.raises(ProtocolError):
            read_token(SECRET, forged)
    far = issue_token(SECRET, "bob", 1000 + MAX_TOKEN_LIFETIME + 10)
    with pytest.raises(ProtocolError) as caught:
        Authenticator(token_secret=SECRET).check("bob", far, 1000)
    assert caught.value.code == "auth-failed"


def test_failed_passwords_per_address_back_off() -> None:
    world = World(authenticator=Authenticator(password="sesame"))

    def attempt(credential: str, address: str = "10.0.0.1") -> str:
        conn = world.next = world.next + 1
        world.lobby.connect(conn, address)
        reply = sent(world.say(conn, type="username", name="eve", credential=credential), conn)
        return str(reply[0].get("code", "ok")) if reply else "ok"

    assert [attempt("guess") for _ in range(3)] == ["auth-failed"] * 3  # free tries
    assert attempt("guess") == "auth-failed"  # the fourth starts a wait of 1 s
    assert attempt("sesame") == "rate-limited"  # even the right one waits
    assert attempt("sesame", "10.0.0.2") == "ok"  # another address is unaffected
    world.clock.now += 1.1
    assert attempt("guess") == "auth-failed"  # now 2 s
    world.clock.now += 1.1
    assert attempt("sesame") == "rate-limited"
    world.clock.now += 1.0
    assert attempt("sesame") == "ok"


def test_failure_backoff_is_bounded_in_keys() -> None:
    backoff = FailureBackoff(free=0, max_keys=100)
    for n in range(1000):
        backoff.failed(f"10.0.{n // 256}.{n % 256}", 0.0)
    assert len(backoff._failures) == 100
    assert backoff.wait("10.0.3.231", 0.5) > 0 and backoff.wait("10.0.0.0", 0.5) == 0


def test_held_frames_while_waiting_on_the_cluster_are_bounded() -> None:
    lobby = Lobby(Policy(held_frames=5, held_bytes=10_000), node="a", monotonic=lambda: 0.0)
    lobby.connect(1)
    lobby.receive(1, json.dumps({"type": "username", "name": "alice"}))  # a claim, unanswered
    replies = [lobby.receive(1, json.dumps({"type": "x", "n": n})) for n in range(50)]
    errors = [e for effects in replies for e in effects]
    assert len(errors) == 1 and b'"rate-limited"' in errors[0].payload
    member = lobby._directory.at(1)
    assert member is not None and member.pending is not None
    assert len(member.pending.held) == 5


def test_a_resume_token_naming_a_node_with_no_users_is_answered_at_once() -> None:
    lobby = Lobby(node="a", monotonic=lambda: 0.0)
    lobby.connect(1)
    resume = {"type": "username", "name": "alice", "features": FEATURES, "resume": "ghost.x"}
    effects = lobby.receive(1, json.dumps(resume))
    assert not [e for e in effects if isinstance(e, Forward)]  # no wait on a dead node
    assert [type(e).__name__ for e in effects] == ["Claim"]  # a fresh sign-in at once
    signed_in = lobby.claimed(1, "alice", True)
    assert b'"bad-resume"' in b"".join(getattr(e, "payload", b"") for e in signed_in)


def test_broadcasts_are_capped_in_size_and_in_bytes_times_recipients() -> None:
    world = World(Policy(broadcast_max_bytes=1000, broadcast_rate=Rate(10_000, 10_000)))
    alice, _ = world.join("alice")
    others = [world.join(f"user{n}")[0] for n in range(9)]
    big = sent(world.say(alice, type="shout", pad="x" * 1000), alice)
    assert big[0]["code"] == "broadcast-too-large"
    codes = []
    for _ in range(5):  # about 500 bytes x 10 users = 5,000 each: the second empties the bucket
        replies = sent(world.say(alice, type="shout", pad="x" * 450), alice)
        codes.append(replies[0].get("code", replies[0]["type"]))
    assert codes[:2] == ["shout", "shout"] and "rate-limited" in codes
    assert sent(world.say(alice, type="poke", target="user0", pad="x" * 2000), others[0])


def test_a_broadcast_costs_by_the_people_in_the_senders_room_not_the_whole_server() -> None:
    world = World(Policy(broadcast_max_bytes=1000, broadcast_rate=Rate(10_000, 10_000)))
    rooms = [*FEATURES, "rooms"]
    alice, _ = world.join("alice", rooms, room="duo")
    world.join("bob", rooms, room="duo")
    for n in range(20):  # a crowd elsewhere: they never receive alice's broadcasts
        world.join(f"user{n}", rooms)
    # About 450 bytes x 2 people = 900 a message: ten fit in the 10,000 burst.
    # Counted against all 22 users, the second would already be refused.
    codes = []
    for _ in range(8):
        replies = sent(world.say(alice, type="shout", pad="x" * 400), alice)
        codes.append(replies[0].get("code", replies[0]["type"]))
    assert codes == ["shout"] * 8


def test_server_owned_fields_are_stripped_from_every_relayed_message() -> None:
    forged = relay_of('{"type": "shout", "seq": 999999, "name": "alice"}')
    assert json.loads(relayed(forged, "alice")) == {"type": "shout", "name": "alice"}
    targeted = relay_of('{"type": "poke", "target": "bob", "seq": 5}')
    assert json.loads(relayed(targeted, "alice")) == {
        "type": "poke",
        "target": "bob",
        "name": "alice",
    }


def test_a_forged_seq_on_a_broadcast_cannot_spoil_a_receivers_numbering() -> None:
    world = World()
    alice, _ = world.join("alice", ["seq", *FEATURES])
    bob, _ = world.join("bob", FEATURES)
    [shout] = [
        m for m in sent(world.say(bob, type="shout", seq=10**9), alice) if m["type"] == "shout"
    ]
    assert "seq" not in shout
    [poke] = sent(world.say(bob, type="poke", target="alice", seq=10**9), alice)
    assert poke["seq"] < 100


def test_a_message_the_bus_could_not_carry_comes_back_unavailable() -> None:
    lobby = Lobby(node="a", monotonic=lambda: 0.0)
    lobby.connect(1)
    lobby.receive(1, json.dumps({"type": "username", "name": "alice"}))
    lobby.claimed(1, "alice", True)
    lobby.bus_event(Joined(UserRecord("bob", "b")))
    effects = lobby.receive(1, json.dumps({"type": "poke", "target": "bob"}))
    [forward] = [e for e in effects if isinstance(e, Forward)]
    assert isinstance(forward.event, Deliver)
    back = lobby.undelivered("b", forward.event)
    [error] = [json.loads(e.payload) for e in back]
    assert (error["code"], error["target"], error["for"]) == ("unavailable", "bob", "poke")
    lobby.connect(2)
    lobby.receive(2, json.dumps({"type": "username", "name": "x", "resume": "b.t"}))
    refused = lobby.undelivered("b", ResumeRequest("b.t", "a", 2))
    assert [type(e).__name__ for e in refused] == ["Claim"]  # the wait ended: a fresh sign-in


def test_a_token_taking_over_a_session_in_a_room_call_frees_its_seat_and_room() -> None:
    """Found by the property test: the older session's room stayed open, empty, with a call."""
    world = token_world()
    rooms = [*FEATURES, "rooms"]
    old, _ = world.join("bob", rooms, credential=token_for(world, "bob"), room="team")
    world.say(old, type="room-call-join")
    assert world.lobby.in_room_call("bob")
    _, effects = world.join("bob", rooms, credential=token_for(world, "bob"))
    assert Close(old, 4001, "signed in elsewhere") in effects
    assert world.lobby.room_of("bob") == "" and not world.lobby.in_room_call("bob")
    assert world.lobby.public_rooms() == ([], 0)
    world.lobby.check()
