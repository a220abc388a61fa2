"""RFC 6455 framing without sockets."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chinwag.core.closecodes import CloseCode
from chinwag.transport.websocket import (
    BINARY,
    CLOSE,
    PING,
    TEXT,
    FrameReader,
    Message,
    Violation,
    _unmask,
    _unmask_python,
    accept_key,
    close_frame,
    close_reply,
    encode_frame,
    handshake_problem,
)


def client_frame(opcode: int, payload: bytes, fin: bool = True, mask: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, length | (0x80 if mask else 0))
    elif length < 65536:
        header = struct.pack("!BBH", first, 126 | (0x80 if mask else 0), length)
    else:
        header = struct.pack("!BBQ", first, 127 | (0x80 if mask else 0), length)
    if not mask:
        return header + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header + key + masked


def test_rfc_accept_key_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_text_frames_in_one_and_many_chunks() -> None:
    data = client_frame(TEXT, b"hello") + client_frame(TEXT, b"x" * 300) + client_frame(TEXT, b"")
    whole = FrameReader(1000).receive_data(data)
    assert whole == [Message(TEXT, b"hello"), Message(TEXT, b"x" * 300), Message(TEXT, b"")]
    reader = FrameReader(1000)
    events = []
    for i in range(len(data)):
        events += reader.receive_data(data[i : i + 1])
    assert events == whole


def test_fragmented_message_with_ping_in_between() -> None:
    data = client_frame(TEXT, b"he", fin=False) + client_frame(PING, b"p") + client_frame(0, b"llo")
    assert FrameReader(100).receive_data(data) == [Message(PING, b"p"), Message(TEXT, b"hello")]


def test_oversized_frame_is_refused_from_its_header() -> None:
    header_only = client_frame(TEXT, b"x" * 70000)[:14]
    assert FrameReader(65536).receive_data(header_only) == [
        Violation(1009, "frame over 65536 bytes")
    ]


def test_oversized_16_bit_length_frame_is_refused_from_its_header() -> None:
    header_only = client_frame(TEXT, b"x" * 2000)[:8]
    assert FrameReader(1024).receive_data(header_only) == [Violation(1009, "frame over 1024 bytes")]


def test_whole_text_frames_split_anywhere_across_reads() -> None:
    frames = [b"a" * 100, b"b" * 300, b"", b"c" * 125, b"d" * 126]
    data = b"".join(client_frame(TEXT, payload) for payload in frames)
    for cut in range(len(data)):
        reader = FrameReader(1024)
        events = reader.receive_data(data[:cut]) + reader.receive_data(data[cut:])
        assert events == [Message(TEXT, payload) for payload in frames], cut


def test_oversized_fragmented_message() -> None:
    data = client_frame(TEXT, b"x" * 600, fin=False) + client_frame(0, b"x" * 600)
    [violation] = FrameReader(1000).receive_data(data)
    assert isinstance(violation, Violation) and violation.code == 1009


def test_unmasked_frame_is_a_protocol_error() -> None:
    [violation] = FrameReader(100).receive_data(client_frame(TEXT, b"hi", mask=False))
    assert violation == Violation(1002, "client frames must be masked")


def test_nothing_after_a_violation() -> None:
    reader = FrameReader(100)
    reader.receive_data(client_frame(TEXT, b"hi", mask=False))
    assert reader.receive_data(client_frame(TEXT, b"hi")) == []


def test_server_frames() -> None:
    assert encode_frame(TEXT, b"hi") == b"\x81\x02hi"
    assert encode_frame(BINARY, b"x" * 200)[:4] == b"\x82\x7e\x00\xc8"
    assert encode_frame(TEXT, b"x" * 70000)[:2] == b"\x81\x7f"
    assert close_frame(1009, "too big") == b"\x88\x09\x03\xf1too big"
    assert len(close_frame(1000, "x" * 500)) == 2 + 125


def test_handshake_checks() -> None:
    good = {
        "upgrade": "websocket",
        "connection": "keep-alive, Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    assert handshake_problem("GET", good) is None
    assert handshake_problem("POST", good)
    assert handshake_problem("GET", {**good, "sec-websocket-version": "8"})
    assert handshake_problem("GET", {**good, "sec-websocket-key": "short"})


@given(
    st.lists(st.tuples(st.sampled_from([TEXT, BINARY, PING, CLOSE]), st.binary(max_size=300))),
    st.integers(min_value=1, max_value=50),
)
def test_any_chunking_gives_the_same_messages(frames: list[tuple[int, bytes]], chunk: int) -> None:
    frames = [(op, p[:125] if op in (PING, CLOSE) else p) for op, p in frames]
    data = b"".join(client_frame(op, p) for op, p in frames)
    reader = FrameReader(1000)
    events = []
    for i in range(0, len(data), chunk):
        events += reader.receive_data(data[i : i + chunk])
    assert events == [Message(op, p) for op, p in frames]


@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    events = FrameReader(1000).receive_data(data)
    assert all(isinstance(e, Message | Violation) for e in events)


@given(st.binary(min_size=4, max_size=4), st.binary(max_size=3000))
def test_compiled_and_pure_unmask_agree(mask: bytes, data: bytes) -> None:
    expected = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    assert _unmask_python(mask, data) == expected
    assert _unmask(mask, memoryview(data)) == expected


@pytest.mark.parametrize(
    ("payload", "answer"),
    [
        (b"", CloseCode.NORMAL),
        (b"\x03", CloseCode.PROTOCOL_ERROR),  # a one-byte body
        ((1000).to_bytes(2, "big") + b"bye", CloseCode.NORMAL),
        ((1001).to_bytes(2, "big"), CloseCode.GOING_AWAY),
        ((4999).to_bytes(2, "big"), CloseCode.NORMAL),
        ((1005).to_bytes(2, "big"), CloseCode.PROTOCOL_ERROR),  # never on the wire
        ((1006).to_bytes(2, "big"), CloseCode.PROTOCOL_ERROR),
        ((999).to_bytes(2, "big"), CloseCode.PROTOCOL_ERROR),
        ((2000).to_bytes(2, "big"), CloseCode.PROTOCOL_ERROR),
        ((5000).to_bytes(2, "big"), CloseCode.PROTOCOL_ERROR),
        ((1000).to_bytes(2, "big") + b"\xff", CloseCode.INVALID_PAYLOAD),
    ],
)
def test_close_reply_checks_the_clients_close(payload: bytes, answer: CloseCode) -> None:
    assert close_reply(payload) is answer
