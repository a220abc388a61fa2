"""A person at a browser page: what they do (click, type) and what they see.

Assertions poll for a condition with a deadline (Playwright's auto-waiting
``expect`` or :meth:`Person.until`); nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, WebSocket, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEFAULT_WAIT_MS = 20_000  # only a busy machine comes near it
READY_WAIT_MS = 60_000  # a fresh browser's first page on a loaded machine

# Counters that only rise while media arrives: decoded video frames and
# received audio samples on the current peer connection (via the test hook).
_INBOUND_COUNTERS = """
async () => {
  const pc = window.chinwag.debug.pc;
  if (!pc) return null;
  const report = await pc.getStats();
  const out = { frames: 0, samples: 0 };
  report.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video") out.frames += s.framesDecoded || 0;
    if (s.kind === "audio") out.samples += s.totalSamplesReceived || 0;
  });
  return out;
}
"""

# What this page sends of one kind: the sender's track, the track the encoder
# is fed from (outbound-rtp -> media-source), and a counter that rises while
# it sends (encoded frames for video, packets for audio).
_SENDING = """
async (kind) => {
  const pc = window.chinwag.debug.pc;
  if (!pc) return null;
  const track = pc.getSenders().find((s) => s.track?.kind === kind)?.track;
  const report = await pc.getStats();
  let outbound = null;
  report.forEach((s) => { if (s.type === "outbound-rtp" && s.kind === kind) outbound = s; });
  const source = outbound ? report.get(outbound.mediaSourceId) : null;
  return {
    label: track?.label ?? "",
    trackId: track?.id ?? "",
    sourceTrackId: source?.trackIdentifier ?? "",
    sent: (kind === "video" ? outbound?.framesEncoded : outbound?.packetsSent) ?? 0,
  };
}
"""


# The remembered "join straight away" (Settings > Check camera and microphone before each call).
_SKIP_PREJOIN = "try { localStorage.setItem('chinwag.prejoin', 'false'); } catch {}"


def _record(payload: str | bytes, into: list[dict[str, Any]]) -> None:
    """A WebSocket frame of the page's, as the JSON object it carries (others are skipped)."""
    with contextlib.suppress(ValueError):
        message = json.loads(payload)
        if isinstance(message, dict):
            into.append(message)


@dataclass
class Person:
    """One person with their own browser context and page."""

    name: str
    context: BrowserContext
    page: Page
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    #: Every JSON message the page received from the server, on every socket it opened.
    received: list[dict[str, Any]] = field(default_factory=list)
    #: ... and every JSON message it sent.
    sent: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        browser: Browser,
        base_url: str,
        name: str,
        *,
        query: str = "",
        sign_in: bool = True,
        viewport: tuple[int, int] = (1280, 800),
        color_scheme: Literal["light", "dark"] = "light",
        init_script: str = "",
        prejoin: bool = False,
    ) -> Person:
        """Open the chinwag page (test hook on) and, unless told not to, sign in as ``name``.

        ``init_script`` runs before the page's own scripts (e.g. to remove an API
        a phone browser lacks). ``prejoin``: show the pre-join screen before calls;
        off by default (the remembered "join straight away" setting), so tests of
        other things start calls with one click.
        """
        context = await browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, color_scheme=color_scheme
        )
        if not prejoin:
            await context.add_init_script(_SKIP_PREJOIN)
        if init_script:
            await context.add_init_script(init_script)
        page = await context.new_page()
        person = cls(name, context, page)
        # A dialog would mean injected script ran (or a stray alert): record, dismiss.
        page.on("dialog", person._on_dialog)
        page.on(
            "console",
            lambda msg: person.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("websocket", person._on_websocket)
        params = "debug=1" + (f"&{query}" if query else "")
        await page.goto(f"{base_url}?{params}")
        if sign_in:
            await person.sign_in(name)
        return person

    async def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    def _on_websocket(self, socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: _record(payload, self.received))
        socket.on("framesent", lambda payload: _record(payload, self.sent))

    async def close(self) -> None:
        await self.context.close()

    # -- doing ---------------------------------------------------------------

    async def sign_in(self, name: str, expect_name: str | None = None) -> None:
        """Type a name and press Enter; wait until signed in as ``expect_name`` (or ``name``)."""
        await self.page_is_ready()
        await self.page.get_by_label("Your name").fill(name)
        await self.page.get_by_label("Your name").press("Enter")
        self.name = expect_name or name
        await expect(self.page.locator("#self-name")).to_have_text(self.name)

    async def page_is_ready(self) -> None:
        """Wait until the page's scripts have run (the name box has its label).

        The first page of a fresh browser on a loaded machine can take tens of
        seconds to compile its modules; a page that never gets there fails with
        what its console said, not just "not found".
        """
        box = self.page.get_by_label("Your name")
        try:
            await expect(box).to_be_attached(timeout=READY_WAIT_MS)
        except AssertionError as error:
            said = "; ".join(self.console_errors) or "nothing"
            raise AssertionError(f"the page never became ready (console: {said})") from error

    async def say(self, text: str) -> None:
        """Type a chat message and press Enter (opening the chat if a call folded it away)."""
        box = self.page.get_by_role("textbox", name="Message")
        if not await box.is_visible():
            await self.page.locator("#chat-button").click()
        await box.fill(text)
        await box.press("Enter")

    def user_button(self, name: str) -> Any:
        return self.page.locator(f'#user-list li[data-name="{name}"] button.user')

    async def call(self, name: str) -> None:
        """Click someone's name in the list."""
        await self.user_button(name).click()

    async def click(self, label: str) -> None:
        await self.page.get_by_role("button", name=label, exact=True).click()

    async def more(self, label: str) -> None:
        """Choose ``label`` in the call bar's More menu (People, Stats, Settings, ...)."""
        await self.page.locator("#more-button").click()
        await self.page.get_by_role("menuitem", name=label, exact=True).click()

    # -- seeing --------------------------------------------------------------

    async def sees_text(self, selector: str, text: str, timeout: int = DEFAULT_WAIT_MS) -> None:
        await expect(self.page.locator(selector)).to_contain_text(text, timeout=timeout)

    async def sees_notice(self, text: str, timeout: int = DEFAULT_WAIT_MS) -> None:
        """A notice (the stack at the top of the page) says ``text``."""
        await self.sees_text("#notices", text, timeout)

    async def open_settings(self) -> None:
        """Open the settings sheet (devices, ringtone, relay only, diagnostics)."""
        await self.page.locator("#settings-button").click()
        await expect(self.page.locator("#settings-dialog")).to_be_visible()

    async def call_state(self) -> str:
        return str(await self.page.evaluate("window.chinwag.debug.state"))

    async def until_state(self, state: str, timeout: int = DEFAULT_WAIT_MS) -> None:
        await self.page.wait_for_function(
            "(s) => window.chinwag.debug.state === s", arg=state, timeout=timeout
        )

    async def remote_video_size(self) -> tuple[int, int]:
        size = await self.page.evaluate(
            "() => { const v = document.getElementById('remote-video');"
            " return [v.videoWidth, v.videoHeight]; }"
        )
        return int(size[0]), int(size[1])

    async def wait_remote_video(self, timeout: int = DEFAULT_WAIT_MS) -> None:
        await self.page.wait_for_function(
            "() => document.getElementById('remote-video').videoWidth > 0", timeout=timeout
        )

    async def inbound(self) -> dict[str, int] | None:
        result = await self.page.evaluate(_INBOUND_COUNTERS)
        return None if result is None else {k: int(v) for k, v in result.items()}

    async def media_flows(self, video: bool = True, audio: bool = True, within: float = 10) -> None:
        """Decoded frames and received audio samples rise on this side within ``within`` s."""
        first = await self.until(self.inbound, within, "no peer connection")
        assert first is not None

        async def risen() -> bool:
            now = await self.inbound()
            if now is None:
                return False
            frames_ok = not video or now["frames"] > first["frames"]
            samples_ok = not audio or now["samples"] > first["samples"]
            return frames_ok and samples_ok

        await self.until(risen, within, f"{self.name}: media did not flow")

    async def sending(self, kind: str) -> dict[str, Any] | None:
        """What goes out for ``kind`` ("audio"/"video"): label, trackId, sourceTrackId, sent."""
        result = await self.page.evaluate(_SENDING, kind)
        return None if result is None else dict(result)

    async def sender_kinds(self) -> list[str]:
        """Kinds of the tracks this page sends on its current one-to-one connection."""
        kinds = await self.page.evaluate(
            "() => window.chinwag.debug.pc.getSenders().filter((s) => s.track)"
            ".map((s) => s.track.kind)"
        )
        return sorted(str(kind) for kind in kinds)

    async def local_tracks(self) -> list[str]:
        """readyState of every local track of the current or last call."""
        states = await self.page.evaluate(
            "() => window.chinwag.debug.localTracks.map((t) => t.readyState)"
        )
        return [str(s) for s in states]

    async def back_to_idle(self, timeout: int = DEFAULT_WAIT_MS) -> None:
        """Idle again: no stage, no prompt, and every local track of the call stopped."""
        await self.until_state("idle", timeout)
        await expect(self.page.locator("#stage")).to_be_hidden()
        await expect(self.page.locator("#incoming")).to_be_hidden()
        tracks = await self.local_tracks()
        assert tracks, f"{self.name}: the call opened no local tracks"
        assert set(tracks) == {"ended"}, f"{self.name}: local tracks still live: {tracks}"
        no_pc = await self.page.evaluate("window.chinwag.debug.pc === null")
        assert no_pc

    async def back_to_idle_without_media(self, timeout: int = DEFAULT_WAIT_MS) -> None:
        """Idle again after a call that never opened a camera here (missed, declined)."""
        await self.until_state("idle", timeout)
        await expect(self.page.locator("#incoming")).to_be_hidden()
        assert await self.local_tracks() == []

    async def rises(self, read: Callable[[], Awaitable[int]], within: float, failure: str) -> None:
        """The counter ``await read()`` grows beyond its present value within ``within`` s."""
        first = await read()

        async def grown() -> bool:
            return await read() > first

        await self.until(grown, within, failure)

    async def until(self, probe: Any, within: float, failure: str) -> Any:
        """Poll ``probe()`` (plain or async) until it gives something truthy; fail after
        ``within`` s."""
        return await until(probe, within, failure)

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path

    async def debug_log(self) -> str:
        """The page's debug log panel (shown in failure output)."""
        return str(await self.page.locator("#debug-log").text_content())


OpenPerson = Callable[..., Awaitable[Person]]


async def two_people(open_person: OpenPerson) -> tuple[Person, Person]:
    """alice and bob, signed in, each seeing the other."""
    alice = await open_person("alice")
    bob = await open_person("bob")
    await expect(alice.user_button("bob")).to_be_visible()
    return alice, bob


async def call_and_accept(caller: Person, callee: Person) -> None:
    """caller clicks callee's name; callee sees the ringing prompt and accepts."""
    await expect(caller.user_button(callee.name)).to_be_visible()
    await caller.call(callee.name)
    await callee.sees_text("#incoming-text", f"{caller.name} is calling")
    await callee.click("Accept")


async def connect_call(caller: Person, callee: Person) -> None:
    """A call from caller to callee, accepted; both see each other's video."""
    await call_and_accept(caller, callee)
    await caller.wait_remote_video()
    await callee.wait_remote_video()


async def serious_axe_problems(person: Person) -> list[str]:
    """axe-core's serious and critical violations on the person's page now (rule, targets)."""
    result = await Axe().run(person.page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def until(probe: Any, within: float, failure: str) -> Any:
    """Poll ``probe()`` (plain or async) every 0.1 s until it gives something truthy, and
    return that; fail with ``failure`` after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        assert loop.time() < deadline, failure
        await asyncio.sleep(0.1)
