"""coturn started from ``chinwag turn-config`` output accepts chinwag's credentials.

aioice's TURN client plays the browser's part: it allocates a relay with the
credentials ``IceServers.for_user`` hands out, then asks for a channel to a
loopback peer, which the generated ``denied-peer-ip`` lines must refuse even
though the test adds ``--allow-loopback-peers``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aioice import stun, turn

from chinwag.config import settings_for_tests
from chinwag.nat.turn import IceServers, coturn_config
from tests.nat.conftest import StartCoturn

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET = "from-turn-config"


class PeerErrors(asyncio.DatagramProtocol):
    """Receives a relayed socket's send failures (aioice reports them as error_received)."""

    def __init__(self) -> None:
        self.error: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

    def error_received(self, exc: Exception) -> None:
        if not self.error.done():
            self.error.set_result(exc)


def credentials(port: int, secret: str) -> dict[str, Any]:
    settings = settings_for_tests(ice_url=[f"turn:127.0.0.1:{port}"], turn_secret=secret)
    message = IceServers.from_settings(settings).for_user("alice", time.time())
    server: dict[str, Any] = message["iceServers"][0]
    return server


@pytest.fixture
def generated_coturn(start_coturn: StartCoturn) -> Any:
    settings = settings_for_tests(ice_url=["turn:turn.example.org"], turn_secret=SECRET)
    return start_coturn(secret=SECRET, config=coturn_config(settings))


async def test_generated_config_accepts_credentials_and_denies_loopback_peers(
    generated_coturn: Any,
) -> None:
    server = credentials(generated_coturn.port, SECRET)
    transport, peer = await asyncio.wait_for(
        turn.create_turn_endpoint(
            PeerErrors,
            ("127.0.0.1", generated_coturn.port),
            server["username"],
            server["credential"],
        ),
        5,
    )
    try:
        assert transport.get_extra_info("sockname")[0] == "127.0.0.1"
        transport.sendto(b"probe", ("127.0.0.1", 9))
        error = await asyncio.wait_for(peer.error, 5)
    finally:
        transport.close()
    assert isinstance(error, stun.TransactionFailed)
    assert error.response.attributes["ERROR-CODE"][0] == 403
    assert "denied in the range: 127.0.0.0-127.255.255.255" in generated_coturn.log.read_text()


async def test_generated_config_refuses_another_secret(generated_coturn: Any) -> None:
    server = credentials(generated_coturn.port, "not-" + SECRET)
    with pytest.raises(stun.TransactionFailed) as failure:
        await asyncio.wait_for(
            turn.create_turn_endpoint(
                PeerErrors,
                ("127.0.0.1", generated_coturn.port),
                server["username"],
                server["credential"],
            ),
            10,
        )
    assert failure.value.response.attributes["ERROR-CODE"][0] == 401
