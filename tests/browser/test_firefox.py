"""Firefox ESR and Chromium together, through the real chinwag server: one-to-one calls
both ways, a group call mixing them, chat, a reload mid-call in Firefox, and the
features one browser lacks shown only where they work.

Media is proven by ``getStats``: decoded video frames rise on every connection (in
Firefox through the BiDi preload script that keeps the page's peer connections, in
Chromium through the page's test hook). One Firefox serves the whole module; any
uncaught error in its page fails the test (the ``firefox`` fixture).
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from playwright.async_api import expect

from chinwag.transport.server import ChinwagServer
from tests.browser.people import OpenPerson, Person, until
from tests.browser.test_room_call import frames as room_frames
from tests.firefox import Firefox
from tests.support import StartServer

# Starting Firefox takes seconds (over 40 s at a load of 80 on 2 cores), on top of the test.
pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.browser,
    pytest.mark.timeout(300),
]

#: Seconds for media to start on a busy 2-core machine.
MEDIA_WITHIN = 60


@pytest_asyncio.fixture(loop_scope="session")
async def chinwag(start_chinwag: StartServer) -> ChinwagServer:
    """Rings of 30 s, not the suite's 2 s: a loaded machine may take longer to click Accept."""
    return await start_chinwag(ring_timeout=30.0)


async def sign_in_firefox(
    firefox: Firefox, server: ChinwagServer, name: str, path: str = ""
) -> None:
    await firefox.open(f"{server.url}{path}?debug=1")
    await firefox.until(
        "return document.getElementById('name-input') !== null", 30, "no sign-in form"
    )
    await firefox.type("#name-input", name)
    await firefox.until(
        "return document.getElementById('self-name').textContent === arguments[0]",
        30,
        f"not signed in as {name}",
        name,
    )


async def firefox_decodes(firefox: Firefox, links: int) -> None:
    """Every one of ``links`` open connections decodes video, and each keeps rising."""

    async def started() -> list[int] | None:
        frames = await firefox.frames()
        return frames if len(frames) == links and all(n > 0 for n in frames) else None

    first = await until(started, MEDIA_WITHIN, f"Firefox does not decode on {links} link(s)")

    async def risen() -> bool:
        now = await firefox.frames()
        return len(now) == links and all(n > f for n, f in zip(now, first, strict=True))

    try:
        await until(risen, MEDIA_WITHIN, "Firefox's decoded frames stopped rising")
    except AssertionError as error:
        log = await firefox.text("#debug-log")
        raise AssertionError(
            f"{error}: {first} -> {await firefox.frames()}; log: {log[-3000:]}"
        ) from None


async def chromium_decodes_room(person: Person, others: set[str]) -> None:
    """``person`` (Chromium, in a group call) decodes video from each of ``others``, rising."""

    async def started() -> dict[str, int] | None:
        frames = await room_frames(person)
        ready = set(frames) == others and all(frames[n] > 0 for n in others)
        return frames if ready else None

    try:
        first = await until(started, MEDIA_WITHIN, f"{person.name} does not decode all of {others}")
    except AssertionError as error:
        log = await person.debug_log()
        raise AssertionError(f"{error}: {await room_frames(person)}; log: {log[-3000:]}") from None

    async def risen() -> bool:
        now = await room_frames(person)
        return all(now.get(n, 0) > first[n] for n in others)

    await until(risen, MEDIA_WITHIN, f"{person.name}: frames stopped rising")


async def firefox_state(firefox: Firefox, state: str) -> None:
    await firefox.until(
        "return window.chinwag.debug.state === arguments[0]", MEDIA_WITHIN, f"not {state}", state
    )


async def test_firefox_and_chromium_chat_and_call_each_other_both_ways(
    chinwag: ChinwagServer, open_person: OpenPerson, firefox: Firefox
) -> None:
    bob = await open_person("bob")
    await sign_in_firefox(firefox, chinwag, "fox")
    await expect(bob.user_button("fox")).to_be_visible()

    # Chat, both ways.
    await firefox.type("#chat-input", "hello from Firefox")
    await bob.sees_text("#messages", "hello from Firefox")
    await bob.say("hello from Chromium")
    await firefox.until(
        "return document.getElementById('messages').textContent.includes('hello from Chromium')",
        20,
        "the Chromium line did not arrive",
    )

    # Firefox calls Chromium.
    await firefox.click('#user-list li[data-name="bob"] button')
    await bob.sees_text("#incoming-text", "fox is calling", timeout=30_000)
    await bob.click("Accept")
    await firefox_state(firefox, "active")
    await bob.media_flows(within=MEDIA_WITHIN)
    await firefox_decodes(firefox, 1)
    await bob.click("Hang up")
    await firefox_state(firefox, "idle")
    await bob.back_to_idle()

    # Chromium calls Firefox.
    await bob.call("fox")
    await firefox.until(
        "return !document.getElementById('incoming').hidden", 30, "Firefox did not ring"
    )
    await firefox.click("#accept-button")
    await firefox_state(firefox, "active")
    await bob.media_flows(within=MEDIA_WITHIN)
    await firefox_decodes(firefox, 1)

    # A reload in Firefox mid-call: the call comes back, media both ways again.
    await firefox.reload()
    await firefox_state(firefox, "active")
    await firefox_decodes(firefox, 1)
    await bob.media_flows(within=MEDIA_WITHIN)
    assert await bob.call_state() == "active"
    await bob.click("Hang up")
    await firefox_state(firefox, "idle")
    await bob.back_to_idle()
    assert not bob.console_errors, bob.console_errors


async def test_group_call_of_two_chromium_and_one_firefox(
    chinwag: ChinwagServer, open_person: OpenPerson, firefox: Firefox
) -> None:
    ann = await open_person("ann", path="r/mix")
    ben = await open_person("ben", path="r/mix")
    await ann.page.get_by_role("button", name="Start call").click()
    await ben.page.get_by_role("button", name="Join call (1)").click()
    await sign_in_firefox(firefox, chinwag, "fox", path="r/mix")
    await firefox.until(
        "return document.getElementById('room-call-button').textContent.includes('(2)')",
        30,
        "Firefox does not see the call of two",
    )
    await firefox.click("#room-call-button")
    await firefox.until(
        "return document.querySelectorAll('#room-grid .room-tile').length === 3",
        30,
        "Firefox has no three tiles",
    )
    await chromium_decodes_room(ann, {"ben", "fox"})
    await chromium_decodes_room(ben, {"ann", "fox"})
    await firefox_decodes(firefox, 2)
    await firefox.click("#hangup-button")
    for person in (ann, ben):
        await expect(person.page.locator("#room-grid .room-tile")).to_have_count(2, timeout=30_000)
    assert not ann.console_errors and not ben.console_errors


# A browser without the picture-in-picture API (Firefox ESR 115, Safari on a phone).
_NO_PICTURE_IN_PICTURE = """
() => {
  delete HTMLVideoElement.prototype.requestPictureInPicture;
  Object.defineProperty(Document.prototype, "pictureInPictureEnabled", { get: () => undefined });
}
"""


async def test_features_firefox_lacks_are_hidden_or_explained(
    chinwag: ChinwagServer, open_person: OpenPerson, firefox: Firefox
) -> None:
    # Without the API, Pop out is not offered at all.
    script = await firefox.preload(_NO_PICTURE_IN_PICTURE)
    try:
        await firefox.open(f"{chinwag.url}?debug=1")
        await firefox.until("return document.getElementById('name-input') !== null", 30, "no page")
        assert await firefox.script("return document.getElementById('pip-button').hidden") is True
    finally:
        await firefox.remove_preload(script)

    # With it (Firefox 153 ESR has it), Pop out works or says why it cannot, in a call.
    bob = await open_person("bob")
    await sign_in_firefox(firefox, chinwag, "fox")
    await firefox.click('#user-list li[data-name="bob"] button')
    await bob.sees_text("#incoming-text", "fox is calling", timeout=30_000)
    await bob.click("Accept")
    await firefox_state(firefox, "active")
    has_api = await firefox.script(
        "return typeof HTMLVideoElement.prototype.requestPictureInPicture === 'function'"
        " && document.pictureInPictureEnabled === true"
    )
    shown = await firefox.script("return !document.getElementById('pip-button').hidden")
    assert shown == has_api
    if shown:
        await firefox_decodes(firefox, 1)  # a picture to pop out
        await firefox.click("#pip-button")
        await firefox.until(
            "return document.pictureInPictureElement !== null"
            " || document.querySelector('#notices [data-kind=error]') !== null",
            20,
            "Pop out neither opened nor said why",
        )
    await bob.click("Hang up")
    await firefox_state(firefox, "idle")
