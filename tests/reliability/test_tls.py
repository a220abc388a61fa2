"""HTTPS and WSS on one port, with a given or a self-signed certificate."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from playwright.async_api import async_playwright

from chinwag.config import settings_for_tests
from chinwag.transport.server import ChinwagServer
from chinwag.transport.tls import local_addresses, self_signed
from tests.browser.people import Person
from tests.chromium import launch_chromium
from tests.support import Client


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHINWAG_STATE_DIR", str(tmp_path))
    return tmp_path


def test_self_signed_certificate_names_this_machine_and_is_reused(state_dir: Path) -> None:
    first = self_signed()
    certificate = x509.load_pem_x509_certificate(first.cert.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    addresses = {str(a) for a in names.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "::1"} <= addresses
    assert set(local_addresses()) <= addresses
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert 360 <= lifetime.days <= 366
    assert first.cert.parent == state_dir
    assert first.key.stat().st_mode & 0o777 == 0o600
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", first.fingerprint)
    assert self_signed() == first  # reused, not made again
    for address in addresses:
        ipaddress.ip_address(address)


def trusting(cert: Path) -> ssl.SSLContext:
    """A client context that trusts exactly this certificate and checks the host name."""
    context = ssl.create_default_context(cafile=str(cert))
    assert context.check_hostname
    return context


async def test_https_and_wss_on_one_port(state_dir: Path) -> None:
    server = ChinwagServer(settings_for_tests(host="127.0.0.1", port=0, self_signed=True))
    await server.start()
    try:
        assert server.url == f"https://127.0.0.1:{server.port}/"
        assert server.certificate is not None
        context = trusting(server.certificate.cert)
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url, ssl=context) as response:
                assert response.status == 200
                assert "<html" in (await response.text()).lower()
            one = await session.ws_connect(f"wss://127.0.0.1:{server.port}/ws", ssl=context)
            assert (await one.receive_json())["type"] == "id"
            await one.close()
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(server.url)  # the system trust store does not know it
        # The same certificate, given as --cert/--key, serves the same way.
        given = settings_for_tests(
            host="127.0.0.1",
            port=0,
            cert=str(server.certificate.cert),
            key=str(server.certificate.key),
        )
        async with ChinwagServer(given) as other, aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"wss://localhost:{other.port}/", ssl=context)
            client = Client(session, ws)
            await client.expect("id")
            await client.sign_in("tls-user")
            await client.send({"type": "message", "text": "over tls"})
            await client.wait_for("message", text="over tls")
            await ws.close()
    finally:
        await server.stop()


def test_cli_self_signed_prints_https_url_and_fingerprint(state_dir: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chinwag", "serve", "--host=127.0.0.1", "--port=0", "--self-signed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CHINWAG_STATE_DIR": str(state_dir)},
    )
    try:
        assert process.stdout is not None
        listening = process.stdout.readline()
        assert re.fullmatch(r"chinwag listening on https://127\.0\.0\.1:\d+/\n", listening)
        fingerprint = process.stdout.readline()
        assert fingerprint == f"chinwag certificate SHA-256 {self_signed().fingerprint}\n"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0  # shutdown's own bound is tested elsewhere


@pytest.mark.browser
async def test_browser_calls_over_https_and_wss(state_dir: Path) -> None:
    settings = settings_for_tests(
        host="127.0.0.1", port=0, self_signed=True, presence_interval=0.02, ring_timeout=5.0
    )
    async with ChinwagServer(settings) as server, async_playwright() as driver:
        browser = await launch_chromium(driver, extra=["--ignore-certificate-errors"])
        try:
            alice = await Person.open(browser, server.url, "alice")
            bob = await Person.open(browser, server.url, "bob")
            assert alice.page.url.startswith("https://127.0.0.1:")
            scheme = await alice.page.evaluate("window.location.protocol")
            assert scheme == "https:"
            await alice.page.locator('#user-list li[data-name="bob"] button').first.wait_for()
            await alice.call("bob")
            await bob.sees_text("#incoming-text", "alice is calling")
            await bob.click("Accept")
            for person in (alice, bob):
                await person.wait_remote_video()
                await person.media_flows()
            assert not alice.dialogs and not bob.dialogs
            sockets = list(server.websockets.values())
            assert len(sockets) == 2
            for connection in sockets:  # the pages signed in over wss://
                assert connection.transport is not None
                assert connection.transport.get_extra_info("ssl_object") is not None
        finally:
            await browser.close()
