"""Parsing at the edge: every malformed frame maps to one stable error code."""

from __future__ import annotations

import json

import msgspec
import pytest

from chinwag.core.errors import ProtocolError
from chinwag.core.protocol import Chat, Relay, SignIn, escape_html, parse_frame, relayed, strip_tags


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
        ('{"a": ' + "[" * 10000 + "]" * 10000 + "}", "bad-json"),
        ("[" * 10000 + "]" * 10000, "bad-message"),
        # Numbers beyond the float range: no receiver could decode them (issue 14.8).
        ('{"type": "video-offer", "sdp": 1e400}', "bad-json"),
        ('{"type": "video-offer", "name": "mallory", "x": [-1e400]}', "bad-json"),
        ('{"type": "username", "name": "a", "seq": 1e400}', "bad-json"),
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
    assert isinstance(relay, Relay) and relay.target == "bob" and relay.name is msgspec.UNSET
    wave = parse_frame('{"type": "wave", "target": ""}')
    assert isinstance(wave, Relay) and wave.target is None


def relay_of(text: str) -> Relay:
    message = parse_frame(text)
    assert isinstance(message, Relay)
    return message


def test_relayed_payload_names_the_sender_without_rewriting_when_it_can() -> None:
    own = relay_of('{"type": "video-offer", "name": "alice", "sdp": {"s": 1}}')
    assert relayed(own, "alice") is own.raw  # passed on exactly as sent
    nameless = relay_of('{"type": "new-ice-candidate", "candidate": {"c": 1}}  \n')
    assert json.loads(relayed(nameless, "alice")) == {
        "type": "new-ice-candidate",
        "candidate": {"c": 1},
        "name": "alice",
    }
    forged = relay_of('{"type": "hang-up", "name": "bob", "x": [1]}')
    assert relayed(forged, "alice") == b'{"type":"hang-up","name":"alice","x":[1]}'
    # Duplicate keys: the last one counts for chinwag as for JSON.parse in a browser.
    sneaky = relay_of('{"type": "hang-up", "name": "alice", "name": "bob"}')
    assert json.loads(relayed(sneaky, "alice"))["name"] == "alice"


def test_bad_utf8_in_a_field_chinwag_does_not_read() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_frame(b'{"type": "x", "junk": "\xff"}')
    assert caught.value.code == "bad-json"


def test_strip_tags_matches_the_reference_regex() -> None:
    assert strip_tags("<b>bold</b> and <i>it</i>") == "bold and it"
    assert strip_tags("a < b") == "a < b"
    assert escape_html("a < b & 'c'") == "a &lt; b &amp; &#39;c&#39;"
