"""The check page (/check) in real Chromium against a real chinwag and a real coturn.

The page signs in for the server's ICE servers, gathers candidates per TURN
URL, calls itself relay-only and shows a verdict; these tests read that
verdict (``data-verdict`` and its words), the route table and the report.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from chinwag.transport.server import ChinwagServer
from tests.coturn import Coturn, coturn_for_fixture
from tests.support import StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

TURN_SECRET = "check-page-secret"
VERDICT_TIMEOUT_MS = 40_000


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    yield from coturn_for_fixture(tmp_path_factory, TURN_SECRET)


async def open_check_page(browser: Browser, server: ChinwagServer) -> Page:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"http://127.0.0.1:{server.port}/check")
    return page


async def verdict_of(page: Page) -> str:
    verdict = page.locator("#verdict")
    await expect(verdict).not_to_have_attribute("data-verdict", "", timeout=VERDICT_TIMEOUT_MS)
    return str(await verdict.get_attribute("data-verdict"))


async def test_right_secret_says_calls_work_with_media_through_the_relay(
    browser: Browser, start_chinwag: StartServer, coturn: Coturn
) -> None:
    server = await start_chinwag(
        ice_url=[coturn.url("udp"), coturn.url("tcp")], turn_secret=TURN_SECRET
    )
    page = await open_check_page(browser, server)
    try:
        assert await verdict_of(page) == "ok", await page.locator("#report").input_value()
        await expect(page.locator("#verdict")).to_contain_text("Calls from this browser work")
        await expect(page.locator("#device-list")).to_contain_text("camera: fake_device_0")
        rows = page.locator("#route-rows")
        await expect(rows).to_contain_text("Relay over UDP")
        await expect(rows).to_contain_text("Relay over TCP")
        assert await rows.locator("td", has_text="works").count() == 2
        report = await page.locator("#report").input_value()
        assert "relay call: media flowed, route relay" in report
        frames = int(report.split("frames ")[1].split(",")[0])
        assert frames > 0
        axe = await Axe().run(page)
        violations = [v["id"] for v in axe.response["violations"]]
        assert violations == [], axe.generate_report()
    finally:
        await page.context.close()


async def test_wrong_secret_says_the_relay_refused_the_credentials(
    browser: Browser, start_chinwag: StartServer, coturn: Coturn
) -> None:
    server = await start_chinwag(ice_url=[coturn.url("udp")], turn_secret="not-the-secret")
    page = await open_check_page(browser, server)
    try:
        assert await verdict_of(page) == "credentials-refused"
        await expect(page.locator("#verdict")).to_contain_text("The relay refused the credentials")
        await expect(page.locator("#route-rows")).to_contain_text("fails: 401")
        await expect(page.locator("#call-status")).to_contain_text("Skipped")
    finally:
        await page.context.close()


async def test_refused_camera_is_the_verdict_when_the_relay_works(
    denying_browser: Browser, start_chinwag: StartServer, coturn: Coturn
) -> None:
    """Without a camera the relay call sends a drawn picture, so the network is still proven."""
    server = await start_chinwag(ice_url=[coturn.url("udp")], turn_secret=TURN_SECRET)
    page = await open_check_page(denying_browser, server)
    try:
        assert await verdict_of(page) == "no-media-access"
        await expect(page.locator("#media-status")).to_contain_text("was refused")
        report = await page.locator("#report").input_value()
        assert "relay call: media flowed, route relay" in report, report
    finally:
        await page.context.close()


async def test_no_turn_says_so(browser: Browser, chinwag: ChinwagServer) -> None:
    page = await open_check_page(browser, chinwag)
    try:
        assert await verdict_of(page) == "no-turn"
        await expect(page.locator("#route-rows")).to_contain_text("none configured")
        await page.locator("#copy-button").click()
        await expect(page.locator("#copy-status")).not_to_be_empty()
    finally:
        await page.context.close()


async def test_sign_in_page_links_to_the_check(browser: Browser, chinwag: ChinwagServer) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"http://127.0.0.1:{chinwag.port}/")
        await page.get_by_role("link", name="Check your camera and connection").first.click()
        await expect(page).to_have_url(f"http://127.0.0.1:{chinwag.port}/check")
    finally:
        await context.close()


async def test_check_page_on_a_phone_previews_measures_and_leads_back(
    browser: Browser, chinwag: ChinwagServer
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    try:
        await page.goto(f"http://127.0.0.1:{chinwag.port}/check")
        await verdict_of(page)
        # The camera preview plays and the level meter follows the fake microphone.
        frames = "document.getElementById('check-video').getVideoPlaybackQuality().totalVideoFrames"
        first = int(await page.evaluate(f"() => {frames}"))
        await page.wait_for_function(f"(n) => {frames} > n", arg=first)
        await page.wait_for_function("() => document.getElementById('check-level').value > 0.05")
        # Nothing sticks out of the screen, and the way back is in view.
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width
        back = page.get_by_role("link", name="Back to chinwag")
        await expect(back).to_be_in_viewport()
        result = await Axe().run(page)
        serious = [
            v["id"] for v in result.response["violations"] if v["impact"] in ("serious", "critical")
        ]
        assert serious == []
        await back.click()
        await expect(page).to_have_url(f"http://127.0.0.1:{chinwag.port}/")
    finally:
        await context.close()
