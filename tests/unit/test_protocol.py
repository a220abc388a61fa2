"""Parsing at the edge: every malformed frame maps to one stable error code."""

from __future__ import annotations

import pytest

from chinwag.errors import ProtocolError
from chinwag.protocol import Chat, Relay, SignIn, escape_html, parse_frame, strip_tags


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad-json"),
        ("{", "bad-json"),
        (b"\xff\xfe", "bad-json"),
        ("[1, 2]", "bad-message"),
        ('"text"', "bad-message"),
        ("null", "bad-message"),
        ("{}", "bad-type"),
        ('{"type": 5}', "bad-type"),
        ('{"type": ""}', "bad-type"),
        ('{"type": "message"}', "bad-field"),
        ('{"type": "message", "text": 5}', "bad-field"),
        ('{"type": "video-offer", "target": 5}', "bad-field"),
        ('{"type": "username", "name": "a", "features": "deltas"}', "bad-field"),
        ('{"type": "username", "name": "a", "resume": 5}', "bad-field"),
        ('{"type": "username"}', "bad-name"),
        ("[" * 10000 + "]" * 10000, "bad-json"),
    ],
)
def test_bad_frames(frame: str | bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_frame(frame)
    assert caught.value.code == code
    message = caught.value.as_message()
    assert set(message) == {"type", "code", "message", "for", "target"}
    assert message["message"]


def test_records() -> None:
    assert parse_frame('{"type": "message", "text": "hi"}') == Chat("hi")
    sign_in = parse_frame('{"type": "username", "name": " al ", "features": ["deltas", "zzz"]}')
    assert sign_in == SignIn("al", frozenset({"deltas"}))
    relay = parse_frame('{"type": "hang-up", "target": "bob"}')
    assert isinstance(relay, Relay) and relay.target == "bob"
    assert parse_frame('{"type": "wave", "target": ""}') == Relay(
        "wave", None, {"type": "wave", "target": ""}
    )


def test_strip_tags_matches_the_reference_regex() -> None:
    assert strip_tags("<b>bold</b> and <i>it</i>") == "bold and it"
    assert strip_tags("a < b") == "a < b"
    assert escape_html("a < b & 'c'") == "a &lt; b &amp; &#39;c&#39;"
