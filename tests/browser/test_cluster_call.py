"""A call between browsers on two chinwag processes that share one Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.people import Person, connect_call
from tests.cluster.conftest import RedisServer
from tests.cluster.support import ChinwagProcess

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[tuple[ChinwagProcess, ChinwagProcess]]:
    redis = RedisServer(tmp_path)
    redis.start()
    started = [ChinwagProcess(redis.url, tmp_path / f"chinwag-{n}.log") for n in "ab"]
    try:
        yield started[0], started[1]
    finally:
        for process in started:
            process.stop()
        redis.stop()


async def test_browsers_on_two_processes_call_each_other(
    browser: Browser, processes: tuple[ChinwagProcess, ChinwagProcess]
) -> None:
    a, b = processes
    alice = await Person.open(browser, f"http://127.0.0.1:{a.port}/", "alice")
    bob = await Person.open(browser, f"http://127.0.0.1:{b.port}/", "bob")
    try:
        await expect(alice.user_button("bob")).to_be_visible()
        await expect(bob.user_button("alice")).to_be_visible()
        await connect_call(alice, bob)
        for person in (alice, bob):
            await person.media_flows()
        await bob.click("Hang up")
        await alice.back_to_idle()
        await bob.back_to_idle()
    finally:
        await alice.close()
        await bob.close()
