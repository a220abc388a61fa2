"""Random frames thrown at a live server; well-behaved clients must not notice."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from chinwag.config import settings_for_tests
from chinwag.transport.server import ChinwagServer
from tests.reliability.fuzzing import FUZZ
from tests.support import Client

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
known_types = st.sampled_from(
    [
        "username",
        "message",
        "video-offer",
        "video-answer",
        "new-ice-candidate",
        "hang-up",
        "call-invite",
        "call-accept",
        "call-decline",
        "userlist",
        "id",
        "x",
    ]
)
messages = st.fixed_dictionaries(
    {"type": known_types | st.text(max_size=8) | json_values},
    optional={
        "name": json_values | st.text(max_size=40),
        "target": json_values | st.just("good"),
        "text": json_values,
        "features": json_values,
        "sdp": json_values,
    },
)
frames = st.one_of(
    messages.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
)


async def run_round(port: int, junk: list[str | bytes]) -> None:
    good_a = await Client.open(port)
    good_b = await Client.open(port)
    fuzzer = await Client.open(port)
    try:
        await good_a.sign_in("good", ["deltas", "ringing", "plain-text"])
        await good_b.sign_in("fine")
        for frame in junk:
            if isinstance(frame, bytes):
                await fuzzer.ws.send_bytes(frame)
            else:
                await fuzzer.ws.send_str(frame)
        await good_b.wait_for("userlist")
        await good_b.send({"type": "message", "text": "ping"})
        await good_a.wait_for("message", text="ping", name="fine")
        await good_b.send({"type": "new-ice-candidate", "target": "good", "candidate": {"c": 1}})
        await good_a.wait_for("new-ice-candidate", name="fine")
    finally:
        for client in (good_a, good_b, fuzzer):
            await client.close()


@given(st.lists(frames, min_size=1, max_size=15))
@FUZZ
def test_random_frames_never_break_the_server(junk: list[str | bytes]) -> None:
    async def scenario() -> None:
        server = ChinwagServer(settings_for_tests(host="127.0.0.1", port=0, presence_interval=0.01))
        await server.start()
        try:
            await run_round(server.port, junk)
            url = f"http://127.0.0.1:{server.port}/healthz"
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                assert response.status == 200
        finally:
            await server.stop()

    asyncio.run(scenario())
