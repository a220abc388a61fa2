"""The embedded STUN responder, checked with aioice's STUN code as the independent client."""

from __future__ import annotations

import asyncio
import os
import struct
import zlib
from collections.abc import AsyncIterator

import pytest
from aioice import Candidate, Connection, stun
from aioice.ice import StunProtocol, server_reflexive_candidate
from hypothesis import given, settings
from hypothesis import strategies as st

from chinwag.nat.stun import StunResponder, answer, start_stun_server

COOKIE = struct.pack("!I", 0x2112A442)


def binding_request(**attributes: object) -> stun.Message:
    return stun.Message(stun.Method.BINDING, stun.Class.REQUEST, attributes=dict(attributes))


def with_fingerprint(message: stun.Message) -> bytes:
    message.add_fingerprint()
    return bytes(message)


def raw_message(message_type: int, attributes: bytes, transaction_id: bytes = b"t" * 12) -> bytes:
    return struct.pack("!HH", message_type, len(attributes)) + COOKIE + transaction_id + attributes


def raw_attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def attribute_types(reply: bytes) -> dict[int, bytes]:
    """Every attribute of a reply, by type, walked independently of the code under test."""
    found, position = {}, 20
    while position < len(reply):
        kind, length = struct.unpack_from("!HH", reply, position)
        found[kind] = reply[position + 4 : position + 4 + length]
        position += 4 + length + (-length % 4)
    return found


@pytest.mark.parametrize(
    ("source", "mapped"),
    [
        (("127.0.0.1", 5000), ("127.0.0.1", 5000)),
        (("203.0.113.9", 65535), ("203.0.113.9", 65535)),
        (("2001:db8::5", 4000), ("2001:db8::5", 4000)),
        (("::ffff:192.0.2.7", 1), ("192.0.2.7", 1)),
        (("fe80::1%eth0", 9), ("fe80::1", 9)),
    ],
)
def test_binding_request_gets_xor_mapped_address(
    source: tuple[str, int], mapped: tuple[str, int]
) -> None:
    request = binding_request()
    reply = answer(with_fingerprint(request), source)
    assert reply is not None
    response = stun.parse_message(reply)  # raises if the FINGERPRINT is wrong
    assert response.message_class == stun.Class.RESPONSE
    assert response.transaction_id == request.transaction_id
    assert response.attributes["XOR-MAPPED-ADDRESS"] == mapped
    assert "FINGERPRINT" in response.attributes
    assert "SOFTWARE" not in response.attributes


def test_software_is_sent_when_configured() -> None:
    reply = answer(bytes(binding_request()), ("127.0.0.1", 1), software="chinwag 0.1")
    assert reply is not None
    assert stun.parse_message(reply).attributes["SOFTWARE"] == "chinwag 0.1"


def test_ice_attributes_and_optional_unknowns_are_fine() -> None:
    request = binding_request(PRIORITY=1, **{"USE-CANDIDATE": None, "ICE-CONTROLLING": 7})
    assert stun.parse_message(answer(bytes(request), ("127.0.0.1", 1)) or b"").message_class == (
        stun.Class.RESPONSE
    )
    optional = raw_message(0x0001, raw_attribute(0x8055, b"xyz"))
    assert stun.parse_message(answer(optional, ("127.0.0.1", 1)) or b"").message_class == (
        stun.Class.RESPONSE
    )


def test_unknown_required_attribute_gets_420_listing_it() -> None:
    request = binding_request(**{"CHANGE-REQUEST": 0x06})  # RFC 5780, not supported
    reply = answer(with_fingerprint(request), ("127.0.0.1", 1))
    assert reply is not None
    response = stun.parse_message(reply)
    assert response.message_class == stun.Class.ERROR
    assert response.attributes["ERROR-CODE"] == (420, "Unknown Attribute")
    assert attribute_types(reply)[0x000A] == struct.pack("!H", 0x0003)


def test_unknown_attribute_after_message_integrity_is_ignored() -> None:
    body = raw_attribute(0x0008, b"i" * 20) + raw_attribute(0x0777, b"")
    reply = answer(raw_message(0x0001, body), ("127.0.0.1", 1))
    assert stun.parse_message(reply or b"").message_class == stun.Class.RESPONSE


@pytest.mark.parametrize(
    "body",
    [
        raw_attribute(0x8055, b"abcd")[:-4]
        + b"\0\0\0\0"
        + b"\x80\x55\x00\x10",  # runs past the end
        b"\x80\x22\x00\x09abcdefgh",  # padding missing
    ],
)
def test_malformed_attributes_get_400(body: bytes) -> None:
    reply = answer(raw_message(0x0001, body), ("127.0.0.1", 1))
    assert reply is not None
    assert stun.parse_message(reply).attributes["ERROR-CODE"] == (400, "Bad Request")


def test_other_methods_get_400() -> None:
    request = stun.Message(stun.Method.ALLOCATE, stun.Class.REQUEST, attributes={"LIFETIME": 600})
    response = stun.parse_message(answer(bytes(request), ("127.0.0.1", 1)) or b"")
    assert response.message_method == stun.Method.ALLOCATE
    assert response.message_class == stun.Class.ERROR
    assert response.attributes["ERROR-CODE"] == (400, "Bad Request")


def test_silence_for_what_must_not_be_answered() -> None:
    good = with_fingerprint(binding_request())
    wrong_fingerprint = good[:-1] + bytes([good[-1] ^ 1])
    fingerprint_not_last = good + raw_attribute(0x8022, b"late")
    fingerprint_not_last = (
        fingerprint_not_last[:2]
        + struct.pack("!H", len(fingerprint_not_last) - 20)
        + fingerprint_not_last[4:]
    )
    indication = bytes(stun.Message(stun.Method.BINDING, stun.Class.INDICATION))
    response = bytes(stun.Message(stun.Method.BINDING, stun.Class.RESPONSE))
    rtp = b"\x80\x60" + b"\0" * 30
    for datagram in [
        wrong_fingerprint,
        fingerprint_not_last,
        indication,
        response,
        rtp,
        good[:19],
        good + b"\0\0\0\0",
        raw_message(0x0001, b"\0\0")[:-2] + b"\0\0",
    ]:
        assert answer(datagram, ("127.0.0.1", 1)) is None, datagram


def test_rfc3489_client_gets_mapped_address() -> None:
    transaction_id = os.urandom(16)
    request = struct.pack("!HH", 0x0001, 0) + transaction_id
    reply = answer(request, ("192.0.2.1", 3478))
    assert reply is not None
    assert reply[4:20] == transaction_id
    assert attribute_types(reply) == {0x0001: b"\x00\x01\x0d\x96" + bytes([192, 0, 2, 1])}
    with_change_request = (
        struct.pack("!HH", 0x0001, 8) + transaction_id + raw_attribute(3, b"\0\0\0\6")
    )
    assert answer(with_change_request, ("192.0.2.1", 3478)) is None


def check_reply(reply: bytes, request: bytes) -> None:
    """A reply is a whole STUN response to the request, with a correct FINGERPRINT last."""
    message_type, length, cookie = struct.unpack_from("!HHI", reply)
    assert message_type & 0x0110 in (0x0100, 0x0110)
    assert len(reply) == 20 + length and cookie == 0x2112A442
    assert reply[8:20] == request[8:20]
    assert reply[-8:-4] == b"\x80\x28\x00\x04"
    (fingerprint,) = struct.unpack("!I", reply[-4:])
    assert fingerprint == zlib.crc32(reply[:-8]) ^ 0x5354554E


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_never_crash(data: bytes) -> None:
    reply = answer(data, ("127.0.0.1", 9))
    if reply is not None and data[4:8] == COOKIE:
        check_reply(reply, data)


@settings(max_examples=300, deadline=None)
@given(
    method=st.integers(0, 0xFFF),
    attributes=st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=12)), max_size=4),
    chop=st.integers(0, 3),
    family=st.sampled_from(["198.51.100.4", "2001:db8::9"]),
)
def test_well_framed_requests_always_get_a_proper_reply(
    method: int, attributes: list[tuple[int, bytes]], chop: int, family: str
) -> None:
    message_type = (method & 0xF) | ((method & 0x70) << 1) | ((method & 0xF80) << 2)
    body = b"".join(raw_attribute(kind, value) for kind, value in attributes if kind != 0x8028)
    body = body[: len(body) - 4 * chop] if chop and len(body) >= 4 * chop else body
    request = raw_message(message_type, body)
    reply = answer(request, (family, 7))
    assert reply is not None
    check_reply(reply, request)


@pytest.fixture
async def responder() -> AsyncIterator[tuple[int, StunResponder]]:
    transport, protocol = await start_stun_server("127.0.0.1", 0, software="chinwag-test")
    yield transport.get_extra_info("sockname")[1], protocol
    transport.close()


async def aioice_socket(host: str) -> StunProtocol:
    """A UDP socket driven by aioice's own STUN client code, as an ICE agent would use it."""
    loop = asyncio.get_running_loop()
    receiver = Connection(ice_controlling=True)
    _, protocol = await loop.create_datagram_endpoint(
        lambda: StunProtocol(receiver), local_addr=(host, 0)
    )
    port = protocol.transport.get_extra_info("sockname")[1]
    protocol.local_candidate = Candidate(
        foundation="1", component=1, transport="udp", priority=1, host=host, port=port, type="host"
    )
    return protocol


async def test_aioice_gathers_a_server_reflexive_candidate(
    responder: tuple[int, StunResponder],
) -> None:
    port, protocol = responder
    client = await aioice_socket("127.0.0.1")
    try:
        candidate, _ = await asyncio.wait_for(
            server_reflexive_candidate(client, ("127.0.0.1", port)), 5
        )
    finally:
        await client.close()
    assert candidate.type == "srflx"
    assert (candidate.host, candidate.port) == ("127.0.0.1", client.local_candidate.port)
    assert protocol.answered == 1
    assert list(protocol.recent_sources) == [("127.0.0.1", client.local_candidate.port)]


async def test_aioice_binding_over_ipv6() -> None:
    transport, protocol = await start_stun_server("::1", 0)
    port = transport.get_extra_info("sockname")[1]
    client = await aioice_socket("::1")
    try:
        response, _ = await asyncio.wait_for(client.request(binding_request(), ("::1", port)), 5)
    finally:
        await client.close()
        transport.close()
    assert response.attributes["XOR-MAPPED-ADDRESS"] == ("::1", client.local_candidate.port)
    assert protocol.answered == 1


async def test_responder_survives_garbage_and_keeps_answering(
    responder: tuple[int, StunResponder],
) -> None:
    port, protocol = responder
    client = await aioice_socket("127.0.0.1")
    try:
        for garbage in (b"", b"\x00" * 19, b"\x80" * 200, os.urandom(64)):
            client.transport.sendto(garbage, ("127.0.0.1", port))
        response, _ = await asyncio.wait_for(
            client.request(binding_request(), ("127.0.0.1", port)), 5
        )
    finally:
        await client.close()
    assert response.attributes["SOFTWARE"] == "chinwag-test"
    assert protocol.answered == 1
