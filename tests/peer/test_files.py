"""Files between chinwag's web page and the Python client (aiortc data channel), relayed
through coturn on loopback: both ways, the same SHA-256 at the other end."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from chinwag.client import ChinwagClient
from chinwag.peer.call import rtc_configuration
from chinwag.peer.cli import EXIT_CODES
from chinwag.peer.files import FileTransfers, IncomingFile
from chinwag.transport.server import ChinwagServer
from tests.browser.people import Person
from tests.peer.support import run_cli, start_cli

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

SIZE = 2 * 1024 * 1024
WAIT_MS = 90_000


async def python_side(url: str) -> tuple[ChinwagClient, FileTransfers]:
    client = ChinwagClient(url, "bot", connect_timeout=5.0)
    await client.connect()
    await client.wait_for_ice_servers()
    assert client.file_max_bytes == 100 * 1024 * 1024  # the server's default, from signed-in
    files = FileTransfers(client, lambda: rtc_configuration(client.ice_servers, relay_only=True))
    return client, files


async def test_the_python_client_receives_a_file_from_the_web_page(
    browser: Browser, server: ChinwagServer, url: str, tmp_path: Path
) -> None:
    client, files = await python_side(url)
    offers: asyncio.Queue[IncomingFile] = asyncio.Queue()
    files.on_offer = offers.put_nowait
    alice = await Person.open(browser, server.url, "alice", query="relay=1")
    try:
        data = os.urandom(SIZE)
        source = tmp_path / "from the page.bin"
        source.write_bytes(data)
        await alice.page.get_by_label("To", exact=True).select_option(label="Privately to bot")
        async with alice.page.expect_file_chooser() as chooser:
            await alice.page.get_by_role("button", name="Send a file").click()
        await (await chooser.value).set_files(str(source))
        async with asyncio.timeout(60):
            offer = await offers.get()
        assert (offer.sender, offer.filename, offer.size) == ("alice", "from the page.bin", SIZE)
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        async with asyncio.timeout(90):
            saved = await offer.accept(inbox)
        assert saved == inbox / "from the page.bin"
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
        card = alice.page.locator("#messages .file-card")
        await expect(card).to_have_attribute("data-state", "verified", timeout=WAIT_MS)
    finally:
        await alice.close()
        await client.close()


async def test_the_python_client_sends_a_file_to_the_web_page(
    browser: Browser, server: ChinwagServer, url: str, tmp_path: Path
) -> None:
    client, files = await python_side(url)
    bob = await Person.open(browser, server.url, "bob", query="relay=1")
    try:
        data = os.urandom(SIZE)
        source = tmp_path / "from python.bin"
        source.write_bytes(data)
        await expect(bob.user_button("bot")).to_be_visible()
        sending = asyncio.ensure_future(files.send_file("bob", source))
        card = bob.page.locator("#messages .file-card")
        await card.get_by_role("button", name="Accept").click(timeout=WAIT_MS)
        await expect(card).to_have_attribute("data-state", "verified", timeout=WAIT_MS)
        async with asyncio.timeout(60):
            assert await sending == "verified"
        async with bob.page.expect_download(timeout=WAIT_MS) as saving:
            await card.get_by_role("link", name="Save").click()
        download = await saving.value
        saved: Any = await asyncio.to_thread(Path(await download.path()).read_bytes)
        assert hashlib.sha256(saved).hexdigest() == hashlib.sha256(data).hexdigest()
    finally:
        await bob.close()
        await client.close()


async def test_send_file_on_the_command_line_to_a_peer_that_saves_files(
    url: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    peer = await start_cli(
        "peer", "--server", url, "--name", "inbox", "--files-into", str(inbox), "--relay-only"
    )
    try:
        await peer.expect("files go to", within=60)
        data = os.urandom(300_000)
        source = tmp_path / "report.bin"
        source.write_bytes(data)
        sent = await run_cli(
            "send-file", "inbox", str(source), "--server", url, "--relay-only", "--timeout", "90"
        )
        assert sent.returncode == EXIT_CODES["ok"], sent.output
        assert "report.bin to inbox: verified" in sent.output
        await peer.expect("SHA-256 verified", within=30)
        saved = await asyncio.to_thread((inbox / "report.bin").read_bytes)
        assert hashlib.sha256(saved).digest() == hashlib.sha256(data).digest()
    finally:
        await peer.stop()
