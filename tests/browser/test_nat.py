"""NAT traversal as a person sees it: relay-only calls through a real coturn,
the route in the stats panel, and plain words when the relay cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests.browser.people import OpenPerson, call_and_accept, connect_call
from tests.coturn import Coturn, coturn_for_fixture, crash_and_restart
from tests.support import StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

TURN_SECRET = "browser-test-secret"
NO_RELAY = "the server has no relay (TURN) configured"


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    """A real coturn on loopback with a TURN REST shared secret, for this module."""
    yield from coturn_for_fixture(tmp_path_factory, TURN_SECRET)


async def test_relay_only_without_a_relay_says_so(open_person: OpenPerson) -> None:
    alice = await open_person("alice", query="relay=1")
    bob = await open_person("bob")
    assert await alice.page.locator("#relay-only").is_checked()
    await call_and_accept(alice, bob)
    await alice.sees_notice(NO_RELAY)
    await alice.back_to_idle()
    await bob.sees_notice(NO_RELAY)
    await bob.back_to_idle()


async def test_relay_only_call_goes_through_coturn_and_survives_its_crash(
    start_chinwag: StartServer, coturn: Coturn, open_person: OpenPerson
) -> None:
    server = await start_chinwag(ice_url=[coturn.url()], turn_secret=TURN_SECRET)
    alice = await open_person("alice", server=server, query="relay=1&iceGrace=0.5")
    bob = await open_person("bob", server=server, query="iceGrace=0.5")
    await connect_call(alice, bob)
    for person in (alice, bob):
        await person.media_flows()
    await alice.more("Stats")
    route = alice.page.locator('[data-stat="route"]')
    await expect(route).to_contain_text("relay")
    await expect(route).to_contain_text("UDP")
    await alice.screenshot("stats-relay")

    # The relay crashes and comes back without its allocations: ICE restarts and
    # the call goes on, with no notice and nobody hanging up.
    crash_and_restart(coturn)
    await alice.sees_text("#debug-log", "ice connection: disconnected")
    for person in (alice, bob):
        await person.media_flows(within=15)
        assert await person.call_state() == "active"
    logs = [await person.debug_log() for person in (alice, bob)]
    assert any("restarting ICE" in log for log in logs), logs
    await expect(alice.page.locator("#call-phase")).to_have_text("")
    await expect(alice.page.locator("#notices [data-kind='error']")).to_have_count(0)
    await expect(route).to_contain_text("relay")

    await alice.click("Hang up")
    await bob.back_to_idle()
