"""Regenerate the screenshot gallery in docs/images (``make screenshots``).

Each screen (sign-in, lobby, pre-join, ringing, in call, chat, missed call,
failure, the Lobby's public rooms, a group call alone, a group call of four,
the /check page) is
taken four ways: desktop 1280x800 and phone 390x844, light and dark, with a
real server and real headless Chromium (fake camera). The four go side by
side into one PNG per screen, drawn by Chromium too, so the gallery stays a
handful of small files. docs/images/in-call.png and group-call.png are the
README's pictures.

Run by hand: ``python -m tests.browser.screenshots [out_dir]``.
"""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, async_playwright, expect

from tests.browser.conftest import TEST_SETTINGS
from tests.browser.people import Person
from tests.chromium import launch_chromium
from tests.support import server_factory

OUT = Path(__file__).resolve().parents[2] / "docs" / "images"
DESKTOP = (1280, 800)
PHONE = (390, 844)
SCREENS = [
    "sign-in",
    "lobby",
    "pre-join",
    "ringing",
    "in-call",
    "chat",
    "missed-call",
    "failure",
    "rooms",
    "waiting",
    "group-call",
    "check",
]

_QUALITY_RATED = "() => document.getElementById('quality').dataset.quality !== 'unknown'"


Size = tuple[int, int]


async def person(
    browser: Browser, url: str, name: str, scheme: str, size: Size, **kw: Any
) -> Person:
    """Someone with a page of the given colour scheme and viewport."""
    someone = await Person.open(browser, url, name, viewport=size, color_scheme=scheme, **kw)
    if kw.get("sign_in", True):
        # A clean picture: the one-time notification offer answered.
        await someone.page.get_by_role("button", name="Not now").click()
    return someone


async def shot(subject: Person) -> bytes:
    await subject.page.wait_for_timeout(300)  # let transitions settle
    return await subject.page.screenshot(type="png")


async def scenes(browser: Browser, url: str, scheme: str, size: Size) -> dict[str, bytes]:
    """Every screen for one scheme and size; the subject is 'alice'."""
    out: dict[str, bytes] = {}
    newcomer = await person(browser, url, "newcomer", scheme, size, sign_in=False)
    out["sign-in"] = await shot(newcomer)
    await newcomer.close()

    alice = await person(browser, url, "alice", scheme, size)
    bob = await person(browser, url, "bob", scheme, DESKTOP)
    carol = await person(browser, url, "carol", scheme, DESKTOP)
    await expect(alice.user_button("carol")).to_be_visible()
    await bob.say("Morning! Notes from yesterday: https://example.org/notes")
    await alice.say("Thanks, reading them now")
    await carol.page.get_by_label("To", exact=True).select_option(label="Privately to alice")
    await carol.say("Call me when you have a minute?")
    await expect(alice.page.locator("#messages .message.direct")).to_be_visible()
    out["lobby"] = await shot(alice)

    checking = await person(browser, url, "pat", scheme, size, prejoin=True)
    await checking.call("bob")
    await checking.page.wait_for_function(
        "() => document.getElementById('prejoin-video').videoWidth > 0"
        " && document.getElementById('prejoin-level').value > 0"
    )
    out["pre-join"] = await shot(checking)
    await checking.close()

    await carol.call("alice")
    await alice.sees_text("#incoming-text", "carol is calling")
    out["ringing"] = await shot(alice)
    await alice.click("Decline")
    await carol.until_state("idle")

    await bob.call("alice")
    await alice.click("Accept")
    await alice.wait_remote_video()
    await alice.page.wait_for_function(
        "() => document.getElementById('quality').dataset.quality !== 'unknown'"
    )
    out["in-call"] = await shot(alice)
    await bob.say("Can you see my screen?")
    await expect(alice.page.locator("#chat-unread")).to_be_visible()
    await alice.page.locator("#chat-button").click()
    out["chat"] = await shot(alice)
    await alice.page.locator("[data-close-panel=chat]").click()
    await alice.click("Hang up")
    await bob.until_state("idle")

    await carol.call("alice")  # nobody answers: the 8 s ring runs out
    await alice.sees_text("#missed-list", "carol", timeout=40_000)
    out["missed-call"] = await shot(alice)
    await alice.close()

    relay_only = await person(browser, url, "alice", scheme, size, query="relay=1")
    await relay_only.call("bob")
    await bob.click("Accept")
    await relay_only.sees_notice("no relay (TURN) configured", timeout=20_000)
    out["failure"] = await shot(relay_only)
    for someone in (relay_only, bob, carol):
        await someone.close()
    return out


async def open_public_room(browser: Browser, url: str, host: str, room: str, title: str) -> Person:
    """`host` opens a public room with the Lobby's New room form."""
    someone = await person(browser, url, host, "light", DESKTOP)
    await someone.page.get_by_label("Room name").fill(room)
    await someone.page.get_by_label("Title (optional)").fill(title)
    await someone.page.get_by_label("List publicly on the Lobby page").check()
    await someone.page.get_by_role("button", name="Open the room").click()
    await expect(someone.page.locator("#room-title")).to_have_text(title)
    return someone


async def room_scenes(browser: Browser, url: str, scheme: str, size: Size) -> dict[str, bytes]:
    """The Lobby listing public rooms, and a group call of four seen by 'alice'."""
    out: dict[str, bytes] = {}
    hosts = [
        await open_public_room(browser, url, "dora", "design", "Design review"),
        await open_public_room(browser, url, "erin", "standup", "Daily stand-up"),
    ]
    hosts.append(await person(browser, url + "r/standup", "finn", "light", DESKTOP))
    alice = await person(browser, url, "alice", scheme, size)
    await expect(alice.page.get_by_role("link", name="Daily stand-up, 2 people")).to_be_visible(
        timeout=20_000
    )
    out["rooms"] = await shot(alice)
    await alice.close()

    alone = await person(browser, url + "r/solo", "alice", scheme, size)
    await alone.page.get_by_role("button", name="Start a group call in this room").click()
    await expect(alone.page.locator("#waiting")).to_be_visible()
    out["waiting"] = await shot(alone)
    await alone.close()

    crew = [
        await person(browser, url + "r/crew", name, scheme, DESKTOP)
        for name in ("bob", "carol", "dan")
    ]
    alice = await person(browser, url + "r/crew", "alice", scheme, size)
    await crew[0].page.get_by_role("button", name="Start a group call in this room").click()
    for count, someone in enumerate(crew[1:], start=1):
        await someone.page.get_by_role(
            "button", name=f"Join the group call ({count} in it)"
        ).click()
    await alice.page.get_by_role("button", name="Join the group call (3 in it)").click()
    await alice.page.wait_for_function(
        "() => [...document.querySelectorAll('#room-grid video')]"
        ".filter((v) => v.videoWidth > 0).length === 4",
        timeout=180_000,
    )
    await crew[1].page.locator("body").press("m")  # carol muted: her tile says so
    await expect(alice.page.get_by_role("region", name="carol").get_by_text("Muted")).to_be_visible(
        timeout=30_000
    )
    await alice.page.wait_for_function(  # every link's quality bars measured
        "() => [...document.querySelectorAll('#room-grid .quality')]"
        ".every((q) => q.dataset.quality !== 'unknown')",
        timeout=90_000,
    )
    out["group-call"] = await shot(alice)
    for someone in (alice, *crew, *hosts):
        await someone.close()

    context = await browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    page = await context.new_page()
    await page.goto(url + "check")
    await expect(page.locator("#verdict")).not_to_have_attribute("data-verdict", "", timeout=60_000)
    await page.wait_for_timeout(300)
    out["check"] = await page.screenshot(type="png")
    await context.close()
    return out


async def composite(browser: Browser, images: list[tuple[str, bytes, Size]], path: Path) -> None:
    """The variants side by side, scaled down, with a caption each, as one PNG."""
    page = await browser.new_page(viewport={"width": 1900, "height": 520})
    figures = "".join(
        f'<figure><img src="data:image/png;base64,{base64.b64encode(data).decode()}" '
        f'width="{int(size[0] * 0.52)}"><figcaption>{caption}</figcaption></figure>'
        for caption, data, size in images
    )
    await page.set_content(
        "<style>body{margin:0;padding:12px;display:flex;gap:14px;align-items:flex-start;"
        "background:#e6e9ef;font:14px sans-serif}figure{margin:0}img{display:block;"
        "border-radius:8px;box-shadow:0 2px 8px #0003}figcaption{margin-top:6px;color:#333}</style>"
        + figures
    )
    body = page.locator("body")
    await body.evaluate("(b) => { b.style.width = 'max-content'; }")
    await body.screenshot(path=str(path))
    await page.close()


async def main(out: Path) -> None:
    """Take every screen, write the composites and the README picture into out."""
    # Rings of 8 s: long enough to photograph a ringing card on a busy machine.
    async with server_factory(**{**TEST_SETTINGS, "ring_timeout": 8.0}) as start:
        server = await start()
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright)
            taken: dict[tuple[str, tuple[int, int]], dict[str, bytes]] = {}
            for scheme in ("light", "dark"):
                for size in (DESKTOP, PHONE):
                    taken[(scheme, size)] = await scenes(browser, server.url, scheme, size)
                    taken[(scheme, size)] |= await room_scenes(browser, server.url, scheme, size)
            (out / "in-call.png").write_bytes(taken[("light", DESKTOP)]["in-call"])
            (out / "group-call.png").write_bytes(taken[("light", DESKTOP)]["group-call"])
            for screen in SCREENS:
                variants = [
                    (
                        f"{'desktop' if size == DESKTOP else 'phone'}, {scheme}",
                        taken[(scheme, size)][screen],
                        size,
                    )
                    for size in (DESKTOP, PHONE)
                    for scheme in ("light", "dark")
                ]
                await composite(browser, variants, out / f"gallery-{screen}.png")
            await browser.close()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target))
