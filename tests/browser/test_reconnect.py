"""The page survives losing its socket: after a server restart it signs in again by itself;
after a dropped connection it resumes its session, and a call goes on through the drop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from chinwag.transport.server import ChinwagServer
from tests.browser.people import OpenPerson, Person, connect_call, two_people
from tests.support import Client, StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

#: socket.js retries first after 250 ms (+25% jitter): by then a retry would have begun.
FIRST_RETRY_AT_MOST = 0.5


async def test_page_reconnects_and_signs_in_again_after_a_restart(
    chinwag: ChinwagServer, start_chinwag: StartServer, open_person: OpenPerson
) -> None:
    alice = await open_person("alice")
    status = alice.page.locator("#connection-status")
    await expect(status).to_have_text("Connected")
    port = chinwag.port

    await chinwag.stop()
    await expect(status).to_have_text("Reconnecting…")
    assert alice.dialogs == []

    server = await start_chinwag(port=port)
    await expect(status).to_have_text("Connected", timeout=10_000)
    # Signed in again under the same name, without a reload: others see her.
    bob = await open_person("bob")
    await expect(bob.user_button("alice")).to_be_visible()
    await expect(alice.user_button("bob")).to_be_visible()
    await alice.say("back again")
    await bob.sees_text("#messages", "back again")
    # The new server did not know her old resume token (bad-resume), but she
    # holds the new session's token: a later drop resumes it.
    assert signed_in(alice)[-1]["resumed"] is False
    await drop_and_resume(server, alice)
    await expect(bob.user_button("alice")).to_be_visible()


# Reports to the test after every change to the user list whether `name` is in it.
_WATCH_USER_LIST = """
(name) => {
  const list = document.getElementById("user-list");
  const report = () =>
    window.userListChanged(Boolean(list.querySelector(`li[data-name="${CSS.escape(name)}"]`)));
  new MutationObserver(report).observe(list, { childList: true, subtree: true });
  report();
}
"""


def connection_of(server: ChinwagServer, name: str) -> int | None:
    """The server's connection id for the signed-in user ``name``, if connected."""
    return next((c for c in server.websockets if server.lobby.name_of(c) == name), None)


def signed_in(person: Person) -> list[dict[str, Any]]:
    """Every ``signed-in`` the person's page has received, oldest first."""
    return [m for m in person.received if m.get("type") == "signed-in"]


async def drop_and_resume(server: ChinwagServer, person: Person) -> None:
    """Kill the person's socket without a closing handshake (as a lost network does);
    the page must reconnect and resume its session under the same name."""
    old = connection_of(server, person.name)
    assert old is not None
    count = len(signed_in(person))
    server.websockets[old].abort()
    await person.until(lambda: len(signed_in(person)) > count, 10, "no sign-in after the drop")
    again = signed_in(person)[count]
    assert again["resumed"] is True and again["name"] == person.name, again
    assert connection_of(server, person.name) not in (None, old)


async def test_a_dropped_socket_resumes_the_session_and_the_call(
    chinwag: ChinwagServer, open_person: OpenPerson
) -> None:
    alice, bob = await two_people(open_person)
    await connect_call(alice, bob)
    seen: list[bool] = []  # for each change of bob's list: was alice in it?
    await bob.page.expose_function("userListChanged", lambda present: seen.append(present))
    await bob.page.evaluate(_WATCH_USER_LIST, "alice")
    await drop_and_resume(chinwag, alice)
    await alice.sees_text("#debug-log", "socket connected -> reconnecting")
    await alice.sees_text("#debug-log", "signed in as alice (session resumed)")
    await expect(alice.page.locator("#connection-status")).to_have_text("Connected")
    await expect(alice.page.locator("#self-name")).to_have_text("alice")

    # The call went on through the drop: media still flows both ways.
    for person in (alice, bob):
        assert await person.call_state() == "active"
        await person.media_flows()
    await expect(alice.user_button("bob")).to_be_attached()  # the people panel folds in a call
    # Signaling works on alice's new socket.
    await alice.click("Hang up")
    await bob.sees_notice("alice hung up")
    await bob.back_to_idle()
    await expect(bob.page.locator('#user-list li[data-name="alice"]')).to_have_attribute(
        "data-busy", "false"
    )
    # bob never saw alice leave: at every change of his list (the watcher saw at
    # least the one after the hang-up) she was there, and no `left` named her.
    assert len(seen) >= 2 and all(seen), seen
    assert not [m for m in bob.received if "alice" in m.get("left", [])]


async def test_a_session_resumed_elsewhere_is_not_fought_over(
    chinwag: ChinwagServer, open_person: OpenPerson
) -> None:
    alice = await open_person("alice")
    token = signed_in(alice)[-1]["resume"]
    thief = await Client.open(chinwag.port)
    try:
        await thief.send({"type": "username", "name": "alice", "resume": token, "features": ["x"]})
        assert (await thief.wait_for("signed-in"))["resumed"] is True
        # The page's socket was closed with 4001; it says so and does not come back.
        status = alice.page.locator("#connection-status")
        await expect(status).to_have_text("Signed in elsewhere")
        await alice.sees_text("#debug-log", "socket closed (4001)")
        await asyncio.sleep(FIRST_RETRY_AT_MOST)  # nothing may happen: a fixed wait is the test
        await expect(status).to_have_text("Signed in elsewhere")
        assert len(signed_in(alice)) == 1
        assert connection_of(chinwag, "alice") == thief.id
    finally:
        await thief.close()
