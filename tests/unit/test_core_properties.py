"""A stateful property test of the core: random users doing random things, in any order.

Many users sign in, rename, call each other (invite, accept, decline, offer,
answer, call-connected, hang up), chat, drop or close their sockets, resume,
and send malformed frames; with the ``rooms`` feature they sign in to rooms
(some locked), switch rooms, join and leave room calls (capped at 2) and
signal each other. After every step the core's invariants must hold: the
directory's, the call book's and the rooms' own (``Lobby.check``: room
membership consistent with the directory, every room-call participant in
that room, empty rooms gone), each listed name once, call partners
symmetric, the connection count right, and no fault inside the core
(``server-error``).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from chinwag.core.effects import Close, Effect, Send
from chinwag.core.lobby import Lobby, Policy

NAMES = st.sampled_from(["ann", "bob", "cy", "dee", "ann1"])
FEATURES = st.sampled_from(
    [
        [],
        ["ringing"],
        ["deltas", "ringing", "plain-text", "seq"],
        ["deltas", "ringing", "rooms"],
        ["rooms", "no-rollback", "seq"],
    ]
)
ROOMS = st.sampled_from(["", "team", "Team", "vault"])
ROOM_REQUESTS = st.sampled_from(["room-call-join", "room-call-leave", "list-rooms"])
CALL_TYPES = st.sampled_from(
    [
        "call-invite",
        "call-accept",
        "call-decline",
        "video-offer",
        "video-answer",
        "call-connected",
        "hang-up",
        "new-ice-candidate",
        "media-state",
    ]
)
GARBAGE = st.sampled_from(
    ["", "{", "[]", "null", '{"type": 5}', '{"type": "username"}', '{"type": "id"}', "1e400"]
)


class CoreMachine(RuleBasedStateMachine):
    conns = Bundle("conns")

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        policy = Policy(resume_grace=5.0, backlog_messages=8, room_call_max=2)
        self.lobby = Lobby(policy, monotonic=self.clock)
        self.next_conn = 0
        self.open: set[int] = set()
        self.tokens: dict[str, str] = {}  # name -> latest resume token seen

    def clock(self) -> float:
        return self.now

    def run(self, effects: list[Effect]) -> None:
        """Carry out what the transport would: closes end sockets; note resume tokens."""
        for effect in effects:
            if isinstance(effect, Close) and effect.conn in self.open:
                self.open.discard(effect.conn)
                self.run(self.lobby.disconnect(effect.conn, clean=True))
            elif isinstance(effect, Send):
                message = json.loads(effect.payload)
                if message.get("type") == "signed-in":
                    self.tokens[message["name"]] = message["resume"]

    def say(self, conn: int, **fields: Any) -> None:
        if conn in self.open:
            self.run(self.lobby.receive(conn, json.dumps(fields)))

    @rule(target=conns, name=NAMES, features=FEATURES, room=ROOMS)
    def sign_in(self, name: str, features: list[str], room: str) -> int:
        self.next_conn += 1
        conn = self.next_conn
        self.open.add(conn)
        self.run(self.lobby.connect(conn))
        password = "pw" if room == "vault" else None
        self.say(
            conn, type="username", name=name, features=features, room=room, roomPassword=password
        )
        return conn

    @rule(conn=conns, room=ROOMS, password=st.sampled_from([None, "pw", "wrong"]))
    def join_room(self, conn: int, room: str, password: str | None) -> None:
        self.say(conn, type="join-room", room=room, password=password, public=True)

    @rule(conn=conns, kind=ROOM_REQUESTS)
    def room_request(self, conn: int, kind: str) -> None:
        self.say(conn, type=kind)

    @rule(conn=conns, peer=NAMES)
    def room_signal(self, conn: int, peer: str) -> None:
        self.say(conn, type="room-signal", target=peer, candidate={})

    @rule(target=conns, name=NAMES, features=FEATURES, stale=st.booleans())
    def resume(self, name: str, features: list[str], stale: bool) -> int:
        self.next_conn += 1
        conn = self.next_conn
        self.open.add(conn)
        self.run(self.lobby.connect(conn))
        token = "no-such-token" if stale else self.tokens.get(name, "none")
        self.say(conn, type="username", name=name, features=features, resume=token, seq=0)
        return conn

    @rule(conn=conns, name=NAMES)
    def rename(self, conn: int, name: str) -> None:
        self.say(conn, type="username", name=name)

    @rule(conn=conns, kind=CALL_TYPES, callee=NAMES)
    def call_message(self, conn: int, kind: str, callee: str) -> None:
        self.say(conn, type=kind, target=callee)

    @rule(conn=conns, text=st.sampled_from(["hi", "<b>x</b>"]))
    def chat(self, conn: int, text: str) -> None:
        self.say(conn, type="message", text=text)

    @rule(conn=conns, data=GARBAGE)
    def malformed(self, conn: int, data: str) -> None:
        if conn in self.open:
            self.run(self.lobby.receive(conn, data))

    @rule(conn=conns, clean=st.booleans())
    def disconnect(self, conn: int, clean: bool) -> None:
        if conn in self.open:
            self.open.discard(conn)
            self.run(self.lobby.disconnect(conn, clean=clean))

    @rule(seconds=st.sampled_from([0.5, 3.0, 6.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self.run(self.lobby.expire())
        self.run(self.lobby.flush_presence())

    @invariant()
    def core_is_consistent(self) -> None:
        lobby = self.lobby
        lobby.check()
        names = lobby.usernames()
        assert len(names) == len(set(names))
        assert sorted(names) == sorted(lobby.local_names())
        for name in names:
            partner = lobby.partner_of(name)
            if lobby.is_busy(name) and not lobby.in_room_call(name):
                assert partner is not None and lobby.partner_of(partner) == name
                assert lobby.is_busy(partner)
            if lobby.in_room_call(name):  # no one-to-one call beside a room call
                assert partner is None or not lobby.is_busy(partner)
        assert lobby.connection_count == len(self.open)
        assert lobby.error_codes["server-error"] == 0


CoreMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestCore = CoreMachine.TestCase


def test_second_invite_accept_hang_up_then_rename() -> None:
    """The sequence that once raised KeyError in the call book halfway through a rename."""
    lobby = Lobby()
    for conn, name in ((1, "ann"), (2, "bob")):
        lobby.connect(conn)
        lobby.receive(conn, json.dumps({"type": "username", "name": name, "features": ["ringing"]}))
    for conn, kind, target in (
        (1, "call-invite", "bob"),
        (2, "call-invite", "ann"),
        (1, "call-accept", "bob"),
        (1, "hang-up", "bob"),
    ):
        lobby.receive(conn, json.dumps({"type": kind, "target": target}))
        lobby.check()
    lobby.receive(1, json.dumps({"type": "username", "name": "anna"}))
    lobby.check()
    assert lobby.usernames() == ["bob", "anna"] and lobby.error_codes["server-error"] == 0
