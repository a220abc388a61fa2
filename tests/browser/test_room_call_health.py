"""A group call's links through a real coturn: relay-only applies to every link, each
remote tile shows its link's quality, and a link that cannot connect says why on that
person's tile (counted once per link in /metrics)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from chinwag.transport.server import ChinwagServer
from tests.browser.people import OpenPerson, Person
from tests.browser.test_call_diagnosis import metric, until_metric
from tests.browser.test_room_call import everyone_decodes_everyone, join_call
from tests.coturn import Coturn, coturn_for_fixture
from tests.support import StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

TURN_SECRET = "group-call-test-secret"
#: The promise is 10 s (tests/browser/test_call_diagnosis.py holds it to that);
#: three pages joining one by one on a busy machine get more.
SENTENCE_WITHIN_MS = 30_000
MEASURED = re.compile(r"^(good|fair)$")
LABELLED = re.compile(r"^Connection: (good|fair)$")

# The selected candidate pair's types on every link (test hook window.chinwag.room).
_ROUTES = """
async () => {
  const room = window.chinwag.room;
  const route = async (pc) => {
    const byId = new Map();
    (await pc.getStats()).forEach((s) => byId.set(s.id, s));
    const transport = [...byId.values()].find((s) => s.type === "transport");
    const pair = byId.get(transport?.selectedCandidatePairId);
    const type = (id) => byId.get(id).candidateType;
    return pair ? [type(pair.localCandidateId), type(pair.remoteCandidateId)] : null;
  };
  const names = room.peers();
  const routes = await Promise.all(names.map((name) => route(room.peerConnection(name))));
  return Object.fromEntries(names.map((name, i) => [name, routes[i]]));
}
"""


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    yield from coturn_for_fixture(tmp_path_factory, TURN_SECRET)


async def group_call(
    open_person: OpenPerson, server: ChinwagServer, names: tuple[str, ...]
) -> list[Person]:
    """Everyone opens room "crew" relay-only and takes a seat, one after another."""
    people = [
        await open_person(name, server=server, path="r/crew", query="relay=1") for name in names
    ]
    await join_call(people[0], "Start a group call in this room")
    for count, person in enumerate(people[1:], start=1):
        await join_call(person, f"Join the group call ({count} in it)")
    return people


async def test_relay_only_group_call_uses_the_relay_on_every_link_and_rates_each_one(
    start_chinwag: StartServer, coturn: Coturn, open_person: OpenPerson
) -> None:
    server = await start_chinwag(ice_url=[coturn.url()], turn_secret=TURN_SECRET)
    people = await group_call(open_person, server, ("ann", "ben", "cat"))
    await everyone_decodes_everyone(people)
    for person in people:
        routes = await person.page.evaluate(_ROUTES)
        others = {p.name for p in people if p is not person}
        assert routes == {name: ["relay", "relay"] for name in others}, (person.name, routes)
        # Each other person's tile rates its own link; our own tile has no link to rate.
        for name in others:
            meter = person.page.get_by_role("region", name=name).get_by_role("img")
            # Media flows on loopback: good, or fair when the machine is very busy.
            await expect(meter).to_have_attribute("data-quality", MEASURED, timeout=20_000)
            await expect(meter).to_have_attribute("aria-label", LABELLED)
        own = person.page.locator(f"#room-grid .room-tile[aria-label='{person.name}'] .quality")
        await expect(own).to_have_count(0)
        await expect(person.page.locator("#room-grid .room-tile-status:visible")).to_have_count(0)
    assert not any(p.console_errors for p in people), [p.console_errors for p in people]


async def test_wrong_turn_secret_names_the_refused_credentials_on_every_tile(
    start_chinwag: StartServer, coturn: Coturn, open_person: OpenPerson
) -> None:
    server = await start_chinwag(ice_url=[coturn.url()], turn_secret="not-the-secret")
    people = await group_call(open_person, server, ("ann", "ben", "cat"))
    for person in people:
        for other in people:
            if other is person:
                continue
            tile = person.page.get_by_role("region", name=other.name)
            sentence = f"Can't reach {other.name}: the relay refused the credentials"
            await expect(tile.get_by_role("status")).to_have_text(
                f"{sentence}Copy report", timeout=SENTENCE_WITHIN_MS
            )
            await expect(tile.get_by_role("img")).to_have_attribute("data-quality", "poor")
    # Three links, each counted once (both its ends saw it; one reports it).
    await until_metric(server, "chinwag_calls_failed_total", 3, reason="credentials-refused")
    assert await metric(server, "chinwag_calls_failed_total", reason="credentials-refused") == 3

    ann = people[0]
    await ann.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    ben_tile = ann.page.get_by_role("region", name="ben")
    await ben_tile.get_by_role("button", name="Copy report").click()
    await ann.sees_notice("Report copied")
    report = json.loads(await ann.page.evaluate("navigator.clipboard.readText()"))
    assert report["peer"] == "ben" and report["groupCall"] is True
    assert report["problem"] == "credentials-refused" and report["ice"]["policy"] == "relay"
    assert 401 in report["mine"]["errors"] and report["mine"]["candidates"]["relay"] == 0
