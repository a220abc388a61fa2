"""Rooms and room calls across two lobbies joined by the hand-run router of
test_lobby_cluster (no sockets): membership, seats, settings, a dead node, a resume."""

from __future__ import annotations

import json
from typing import Any

from chinwag.core.events import NodeGone
from tests.unit.test_lobby_cluster import Cluster

ROOMS = ["deltas", "ringing", "plain-text", "rooms"]


def enter(c: Cluster, node: str, name: str, room: str, **extra: Any) -> int:
    c.next += 1
    conn = c.next
    c.run(node, c.nodes[node].connect(conn))
    hello = {"type": "username", "name": name, "features": ROOMS, "room": room, **extra}
    c.run(node, c.nodes[node].receive(conn, json.dumps(hello)))
    return conn


def calls(messages: list[dict[str, Any]]) -> list[list[str]]:
    return [[p["name"] for p in m["participants"]] for m in messages if m["type"] == "room-call"]


def check(c: Cluster) -> None:
    for lobby in c.nodes.values():
        lobby.check()


def test_a_room_call_spans_nodes_and_signals_cross() -> None:
    c = Cluster()
    alice = enter(c, "a", "alice", "team")
    bob = enter(c, "b", "bob", "team")
    carol = enter(c, "b", "carol", "other")
    c.flush()
    assert c.got("a", alice)[-1]["users"] == ["alice", "bob"]
    c.say("a", alice, type="room-call-join")
    c.say("b", bob, type="room-call-join")
    assert calls(c.got("a", alice))[-1] == ["alice", "bob"]
    assert calls(c.got("b", bob))[-1] == ["alice", "bob"]
    c.say("b", bob, type="room-signal", target="alice", description={"type": "offer"})
    assert c.got("a", alice)[-1]["name"] == "bob"
    c.say("b", carol, type="message", text="other room")
    c.say("a", alice, type="video-offer", target="carol")
    assert c.got("a", alice)[-1]["code"] == "no-such-user"
    assert not [m for m in c.got("b", carol) if m.get("name") == "alice"]
    check(c)


def test_a_dead_node_takes_its_users_out_of_rooms_and_calls() -> None:
    c = Cluster()
    alice = enter(c, "a", "alice", "team")
    enter(c, "b", "bob", "team")
    c.say("a", alice, type="room-call-join")
    c.say("b", c.next, type="room-call-join")
    c.got("a", alice)
    c.run("a", c.nodes["a"].bus_event(NodeGone("b")))
    assert calls(c.got("a", alice)) == [["alice"]]
    check(c)


def test_a_password_set_on_one_node_holds_on_the_other() -> None:
    c = Cluster()
    enter(c, "a", "alice", "vault", roomPassword="s3cret")
    bob = enter(c, "b", "bob", "vault")
    assert c.got("b", bob)[-1]["code"] == "room-password-required"
    bob = enter(c, "b", "bob", "vault", roomPassword="s3cret")
    assert c.nodes["b"].room_of("bob") == "vault"
    check(c)


def test_resume_on_another_node_keeps_the_room_and_the_seat() -> None:
    c = Cluster()
    alice = enter(c, "a", "alice", "team")
    token = next(m for m in c.got("a", alice) if m["type"] == "signed-in")["resume"]
    watcher = enter(c, "b", "bob", "team")
    c.say("a", alice, type="room-call-join")
    c.run("a", c.nodes["a"].disconnect(alice, clean=False))  # parked: keeps the seat
    c.got("b", watcher)
    back = c.resume("b", "alice", token, features=ROOMS)
    welcome = next(m for m in c.got("b", back) if m["type"] == "signed-in")
    assert welcome["room"]["room"] == "team"
    assert [p["name"] for p in welcome["room"]["call"]["participants"]] == ["alice"]
    assert c.nodes["a"].room_of("alice") == "team"
    check(c)
