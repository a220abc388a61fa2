"""NAT traversal as a person sees it: relay-only calls through a real coturn,
the route in the stats panel, and plain words when the relay cannot be reached."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.conftest import OpenPerson, StartServer
from tests.browser.people import Person

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

TURN_SECRET = "browser-test-secret"
RELAY_UNREACHABLE = "Could not reach the relay server"


def free_port() -> int:
    """A loopback port free for both UDP and TCP at the time of asking."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port found in 20 tries")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def turn_port(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[int]:
    """A real coturn on loopback with a TURN REST shared secret; yields its port."""
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("coturn")
    process = await asyncio.create_subprocess_exec(
        "turnserver",
        "-n",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={port}",
        "--min-port=49160",
        "--max-port=49360",
        "--realm=chinwag",
        "--fingerprint",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--allow-loopback-peers",
        "--use-auth-secret",
        f"--static-auth-secret={TURN_SECRET}",
        "--log-file=stdout",
        "--simple-log",
        f"--pidfile={workdir / 'turn.pid'}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await wait_listening(port)
    yield port
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 3)
    except TimeoutError:
        process.kill()
        await process.wait()


async def wait_listening(port: int, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        assert loop.time() < deadline, f"coturn did not listen on {port}"
        await asyncio.sleep(0.05)


async def call_and_accept(caller: Person, callee: Person) -> None:
    await expect(caller.user_button(callee.name)).to_be_visible()
    await caller.call(callee.name)
    await callee.click("Accept")


async def test_relay_only_without_a_relay_says_so(open_person: OpenPerson) -> None:
    alice = await open_person("alice", query="relay=1")
    bob = await open_person("bob")
    assert await alice.page.locator("#relay-only").is_checked()
    await call_and_accept(alice, bob)
    await alice.sees_notice(RELAY_UNREACHABLE)
    await alice.back_to_idle()
    await bob.sees_notice("alice")
    await bob.back_to_idle()


async def test_relay_only_call_goes_through_coturn(
    start_chinwag: StartServer, turn_port: int, open_person: OpenPerson
) -> None:
    server = await start_chinwag(
        ice_url=[f"turn:127.0.0.1:{turn_port}?transport=udp"], turn_secret=TURN_SECRET
    )
    alice = await open_person("alice", server=server, query="relay=1")
    bob = await open_person("bob", server=server)
    await call_and_accept(alice, bob)
    for person in (alice, bob):
        await person.wait_remote_video()
        await person.media_flows()
    await alice.click("Stats")
    route = alice.page.locator('[data-stat="route"]')
    await expect(route).to_contain_text("relay")
    await expect(route).to_contain_text("UDP")
    await alice.screenshot("stats-relay")
    await alice.click("Hang up")
    await bob.back_to_idle()


async def test_wrong_turn_credentials_are_logged_and_explained(
    start_chinwag: StartServer, turn_port: int, open_person: OpenPerson
) -> None:
    server = await start_chinwag(
        ice_url=[f"turn:127.0.0.1:{turn_port}?transport=udp"], turn_secret="not-the-secret"
    )
    alice = await open_person("alice", server=server, query="relay=1")
    bob = await open_person("bob", server=server)
    await call_and_accept(alice, bob)
    await alice.sees_notice(RELAY_UNREACHABLE)
    # The TURN server's refusal (401) is in the debug log panel.
    await alice.page.get_by_text("Debug log").click()
    await alice.sees_text("#debug-log", "icecandidateerror")
    await alice.sees_text("#debug-log", "401")
    await alice.back_to_idle()
