"""A stateful property test of the core: random users doing random things, in any order.

Many users sign in (openly, with the shared password, or with a signed token
that takes over an older session of its name), rename, call each other
(invite, accept, decline, offer, answer, call-connected, hang up), chat,
whisper, broadcast (small, and over the size cap), drop or close their
sockets, resume (also after their sign-in token expired), and send malformed
frames; names come with look-alike spellings (case, a Cyrillic letter, a
zero-width joiner). With the ``rooms`` feature they sign in to rooms (some
locked), switch rooms, join and leave room calls (capped at 2; a silent seat
is released after 5 s) and signal each other; direct messages of up to 60 KB
meet the targeted byte budgets. With chat history on, the history store's reads are answered
(with lines, or None: unreadable) in any order, late or never.

After every step the core's invariants must hold: the directory's, the call
book's and the rooms' own (``Lobby.check``), each listed name once and no
two alike by :func:`~chinwag.core.names.name_key`, call partners symmetric,
nobody both parked and connected, the counts right, and no fault inside the
core (``server-error``). Each rule checks what it promises: a token's name is
never numbered, an expired token never resumes, only public lines are
stored, live chat reaches every connected user of the room at once unless its
joining history is being read, each connection gets chat in the order said,
broadcasts stay within their size cap and their bytes-times-recipients rate.

``CHINWAG_FUZZ=long`` runs many more and longer examples (by hand).
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from chinwag.core.auth import Authenticator, issue_token
from chinwag.core.effects import Close, Effect, LoadHistory, Send, StoreChat
from chinwag.core.limits import Rate
from chinwag.core.lobby import Lobby, Policy, StoredLine
from chinwag.core.names import name_key

#: Small byte budgets for targeted messages, so the property run reaches them.
TARGETED = Rate(50_000.0, 100_000.0)
INBOUND = Rate(60_000.0, 120_000.0)

#: Look-alikes of "ann" and "bob": case, a Cyrillic a (U+0430), a zero-width joiner.
NAMES = st.sampled_from(["ann", "bob", "cy", "ann1", "Ann", "\u0430nn", "bob\u200d", "BOB"])
FEATURES = st.sampled_from(
    [
        [],
        ["ringing"],
        ["deltas", "ringing", "plain-text", "seq"],
        ["deltas", "ringing", "rooms", "history"],
        ["rooms", "no-rollback", "seq", "history"],
    ]
)
ROOMS = st.sampled_from(["", "team", "Team", "vault", "v\u0430ult"])
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
STORED = st.sampled_from(
    [None, [], [StoredLine(1, "old", 1, "h1")], [StoredLine(i, "z", i, f"h{i}") for i in range(5)]]
)

SECRET = "a property test secret of 32+ bytes"
WALL = 1_700_000_000.0  # wall time at the start: tokens expire in wall time
BROADCAST = Rate(2000.0, 6000.0)
BROADCAST_MAX = 1000
LONG = os.environ.get("CHINWAG_FUZZ") == "long"


class CoreMachine(RuleBasedStateMachine):
    conns = Bundle("conns")

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.next_conn = 0
        self.next_line = 0
        self.open: set[int] = set()
        self.opened: dict[int, float] = {}  # conn -> when it opened
        self.tokens: dict[str, str] = {}  # name -> latest resume token seen
        self.expiry: dict[str, float | None] = {}  # resume token -> its session's token expiry
        self.conn_expiry: dict[int, float | None] = {}  # conn -> its sign-in token's expiry
        self.loads: list[LoadHistory] = []  # history reads not answered yet
        self.last_line: dict[int, int] = {}  # conn -> number of the last live chat line it got
        self.broadcast_spent: dict[int, float] = {}  # conn -> bytes x recipients accepted
        self.step: list[Effect] = []  # every effect of the current rule
        self.resuming = False  # the current rule is a resume (which replays a mailbox)
        self.lobby = Lobby(monotonic=self.clock)
        self.auth = self.history = False

    @initialize(auth=st.booleans(), history=st.booleans())
    def configure(self, auth: bool, history: bool) -> None:
        policy = Policy(
            resume_grace=5.0,
            backlog_messages=8,
            room_call_max=2,
            room_call_idle=5.0,  # time_passes releases silent seats
            targeted_rate=TARGETED,
            inbound_rate=INBOUND,
            history=history,
            history_lines=3,
            broadcast_max_bytes=BROADCAST_MAX,
            broadcast_rate=BROADCAST,
        )
        authenticator = Authenticator("pw", SECRET) if auth else None
        self.auth, self.history = auth, history
        self.lobby = Lobby(
            policy, authenticator=authenticator, clock=self.wall, monotonic=self.clock
        )

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL + self.now

    # -- carrying out effects ------------------------------------------------------

    def run(self, effects: list[Effect]) -> None:
        """Carry out what the transport would: closes end sockets; note resume tokens,
        history reads, and the order of live chat lines on each connection."""
        for effect in effects:
            self.step.append(effect)
            if isinstance(effect, Close) and effect.conn in self.open:
                self.open.discard(effect.conn)
                self.run(self.lobby.disconnect(effect.conn, clean=True))
            elif isinstance(effect, LoadHistory):
                assert self.history, "a history read with history off"
                self.loads.append(effect)
            elif isinstance(effect, StoreChat):
                assert self.history, "a stored line with history off"
            elif isinstance(effect, Send):
                message = json.loads(effect.payload)
                assert message.get("code") != "server-error", message
                # The transport budgets error replies by this flag alone; a
                # replayed mailbox (a resume) may hold earlier ones unflagged.
                replay = "seq" in message or self.resuming
                assert effect.error == (message["type"] == "error") or replay, effect
                for conn in effect.conns:
                    self.note(conn, message)

    def note(self, conn: int, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "signed-in":
            self.tokens[message["name"]] = message["resume"]
            self.expiry[message["resume"]] = self.conn_expiry.get(conn)
        elif kind == "message" and str(message.get("text", "")).startswith("m"):
            number = int(message["text"].split()[0][1:])
            assert number > self.last_line.get(conn, 0), f"line {number} out of order on {conn}"
            self.last_line[conn] = number

    def effects(self, action: Any) -> list[Effect]:
        """Run ``action`` (an input's effects) and return every effect it led to."""
        self.step = []
        self.run(action)
        return self.step

    def said(self, conn: int, **fields: Any) -> list[Effect]:
        if conn not in self.open:
            return []
        return self.effects(self.lobby.receive(conn, json.dumps(fields)))

    def say(self, conn: int, **fields: Any) -> None:
        stored = [e for e in self.said(conn, **fields) if isinstance(e, StoreChat)]
        assert not stored, f"{fields.get('type')} stored a chat line"

    def open_conn(self) -> int:
        self.next_conn += 1
        conn = self.next_conn
        self.open.add(conn)
        self.opened[conn] = self.now
        self.run(self.lobby.connect(conn, f"10.0.0.{conn % 3}"))
        return conn

    # -- signing in ---------------------------------------------------------------

    @rule(target=conns, name=NAMES, features=FEATURES, room=ROOMS)
    def sign_in(self, name: str, features: list[str], room: str) -> int:
        conn = self.open_conn()
        password = "pw" if name_key(room) == name_key("vault") else None
        self.say(
            conn,
            type="username",
            name=name,
            features=features,
            room=room,
            roomPassword=password,
            credential="pw",
        )
        return conn

    @rule(target=conns, name=NAMES, features=FEATURES, ttl=st.sampled_from([2.0, 3600.0, -1.0]))
    def token_sign_in(self, name: str, features: list[str], ttl: float) -> int:
        """A signed token: it takes over an older session of its name, or is refused."""
        conn = self.open_conn()
        expires = self.wall() + ttl
        self.conn_expiry[conn] = expires if self.auth else None
        before = self.lobby.usernames()
        effects = self.said(
            conn,
            type="username",
            name=name,
            features=features,
            credential=issue_token(SECRET, name, expires),
        )
        signed_in = self.lobby.name_of(conn)
        if self.auth and signed_in is not None:
            assert signed_in == name, f"the token for {name!r} signed in as {signed_in!r}"
            assert not [m for m in sent(effects, conn) if m["type"] == "rejectusername"]
            assert ttl > 0
        if self.auth and name in before and signed_in == name:
            assert self.lobby.usernames().count(name) == 1
        return conn

    @rule(target=conns, name=NAMES, features=FEATURES, stale=st.booleans())
    def resume(self, name: str, features: list[str], stale: bool) -> int:
        conn = self.open_conn()
        token = "no-such-token" if stale else self.tokens.get(name, "none")
        self.conn_expiry[conn] = self.expiry.get(token)
        self.resuming = True
        effects = self.said(
            conn,
            type="username",
            name=name,
            features=features,
            resume=token,
            seq=0,
            credential="pw",
        )
        self.resuming = False
        resumed = [m for m in sent(effects, conn) if m["type"] == "signed-in" and m["resumed"]]
        if resumed:
            expires = self.expiry.get(token)
            assert expires is None or expires > self.wall(), "an expired token's session resumed"
        return conn

    @rule(conn=conns, name=NAMES)
    def rename(self, conn: int, name: str) -> None:
        before = self.lobby.name_of(conn)
        self.say(conn, type="username", name=name, credential="pw")
        if self.auth and before is not None and self.lobby.name_of(conn) != before:
            self.conn_expiry[conn] = None  # renamed with the password: no token expiry now
            session_token = self.tokens.get(before)
            if session_token is not None:  # and its resume token resumes a password session
                self.expiry[session_token] = None

    # -- rooms ----------------------------------------------------------------------

    @rule(conn=conns, room=ROOMS, password=st.sampled_from([None, "pw", "wrong"]))
    def join_room(self, conn: int, room: str, password: str | None) -> None:
        self.say(conn, type="join-room", room=room, password=password, public=True)

    @rule(conn=conns, kind=ROOM_REQUESTS)
    def room_request(self, conn: int, kind: str) -> None:
        self.say(conn, type=kind)

    @rule(conn=conns, peer=NAMES)
    def room_signal(self, conn: int, peer: str) -> None:
        self.say(conn, type="room-signal", target=peer, candidate={})

    # -- messages -------------------------------------------------------------------

    @rule(conn=conns, kind=CALL_TYPES, callee=NAMES)
    def call_message(self, conn: int, kind: str, callee: str) -> None:
        self.say(conn, type=kind, target=callee)

    @rule(conn=conns, peer=NAMES)
    def whisper(self, conn: int, peer: str) -> None:
        self.say(conn, type="whisper", target=peer, text="secret")

    @rule(conn=conns, peer=NAMES, size=st.sampled_from([100, 20_000, 60_000]))
    def direct_message(self, conn: int, peer: str, size: int) -> None:
        """A direct message within the byte budgets reaches its target; past them the
        sender is told (at most once a second) and the target gets nothing."""
        effects = self.said(conn, type="direct-message", target=peer, text="d" * size)
        receivers = {c for e in effects if isinstance(e, Send) for c in e.conns if c != conn}
        refused = [m for m in sent(effects, conn) if m.get("code") == "rate-limited"]
        assert not (refused and receivers), (refused, receivers)
        for message in refused:
            assert message["target"] == peer and message["for"] == "direct-message", message

    @rule(conn=conns, plain=st.booleans())
    def chat(self, conn: int, plain: bool) -> None:
        """A public line: stored once (history on), and at once with everyone in the room
        who is connected, except whoever waits for their joining history."""
        self.next_line += 1
        text = f"m{self.next_line}" if plain else f"m{self.next_line} <b>x</b>"
        sender = self.lobby.name_of(conn) if conn in self.open else None
        before = dict(self.last_line)
        effects = self.said(conn, type="message", text=text)
        stored = [e for e in effects if isinstance(e, StoreChat)]
        refused = [m for m in sent(effects, conn) if m.get("type") == "error"]
        if sender is None or refused:
            assert not stored
            return
        assert [(e.name, e.text) for e in stored] == ([(sender, text)] if self.history else [])
        room = self.lobby.room_of(sender)
        waiting = {load.conn for load in self.loads if load.joining}
        for other in self.open - waiting:
            name = self.lobby.name_of(other)
            if name is not None and self.lobby.room_of(name) == room:
                got = self.last_line.get(other, 0) != before.get(other, 0)
                assert got, f"{name} (conn {other}) did not get {text!r} at once"

    @rule(conn=conns, size=st.sampled_from([10, 400, 1500]))
    def broadcast(self, conn: int, size: int) -> None:
        """An untargeted relay goes to the room: small, within bytes x recipients a second."""
        sender = self.lobby.name_of(conn)
        room = self.lobby.room_of(sender) if sender is not None else None
        listed = sum(1 for name in self.lobby.usernames() if self.lobby.room_of(name) == room)
        fields = {"type": "everyone", "data": "x" * size}
        raw = len(json.dumps(fields))
        effects = self.said(conn, **fields)
        delivered = any(
            json.loads(e.payload).get("type") == "everyone" for e in effects if isinstance(e, Send)
        )
        if not delivered:
            return
        assert raw <= BROADCAST_MAX, f"a {raw}-byte broadcast was delivered"
        spent = self.broadcast_spent.get(conn, 0.0) + min(BROADCAST.burst, raw * listed)
        self.broadcast_spent[conn] = spent
        allowed = BROADCAST.burst + BROADCAST.per_second * (self.now - self.opened[conn])
        assert spent <= allowed + 1e-6, f"{spent} broadcast bytes x recipients, {allowed} allowed"

    @rule(conn=conns, data=GARBAGE)
    def malformed(self, conn: int, data: str) -> None:
        if conn in self.open:
            self.run(self.lobby.receive(conn, data))

    # -- the history store ---------------------------------------------------------

    @precondition(lambda self: bool(self.loads))
    @rule(data=st.data(), lines=STORED)
    def history_answered(self, data: st.DataObject, lines: list[StoredLine] | None) -> None:
        """The store answers one outstanding read: history first, then the held lines."""
        load = self.loads.pop(data.draw(st.integers(0, len(self.loads) - 1)))
        effects = self.effects(self.lobby.history_loaded(load, lines))
        got = [m for m in sent(effects, load.conn)]
        kinds = ["live" if str(m.get("text", "")).startswith("m") else m["type"] for m in got]
        if "live" in kinds:
            assert "history" not in kinds[kinds.index("live") :], "history after live chat"
        assert not [e for e in effects if isinstance(e, StoreChat)]

    # -- sockets and time --------------------------------------------------------------

    @rule(conn=conns, clean=st.booleans())
    def disconnect(self, conn: int, clean: bool) -> None:
        if conn in self.open:
            self.open.discard(conn)
            self.effects(self.lobby.disconnect(conn, clean=clean))

    @rule(seconds=st.sampled_from([0.5, 3.0, 6.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self.effects(self.lobby.expire())
        self.effects(self.lobby.flush_presence())

    # -- after every step ---------------------------------------------------------------

    @invariant()
    def core_is_consistent(self) -> None:
        lobby = self.lobby
        lobby.check()
        names = lobby.usernames()
        assert len({name_key(name) for name in names}) == len(names), names
        assert sorted(names) == sorted(lobby.local_names())
        for name in names:
            partner = lobby.partner_of(name)
            if lobby.is_busy(name) and not lobby.in_room_call(name):
                assert partner is not None and lobby.partner_of(partner) == name
                assert lobby.is_busy(partner)
            if lobby.in_room_call(name):  # no one-to-one call beside a room call
                assert partner is None or not lobby.is_busy(partner)
        assert lobby.connection_count == len(self.open)
        connected = [n for n in (lobby.name_of(c) for c in self.open) if n is not None]
        assert len(connected) == len(set(connected)) and set(connected) <= set(names)
        assert lobby.parked_count == len(names) - len(connected)
        assert lobby.error_codes["server-error"] == 0


def sent(effects: list[Effect], conn: int) -> list[dict[str, Any]]:
    """The messages ``effects`` send to ``conn``, in order."""
    return [json.loads(e.payload) for e in effects if isinstance(e, Send) and conn in e.conns]


CoreMachine.TestCase.settings = settings(
    max_examples=2000 if LONG else 60,
    stateful_step_count=100 if LONG else 40,
    deadline=None,
)
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
