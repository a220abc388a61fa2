"""A room-call mesh forming in headless Chromium, in one page, without the server.

Run by hand (never in CI): ``.venv/bin/python bench/room_mesh.py --people 8``.
It opens tests/browser/room_page/mesh.html (the in-page signaling bus stands in
for the server; every peer connection is real), joins PEOPLE one after the
other, and prints: the time until every pair decodes video, the signaling
messages each person sent, and, after a warm-up, the video kbit/s each sender
sends each peer next to the cap bandwidth.js set. Loopback only; bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.async_api import async_playwright

from tests.browser.conftest import ROOM_PAGES, WEB_FILES, static_site
from tests.chromium import launch_chromium


async def run(people: int, warmup: float, window: float) -> None:
    names = string.ascii_lowercase[:people]
    site = static_site({"/web": WEB_FILES, "/": ROOM_PAGES})
    async with async_playwright() as driver, site as url:
        browser = await launch_chromium(driver)
        try:
            page = await browser.new_page()
            await page.goto(url + "mesh.html")
            await page.wait_for_function("() => window.meshTest !== undefined")
            started = time.monotonic()
            for name in names:
                await page.evaluate("(n) => meshTest.join(n)", name)
            deadline = started + 120
            while True:
                frames = await page.evaluate("meshTest.framesDecoded()")
                decoding = sum(1 for row in frames.values() for n in row.values() if n)
                if decoding == people * (people - 1):
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {decoding} of {people * (people - 1)} links decode")
                await asyncio.sleep(0.05)
            formed = time.monotonic() - started
            counts = await page.evaluate("meshTest.signalCounts()")
            print(f"{people} people: every pair decoding after {formed:.2f} s")
            print(f"signaling messages sent per person (join order): {counts}")
            await asyncio.sleep(warmup)
            before = await page.evaluate("meshTest.bytesSent()")
            await asyncio.sleep(window)
            after = await page.evaluate("meshTest.bytesSent()")
            cap = (await page.evaluate("meshTest.caps()"))[names[0]]
            rates, widths = [], []
            for me, row in after.items():
                for other, now in row.items():
                    then = before[me][other]
                    rates.append((now["bytes"] - then["bytes"]) * 8 / (now["at"] - then["at"]))
                    widths.append(now["width"])
            print(
                f"cap {cap['kbps']} kbit/s per peer, scale 1/{cap['scaleResolutionDownBy']}; "
                f"sent per peer kbit/s: median {statistics.median(rates):.0f}, "
                f"max {max(rates):.0f}, min {min(rates):.0f}; "
                f"upload per person {statistics.median(rates) * (people - 1):.0f} kbit/s; "
                f"frame widths {sorted(set(widths))}"
            )
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=8, choices=range(2, 11))
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured")
    args = parser.parse_args()
    asyncio.run(run(args.people, args.warmup, args.window))


if __name__ == "__main__":
    main()
