"""Browsers relay media through a real coturn with chinwag's TURN REST credentials.

No chinwag page here: two plain pages get ``iceServers`` from
``IceServers.for_user`` and ``iceTransportPolicy: "relay"``, so the only
route they may use is through coturn, and only if coturn accepts the
credentials chinwag computed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Page

from chinwag.nat.turn import IceServers
from tests.nat.conftest import OpenPeerPage, StartCoturn

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

GATHER_TIMEOUT_MS = 5000
CONNECT_DEADLINE = 15.0
WRONG_SECRET_DEADLINE = 15.0


def relay_config(ice_servers: dict[str, Any]) -> dict[str, Any]:
    return {"iceServers": ice_servers["iceServers"], "iceTransportPolicy": "relay"}


async def poll_report(
    page: Page, done: Callable[[dict[str, Any]], bool], deadline: float
) -> dict[str, Any]:
    """The page's report once ``done`` holds for it; fails with the last report at the deadline."""
    end = time.monotonic() + deadline
    report: dict[str, Any] = {}
    while time.monotonic() < end:
        report = await page.evaluate("natPeer.report()")
        if done(report):
            return report
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {deadline} s; last report: {report}")


def relayed_and_decoding(minimum_frames: int) -> Callable[[dict[str, Any]], bool]:
    def check(report: dict[str, Any]) -> bool:
        return bool(report["localType"] == "relay" and report["framesDecoded"] >= minimum_frames)

    return check


async def call_through_relay(
    open_peer_page: OpenPeerPage, servers: IceServers
) -> list[dict[str, Any]]:
    """Connect two camera pages relay-only; return both reports once frames keep arriving."""
    caller, callee = await open_peer_page(), await open_peer_page()
    now = time.time()
    await caller.evaluate(
        "([c]) => natPeer.open(c, true)", [relay_config(servers.for_user("alice", now))]
    )
    await callee.evaluate(
        "([c]) => natPeer.open(c, true)", [relay_config(servers.for_user("bob", now))]
    )
    offer = await caller.evaluate("(t) => natPeer.describe(t)", GATHER_TIMEOUT_MS)
    answer = await callee.evaluate("([o, t]) => natPeer.answer(o, t)", [offer, GATHER_TIMEOUT_MS])
    await caller.evaluate("(a) => natPeer.accept(a)", answer)
    first = [
        await poll_report(page, relayed_and_decoding(1), CONNECT_DEADLINE)
        for page in (caller, callee)
    ]
    # Frames keep coming: the counters rise past where they were.
    later = [
        await poll_report(
            page, relayed_and_decoding(report["framesDecoded"] + 10), CONNECT_DEADLINE
        )
        for page, report in zip((caller, callee), first, strict=True)
    ]
    return later


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_two_browsers_call_through_coturn(
    start_coturn: StartCoturn, open_peer_page: OpenPeerPage, transport: str
) -> None:
    coturn = start_coturn()
    reports = await call_through_relay(open_peer_page, coturn.ice_servers(transport=transport))
    for report in reports:
        assert report["connectionState"] == "connected"
        assert report["localType"] == "relay"
        assert report["remoteType"] == "relay"
        assert report["localRelayProtocol"] == transport
        assert all("typ relay" in candidate for candidate in report["candidates"])
        assert report["errors"] == []


async def test_wrong_secret_gets_401_and_no_relay_candidate(
    start_coturn: StartCoturn, open_peer_page: OpenPeerPage
) -> None:
    coturn = start_coturn(secret="coturn-secret")
    servers = coturn.ice_servers(secret="chinwag-thinks-otherwise")
    page = await open_peer_page()
    started = time.monotonic()
    await page.evaluate(
        "([c]) => natPeer.open(c, false)", [relay_config(servers.for_user("alice", time.time()))]
    )
    await page.evaluate("(t) => natPeer.describe(t)", GATHER_TIMEOUT_MS)
    report = await poll_report(page, lambda r: bool(r["errors"]), WRONG_SECRET_DEADLINE)
    assert time.monotonic() - started < WRONG_SECRET_DEADLINE
    assert {error["code"] for error in report["errors"]} == {401}
    assert report["candidates"] == []
