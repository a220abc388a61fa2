"""A group call in a room, end to end: separate Chromium pages (one browser context each)
through the real chinwag server. Every page decodes video from each other participant
(per peer connection, getStats ``framesDecoded`` rising); a fifth joins mid-call and is
connected to all; one leaves and the others keep their media."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.people import OpenPerson, Person, until

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

#: Seconds for a mesh to decode its first frames on a busy 2-core machine.
CONNECT_WITHIN = 90
#: Seconds for every counter to rise once more.
RISE_WITHIN = 45

# Frames decoded from each other participant, per peer connection (test hook).
_FRAMES = """
async () => {
  const room = window.chinwag.room;
  const out = {};
  for (const name of room.peers()) {
    const report = await room.peerConnection(name).getStats();
    let frames = 0;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
    });
    out[name] = frames;
  }
  return out;
}
"""


async def frames(person: Person) -> dict[str, int]:
    result: dict[str, int] = await person.page.evaluate(_FRAMES)
    return result


async def everyone_decodes_everyone(people: list[Person]) -> None:
    """Each page decodes video from each other one (and holds no other link); then it rises."""

    async def started() -> dict[str, dict[str, int]] | None:
        now = {p.name: await frames(p) for p in people}
        for person in people:
            others = {p.name for p in people if p is not person}
            extra = set(now[person.name]) - others
            assert not extra, f"{person.name} holds links to people not in the call: {extra}"
        ready = all(now[p.name].get(o.name, 0) > 0 for p in people for o in people if o is not p)
        return now if ready else None

    first = await until(started, CONNECT_WITHIN, "not every pair decodes video")

    async def risen() -> bool:
        for person in people:
            now = await frames(person)
            for other in people:
                if other is not person and now[other.name] <= first[person.name][other.name]:
                    return False
        return True

    await until(risen, RISE_WITHIN, "decoded frames stopped rising for some pair")


async def join_call(person: Person, label: str) -> None:
    await person.page.get_by_role("button", name=label).click()
    await expect(person.page.locator("#stage")).to_be_visible(timeout=CONNECT_WITHIN * 1000)


# Three meshes form one after another (4, 5, then 4 people): each may take
# CONNECT_WITHIN on a busy machine, more than the suite's 120 s per test.
@pytest.mark.timeout(6 * CONNECT_WITHIN)
async def test_group_call_of_four_then_five_then_one_leaves(open_person: OpenPerson) -> None:
    people = [await open_person(name, path="r/crew") for name in ("ann", "ben", "cat", "dan")]
    ann = people[0]
    await join_call(ann, "Start a group call in this room")
    # The others see the call's size on their button, and ann "in a call" in the list.
    for person in people[1:]:
        await expect(
            person.page.get_by_role("button", name="Join the group call (1 in it)")
        ).to_be_visible()
    await expect(people[1].page.locator("#user-list li[data-name=ann] .badge.busy")).to_be_visible()
    for count, person in enumerate(people[1:], start=1):
        await join_call(person, f"Join the group call ({count} in it)")
    await expect(ann.page.locator("#room-grid .room-tile")).to_have_count(4, timeout=20_000)
    await everyone_decodes_everyone(people)

    # The same controls and shortcuts as a one-to-one call; everyone learns the state.
    await ann.page.locator("body").press("m")
    await expect(ann.page.get_by_role("button", name="Unmute")).to_be_visible()
    muted = people[2].page.get_by_role("region", name="ann").get_by_text("Muted")
    await expect(muted).to_be_visible(timeout=20_000)
    await ann.page.get_by_role("button", name="Unmute").click()
    await expect(muted).to_be_hidden(timeout=20_000)
    await people[2].page.get_by_role("button", name="Pin ann").click()
    await expect(people[2].page.get_by_role("button", name="Pin ann")).to_have_attribute(
        "aria-pressed", "true"
    )

    eve = await open_person("eve", path="r/crew")
    await join_call(eve, "Join the group call (4 in it)")
    people.append(eve)
    await everyone_decodes_everyone(people)
    await expect(eve.page.locator("#room-grid .room-tile")).to_have_count(5)

    ben = people.pop(1)
    await ben.page.get_by_role("button", name="Leave call").click()
    await ben.sees_notice("You left the group call")
    await expect(
        ben.page.get_by_role("button", name="Join the group call (4 in it)")
    ).to_be_visible(timeout=20_000)
    for person in people:
        await expect(person.page.locator("#room-grid .room-tile")).to_have_count(4, timeout=20_000)
    await everyone_decodes_everyone(people)
    assert not any(p.console_errors for p in people), [p.console_errors for p in people]


async def test_reload_mid_group_call_takes_the_seat_again(open_person: OpenPerson) -> None:
    people = [await open_person(name, path="r/crew") for name in ("ann", "ben", "cat")]
    await join_call(people[0], "Start a group call in this room")
    await join_call(people[1], "Join the group call (1 in it)")
    await join_call(people[2], "Join the group call (2 in it)")
    await everyone_decodes_everyone(people)

    await people[1].page.reload()
    await expect(people[1].page.locator("#self-name")).to_have_text("ben")
    await expect(people[1].page.locator("#room-grid .room-tile")).to_have_count(3, timeout=30_000)
    await everyone_decodes_everyone(people)
