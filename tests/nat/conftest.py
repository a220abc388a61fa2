"""NAT traversal fixtures: a real coturn on loopback, one headless Chromium, relay-test pages.

coturn runs with the flags TESTING-NOTES.md lists as working here, plus
``--use-auth-secret``; ``--allow-loopback-peers`` is what lets it relay
between two browsers on 127.0.0.1. Its log goes to a file in the test's
temporary directory, shown when a test fails to start it.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from chinwag.config import settings_for_tests
from chinwag.turn import IceServers

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
PEER_SCRIPT = (Path(__file__).parent / "relay_peer.js").read_text()
COTURN_START_TIMEOUT = 5.0


@dataclass
class Coturn:
    """One running turnserver: where it listens and the secret it checks credentials with."""

    port: int
    secret: str
    process: subprocess.Popen[bytes]
    log: Path

    def ice_servers(self, secret: str | None = None, transport: str = "udp") -> IceServers:
        """chinwag's IceServers for this coturn (``secret`` overrides the matching one)."""
        settings = settings_for_tests(
            ice_url=[f"turn:127.0.0.1:{self.port}?transport={transport}"],
            turn_secret=secret or self.secret,
            turn_ttl=600,
        )
        return IceServers.from_settings(settings)


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (coturn listens on both)."""
    for _ in range(50):
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with contextlib.suppress(OSError):
                udp.bind(("127.0.0.1", port))
                return port
    raise RuntimeError("no port free for both TCP and UDP")


def wait_until_listening(coturn: Coturn) -> None:
    deadline = time.monotonic() + COTURN_START_TIMEOUT
    while time.monotonic() < deadline:
        if coturn.process.poll() is not None:
            break
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", coturn.port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"coturn did not start; its log:\n{coturn.log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


StartCoturn = Callable[..., Coturn]


@pytest.fixture
def start_coturn(tmp_path: Path) -> Iterator[StartCoturn]:
    """Factory: ``start_coturn(secret, config=None)`` runs turnserver on loopback until teardown.

    With ``config`` (a turnserver.conf text) coturn reads that file; the
    loopback flags given on the command line take precedence over it.
    """
    processes: list[subprocess.Popen[bytes]] = []

    def start(secret: str = "test-secret", config: str | None = None) -> Coturn:
        port = free_port()
        # Below Linux's ephemeral range, so the browsers' own sockets never collide.
        relay_low = random.randrange(20000, 30000, 200)
        work = tmp_path / f"coturn-{port}"
        work.mkdir()
        command = ["turnserver"]
        if config is None:
            command += [
                "-n",
                "--use-auth-secret",
                f"--static-auth-secret={secret}",
                "--realm=chinwag",
                "--fingerprint",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
            ]
        else:
            (work / "turnserver.conf").write_text(config)
            command += ["-c", str(work / "turnserver.conf")]
        command += [
            "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
            f"--min-port={relay_low}", f"--max-port={relay_low + 199}",
            "--allow-loopback-peers", "--log-file=stdout", "--simple-log",
            f"--pidfile={work / 'turnserver.pid'}",
        ]  # fmt: skip
        log = work / "turnserver.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        processes.append(process)
        coturn = Coturn(port=port, secret=secret, process=process, log=log)
        wait_until_listening(coturn)
        return coturn

    yield start
    for process in processes:
        stop(process)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for every NAT test; each test opens its own contexts."""
    async with async_playwright() as driver:
        chromium = await driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def blank_site() -> AsyncIterator[str]:
    """An empty page on http://127.0.0.1 (a secure context, so getUserMedia works)."""
    app = web.Application()

    async def empty_page(_: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>nat</title>", content_type="text/html")

    app.router.add_get("/", empty_page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    await runner.cleanup()


async def new_peer_page(browser: Browser, site: str) -> Page:
    """A page in a fresh context of ``browser``, at ``site``, with ``natPeer`` loaded."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(site)
    await page.add_script_tag(content=PEER_SCRIPT)
    return page


OpenPeerPage = Callable[[], Awaitable[Page]]


@pytest_asyncio.fixture(loop_scope="session")
async def open_peer_page(browser: Browser, blank_site: str) -> AsyncIterator[OpenPeerPage]:
    """Factory: a relay-test page (see ``new_peer_page``); its context closes after the test."""
    pages: list[Page] = []

    async def open_page() -> Page:
        pages.append(await new_peer_page(browser, blank_site))
        return pages[-1]

    yield open_page
    for page in pages:
        await page.context.close()
