"""The hosts' screens for docs/web-client.md: host tools with the waiting list, a person's
menu, the people list with roles and hands, and the waiting screen, each taken four ways
(desktop and phone, light and dark) with the real server and Chromium, as screenshots.py
does for the rest of the gallery.

Run by hand: ``python -m tests.browser.host_screenshots [out_dir]``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from playwright.async_api import Browser, async_playwright, expect

from tests.browser.conftest import TEST_SETTINGS
from tests.browser.screenshots import DESKTOP, OUT, PHONE, Size, composite, person, shot
from tests.chromium import launch_chromium
from tests.support import server_factory

SCREENS = ["host-tools", "host-menu", "waiting-room"]


async def scenes(
    browser: Browser, url: str, scheme: str, size: Size, room: str
) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    path = f"r/{room}"
    ana = await person(browser, url + path, "ana", scheme, size)
    bo = await person(browser, url + path, "bo", scheme, DESKTOP)
    cy = await person(browser, url + path, "cy", scheme, DESKTOP)
    await expect(ana.page.locator("#user-list li")).to_have_count(3)
    await ana.page.get_by_label("Waiting room: I let people in").check()
    await cy.page.get_by_role("button", name="Raise hand").click()
    await bo.page.get_by_role("button", name="Raise hand").click()
    await ana.page.get_by_label("Actions for bo", exact=True).click()
    await ana.page.get_by_role("button", name="Make moderator").click()
    await expect(ana.page.locator("#user-list li[data-name=bo] .badge.role")).to_be_visible()
    eve = await person(browser, url + path, "eve", scheme, size)
    await expect(eve.page.locator("#gate-card")).to_be_visible()
    out["waiting-room"] = await shot(eve)
    await expect(ana.page.get_by_role("button", name="Admit eve")).to_be_visible()
    out["host-tools"] = await shot(ana)
    await ana.page.get_by_label("Actions for cy", exact=True).click()
    await expect(ana.page.get_by_role("button", name="Remove and keep out")).to_be_visible()
    out["host-menu"] = await shot(ana)
    for someone in (ana, bo, cy, eve):
        await someone.close()
    return out


async def main(out: Path) -> None:
    async with server_factory(**TEST_SETTINGS) as start:
        server = await start()
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright)
            taken: dict[tuple[str, Size], dict[str, bytes]] = {}
            for number, (scheme, size) in enumerate(
                (s, z) for s in ("light", "dark") for z in (DESKTOP, PHONE)
            ):
                taken[(scheme, size)] = await scenes(
                    browser, server.url, scheme, size, f"team{number}"
                )
            for screen in SCREENS:
                variants = [
                    (f"{'desktop' if z == DESKTOP else 'phone'}, {s}", taken[(s, z)][screen], z)
                    for z in (DESKTOP, PHONE)
                    for s in ("light", "dark")
                ]
                await composite(browser, variants, out / f"gallery-{screen}.png")
            (out / "host-tools.png").write_bytes(taken[("light", DESKTOP)]["host-tools"])
            await browser.close()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target))
