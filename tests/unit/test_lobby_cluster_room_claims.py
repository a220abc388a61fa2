"""A room's settings claimed through the bus before it opens (core/roomclaims.py), over the
hand-run router of test_lobby_cluster: racing openers on two nodes, in either order."""

from __future__ import annotations

import json
from typing import Any

from chinwag.core.names import name_key
from tests.unit.test_lobby_cluster import Cluster
from tests.unit.test_lobby_cluster_rooms import ROOMS, check, enter


def answer_held(c: Cluster, *order: str, unavailable: bool = False) -> None:
    """Answer the held room claims, the nodes' in ``order`` first."""
    held, c.held_room_claims, c.hold_rooms = c.held_room_claims, [], False
    for node in order:
        for at, claim in [h for h in held if h[0] == node]:
            c.run(at, c.answer_room_claim(at, claim, unavailable))


def race(c: Cluster) -> tuple[int, int]:
    """Alice opens "vault" locked on a, mallory "VAULT" without a password on b; both wait."""
    c.hold_rooms = True
    alice = enter(c, "a", "alice", "vault", roomPassword="s3cret")
    return alice, enter(c, "b", "mallory", "VAULT")


def kinds(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["type"], m.get("code", "")) for m in messages if m["type"] in ("signed-in", "error")]


def test_a_racing_sign_in_without_the_password_is_refused_when_the_lock_won() -> None:
    c = Cluster()
    alice, mallory = race(c)
    assert kinds(c.got("b", mallory)) == [] and c.nodes["b"].room_of("mallory") is None
    answer_held(c, "a", "b")
    assert kinds(c.got("b", mallory)) == [("error", "room-password-required")]
    assert c.nodes["b"].room_of("mallory") is None and "mallory" not in c.names  # name let go
    welcome = next(m for m in c.got("a", alice) if m["type"] == "signed-in")
    assert welcome["room"]["locked"]
    assert c.rooms[name_key("vault")][1] == {"a", "b"}  # b's refused claim is still counted...
    c.run("a", c.nodes["a"].disconnect(alice))
    assert name_key("vault") not in c.rooms  # ...until the room ended: every node let go
    check(c)


def test_a_racing_locked_opener_enters_the_unlocked_room_that_won() -> None:
    c = Cluster()
    alice, mallory = race(c)
    answer_held(c, "b", "a")
    assert kinds(c.got("b", mallory)) == [("signed-in", "")]
    welcome = next(m for m in c.got("a", alice) if m["type"] == "signed-in")
    assert welcome["room"]["room"] == "VAULT" and not welcome["room"]["locked"]  # mallory's
    for lobby in c.nodes.values():  # one room, the same settings on both nodes
        assert lobby.room_of("alice") == lobby.room_of("mallory") == "VAULT"
    check(c)


def test_a_racing_join_room_with_a_wrong_password_stays_where_it_was() -> None:
    c = Cluster()
    alice = enter(c, "a", "alice", "")
    mallory = enter(c, "b", "mallory", "")
    c.hold_rooms = True
    c.say("a", alice, type="join-room", room="vault", password="s3cret")
    c.say("b", mallory, type="join-room", room="vault", password="guess")
    c.got("a", alice), c.got("b", mallory)
    answer_held(c, "a", "b")
    refused = [m for m in c.got("b", mallory) if m["type"] in ("error", "room")]
    assert [(m["type"], m.get("code"), m.get("for")) for m in refused] == [
        ("error", "room-password-wrong", "join-room")
    ]
    assert c.nodes["b"].room_of("mallory") == "" and c.nodes["a"].room_of("alice") == "vault"
    c.say("b", mallory, type="join-room", room="vault", password="s3cret")  # the room is known
    assert c.nodes["a"].room_of("mallory") == "vault"
    check(c)


def test_a_lock_is_not_opened_without_the_store_an_open_room_is() -> None:
    c = Cluster()
    c.hold_rooms = True
    alice = enter(c, "a", "alice", "vault", roomPassword="s3cret")
    bob = enter(c, "b", "bob", "plain")
    answer_held(c, "a", "b", unavailable=True)
    refusal = [m for m in c.got("a", alice) if m["type"] == "error"]
    assert [m["code"] for m in refusal] == ["unavailable"]
    assert "cluster store is unreachable" in refusal[0]["message"]
    assert c.nodes["a"].room_of("alice") is None
    assert kinds(c.got("b", bob)) == [("signed-in", "")]
    assert c.nodes["a"].room_of("bob") == "plain"
    check(c)


def test_a_sign_in_dropped_while_its_room_is_claimed_lets_go_of_name_and_room() -> None:
    c = Cluster()
    c.hold_rooms = True
    c.next += 1
    conn = c.next
    c.run("a", c.nodes["a"].connect(conn))
    hello = {"type": "username", "name": "alice", "features": ROOMS, "room": "vault"}
    c.run("a", c.nodes["a"].receive(conn, json.dumps(hello)))
    assert c.names == {"alice": "a"}
    c.run("a", c.nodes["a"].disconnect(conn))
    assert c.names == {}
    answer_held(c, "a")
    assert c.rooms == {}
    check(c)
