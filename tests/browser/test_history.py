"""A late joiner sees the chat said before it came, in real Chromium.

The tutorial's client (the stand-in in reference_client/) gets history as
ordinary ``message`` frames and shows it with innerHTML, so the stored lines
must arrive made harmless exactly like live ones. chinwag's page asks for the
``history`` feature: it gets one ``history`` message on joining, shows it like
live chat (hostile text as text), never twice (after a reload, a resume or a
line said as it joined), and pages older lines when scrolled to the top or
through the "Load earlier messages" button.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import OpenPerson
from tests.browser.people import Person
from tests.browser.test_reconnect import drop_and_resume
from tests.browser.test_reference_interop import open_reference
from tests.support import Client, StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

HOSTILE = "<img src=x onerror=alert(1)>the agenda"
SAID = ["good morning", HOSTILE, "see you at ten"]
SEEDED = 120  # more than two pages of 50

MESSAGE_TEXTS = """
() => [...document.querySelectorAll("#messages li.message .text")].map((p) => p.textContent)
"""

# Where the first chat line on screen sits relative to the top of the log.
FIRST_LINE_OFFSET = """
(text) => {
  const log = document.getElementById("messages");
  const line = [...log.querySelectorAll("li.message")]
    .find((li) => li.querySelector(".text").textContent === text);
  return line ? line.getBoundingClientRect().top - log.getBoundingClientRect().top : null;
}
"""


async def say_lines(server: ChinwagServer, texts: list[str]) -> None:
    """ann says each line over a raw WebSocket; returns once every line is stored."""
    ann = await Client.open(server.port)
    try:
        await ann.sign_in("ann", ["plain-text"])
        for text in texts:
            await ann.send({"type": "message", "text": text})
            await ann.wait_for("message", text=text)
        assert server.history is not None and await server.history.store.flush(10)
    finally:
        await ann.close()


@pytest_asyncio.fixture(loop_scope="session")
async def chinwag(start_chinwag: StartServer, tmp_path: Path) -> ChinwagServer:
    """The browser tests' server, keeping history in this test's directory (no chat
    rate limit and a store quota above what one address seeds here, so a test can
    seed many lines quickly)."""
    server = await start_chinwag(
        history=True, data_dir=str(tmp_path), chat_rate=0, history_per_address=10_000
    )
    await say_lines(server, SAID)
    return server


def history_messages(person: Person) -> list[dict[str, Any]]:
    return [m for m in person.received if m.get("type") == "history"]


async def texts_on_screen(person: Person) -> list[str]:
    texts: list[str] = await person.page.evaluate(MESSAGE_TEXTS)
    return texts


async def shown_once(person: Person, expected: list[str]) -> None:
    """Every expected line is on screen exactly once, in this order, and nothing else twice."""

    async def settled() -> bool:
        texts = await texts_on_screen(person)
        return [t for t in texts if t in expected] == expected

    await person.until(settled, 10, f"not each once in order: {await texts_on_screen(person)}")
    twice = [t for t, n in Counter(await texts_on_screen(person)).items() if n > 1]
    assert not twice, twice


async def test_the_reference_client_shows_history_as_plain_messages(
    browser: Browser, reference_site: str, chinwag: ChinwagServer
) -> None:
    late = await open_reference(browser, reference_site, chinwag, "latecomer")
    try:
        lines = late.locator("#chatbox p")
        await expect(lines).to_have_text(
            ["ann: good morning", "ann: the agenda", "ann: see you at ten"]
        )
        assert await late.locator("#chatbox img").count() == 0
    finally:
        await late.context.close()


async def test_a_late_joiner_sees_earlier_chat_from_the_server_once_as_text(
    open_person: OpenPerson,
) -> None:
    carol = await open_person("carol")
    await shown_once(carol, SAID)
    # It came as one `history` message, not as message frames.
    [history] = history_messages(carol)
    assert [line["text"] for line in history["lines"]] == SAID and history["more"] is False
    assert not [m for m in carol.received if m.get("type") == "message"]
    # Hostile text stays text; the start of the conversation is marked.
    assert await carol.page.locator("#messages img").count() == 0
    assert not carol.dialogs
    await carol.sees_text("#messages .history-edge", "Start of the conversation")
    await expect(carol.page.get_by_role("button", name="Load earlier messages")).to_be_hidden()
    # History lines look like live ones: carol's own line is set apart, ann's is not.
    await carol.say("morning all")
    await shown_once(carol, [*SAID, "morning all"])
    assert await carol.page.locator("#messages li.message.own").count() == 1


async def test_a_reload_and_a_resume_show_each_line_once(
    chinwag: ChinwagServer, open_person: OpenPerson
) -> None:
    carol = await open_person("carol")
    await carol.say("before the reload")
    expected = [*SAID, "before the reload"]
    await shown_once(carol, expected)
    assert chinwag.history is not None and await chinwag.history.store.flush(10)

    await carol.page.reload()
    await expect(carol.page.locator("#self-name")).to_have_text("carol")
    await shown_once(carol, expected)
    # Nothing of the chat was kept in sessionStorage: it came from the server.
    kept = await carol.page.evaluate("() => sessionStorage.getItem('chinwag.chat')")
    assert kept is None

    # A dropped socket: lines said meanwhile arrive once, nothing is repeated.
    await drop_and_resume(chinwag, carol)
    await say_lines(chinwag, ["while carol was away"])
    await shown_once(carol, [*expected, "while carol was away"])


async def test_scrolling_to_the_top_loads_older_pages_until_the_start(
    chinwag: ChinwagServer, open_person: OpenPerson
) -> None:
    seeded = [f"line {n:03d}" for n in range(1, SEEDED + 1)]
    await say_lines(chinwag, seeded)
    everything = [*SAID, *seeded]
    dana = await open_person("dana")
    await shown_once(dana, everything[-50:])
    assert len(await texts_on_screen(dana)) == 50

    log = dana.page.locator("#messages")
    pages = 0
    while (await texts_on_screen(dana))[0] != everything[0]:
        first = (await texts_on_screen(dana))[0]
        shown = len(await texts_on_screen(dana))
        await log.evaluate("(log) => { log.scrollTop = 0; }")
        await dana.until(
            lambda shown=shown: _more_than(dana, shown), 10, "scrolling to the top loaded nothing"
        )
        # The line that was at the top stays in view: the position is kept steady.
        offset = await dana.page.evaluate(FIRST_LINE_OFFSET, first)
        assert offset is not None and offset >= 0, offset
        pages += 1
        assert pages <= 3, "more pages than lines"
    await shown_once(dana, everything)
    await dana.sees_text("#messages .history-edge", "Start of the conversation")
    requests = [m for m in dana.received if m.get("type") == "history"]
    assert len(requests) == 1 + pages and requests[-1]["more"] is False


async def _more_than(person: Person, count: int) -> bool:
    return len(await texts_on_screen(person)) > count


async def test_the_keyboard_loads_earlier_messages_with_the_button(
    chinwag: ChinwagServer, open_person: OpenPerson
) -> None:
    await say_lines(chinwag, [f"line {n:03d}" for n in range(1, SEEDED + 1)])
    erin = await open_person("erin")
    await shown_once(erin, [f"line {n:03d}" for n in range(71, SEEDED + 1)])
    button = erin.page.get_by_role("button", name="Load earlier messages")
    edge = erin.page.locator("#messages .history-status")
    await button.focus()  # brings the top into view, which may start loading by itself
    for _ in range(3):  # two pages are left; Enter while one is loading does nothing
        if "Start of the conversation" in str(await edge.text_content()):
            break
        await expect(button).to_be_focused()
        shown = len(await texts_on_screen(erin))
        await erin.page.keyboard.press("Enter")
        await erin.until(
            lambda shown=shown: _more_than(erin, shown), 10, "Enter on the button loaded nothing"
        )
    await shown_once(erin, [*SAID, *(f"line {n:03d}" for n in range(1, SEEDED + 1))])
    await expect(edge).to_have_text("Start of the conversation")
    # The button is gone at the start; the focus went to the chat log, not to the page.
    await expect(erin.page.locator("#messages")).to_be_focused()
