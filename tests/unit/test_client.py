"""The client's sans-I/O parts: presence bookkeeping, event parsing, URLs (no sockets)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

from chinwag import client
from chinwag.client import (
    CallDecline,
    CallInvite,
    ErrorReceived,
    ErrorReply,
    FileMessage,
    IceCandidate,
    IceServer,
    IceServers,
    Moderation,
    Presence,
    Roster,
    SignedIn,
    Unknown,
    UserList,
    VideoOffer,
    parse_event,
    websocket_url,
)
from chinwag.core.errors import ChinwagError


def test_full_list_sets_users_in_order_and_busy() -> None:
    roster = Roster()
    roster.apply_userlist(["alice", "bob", "carol"], busy=["bob", "ghost"])

    assert roster.users == ["alice", "bob", "carol"]
    assert roster.busy == {"bob"}  # someone not in the list cannot be busy


def test_delta_applies_left_then_renamed_then_joined_then_busy() -> None:
    roster = Roster()
    roster.apply_userlist(["alice", "bob", "carol"], busy=["bob"])

    roster.apply_presence(
        joined=["dave", "carol"], left=["carol"], renamed=[("bob", "bobby")], busy=["dave"]
    )

    # carol left and came back in the same interval: she is appended again, after bobby.
    assert roster.users == ["alice", "bobby", "dave", "carol"]
    assert roster.busy == {"bobby", "dave"}  # bob's busy mark follows the rename


def test_idle_clears_busy_and_leaving_forgets_it() -> None:
    roster = Roster()
    roster.apply_userlist(["alice", "bob"], busy=["alice", "bob"])

    roster.apply_presence(idle=["alice"], left=["bob"])

    assert roster.users == ["alice"]
    assert roster.busy == set()
    roster.apply_presence(joined=["bob"])
    assert "bob" in roster and "bob" not in roster.busy


def test_a_new_full_list_replaces_everything() -> None:
    roster = Roster()
    roster.apply_userlist(["alice"], busy=["alice"])
    roster.apply_presence(joined=["bob"])

    roster.apply_userlist(["carol"])

    assert (roster.users, roster.busy) == (["carol"], set())


def test_roster_applies_parsed_events() -> None:
    roster = Roster()
    assert roster.apply(parse_event({"type": "userlist", "users": ["a", "b"], "busy": ["a"]}))
    assert roster.apply(
        parse_event({"type": "presence", "joined": ["c"], "left": ["a"], "renamed": []})
    )
    assert not roster.apply(parse_event({"type": "message", "name": "c", "text": "hi"}))
    assert (roster.users, roster.busy) == (["b", "c"], set())


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            {"type": "signed-in", "id": 7, "name": "alice1", "features": ["deltas"]},
            SignedIn(id=7, name="alice1", features=frozenset({"deltas"})),
        ),
        (
            {"type": "userlist", "users": ["alice", "bob"]},
            UserList(users=("alice", "bob"), busy=frozenset()),
        ),
        (
            {"type": "presence", "renamed": [["bob", "bobby"]], "busy": ["alice"]},
            Presence(renamed=(("bob", "bobby"),), busy=("alice",)),
        ),
        (
            {"type": "call-invite", "name": "bob", "target": "alice", "media": {"video": False}},
            CallInvite(name="bob", audio=True, video=False),
        ),
        (
            {"type": "call-decline", "name": "bob", "target": "alice"},
            CallDecline(name="bob", reason="declined"),
        ),
        (
            {"type": "video-offer", "name": "bob", "sdp": {"type": "offer", "sdp": "v=0"}},
            VideoOffer(name="bob", sdp="v=0"),
        ),
        (
            {
                "type": "new-ice-candidate",
                "name": "bob",
                "candidate": {
                    "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                },
            },
            IceCandidate(
                name="bob",
                candidate="candidate:1 1 udp 1 127.0.0.1 5000 typ host",
                sdp_mid="0",
                sdp_mline_index=0,
            ),
        ),
        (
            {
                "type": "ice-servers",
                "iceServers": [{"urls": "turn:127.0.0.1:3478", "username": "u", "credential": "c"}],
                "expires": 1700003600,
            },
            IceServers(
                servers=(IceServer(urls=("turn:127.0.0.1:3478",), username="u", credential="c"),),
                expires=1700003600,
            ),
        ),
        (
            {
                "type": "moderation",
                "room": "team",
                "action": "mute",
                "by": "ana",
                "target": None,
                "kind": "video",
            },
            Moderation(room="team", action="mute", by="ana", kind="video"),
        ),
    ],
)
def test_messages_become_typed_events(message: dict[str, Any], expected: object) -> None:
    event = parse_event(message)

    assert event == expected
    assert event.raw == message


@pytest.mark.parametrize(
    "message",
    [
        {"type": "video-offer", "name": "bob", "sdp": "not an object"},
        {"type": "video-offer", "name": "bob", "sdp": {"type": "answer", "sdp": "v=0"}},
        {"type": "call-invite", "name": 5},
        {"type": "userlist", "users": "alice"},
        {"type": "presence", "renamed": [["only-one"]]},
        {"type": "media-state", "name": "bob", "audio": "yes", "video": True},
        {"type": "moderation", "room": "team", "action": 7},
        {"type": "screen-share-wish", "name": "bob"},
        {"no": "type"},
    ],
)
def test_malformed_or_unknown_messages_become_unknown(message: dict[str, Any]) -> None:
    event = parse_event(message)

    assert isinstance(event, Unknown)
    assert event.type == message.get("type", "")


def test_an_error_event_turns_into_its_exception() -> None:
    event = parse_event(
        {"type": "error", "code": "no-such-user", "message": "bob is not online",
         "for": "call-invite", "target": "bob"}
    )  # fmt: skip

    assert isinstance(event, ErrorReceived)
    error = event.exception()
    assert isinstance(error, ErrorReply) and isinstance(error, ChinwagError)
    assert (error.code, error.for_type, error.target) == ("no-such-user", "call-invite", "bob")
    assert str(error) == "no-such-user: bob is not online"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:6503/", "ws://127.0.0.1:6503/"),
        ("https://chat.example.org", "wss://chat.example.org/"),
        ("ws://127.0.0.1:6503/ws", "ws://127.0.0.1:6503/ws"),
    ],
)
def test_server_urls(given: str, expected: str) -> None:
    assert websocket_url(given) == expected


def test_other_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="not a chinwag server URL"):
        websocket_url("ftp://127.0.0.1/")


def test_everything_exported_exists() -> None:
    assert all(hasattr(client, name) for name in client.__all__)


def test_the_package_exports_exactly_what_its_modules_export() -> None:
    modules = [
        importlib.import_module(f"{client.__name__}.{module.name}")
        for module in pkgutil.iter_modules(client.__path__)
    ]
    exported_by_modules = [name for module in modules for name in module.__all__]

    assert sorted(client.__all__) == sorted(exported_by_modules)
    for module in modules:
        for name in module.__all__:
            assert getattr(client, name) is getattr(module, name), f"{module.__name__}.{name}"


def test_file_messages_and_the_file_limit_are_parsed() -> None:
    offer = parse_event(
        {"type": "file-offer", "name": "alice", "file": "f1", "filename": "a.pdf", "size": 3}
    )
    assert isinstance(offer, FileMessage)
    assert (offer.type, offer.name, offer.file, offer.raw["filename"]) == (
        "file-offer",
        "alice",
        "f1",
        "a.pdf",
    )
    # No file id: not a file message this client can use (a bad peer cannot crash it).
    assert isinstance(parse_event({"type": "file-accept", "name": "bob"}), Unknown)
    signed_in = parse_event({"type": "signed-in", "name": "a", "features": [], "fileMaxBytes": 9})
    assert isinstance(signed_in, SignedIn) and signed_in.file_max_bytes == 9
