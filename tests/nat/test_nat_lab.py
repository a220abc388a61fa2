"""Calls across real NATs: browsers and the Python echo bot in LANs behind iptables routers.

The lab (tests/nat/lab.py) has two cone routers and one symmetric router in
front of a "public" namespace where chinwag and coturn run. Every call is
made by the real web client in headless Chromium running inside a LAN
namespace; media is proven by ``getStats`` counters rising, and the route by
the selected candidate pair. ``chinwag doctor`` runs in a LAN namespace too.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Playwright

from tests.browser.people import Person, connect_call
from tests.chromium import chromium_flags
from tests.coturn import secret_flags
from tests.nat.lab import PUBLIC, Lab, nat_lab
from tests.peer.support import RunningCli, start_process

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

SECRET = "lab-secret"
TURN_PORT = 3478
RELAY_PORTS = (49160, 49360)
GOOD_PORT, WRONG_SECRET_PORT = 8080, 8081  # inside the lab's own namespace
GOOD_URL = f"http://{PUBLIC}:{GOOD_PORT}/"
WRONG_SECRET_URL = f"http://{PUBLIC}:{WRONG_SECRET_PORT}/"
ICE_URLS = [
    f"stun:{PUBLIC}:{TURN_PORT}",
    f"turn:{PUBLIC}:{TURN_PORT}?transport=udp",
    f"turn:{PUBLIC}:{TURN_PORT}?transport=tcp",
]
CHINWAG = [sys.executable, "-m", "chinwag"]

# The candidates of the selected pair, seen from this page's peer connection.
_ROUTE = """
async () => {
  const report = await window.chinwag.debug.pc.getStats();
  let pair = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      pair = report.get(s.selectedCandidatePairId);
    }
  });
  if (!pair) return null;
  const local = report.get(pair.localCandidateId);
  const remote = report.get(pair.remoteCandidateId);
  return { local: local.candidateType, remote: remote.candidateType,
           relayProtocol: local.relayProtocol ?? "" };
}
"""


def chinwag_serve(port: int, secret: str) -> list[str]:
    ice = [flag for url in ICE_URLS for flag in ("--ice-url", url)]
    return [
        *CHINWAG, "serve", "--host", PUBLIC, "--port", str(port), *ice,
        "--turn-secret", secret, "--turn-ttl", "600", "--log-level", "warning",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The lab with coturn and two chinwag servers (right and wrong TURN secret) in pub."""
    with nat_lab(tmp_path_factory.mktemp("nat-lab")) as built:
        assert built.mapping_is_endpoint_independent("cone_a")
        assert built.mapping_is_endpoint_independent("cone_b")
        assert not built.mapping_is_endpoint_independent("sym")
        turn = [
            "turnserver", *secret_flags(SECRET), f"--listening-ip={PUBLIC}",
            f"--relay-ip={PUBLIC}", f"--listening-port={TURN_PORT}", f"--min-port={RELAY_PORTS[0]}",
            f"--max-port={RELAY_PORTS[1]}", "--allowed-peer-ip=198.18.0.0-198.18.255.255",
            "--log-file=stdout", "--simple-log", f"--pidfile={built.workdir / 'turn.pid'}",
        ]  # fmt: skip
        built.start("pub", turn, "coturn.log")
        built.start("pub", chinwag_serve(GOOD_PORT, SECRET), "chinwag.log")
        built.start("pub", chinwag_serve(WRONG_SECRET_PORT, "wrong-secret"), "chinwag-wrong.log")
        for port in (TURN_PORT, GOOD_PORT, WRONG_SECRET_PORT):
            built.wait_listening("pub", PUBLIC, port)
        yield built


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browsers(lab: Lab, playwright: Playwright) -> AsyncIterator[dict[str, Browser]]:
    """One Chromium per LAN namespace, allowed to use cameras on the lab's plain-HTTP pages."""
    insecure = f"--unsafely-treat-insecure-origin-as-secure={GOOD_URL[:-1]},{WRONG_SECRET_URL[:-1]}"
    launched: dict[str, Browser] = {}
    for router in ("cone_a", "cone_b", "sym"):
        launched[router] = await playwright.chromium.launch(
            executable_path=lab.chromium_wrapper(f"lan-{router}"),
            headless=True,
            args=chromium_flags(extra=[insecure]),
        )
    yield launched
    for browser in launched.values():
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def open_person(browsers: dict[str, Browser]) -> AsyncIterator[Any]:
    """Factory: ``open_person(name, router, url=GOOD_URL, query="")`` signs in behind ``router``."""
    people: list[Person] = []

    async def open_one(name: str, router: str, url: str = GOOD_URL, query: str = "") -> Person:
        people.append(await Person.open(browsers[router], url, name, query=query))
        return people[-1]

    yield open_one
    for person in people:
        await person.close()


async def route(person: Person) -> dict[str, str]:
    found = await person.until(lambda: person.page.evaluate(_ROUTE), 10, "no selected pair")
    assert isinstance(found, dict)
    return found


def doctor_in(lab: Lab, router: str, secret: str) -> tuple[int, list[dict[str, Any]]]:
    """``chinwag doctor --json`` run in ``router``'s LAN with the lab's ICE URLs."""
    ice = [flag for url in ICE_URLS for flag in ("--ice-url", url)]
    command = [
        "ip", "netns", "exec", lab.ns(f"lan-{router}"), *CHINWAG, "doctor", "--json",
        "--patience", "1.5", *ice, "--turn-secret", secret, "--public-url", "https://chat.test",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    findings = json.loads(done.stdout)
    assert isinstance(findings, list), done.stderr
    return done.returncode, findings


async def test_cone_to_cone_connects_directly(open_person: Any) -> None:
    alice = await open_person("alice", "cone_a")
    bob = await open_person("bob", "cone_b")
    await connect_call(alice, bob)
    for person in (alice, bob):
        await person.media_flows()
    # Direct through both NATs: no relay on either end, and the far end is the other
    # router's mapped address (Chrome names our end host or srflx, by its base).
    for seen in (await route(alice), await route(bob)):
        assert seen["local"] in ("host", "srflx", "prflx"), seen
        assert seen["remote"] in ("srflx", "prflx"), seen


async def test_cone_to_symmetric_goes_through_the_relay(open_person: Any) -> None:
    alice = await open_person("alice", "cone_a")
    bob = await open_person("bob", "sym")
    await connect_call(alice, bob)
    for person in (alice, bob):
        await person.media_flows()
    routes = [await route(alice), await route(bob)]
    assert any("relay" in (r["local"], r["remote"]) for r in routes), routes


async def test_udp_blocked_uses_the_tcp_relay_and_doctor_says_so(
    lab: Lab, open_person: Any
) -> None:
    with lab.udp_blocked("sym"):
        alice = await open_person("alice", "cone_a")
        bob = await open_person("bob", "sym")
        await connect_call(alice, bob)
        for person in (alice, bob):
            await person.media_flows()
        seen = await route(bob)
        assert seen["local"] == "relay" and seen["relayProtocol"] == "tcp", seen

        code, findings = doctor_in(lab, "sym", SECRET)
    # The stun: URL and the UDP turn: URL: both blocked, both reachable over TCP.
    blocked = [f for f in findings if f["code"] == "udp-blocked"]
    assert code == 0 and len(blocked) == 2, findings
    assert {f["status"] for f in blocked} == {"warn"}, blocked
    assert any(f["check"].endswith("transport=tcp relay data") for f in findings)


async def start_echo_bot(lab: Lab, router: str) -> Any:
    """``chinwag peer --echo`` named echo, signed in from ``router``'s LAN."""
    return await start_process(
        "ip", "netns", "exec", lab.ns(f"lan-{router}"), *CHINWAG, "peer", "--server", GOOD_URL,
        "--name", "echo", "--echo", "--verbose",
    )  # fmt: skip


async def test_browser_calls_the_echo_bot_behind_symmetric_nat_with_udp_blocked(
    lab: Lab, open_person: Any
) -> None:
    with lab.udp_blocked("sym"):
        echo = await start_echo_bot(lab, "sym")
        try:
            await echo.expect("waiting for calls")
            alice = await open_person("alice", "cone_a")
            await alice.call("echo")
            await alice.media_flows(within=20)
            seen = await route(alice)
            assert "relay" in (seen["local"], seen["remote"]), seen
        finally:
            finished = await echo.stop()
    assert "TURN URL used by this peer" in finished.output
    assert "transport=tcp" in finished.output.split("TURN URL used by this peer")[1].split("\n")[0]


async def test_wrong_secret_fails_the_call_and_doctor_names_it(lab: Lab, open_person: Any) -> None:
    query = "connectTimeout=8"
    alice = await open_person("alice", "cone_a", WRONG_SECRET_URL, query)
    bob = await open_person("bob", "sym", WRONG_SECRET_URL, query)
    await alice.call("bob")
    await bob.sees_text("#incoming-text", "alice is calling")
    await bob.click("Accept")
    # Without a relay nothing connects a cone to a symmetric NAT; ICE fails, and
    # both people are told why (per-call diagnosis: the 401s from the relay).
    for person in (alice, bob):
        await person.sees_notice("the relay refused the credentials", timeout=20_000)
    await alice.back_to_idle()
    code, findings = doctor_in(lab, "cone_a", "wrong-secret")
    assert code == 1
    refused = {f["check"] for f in findings if f["code"] == "credentials-refused"}
    assert len(refused) == 2, findings  # the UDP and the TCP URL


async def test_doctor_names_a_relay_whose_media_ports_are_closed(lab: Lab) -> None:
    """Allocations work (port 3478 is open) but the relay ports are firewalled."""
    relay_ports = ["INPUT", "-p", "udp", "--dport", "{}:{}".format(*RELAY_PORTS), "-j", "DROP"]
    with lab.firewall("pub", *relay_ports):
        code, findings = doctor_in(lab, "cone_a", SECRET)
    no_data = [f for f in findings if f["code"] == "relay-no-data"]
    # TCP allocations relay over UDP too, so both URLs are named.
    assert code == 1 and len(no_data) == 2, findings
    assert "min-port" in no_data[0]["fix"]


async def test_path_cut_mid_call_recovers_within_10_seconds(lab: Lab, open_person: Any) -> None:
    alice = await open_person("alice", "cone_a", query="iceGrace=1")
    bob = await open_person("bob", "cone_b", query="iceGrace=1")
    await connect_call(alice, bob)
    await alice.media_flows()
    lab.set_wan("cone_b", up=False)
    try:
        await alice.sees_text("#debug-log", "ice connection: disconnected", timeout=15_000)
    finally:
        lab.set_wan("cone_b", up=True)
    for person in (alice, bob):
        await person.media_flows(within=10)


@contextlib.asynccontextmanager
async def echo_call(lab: Lab, open_person: Any) -> AsyncIterator[tuple[RunningCli, Person]]:
    """Alice (behind cone_a, restarting ICE after 1 s ``disconnected``) in a call with the
    echo bot behind cone_b, media flowing; the bot is stopped (output kept) at the end."""
    echo = await start_echo_bot(lab, "cone_b")
    try:
        await echo.expect("waiting for calls")
        alice = await open_person("alice", "cone_a", query="iceGrace=1")
        await alice.call("echo")
        await alice.media_flows(within=20)
        yield echo, alice
    finally:
        print((await echo.stop()).output)  # shown when the test fails


async def test_path_cut_mid_call_with_the_echo_bot_recovers(lab: Lab, open_person: Any) -> None:
    """The browser calls the Python echo bot; the bot's uplink is cut until the browser
    restarts ICE, then restored: video is decoded again within 15 s. (In this lab the old
    path heals before the restart offer reaches the bot; the next test forces the bot's
    renegotiation.)"""
    async with echo_call(lab, open_person) as (_, alice):
        lab.set_wan("cone_b", up=False)
        try:
            # Down until the browser restarts ICE (a short cut heals without a restart).
            await alice.sees_text("#debug-log", "ice: restarting ICE", timeout=20_000)
        finally:
            lab.set_wan("cone_b", up=True)
        await alice.media_flows(video=True, audio=False, within=15)
        assert await alice.call_state() == "active"


async def test_echo_bot_renegotiates_when_its_media_path_is_cut(lab: Lab, open_person: Any) -> None:
    """The bot's media path is cut for good while its signaling stays up, so only the
    bot's renegotiation (a new peer connection) can bring the call back.

    The bot's router drops all UDP both ways; the bot's WebSocket to chinwag is TCP
    and carries on. The browser's ICE goes ``disconnected``, it restarts ICE, and its
    restart offer reaches the bot, which cannot restart ICE: it probes its ICE
    servers again, closes the old connection and rings back with ``rejoin``. UDP
    stays blocked until the end, so the old path cannot heal: the new connection
    can only go through the bot's relay over TCP. Proven: the browser answered a
    rejoin, the bot logged both steps and chose the TCP relay, and the browser
    decodes video again on the new connection, whose far end is the relay. That
    video is the browser's own camera echoed by the bot, so the bot receives frames
    again too. Waits are generous for a busy machine (the whole recovery took
    about 12 s at a load of 60 on 2 cores); the bound is 30 s from the cut.
    """
    async with echo_call(lab, open_person) as (echo, alice):
        with lab.udp_cut("cone_b"):
            deadline = time.monotonic() + 30
            try:
                await alice.sees_text("#debug-log", "call: echo rejoins", timeout=20_000)
                await alice.media_flows(video=True, audio=False, within=deadline - time.monotonic())
            finally:  # what the page went through, shown when the test fails
                print("\n".join(await alice.page.locator("#debug-log li").all_inner_texts()))
            seen = await route(alice)
            assert seen["remote"] == "relay", seen  # the bot's relay, reached over TCP
            assert await alice.call_state() == "active"
    assert echo.finished is not None
    output = echo.finished.output
    assert "an ICE restart was asked for; renegotiating" in output
    assert "asking for a new connection" in output
    chosen_after_cut = output.split("TURN URL used by this peer")[-1].split("\n")[0]
    assert "transport=tcp" in chosen_after_cut, output
