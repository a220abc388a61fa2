"""Resume, rate limits, authentication and ICE delivery in the lobby (no sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chinwag.core.effects import Close, Send
from chinwag.core.errors import ProtocolError
from chinwag.core.limits import Rate
from chinwag.core.lobby import Lobby, Policy

FEATURES = ["deltas", "ringing", "plain-text"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sent(effects: list[Any], conn: int) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in effects if isinstance(e, Send) and conn in e.conns]


class World:
    def __init__(self, policy: Policy | None = None, **kwargs: Any) -> None:
        self.clock = Clock()
        self.lobby = Lobby(policy, clock=self.clock, monotonic=self.clock, **kwargs)
        self.next = 0

    def open(self) -> int:
        self.next += 1
        self.lobby.connect(self.next)
        return self.next

    def say(self, conn: int, **fields: Any) -> list[Any]:
        return self.lobby.receive(conn, json.dumps(fields))

    def join(
        self, name: str, features: list[str] | None = None, **extra: Any
    ) -> tuple[int, list[Any]]:
        conn = self.open()
        return conn, self.say(conn, type="username", name=name, features=features or [], **extra)


def token_of(effects: list[Any], conn: int) -> str:
    [welcome] = [m for m in sent(effects, conn) if m["type"] == "signed-in"]
    return str(welcome["resume"])


def test_signed_in_carries_resume_token_ring_timeout_and_ice_servers() -> None:
    world = World(Policy(ring_timeout=12.0, file_max_bytes=5000))
    conn, effects = world.join("alice", FEATURES)
    messages = sent(effects, conn)
    assert [m["type"] for m in messages] == ["signed-in", "ice-servers"]
    assert messages[0]["ringTimeout"] == 12.0 and messages[0]["resumed"] is False
    assert messages[0]["fileMaxBytes"] == 5000  # the clients enforce it (files go peer to peer)
    assert len(messages[0]["resume"]) >= 24
    assert messages[1] == {"type": "ice-servers", "iceServers": [], "expires": None}


def test_dropped_user_stays_listed_and_gets_queued_messages_on_resume() -> None:
    world = World()
    alice, effects = world.join("alice", FEATURES)
    token = token_of(effects, alice)
    bob, _ = world.join("bob", FEATURES)
    world.lobby.flush_presence()
    world.lobby.disconnect(alice, clean=False)
    assert world.lobby.usernames() == ["alice", "bob"]
    assert not world.lobby.presence_pending  # no leave/join flicker for the others
    for i in range(3):
        world.say(bob, type="new-ice-candidate", target="alice", candidate={"n": i})
    back = world.open()
    effects = world.say(back, type="username", name="alice", resume=token, features=FEATURES)
    messages = sent(effects, back)
    assert messages[0]["type"] == "signed-in" and messages[0]["resumed"] is True
    assert messages[0]["name"] == "alice" and messages[0]["resume"] != token
    assert [m["candidate"]["n"] for m in messages if m["type"] == "new-ice-candidate"] == [0, 1, 2]
    assert world.lobby.name_of(back) == "alice"
    full = sent(world.lobby.flush_presence(), back)
    assert full == [{"type": "userlist", "users": ["alice", "bob"], "busy": []}]
    assert sent(world.lobby.flush_presence(), bob) == []


def test_a_resume_does_not_refill_the_sessions_rate_limits() -> None:
    world = World(Policy(signal_rate=Rate(1.0, 3.0)))
    alice, effects = world.join("alice", FEATURES)
    token = token_of(effects, alice)
    world.join("bob", FEATURES)
    for n in range(3):  # the burst, spent
        world.say(alice, type="poke", target="bob", n=n)
    world.lobby.disconnect(alice, clean=False)
    back = world.open()
    world.say(back, type="username", name="alice", resume=token, features=FEATURES)
    replies = sent(world.say(back, type="poke", target="bob", n=3), back)
    assert [m.get("code") for m in replies] == ["rate-limited"]


def test_resume_keeps_the_call() -> None:
    world = World()
    alice, effects = world.join("alice", FEATURES)
    token = token_of(effects, alice)
    bob, _ = world.join("bob", FEATURES)
    world.say(alice, type="call-invite", target="bob")
    world.say(bob, type="call-accept", target="alice")
    world.lobby.disconnect(alice, clean=False)
    back = world.open()
    world.say(back, type="username", name="alice", resume=token)
    assert world.lobby.partner_of("bob") == "alice" and world.lobby.is_busy("alice")


def test_park_lapses_into_a_leave_and_hangs_up_the_partner() -> None:
    world = World(Policy(resume_grace=5.0))
    alice, _ = world.join("alice", FEATURES)
    bob, _ = world.join("bob", FEATURES)
    world.say(alice, type="call-invite", target="bob")
    world.say(bob, type="call-accept", target="alice")
    world.lobby.disconnect(alice, clean=False)
    world.clock.now += 4.9
    assert world.lobby.expire() == []
    world.clock.now += 0.2
    effects = world.lobby.expire()
    assert sent(effects, bob) == [
        {"type": "hang-up", "name": "alice", "target": "bob", "reason": "gone"}
    ]
    assert world.lobby.usernames() == ["bob"]


def test_clean_close_leaves_at_once() -> None:
    world = World()
    alice, _ = world.join("alice")
    world.lobby.disconnect(alice, clean=True)
    assert world.lobby.usernames() == []


def test_unknown_token_signs_in_fresh_with_bad_resume_notice() -> None:
    world = World()
    conn, effects = world.join("alice", FEATURES, resume="nope")
    types = [m["type"] for m in sent(effects, conn)]
    assert types == ["signed-in", "ice-servers", "error"]
    assert sent(effects, conn)[2]["code"] == "bad-resume"


def test_resume_takes_over_a_half_open_socket() -> None:
    world = World()
    alice, effects = world.join("alice", FEATURES)
    token = token_of(effects, alice)
    new = world.open()
    effects = world.say(new, type="username", name="alice", resume=token)
    assert Close(alice, 4001, "session resumed elsewhere") in effects
    assert world.lobby.disconnect(alice) == []  # the old socket closing changes nothing
    assert world.lobby.usernames() == ["alice"]


def test_backlog_overflow_drops_the_oldest_and_the_resume_says_so() -> None:
    world = World(Policy(backlog_messages=3))
    alice, joined = world.join("alice", FEATURES)
    bob, _ = world.join("bob", FEATURES)
    world.lobby.disconnect(alice, clean=False)
    for i in range(5):
        world.say(bob, type="ping-me", target="alice", n=i)
    assert world.lobby.usernames() == ["alice", "bob"]  # the session lives on
    again = world.open()
    back = world.say(again, type="username", name="alice", resume=token_of(joined, alice))
    messages = sent(back, again)
    assert messages[0]["type"] == "signed-in" and messages[0]["dropped"] == 2
    assert [m["n"] for m in messages if m["type"] == "ping-me"] == [2, 3, 4]
    world.lobby.check()


def test_chat_rate_limit_warns_once_per_second_and_recovers() -> None:
    world = World(Policy(chat_rate=Rate(1.0, 3.0)))
    alice, _ = world.join("alice")
    delivered = [world.say(alice, type="message", text=str(i)) for i in range(6)]
    kinds = [[m.get("code", m["type"]) for m in sent(e, alice)] for e in delivered]
    assert kinds == [["message"]] * 2 + [["rate-limited"], [], [], []]  # sign-in took a token
    world.clock.now += 1.0
    assert [m["type"] for m in sent(world.say(alice, type="message", text="x"), alice)] == [
        "message"
    ]


def test_signaling_has_its_own_bucket() -> None:
    world = World(Policy(chat_rate=Rate(1.0, 1.0), signal_rate=Rate(100.0, 100.0)))
    alice, _ = world.join("alice")
    bob, _ = world.join("bob")
    for _ in range(50):
        assert sent(world.say(alice, type="new-ice-candidate", target="bob"), bob)


class Password:
    def check(self, name: str, credential: str | None, now: float) -> None:
        if credential is None:
            raise ProtocolError("auth-required", "A password is needed.", "username")
        if credential != "sesame":
            raise ProtocolError("auth-failed", "Wrong password.", "username")


@pytest.mark.parametrize(("credential", "code"), [(None, "auth-required"), ("x", "auth-failed")])
def test_authenticator_refuses(credential: str | None, code: str) -> None:
    world = World(authenticator=Password())
    extra = {} if credential is None else {"credential": credential}
    conn, effects = world.join("alice", **extra)
    assert sent(effects, conn)[0]["code"] == code
    assert world.lobby.usernames() == []


def test_authenticator_admits_and_resume_needs_no_password() -> None:
    world = World(authenticator=Password())
    conn, effects = world.join("alice", FEATURES, credential="sesame")
    token = token_of(effects, conn)
    world.lobby.disconnect(conn, clean=False)
    back = world.open()
    effects = world.say(back, type="username", name="alice", resume=token)
    assert sent(effects, back)[0]["resumed"] is True


class Expiring:
    relays = True

    def for_user(self, name: str, now: float, turn: bool = True) -> dict[str, Any]:
        assert turn
        return {
            "type": "ice-servers",
            "iceServers": [{"urls": ["turn:t"], "username": name}],
            "expires": int(now) + 100,
        }


def test_ice_credentials_are_refreshed_before_they_expire() -> None:
    world = World(ice=Expiring())
    conn, effects = world.join("alice", FEATURES)
    assert sent(effects, conn)[1]["expires"] == 1100
    world.clock.now += 79
    assert world.lobby.expire() == []
    world.clock.now += 2
    [refresh] = sent(world.lobby.expire(), conn)
    assert refresh["type"] == "ice-servers" and refresh["expires"] == 1181
    assert world.lobby.ice_for_token(token_of(effects, conn)) is not None
    assert world.lobby.ice_for_token("wrong") is None


SEQ = [*FEATURES, "seq"]


def test_targeted_messages_carry_a_rising_seq_for_seq_clients_only() -> None:
    world = World()
    alice, _ = world.join("alice", SEQ)
    bob, _ = world.join("bob", FEATURES)
    first = sent(world.say(bob, type="ping-me", target="alice", seq=99), alice)
    second = sent(world.say(bob, type="ping-me", target="alice"), alice)
    assert [first[0]["seq"], second[0]["seq"]] == [1, 2]  # the server's number wins
    assert "seq" not in sent(world.say(alice, type="ping-me", target="bob"), bob)[0]


def test_resume_sends_again_what_the_dead_socket_swallowed() -> None:
    world = World()
    alice, effects = world.join("alice", SEQ)
    token = token_of(effects, alice)
    bob, _ = world.join("bob", FEATURES)
    for n in range(5):  # written to alice's socket, which (unknown to us) is already dead
        world.say(bob, type="new-ice-candidate", target="alice", candidate={"n": n})
    world.lobby.disconnect(alice, clean=False)  # noticed at last
    world.say(bob, type="new-ice-candidate", target="alice", candidate={"n": 5})  # queued
    back = world.open()
    effects = world.say(back, type="username", name="alice", resume=token, seq=2, features=SEQ)
    got = [m for m in sent(effects, back) if m["type"] == "new-ice-candidate"]
    assert [(m["seq"], m["candidate"]["n"]) for m in got] == [(3, 2), (4, 3), (5, 4), (6, 5)]
    follow = sent(world.say(bob, type="new-ice-candidate", target="alice"), back)
    assert follow[0]["seq"] == 7


def test_bad_seq_is_refused() -> None:
    world = World()
    conn = world.open()
    [error] = sent(world.say(conn, type="username", name="alice", seq=-1), conn)
    assert error["code"] == "bad-field"
