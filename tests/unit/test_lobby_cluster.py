"""Two lobbies as two nodes, joined by a hand-run router (no sockets, no bus)."""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

import pytest

from chinwag.core.auth import Authenticator, issue_token
from chinwag.core.effects import (
    Adopt,
    Claim,
    ClaimRoom,
    ClaimSeat,
    Close,
    CountCall,
    Effect,
    Forward,
    HandOver,
    Moderated,
    Publish,
    Release,
    ReleaseRoom,
    ReleaseSeat,
    RoomEvent,
    Send,
    UpdateRecord,
)
from chinwag.core.events import (
    Deliver,
    Joined,
    NamesLost,
    NodeGone,
    NodeUsers,
    RoomSettings,
    UserRecord,
)
from chinwag.core.lobby import Lobby
from chinwag.core.names import name_key
from chinwag.core.routing import MAX_HOPS

FEATURES = ["deltas", "ringing", "plain-text"]


class Cluster:
    """Routes each node's cluster effects to the other, recording what clients get."""

    def __init__(self, authenticator: Authenticator | None = None) -> None:
        self.now = 1000.0
        self.nodes = {
            n: Lobby(node=n, monotonic=lambda: self.now, authenticator=authenticator)
            for n in ("a", "b")
        }
        self.closed: list[tuple[str, Close]] = []
        self.mute: set[str] = set()  # nodes whose events go nowhere (a dead node)
        self.names: dict[str, str] = {}  # the shared store: name -> node
        self.seats: dict[str, set[str]] = {}  # the shared store: room key -> seated names
        self.inbox: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.next = 0
        self.held_claims: list[tuple[str, Claim]] = []
        self.hold = False
        #: The shared store's room claims: room key -> settings, the nodes holding them.
        self.rooms: dict[str, tuple[RoomSettings, set[str]]] = {}
        self.held_room_claims: list[tuple[str, ClaimRoom]] = []
        self.hold_rooms = False  # room claims wait in held_room_claims

    def run(self, node: str, effects: list[Effect]) -> None:
        queue: deque[tuple[str, Effect]] = deque((node, e) for e in effects)
        while queue:
            node, effect = queue.popleft()
            follow: list[Effect] = []
            if isinstance(effect, Send):
                for conn in effect.conns:
                    self.inbox.setdefault((node, conn), []).append(json.loads(effect.payload))
            elif isinstance(effect, Claim):
                if self.hold:
                    self.held_claims.append((node, effect))
                    continue
                follow = self.answer_claim(node, effect)
            elif isinstance(effect, Release):
                if self.names.get(effect.name) == node:
                    del self.names[effect.name]
            elif isinstance(effect, Publish):
                for other, other_lobby in self.nodes.items():
                    if other != node:
                        queue.extend((other, e) for e in other_lobby.bus_event(effect.event))
            elif isinstance(effect, Forward):
                if effect.node in self.mute:
                    continue
                queue.extend(
                    (effect.node, e) for e in self.nodes[effect.node].bus_event(effect.event)
                )
            elif isinstance(effect, HandOver):
                assert self.names.get(effect.record.name) == node
                self.names[effect.record.name] = effect.record.node
            elif isinstance(effect, UpdateRecord):
                self.store_spelling(node, effect.record.name)
            elif isinstance(effect, Close):
                self.closed.append((node, effect))
            elif isinstance(effect, ClaimSeat):
                seats = self.seats.setdefault(effect.room, set())
                ok = effect.name in seats or len(seats) < effect.cap
                if ok:
                    seats.add(effect.name)
                follow = self.nodes[node].seat_claimed(effect.conn, effect.room, effect.name, ok)
            elif isinstance(effect, ReleaseSeat):
                self.seats.get(effect.room, set()).discard(effect.name)
            elif isinstance(effect, ClaimRoom):
                if self.hold_rooms:
                    self.held_room_claims.append((node, effect))
                    continue
                follow = self.answer_room_claim(node, effect)
            elif isinstance(effect, ReleaseRoom):
                _, holders = self.rooms.get(effect.room, (None, set()))
                holders.discard(node)
                if not holders:
                    self.rooms.pop(effect.room, None)
            else:
                assert isinstance(effect, Adopt | CountCall | Moderated | RoomEvent)  # observers
            queue.extend((node, e) for e in follow)

    def answer_room_claim(
        self, node: str, claim: ClaimRoom, unavailable: bool = False
    ) -> list[Effect]:
        """Answer as the buses do: the first live holder's settings win (``unavailable``:
        as if the store could not be reached)."""
        if unavailable:
            return self.nodes[node].room_claimed(claim.conn, claim.room, None)
        settings, holders = self.rooms.get(claim.room, (claim.settings, set()))
        holders = {n for n in holders if n not in self.mute}  # a dead node holds nothing
        if not holders:
            settings = claim.settings
        self.rooms[claim.room] = (settings, holders | {node})
        return self.nodes[node].room_claimed(claim.conn, claim.room, settings)

    def holder_of(self, name: str) -> str | None:
        """The stored name spelled like ``name`` (the buses claim by name_key)."""
        return next((n for n in self.names if name_key(n) == name_key(name)), None)

    def store_spelling(self, node: str, name: str) -> None:
        """An UpdateRecord may carry a new spelling of a name ``node`` holds."""
        held = self.holder_of(name)
        if held is not None and held != name and self.names[held] == node:
            self.names[name] = self.names.pop(held)

    def answer_claim(self, node: str, claim: Claim) -> list[Effect]:
        name = claim.record.name
        ok = self.holder_of(name) is None
        if ok:
            self.names[name] = node
        return self.nodes[node].claimed(claim.conn, name, ok)

    def join(self, node: str, name: str, features: list[str] | None = None, **extra: Any) -> int:
        self.next += 1
        conn = self.next
        self.run(node, self.nodes[node].connect(conn))
        message = {"type": "username", "name": name, "features": features or [], **extra}
        self.run(node, self.nodes[node].receive(conn, json.dumps(message)))
        return conn

    def resume(self, node: str, name: str, token: str, **extra: Any) -> int:
        """A new connection on ``node`` that signs in with a resume token; returns it."""
        self.next += 1
        conn = self.next
        self.run(node, self.nodes[node].connect(conn))
        hello = {"type": "username", "name": name, "resume": token, **extra}
        self.run(node, self.nodes[node].receive(conn, json.dumps(hello)))
        return conn

    def say(self, node: str, conn: int, **fields: Any) -> None:
        self.run(node, self.nodes[node].receive(conn, json.dumps(fields)))

    def got(self, node: str, conn: int) -> list[dict[str, Any]]:
        return self.inbox.pop((node, conn), [])

    def flush(self) -> None:
        for node, lobby in self.nodes.items():
            self.run(node, lobby.flush_presence())


def test_users_on_two_nodes_see_each_other_and_chat_once() -> None:
    c = Cluster()
    alice = c.join("a", "alice")
    bob = c.join("b", "bob", FEATURES)
    c.flush()
    assert c.got("a", alice)[-1] == {"type": "userlist", "users": ["alice", "bob"]}
    assert c.got("b", bob)[-1] == {"type": "userlist", "users": ["alice", "bob"], "busy": []}
    c.say("a", alice, type="message", text="hi <b>bob</b>")
    assert [m["text"] for m in c.got("b", bob)] == ["hi <b>bob</b>"]
    assert [m["text"] for m in c.got("a", alice)] == ["hi bob"]


def test_name_is_unique_across_nodes() -> None:
    c = Cluster()
    c.join("a", "sam")
    other = c.join("b", "sam")
    assert c.got("b", other)[1] == {"type": "rejectusername", "id": other, "name": "sam1"}
    assert sorted(c.names) == ["sam", "sam1"]


def test_simultaneous_claims_of_one_name() -> None:
    c = Cluster()
    c.hold = True
    first = c.join("a", "zoe")
    second = c.join("b", "zoe")
    c.hold = False
    for node, claim in c.held_claims:
        c.run(node, c.answer_claim(node, claim))
    names = {c.nodes["a"].name_of(first), c.nodes["b"].name_of(second)}
    assert names == {"zoe", "zoe1"}


def test_frames_sent_while_claiming_are_handled_after_it() -> None:
    c = Cluster()
    bob = c.join("b", "bob")
    c.hold = True
    alice = c.join("a", "alice")
    c.say("a", alice, type="message", text="first words")
    c.hold = False
    for node, claim in c.held_claims:
        c.run(node, c.answer_claim(node, claim))
    assert [m.get("text") for m in c.got("b", bob) if m["type"] == "message"] == ["first words"]


def test_targeted_message_crosses_nodes_with_the_senders_name() -> None:
    c = Cluster()
    alice = c.join("a", "alice")
    bob = c.join("b", "bob")
    c.got("b", bob)
    c.say("a", alice, type="video-offer", target="bob", name="eve", sdp={"type": "offer"})
    assert c.got("b", bob) == [
        {"type": "video-offer", "target": "bob", "name": "alice", "sdp": {"type": "offer"}}
    ]


def test_call_across_nodes_marks_busy_and_node_loss_hangs_up() -> None:
    c = Cluster()
    alice = c.join("a", "alice", FEATURES)
    bob = c.join("b", "bob", FEATURES)
    c.say("a", alice, type="call-invite", target="bob")
    c.say("b", bob, type="call-accept", target="alice")
    assert c.nodes["a"].is_busy("bob") and c.nodes["b"].is_busy("alice")
    c.got("a", alice)
    c.run("a", c.nodes["a"].bus_event(NodeGone("b")))
    assert {"type": "hang-up", "name": "bob", "target": "alice", "reason": "gone"} in c.got(
        "a", alice
    )
    assert c.nodes["a"].usernames() == ["alice"]


def test_leaving_user_is_removed_on_the_other_node() -> None:
    c = Cluster()
    c.join("a", "alice")
    bob = c.join("b", "bob")
    c.run("b", c.nodes["b"].disconnect(bob))
    assert c.nodes["a"].usernames() == ["alice"] and "bob" not in c.names


def test_message_to_user_who_left_meanwhile_comes_back_as_error() -> None:
    c = Cluster()
    alice = c.join("a", "alice")
    bob = c.join("b", "bob")
    c.nodes["b"].disconnect(bob)  # bob left b; its Left event never reached a
    c.got("a", alice)
    c.say("a", alice, type="hang-up", target="bob")
    [error] = c.got("a", alice)
    assert error["code"] == "no-such-user" and error["target"] == "bob"


@pytest.mark.parametrize("new", ["alicia", "Alice"])  # "Alice": a new spelling, one claim
def test_rename_crosses_nodes(new: str) -> None:
    c = Cluster()
    alice = c.join("a", "alice")
    bob = c.join("b", "bob", FEATURES)
    c.flush()
    c.got("b", bob)
    c.say("a", alice, type="username", name=new)
    c.flush()
    assert c.nodes["a"].name_of(alice) == new
    assert c.got("b", bob)[-1]["renamed"] == [["alice", new]]
    assert c.names == {new: "a", "bob": "b"}  # no Release of "alice" freed a respelled key
    taker = c.join("b", new.upper())
    assert c.nodes["b"].name_of(taker) == f"{new.upper()}1"


def test_node_users_replaces_what_is_known_of_that_node_only() -> None:
    c = Cluster()
    alice = c.join("a", "alice", FEATURES)
    c.join("b", "bob")
    lobby = c.nodes["a"]
    lobby.bus_event(Joined(UserRecord("carol", "c")))
    c.run("a", lobby.bus_event(NodeUsers("b", (UserRecord("dave", "b"),))))
    assert lobby.usernames() == ["alice", "carol", "dave"]  # bob gone, carol (node c) kept
    c.got("a", alice)


def test_names_lost_signs_the_local_user_out() -> None:
    c = Cluster()
    alice = c.join("a", "alice")
    effects = c.nodes["a"].bus_event(NamesLost(("alice",)))
    assert Close(alice, 4002, "name taken elsewhere") in effects
    c.run("a", effects)
    assert c.got("a", alice)[-1]["code"] == "unavailable"
    assert c.nodes["a"].usernames() == []


def resume_token(c: Cluster, node: str, conn: int) -> str:
    return next(m["resume"] for m in c.got(node, conn) if m["type"] == "signed-in")


def test_a_session_resumes_on_another_node_with_its_name_calls_and_messages() -> None:
    c = Cluster()
    alice = c.join("a", "alice", FEATURES)
    token = resume_token(c, "a", alice)
    assert token.startswith("a.")
    bob = c.join("b", "bob", FEATURES)
    c.say("a", alice, type="call-invite", target="bob")
    c.say("b", bob, type="call-accept", target="alice")
    c.flush()
    c.run("a", c.nodes["a"].disconnect(alice, clean=False))  # parked on a
    c.say("b", bob, type="new-ice-candidate", target="alice", candidate={"n": 1})
    c.got("b", bob)
    back = c.resume("b", "alice", token, features=FEATURES)
    messages = c.got("b", back)
    welcome = next(m for m in messages if m["type"] == "signed-in")
    assert welcome["name"] == "alice" and welcome["resumed"] is True
    assert welcome["resume"].startswith("b.")
    assert [m["candidate"] for m in messages if m["type"] == "new-ice-candidate"] == [{"n": 1}]
    assert c.names["alice"] == "b"
    assert c.nodes["b"].partner_of("alice") == "bob" and c.nodes["b"].is_busy("alice")
    c.flush()
    assert not any(m["type"] == "presence" and m["left"] for m in c.got("b", bob))
    # Calls keep working, now between two users of node b.
    c.say("b", bob, type="hang-up", target="alice")
    assert any(m["type"] == "hang-up" for m in c.got("b", back))


def test_an_ended_session_on_another_node_signs_in_afresh() -> None:
    c = Cluster()
    alice = c.join("a", "alice", FEATURES)
    token = resume_token(c, "a", alice)
    c.run("a", c.nodes["a"].disconnect(alice, clean=True))  # gone for good
    back = c.resume("b", "alice", token, features=FEATURES)
    messages = c.got("b", back)
    assert [m.get("code") for m in messages if m["type"] == "error"] == ["bad-resume"]
    assert next(m for m in messages if m["type"] == "signed-in")["name"] == "alice"


def test_a_silent_node_does_not_hold_a_sign_in_forever() -> None:
    c = Cluster()
    alice = c.join("a", "alice", FEATURES)
    token = resume_token(c, "a", alice)
    c.mute.add("a")
    back = c.resume("b", "carol", token, features=FEATURES)
    c.say("b", back, type="message", text="waiting")  # held until the sign-in settles
    assert [m["type"] for m in c.got("b", back)] == ["id"]
    c.now += 3.5
    c.run("b", c.nodes["b"].expire())
    messages = c.got("b", back)
    assert [m["type"] for m in messages][:3] == ["signed-in", "ice-servers", "error"]
    assert messages[0]["name"] == "carol" and messages[2]["code"] == "bad-resume"
    assert any(m["type"] == "message" and m["text"] == "waiting" for m in messages)


def test_a_handed_over_session_keeps_its_seq_and_what_was_missed() -> None:
    c = Cluster()
    seq_features = [*FEATURES, "seq"]
    alice = c.join("a", "alice", seq_features)
    token = resume_token(c, "a", alice)
    bob = c.join("b", "bob", FEATURES)
    for n in range(3):
        c.say("b", bob, type="new-ice-candidate", target="alice", candidate={"n": n})
    c.run("a", c.nodes["a"].disconnect(alice, clean=False))
    back = c.resume("b", "alice", token, seq=1, features=[])
    got = [m for m in c.got("b", back) if m["type"] == "new-ice-candidate"]
    assert [m["seq"] for m in got] == [2, 3]
    c.say("b", bob, type="new-ice-candidate", target="alice")
    assert [m["seq"] for m in c.got("b", back)] == [4]


def test_look_alike_names_are_one_name_across_nodes() -> None:
    c = Cluster()
    c.hold = True  # neither node has heard of the other's user yet
    first = c.join("a", "alice")
    second = c.join("b", "\u0430lice")  # U+0430, a Cyrillic "a"
    c.hold = False
    for node, claim in c.held_claims:
        c.run(node, c.answer_claim(node, claim))
    assert c.nodes["a"].name_of(first) == "alice"
    assert c.nodes["b"].name_of(second) == "\u0430lice1"


SECRET = "a-token-secret-long-enough-for-hs256"


def token(name: str) -> str:
    return issue_token(SECRET, name, time.time() + 3600)


def test_a_token_on_another_node_takes_the_older_session_over() -> None:
    c = Cluster(Authenticator(token_secret=SECRET))
    old = c.join("a", "bob", FEATURES, credential=token("bob"))
    carol = c.join("b", "carol", FEATURES, credential=token("carol"))
    c.say("b", carol, type="call-invite", target="bob")
    c.flush()
    c.got("b", carol)
    new = c.join("b", "bob", FEATURES, credential=token("bob"))
    welcome = next(m for m in c.got("b", new) if m["type"] in ("signed-in", "error"))
    assert (welcome["type"], welcome["name"]) == ("signed-in", "bob"), welcome
    assert ("a", Close(old, 4001, "signed in elsewhere")) in c.closed
    assert c.got("a", old)[-1]["code"] == "name-taken"
    hang_up = {"type": "hang-up", "name": "bob", "target": "carol", "reason": "gone"}
    assert hang_up in c.got("b", carol)
    assert c.names == {"bob": "b", "carol": "b"}
    assert c.nodes["a"].usernames() == ["bob", "carol"]  # listed in place meanwhile
    assert c.nodes["b"].usernames() == ["carol", "bob"]  # Left + Joined in one interval
    for lobby in c.nodes.values():
        assert lobby.partner_of("carol") is None
        lobby.check()


def test_a_token_for_a_name_its_node_no_longer_has_claims_it_as_usual() -> None:
    c = Cluster(Authenticator(token_secret=SECRET))
    c.join("a", "bob", FEATURES, credential=token("bob"))
    c.mute.add("a")  # a never answers: the wait ends, then the claim is refused
    new = c.join("b", "bob", FEATURES, credential=token("bob"))
    c.now += 10
    c.run("b", c.nodes["b"].expire())
    error = c.got("b", new)[-1]
    assert (error["type"], error["code"]) == ("error", "name-taken")
    assert c.names == {"bob": "a"}


def test_a_message_right_after_a_take_over_reaches_the_new_session() -> None:
    """The old node lists the name on the new node before it hands the name over, and
    tells the other nodes before the new session can say anything: nothing is lost."""
    c = Cluster(Authenticator(token_secret=SECRET))
    c.join("a", "bob", FEATURES, credential=token("bob"))
    carol = c.join("a", "carol", FEATURES, credential=token("carol"))
    b_heard: list[str] = []
    real_bus_event = c.nodes["b"].bus_event

    def b_hears(event: Any) -> list[Effect]:
        b_heard.append(type(event).__name__)
        return real_bus_event(event)

    c.nodes["b"].bus_event = b_hears  # type: ignore[method-assign]
    new = c.join("b", "bob", FEATURES, credential=token("bob"))
    assert b_heard[:3] == ["Left", "Joined", "ResumeGrant"]  # news first, then the name
    c.say("b", new, type="message", text="it is me", id=0, date=0)
    assert any(m.get("text") == "it is me" for m in c.got("a", carol))
    c.say("a", carol, type="new-ice-candidate", target="bob", candidate={"n": 1})
    assert [m for m in c.got("b", new) if m["type"] == "new-ice-candidate"] == [
        {"type": "new-ice-candidate", "target": "bob", "name": "carol", "candidate": {"n": 1}}
    ]
    assert not [m for m in c.got("a", carol) if m["type"] == "error"]
    for lobby in c.nodes.values():
        lobby.check()


def taken_over_to_b() -> tuple[Cluster, int, int]:
    """bob's session on a taken over by a token on b, where carol is: (cluster, carol, new)."""
    c = Cluster(Authenticator(token_secret=SECRET))
    c.join("a", "bob", FEATURES, credential=token("bob"))
    carol = c.join("b", "carol", FEATURES, credential=token("carol"))
    new = c.join("b", "bob", FEATURES, credential=token("bob"))
    c.got("b", carol)
    c.got("b", new)
    return c, carol, new


CANDIDATE = {"type": "new-ice-candidate", "target": "bob", "name": "carol", "candidate": {"n": 1}}


@pytest.mark.parametrize("hops", [0, MAX_HOPS - 1])
def test_a_message_sent_to_the_old_node_during_a_take_over_follows_the_name(hops: int) -> None:
    """A node that had not yet heard of the take-over sent a message to the old node:
    the old node knows where the name went and passes it on; the sender gets no error."""
    c, carol, new = taken_over_to_b()
    payload = json.dumps(CANDIDATE).encode()
    in_flight = Deliver("carol", "b", "bob", "new-ice-candidate", payload, hops=hops)
    c.run("a", c.nodes["a"].bus_event(in_flight))
    assert [m for m in c.got("b", new) if m["type"] == "new-ice-candidate"] == [CANDIDATE]
    assert not [m for m in c.got("b", carol) if m["type"] == "error"]


def test_a_message_passed_on_too_often_comes_back_as_an_error() -> None:
    c, carol, new = taken_over_to_b()
    payload = json.dumps(CANDIDATE).encode()
    worn = Deliver("carol", "b", "bob", "new-ice-candidate", payload, hops=MAX_HOPS)
    c.run("a", c.nodes["a"].bus_event(worn))
    assert not [m for m in c.got("b", new) if m["type"] == "new-ice-candidate"]
    assert [m["code"] for m in c.got("b", carol) if m["type"] == "error"] == ["no-such-user"]
