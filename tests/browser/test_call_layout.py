"""The call screen never clips: at every width a person uses, with any panel
open, the primary controls (mute, camera, share, chat, More, leave) are inside
the viewport and nothing covers them (measured bounding boxes, and the element
at each button's centre is that button). The secondary controls live in the
"More" menu, which opens, moves with the arrow keys and closes with Escape."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPerson
from tests.browser.people import Person, connect_call, two_people

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

WIDTHS = [320, 390, 1024, 1280, 1366]
PANELS = ["chat", "people"]
PRIMARY = [
    "mute-button",
    "camera-button",
    "share-button",
    "chat-button",
    "more-button",
    "hangup-button",
]

# For each primary control: its box, and whether the element drawn at its
# centre is the control itself (not a panel or menu lying over it).
_MEASURE = """
(ids) => ids.map((id) => {
  const button = document.getElementById(id);
  const box = button.getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return {
    id, left: box.left, right: box.right, top: box.top, bottom: box.bottom,
    width: box.width, height: box.height, onTop: Boolean(hit && button.contains(hit)),
  };
})
"""


async def set_panel(person: Person, name: str, open_: bool) -> None:
    """Open or close a panel the way a person does: Chat in the bar, People in More."""
    button = person.page.locator(f"#{name}-button")
    if (await button.get_attribute("aria-expanded") == "true") == open_:
        return
    if name == "people":
        await person.page.locator("#more-button").click()
    await button.click()
    await expect(button).to_have_attribute("aria-expanded", str(open_).lower())


async def assert_controls_reachable(person: Person, where: str) -> None:
    size = person.page.viewport_size
    assert size is not None
    boxes: list[dict[str, Any]] = await person.page.evaluate(_MEASURE, PRIMARY)
    for box in boxes:
        what = f"{where}: #{box['id']} {box}"
        assert box["width"] > 0 and box["height"] > 0, f"hidden: {what}"
        assert box["left"] >= 0 and box["right"] <= size["width"], f"outside sideways: {what}"
        assert box["top"] >= 0 and box["bottom"] <= size["height"], f"outside vertically: {what}"
        assert box["onTop"], f"covered: {what}"


async def every_width_and_panel(person: Person, label: str) -> None:
    for width in WIDTHS:
        height = 844 if width < 600 else 800
        await person.page.set_viewport_size({"width": width, "height": height})
        for chat, people in itertools.product([False, True], repeat=2):
            await set_panel(person, "chat", chat)
            await set_panel(person, "people", people)
            await assert_controls_reachable(
                person, f"{label} {width}px chat={chat} people={people}"
            )


# Twenty layouts measured per call: more than the suite's 2 minutes on a busy machine.
@pytest.mark.timeout(420)
async def test_one_to_one_controls_stay_reachable_at_every_width_with_any_panel(
    open_person: OpenPerson,
) -> None:
    alice, bob = await two_people(open_person)
    await connect_call(alice, bob)
    await every_width_and_panel(alice, "1:1")


@pytest.mark.timeout(420)
async def test_group_call_controls_stay_reachable_at_every_width_with_any_panel(
    open_person: OpenPerson,
) -> None:
    alice, bob = await two_people(open_person)
    await alice.page.get_by_role("button", name="Start a group call").click()
    await expect(alice.page.locator("#stage")).to_be_visible(timeout=30_000)
    await bob.page.get_by_role("button", name="Join the group call").click()
    await expect(bob.page.locator("#stage")).to_be_visible(timeout=30_000)
    await expect(alice.page.locator("#room-grid .room-tile")).to_have_count(2, timeout=30_000)
    await every_width_and_panel(alice, "group")


async def test_more_menu_opens_moves_with_arrows_and_closes(open_person: OpenPerson) -> None:
    alice, bob = await two_people(open_person)
    await connect_call(alice, bob)
    more = alice.page.get_by_role("button", name="More")
    menu = alice.page.get_by_role("menu", name="More call actions")
    await more.focus()
    await alice.page.keyboard.press("Enter")
    await expect(menu).to_be_visible()
    await expect(more).to_have_attribute("aria-expanded", "true")
    first = menu.get_by_role("menuitem").first
    await expect(first).to_be_focused()
    await alice.page.keyboard.press("ArrowDown")
    await expect(first).not_to_be_focused()
    await alice.page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(more).to_be_focused()
    # An item runs and the menu closes: Stats opens the statistics panel.
    await more.click()
    await menu.get_by_role("menuitem", name="Stats").click()
    await expect(menu).to_be_hidden()
    await expect(alice.page.locator("#stats-panel")).to_be_visible()
