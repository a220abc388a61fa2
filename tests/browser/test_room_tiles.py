"""The room call's tile grid (web/js/tiles.js, web/room.css) in real Chromium.

The test page (tests/browser/room_page/tiles.html) gives the grid the whole
window, as the call screen will, with the page's CSP; every tile plays the
fake camera. Checked at a desktop (1280x800) and a phone (390x844) size: every
tile visible (desktop) or reachable in the scrolling grid (phone), pinning,
text-only names, markers, and axe-core.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

DESKTOP = (1280, 800)
PHONE = (390, 844)
HOSTILE = '<img src=x onerror="alert(1)">'
NAMES = ["me", "ana", HOSTILE, "cy", "dee", "eve", "fay", "gus"]

Box = dict[str, float]


@pytest_asyncio.fixture(loop_scope="session", params=[DESKTOP, PHONE], ids=["desktop", "phone"])
async def tiles_page(
    request: pytest.FixtureRequest, browser: Browser, room_site: str
) -> AsyncIterator[Page]:
    width, height = request.param
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto(room_site + "tiles.html")
    await page.wait_for_function("() => window.tilesTest !== undefined")
    yield page
    assert not dialogs, f"a name ran as markup: {dialogs}"
    await context.close()


async def show(page: Page, count: int) -> list[Box]:
    await page.evaluate("(names) => tilesTest.show(names)", NAMES[:count])
    tiles = page.locator(".room-tile")
    await expect(tiles).to_have_count(count)
    boxes = [await tiles.nth(i).bounding_box() for i in range(count)]
    assert all(boxes), boxes
    return [box for box in boxes if box]


def inside(box: Box, width: float, height: float) -> bool:
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= width + 0.5
        and box["y"] + box["height"] <= height + 0.5
    )


def overlap(a: Box, b: Box) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"] + 0.5
        or b["x"] + b["width"] <= a["x"] + 0.5
        or a["y"] + a["height"] <= b["y"] + 0.5
        or b["y"] + b["height"] <= a["y"] + 0.5
    )


def area(box: Box) -> float:
    return box["width"] * box["height"]


async def test_every_tile_visible_or_reachable_for_1_to_8(tiles_page: Page) -> None:
    page = tiles_page
    viewport = page.viewport_size
    assert viewport
    width, height = viewport["width"], viewport["height"]
    phone = width < 600
    for count in range(1, 9):
        boxes = await show(page, count)
        assert not any(overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]), (
            count,
            boxes,
        )
        # Wider than the window never: no sideways scrolling at any count.
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        if not phone:
            assert all(inside(box, width, height) for box in boxes), (count, boxes)
            # Tiles share the stage: none smaller than a third of an even 3x3 share.
            assert min(map(area, boxes)) >= width * height / 9 / 3, (count, boxes)
            continue
        columns = {round(box["x"]) for box in boxes}
        # Two people on a phone are stacked (each a full-width half); more, two columns.
        assert len(columns) == (1 if count <= 2 else 2), (count, boxes)
        if 2 <= count <= 4:  # 2 to 4 share the whole stage, no scrolling
            assert all(inside(box, width, height) for box in boxes), (count, boxes)
        for index in range(count):
            tile = page.locator(".room-tile").nth(index)
            await tile.scroll_into_view_if_needed()
            box = await tile.bounding_box()
            assert box and inside(box, width, height), (count, index, box)
        # The page stays put; the grid scrolls once four rows of tiles outgrow it.
        assert await page.evaluate("document.documentElement.scrollHeight") <= height
        if count >= 7:
            scrolls = await page.evaluate(
                "() => { const g = document.getElementById('grid');"
                " return g.scrollHeight > g.clientHeight; }"
            )
            assert scrolls, "many tiles on a phone: the grid itself scrolls"


async def test_pin_makes_a_tile_large_and_unpins(tiles_page: Page) -> None:
    page = tiles_page
    even = await show(page, 6)
    pin = page.get_by_role("button", name="Pin cy")
    await expect(pin).to_have_attribute("aria-pressed", "false")
    await pin.focus()
    await page.keyboard.press("Enter")  # keyboard works, not just the mouse
    await expect(pin).to_have_attribute("aria-pressed", "true")
    assert await page.evaluate("tilesTest.pinned()") == "cy"
    pinned = page.locator(".room-tile", has=pin)
    box = await pinned.bounding_box()
    assert box
    others = [await page.locator(".room-tile").nth(i).bounding_box() for i in range(6)]
    assert all(other for other in others)
    assert area(box) >= 2.5 * max(area(other) for other in others if other and other != box)
    assert area(box) > 2 * area(even[3])
    await pin.click()
    await expect(pin).to_have_attribute("aria-pressed", "false")
    assert await page.evaluate("tilesTest.pinned()") is None


async def test_names_are_text_and_markers_follow_media_state(tiles_page: Page) -> None:
    page = tiles_page
    await show(page, 4)
    hostile = page.get_by_role("region", name=HOSTILE)
    await expect(hostile.locator(".room-tile-name")).to_have_text(HOSTILE)
    assert await page.locator("#grid img").count() == 0
    await expect(page.locator(".room-tile-name").first).to_have_text("me (you)")
    ana = page.get_by_role("region", name="ana")
    await page.evaluate("tilesTest.setMediaState('ana', {audio: false, video: false})")
    await expect(ana.get_by_text("Muted")).to_be_visible()
    await expect(ana.get_by_text("Camera off")).to_be_visible()
    await expect(ana.locator(".room-tile-avatar")).to_have_text("A")
    await expect(ana.locator(".room-tile-avatar")).to_have_attribute("data-colour", "5")
    await page.evaluate("tilesTest.setMediaState('ana', {audio: true, video: true})")
    await expect(ana.get_by_text("Muted")).to_be_hidden()
    await page.evaluate("tilesTest.setSpeaking('cy')")
    cy = page.get_by_role("region", name="cy")
    await expect(cy).to_have_attribute("data-speaking", "true")
    await expect(cy.get_by_text("Speaking")).to_be_visible()
    await expect(ana).to_have_attribute("data-speaking", "false")


async def test_axe_finds_no_serious_violation(tiles_page: Page) -> None:
    page = tiles_page
    await show(page, 5)
    await page.evaluate("tilesTest.setMediaState('ana', {audio: false, video: false})")
    await page.evaluate("tilesTest.setSpeaking('cy')")
    await page.get_by_role("button", name="Pin dee").click()
    result = await Axe().run(page)
    violations: list[dict[str, Any]] = result.response["violations"]
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, serious
