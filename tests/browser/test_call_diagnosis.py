"""Per-call diagnosis, caused for real: both people hear why a call failed, in one
sentence within 10 s, and /metrics counts each call's outcome by reason.

Causes: a TURN secret coturn does not share (relay-only), a relay port nobody
listens on, one side whose senders stop sending, and a call that works.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chinwag.transport.server import ChinwagServer
from tests.browser.people import OpenPerson, Person, call_and_accept, connect_call, until
from tests.coturn import Coturn, coturn_for_fixture, free_port
from tests.support import StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

TURN_SECRET = "diagnosis-test-secret"
CREDENTIALS_REFUSED = "the relay refused the credentials"
UNREACHABLE = "the relay server did not answer"
WITHIN_MS = 10_000  # the promise: the reason within 10 s of answering


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    yield from coturn_for_fixture(tmp_path_factory, TURN_SECRET)


async def metric(server: ChinwagServer, name: str, **labels: str) -> float:
    """One sample of the server's /metrics (0 when absent)."""
    async with aiohttp.ClientSession() as session, session.get(server.url + "metrics") as reply:
        text = await reply.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def until_metric(server: ChinwagServer, name: str, value: float, **labels: str) -> None:
    async def reached() -> bool:
        return await metric(server, name, **labels) >= value

    await until(reached, 10, f"{name}{labels} never reached {value}")


async def both_hear(people: tuple[Person, Person], sentence: str, answered: float) -> None:
    """Both see ``sentence`` in a notice no later than 10 s after ``answered``."""
    for person in people:
        left_ms = max(0, WITHIN_MS - int((time.monotonic() - answered) * 1000))
        await person.sees_notice(sentence, timeout=left_ms)


async def test_wrong_turn_secret_both_hear_credentials_refused_and_can_copy_a_report(
    start_chinwag: StartServer, coturn: Coturn, open_person: OpenPerson
) -> None:
    server = await start_chinwag(ice_url=[coturn.url()], turn_secret="not-the-secret")
    alice = await open_person("alice", server=server, query="relay=1")
    bob = await open_person("bob", server=server)
    await call_and_accept(alice, bob)
    answered = time.monotonic()
    await both_hear((alice, bob), CREDENTIALS_REFUSED, answered)
    await until_metric(server, "chinwag_calls_failed_total", 1, reason="credentials-refused")
    assert await metric(server, "chinwag_calls_started_total") == 1
    assert await metric(server, "chinwag_calls_connected_total") == 0

    await alice.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    await alice.page.locator("#notices").get_by_role("button", name="Copy report").click()
    await alice.sees_notice("Report copied")
    report = json.loads(await alice.page.evaluate("navigator.clipboard.readText()"))
    assert report["problem"] == "credentials-refused"
    assert report["peer"] == "bob"
    assert 401 in report["mine"]["errors"] and report["mine"]["candidates"]["relay"] == 0
    assert report["ice"]["policy"] == "relay"
    # The TURN server's refusal (401) is in the debug log too (Settings > Diagnostics).
    await alice.open_settings()
    await alice.page.get_by_text("Diagnostics").click()
    await alice.sees_text("#debug-log", "icecandidateerror")
    await alice.sees_text("#debug-log", "401")


async def test_a_relay_port_nobody_listens_on_is_named_unreachable(
    start_chinwag: StartServer, open_person: OpenPerson
) -> None:
    closed = f"turn:127.0.0.1:{free_port()}?transport=tcp"
    server = await start_chinwag(ice_url=[closed], turn_secret=TURN_SECRET)
    alice = await open_person("alice", server=server, query="relay=1")
    bob = await open_person("bob", server=server)
    await call_and_accept(alice, bob)
    await both_hear((alice, bob), UNREACHABLE, time.monotonic())
    await until_metric(server, "chinwag_calls_failed_total", 1, reason="unreachable")


async def test_a_call_that_works_is_counted_with_first_frame_and_route(
    start_chinwag: StartServer, open_person: OpenPerson
) -> None:
    server = await start_chinwag()
    people = [await open_person(name, server=server) for name in ("alice", "bob")]
    alice, bob = people
    await connect_call(alice, bob)
    await alice.media_flows()
    # Each side reports its first frame and the pair it uses: host on both ends (loopback).
    await until_metric(server, "chinwag_call_first_frame_seconds_count", 2)
    await until_metric(server, "chinwag_call_routes_total", 2, pair="host/host")
    await alice.click("Hang up")
    await until_metric(server, "chinwag_calls_connected_total", 1)
    assert await metric(server, "chinwag_calls_failed_total", reason="one-way-media") == 0
    await bob.back_to_idle()


async def test_one_way_media_is_named_on_each_side(
    start_chinwag: StartServer, open_person: OpenPerson
) -> None:
    server = await start_chinwag()
    alice = await open_person("alice", server=server)
    bob = await open_person("bob", server=server)
    await connect_call(alice, bob)
    await bob.media_flows()
    # alice's browser stops sending (as a broken extension or device would): ICE stays up.
    await alice.page.evaluate(
        "Promise.all(window.chinwag.debug.pc.getSenders().map((s) => s.replaceTrack(null)))"
    )
    stopped = time.monotonic()
    await bob.sees_notice("nothing is arriving from alice", timeout=WITHIN_MS)
    await alice.sees_notice("bob receives nothing from you", timeout=WITHIN_MS)
    assert time.monotonic() - stopped < WITHIN_MS / 1000
    # The direction is right: alice still receives bob, and is not told otherwise.
    await alice.media_flows()
    assert "nothing is arriving" not in await alice.page.locator("#notices").inner_text()
    await bob.click("Hang up")
    await until_metric(server, "chinwag_calls_failed_total", 1, reason="one-way-media")
    assert await metric(server, "chinwag_calls_connected_total") == 0
