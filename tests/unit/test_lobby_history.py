"""Chat history in the core: what is stored, what a joiner is sent, paging, resume."""

from __future__ import annotations

import json
from typing import Any

from chinwag.core.effects import LoadHistory, StoreChat
from chinwag.core.lobby import Lobby, Policy, StoredLine
from tests.unit.test_lobby import sent

CHINWAG = ["deltas", "ringing", "plain-text", "seq", "history"]
LINES = [
    StoredLine(7, "ann", 1_700_000_000_000, "<b>hi</b> & bye"),
    StoredLine(9, "bob", 1_700_000_001_000, "yo"),
]


class HistoryWorld:
    def __init__(self, history: bool = True, lines: int = 2) -> None:
        policy = Policy(history=history, history_lines=lines, resume_grace=30.0)
        self.lobby = Lobby(policy, clock=lambda: 1_700_000_100.0)
        self.next = 0

    def connect(self, name: str, features: list[str] | None = None) -> tuple[int, list[Any]]:
        self.next += 1
        self.lobby.connect(self.next)
        message: dict[str, Any] = {"type": "username", "name": name, "features": features or []}
        return self.next, self.lobby.receive(self.next, json.dumps(message))

    def join(self, name: str, features: list[str] | None = None) -> int:
        """Sign in and answer the joining history read with no lines."""
        conn, effects = self.connect(name, features)
        for load in loads(effects):
            self.lobby.history_loaded(load, [])
        return conn

    def alice_with_token(self) -> tuple[int, str]:
        """alice, a chinwag client past her joining history; her conn and resume token."""
        alice, effects = self.connect("alice", CHINWAG)
        self.lobby.history_loaded(loads(effects)[0], [])
        return alice, str(sent(effects, alice)[0]["resume"])

    def resume(self, token: str, seq: int) -> tuple[int, list[Any]]:
        """A new socket taking the session back, having last received ``seq``."""
        self.next += 1
        self.lobby.connect(self.next)
        return self.next, self.say(
            self.next, type="username", name="alice", resume=token, seq=seq, features=CHINWAG
        )

    def say(self, conn: int, **fields: Any) -> list[Any]:
        return self.lobby.receive(conn, json.dumps(fields))


def loads(effects: list[Any]) -> list[LoadHistory]:
    return [e for e in effects if isinstance(e, LoadHistory)]


def test_public_lines_are_stored_in_the_room_and_direct_ones_never() -> None:
    world = HistoryWorld()
    alice, bob = world.join("alice", CHINWAG), world.join("bob")
    effects = world.say(alice, type="message", text="hello")
    assert [e for e in effects if isinstance(e, StoreChat)] == [
        StoreChat("", "alice", 1_700_000_100_000, "hello")
    ]
    direct = world.say(alice, type="whisper", target="bob", text="secret")
    assert sent(direct, bob) and not [e for e in direct if isinstance(e, StoreChat)]


def test_history_off_emits_nothing_and_drops_the_feature() -> None:
    world = HistoryWorld(history=False)
    alice, effects = world.connect("alice", CHINWAG)
    assert not loads(effects)
    assert "history" not in sent(effects, alice)[0]["features"]
    said = world.say(alice, type="message", text="hello")
    assert not [e for e in said if isinstance(e, (StoreChat, LoadHistory))]
    refused = sent(world.say(alice, type="history-request"), alice)
    assert refused[0]["code"] == "history-off"


def test_a_chinwag_joiner_gets_one_history_message_before_later_live_lines() -> None:
    world = HistoryWorld()
    ann = world.join("ann", ["plain-text"])
    carol, effects = world.connect("carol", CHINWAG)
    (load,) = loads(effects)
    assert (load.conn, load.room, load.before, load.limit, load.joining) == (
        carol,
        "",
        None,
        2,
        True,
    )
    live = world.say(ann, type="message", text="said while carol's history is read")
    assert sent(live, carol) == []  # held
    answer = sent(world.lobby.history_loaded(load, [StoredLine(5, "x", 1, "old"), *LINES]), carol)
    assert answer[0] == {
        "type": "history",
        "room": "",
        "lines": [
            {"id": 7, "name": "ann", "date": 1_700_000_000_000, "text": "<b>hi</b> & bye"},
            {"id": 9, "name": "bob", "date": 1_700_000_001_000, "text": "yo"},
        ],
        "more": True,
    }
    assert answer[1]["text"] == "said while carol's history is read" and answer[1]["seq"] == 1
    after = sent(world.say(ann, type="message", text="after"), carol)
    assert after[0]["seq"] == 2


def test_a_reference_joiner_gets_plain_message_frames_made_html_safe() -> None:
    world = HistoryWorld()
    ref, effects = world.connect("oldtimer")
    (load,) = loads(effects)
    got = sent(world.lobby.history_loaded(load, LINES), ref)
    assert got == [
        {"type": "message", "name": "ann", "date": 1_700_000_000_000, "text": "hi &amp; bye"},
        {"type": "message", "name": "bob", "date": 1_700_000_001_000, "text": "yo"},
    ]


def test_history_request_pages_back_and_refuses_bad_ids() -> None:
    world = HistoryWorld()
    carol = world.join("carol", CHINWAG)
    (load,) = loads(world.say(carol, type="history-request", before=7))
    assert (load.before, load.limit, load.joining) == (7, 50, False)
    page = sent(world.lobby.history_loaded(load, [StoredLine(3, "z", 2, "older")]), carol)
    assert page[0]["type"] == "history" and page[0]["more"] is False
    assert page[0]["lines"] == [{"id": 3, "name": "z", "date": 2, "text": "older"}]
    for before in (0, -1, 2**53, "7", 1.5, True):
        error = sent(world.say(carol, type="history-request", before=before), carol)
        assert error[0]["code"] == "bad-field" and error[0]["for"] == "history-request"
    other_room = sent(world.say(carol, type="history-request", room="elsewhere"), carol)
    assert other_room[0]["code"] == "bad-field"
    (load,) = loads(world.say(carol, type="history-request"))
    unread = sent(world.lobby.history_loaded(load, None), carol)
    assert unread[0]["code"] == "unavailable"


def test_an_unreadable_history_releases_the_held_lines() -> None:
    world = HistoryWorld()
    ann = world.join("ann")
    carol, effects = world.connect("carol", CHINWAG)
    world.say(ann, type="message", text="one")
    got = sent(world.lobby.history_loaded(loads(effects)[0], None), carol)
    assert [m["text"] for m in got] == ["one"]


def test_the_hold_is_bounded_and_a_late_history_is_not_sent() -> None:
    world = HistoryWorld()
    # backlog_messages is 256 by default: the hold takes 128 lines
    anns = [world.join(f"a{i}") for i in range(7)]
    carol, effects = world.connect("carol", CHINWAG)
    texts = []
    for i in range(129):
        said = world.say(anns[i % 7], type="message", text=f"m{i}")
        texts += [m["text"] for m in sent(said, carol)]
    assert texts == [f"m{i}" for i in range(129)]  # the 129th released all, in order
    assert sent(world.lobby.history_loaded(loads(effects)[0], LINES), carol) == []


def test_resume_replays_missed_chat_lines_exactly_once_in_order() -> None:
    world = HistoryWorld()
    ann = world.join("ann")
    alice, token = world.alice_with_token()
    seqs = [sent(world.say(ann, type="message", text=t), alice)[0]["seq"] for t in "ab"]
    assert seqs == [1, 2]
    world.lobby.disconnect(alice, clean=False)  # "b" was written, then the socket died
    for text in "cd":
        world.say(ann, type="message", text=text)  # parked: queued
    back, resumed = world.resume(token, seq=1)
    chat = [(m["seq"], m["text"]) for m in sent(resumed, back) if m["type"] == "message"]
    assert chat == [(2, "b"), (3, "c"), (4, "d")]
    assert not loads(resumed)  # a resume is not a join
    assert sent(world.say(ann, type="message", text="e"), back)[0]["seq"] == 5


def test_a_long_absence_skips_chat_past_half_the_backlog_but_keeps_the_session() -> None:
    world = HistoryWorld()
    ann = world.join("ann")
    alice, token = world.alice_with_token()
    world.lobby.disconnect(alice, clean=False)
    senders = [ann, *(world.join(f"s{i}") for i in range(20))]  # the chat rate is per sender
    for i in range(300):
        world.say(senders[i % len(senders)], type="message", text=f"m{i}")
    assert "alice" in world.lobby.local_names()
    back, resumed = world.resume(token, seq=0)
    chat = [m for m in sent(resumed, back) if m["type"] == "message"]
    assert len(chat) == 128 and chat[0]["seq"] == 1
    after = sent(world.say(ann, type="message", text="later"), back)
    assert after[0]["seq"] == 301  # the skipped lines used their numbers: the gap shows


def test_history_requests_spend_from_the_chat_bucket() -> None:
    world = HistoryWorld()
    carol = world.join("carol", CHINWAG)
    answers = [world.say(carol, type="history-request") for _ in range(25)]
    assert sum(len(loads(effects)) for effects in answers) == 19  # a burst of 20, 1 signed in
    warning = [m for effects in answers for m in sent(effects, carol) if m["type"] == "error"]
    assert warning[0]["code"] == "rate-limited" and warning[0]["for"] == "history-request"


def test_a_resume_while_the_joining_history_is_read_stops_holding_live_chat() -> None:
    """Found by the property test: the read was for the old socket, so its answer found
    no one and the session's live chat stayed held (128 lines by default)."""
    world = HistoryWorld()
    ann = world.join("ann")
    alice, effects = world.connect("alice", CHINWAG)
    token = str(sent(effects, alice)[0]["resume"])
    world.say(ann, type="message", text="held")
    back, resumed = world.resume(token, seq=0)  # the old socket was still open (half-open)
    assert [m["text"] for m in sent(resumed, back) if m["type"] == "message"] == ["held"]
    live = sent(world.say(ann, type="message", text="live"), back)
    assert [m["text"] for m in live] == ["live"]
    assert sent(world.lobby.history_loaded(loads(effects)[0], LINES), back) == []
