"""Files in chat, peer to peer: a 5 MB file arrives whole (same SHA-256) with progress on
both sides, a cancelled transfer leaves nothing behind, an offer over the operator's limit
is refused on both sides, and the server only ever relays small signaling messages."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from chinwag.transport.server import ChinwagServer
from tests.browser.conftest import OpenPerson
from tests.browser.people import Person, serious_axe_problems, two_people
from tests.browser.test_firefox import sign_in_firefox
from tests.firefox import Firefox
from tests.support import Client, StartServer

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.browser]

FIVE_MB = 5 * 1024 * 1024
WAIT_MS = 60_000  # the machine may be very busy: a 5 MB transfer gets a minute


async def transfers(person: Person) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await person.page.evaluate("window.chinwag.files()")
    return result


async def send_file(person: Person, path: Path, to: str = "") -> None:
    """Choose who in "To" (a name, or everyone) and pick the file with "Send a file"."""
    if to:
        await person.page.get_by_label("To", exact=True).select_option(label=f"Privately to {to}")
    async with person.page.expect_file_chooser() as chooser:
        await person.page.get_by_role("button", name="Send a file").click()
    await (await chooser.value).set_files(str(path))


def random_file(tmp_path: Path, size: int, name: str = "holiday photos.bin") -> tuple[Path, str]:
    path = tmp_path / name
    data = os.urandom(size)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


async def test_a_5_mb_file_arrives_verified_with_progress_on_both_sides(
    open_person: OpenPerson, tmp_path: Path
) -> None:
    alice, bob = await two_people(open_person)
    path, digest = random_file(tmp_path, FIVE_MB)
    await send_file(alice, path, to="bob")

    card = bob.page.locator("#messages .file-card")
    await expect(card).to_contain_text("holiday photos.bin", timeout=WAIT_MS)
    await expect(card).to_contain_text("From alice")
    await card.get_by_role("button", name="Accept").click()
    await expect(card).to_have_attribute("data-state", "verified", timeout=WAIT_MS)
    await expect(card).to_contain_text("verified")
    save = card.get_by_role("link", name="Save")
    await expect(save).to_have_attribute("download", "holiday photos.bin")

    # Save it as a person would: the download is the received Blob, byte for byte.
    async with bob.page.expect_download(timeout=WAIT_MS) as saving:
        await save.click()
    download = await saving.value
    assert download.suggested_filename == "holiday photos.bin"
    saved = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert len(saved) == FIVE_MB and hashlib.sha256(saved).hexdigest() == digest
    got = next(t for t in await transfers(bob) if t["direction"] == "in")
    assert got["progressEvents"] > 10  # many chunks, each one a progress step

    sent = alice.page.locator("#messages .file-card")
    await expect(sent).to_have_attribute("data-state", "verified", timeout=WAIT_MS)
    card_out = next(t for t in await transfers(alice) if t["key"] and t["direction"] == "out")
    assert card_out["progressEvents"] > 10 and card_out["done"] == FIVE_MB

    # The server relayed signaling only: no frame it sent bob came near a chunk of the file.
    file_frames = [m for m in bob.received if str(m.get("type", "")).startswith("file-")]
    assert {m["type"] for m in file_frames} >= {"file-offer", "file-signal"}
    assert all(len(str(m)) < 8192 for m in file_frames)

    assert await serious_axe_problems(bob) == []


async def test_a_cancelled_transfer_leaves_nothing_behind(
    open_person: OpenPerson, tmp_path: Path
) -> None:
    alice, bob = await two_people(open_person)
    path, _ = random_file(tmp_path, FIVE_MB, "big.bin")
    # Slow the sender's channel down so there is a transfer in progress to cancel.
    await alice.page.evaluate("""() => {
      const send = RTCDataChannel.prototype.send;
      RTCDataChannel.prototype.send = function (data) {
        const start = performance.now();
        while (performance.now() - start < 20) { /* under 1 MB/s: 5 MB takes over 6 s */ }
        return send.call(this, data);
      };
    }""")
    await send_file(alice, path)  # to the room: bob accepts for himself
    card = bob.page.locator("#messages .file-card")
    await card.get_by_role("button", name="Accept").click(timeout=WAIT_MS)

    async def receiving() -> bool:
        return any(t["done"] > 0 for t in await transfers(bob) if t["direction"] == "in")

    await bob.until(receiving, 60, "no bytes arrived before the cancel")
    await expect(card.locator("progress")).to_be_visible()
    await bob.screenshot("file-card-receiving")
    await card.get_by_role("button", name="Cancel").click()
    await expect(card).to_have_attribute("data-state", "cancelled", timeout=WAIT_MS)
    await expect(card.get_by_role("link", name="Save")).to_have_count(0)

    async def all_closed(person: Person) -> bool:
        rows = [t for t in await transfers(person) if t["pc"] is not None]
        return bool(rows) and all(
            t["state"] == "cancelled"
            and t["url"] is None
            and t["pc"] == "closed"
            and t["channel"] in ("closed", "closing")
            for t in rows
        )

    await bob.until(lambda: all_closed(bob), 60, "bob's side was not closed")
    await alice.until(lambda: all_closed(alice), 60, "alice's side was not closed")
    await expect(bob.page.locator('#messages a[href^="blob:"]')).to_have_count(0)
    await expect(alice.page.locator('#messages a[href^="blob:"]')).to_have_count(0)


async def test_an_offer_over_the_limit_is_refused_by_both_sides(
    open_person: OpenPerson, start_chinwag: StartServer, tmp_path: Path
) -> None:
    server = await start_chinwag(file_max_bytes=100_000)
    alice = await open_person("alice", server=server)
    bob = await open_person("bob", server=server)
    await expect(alice.user_button("bob")).to_be_visible()

    path, _ = random_file(tmp_path, 200_000, "too big.bin")
    await send_file(alice, path, to="bob")
    await expect(alice.page.locator("#messages .note[data-kind='error']")).to_contain_text(
        "too large to send (200 KB; the limit is 100 KB)", timeout=WAIT_MS
    )
    assert not [m for m in bob.received if m.get("type") == "file-offer"]

    # A client that ignores the limit (a raw socket, mallory) is refused by the receiver.
    mallory = await Client.open(server.port)
    try:
        await mallory.sign_in("mallory")
        forged = {"type": "file-offer", "target": "bob", "file": "f1", "filename": "forged.bin"}
        await mallory.send({**forged, "size": 200_000, "sha256": "0" * 64})
        refusal = await mallory.wait_for("file-decline", timeout=60)
        assert refusal["reason"] == "too-large" and refusal["name"] == "bob"
    finally:
        await mallory.close()
    card = bob.page.locator("#messages .file-card")
    await expect(card).to_have_attribute("data-state", "declined", timeout=WAIT_MS)
    await expect(card).to_contain_text("over the size limit")
    await expect(card.get_by_role("button", name="Accept")).to_have_count(0)


async def test_file_cards_on_desktop_and_phone_in_light_and_dark(
    open_person: OpenPerson, tmp_path: Path
) -> None:
    alice, bob = await two_people(open_person)
    path, _ = random_file(tmp_path, 300_000, "Quarterly report (final) v2.pdf")
    await send_file(alice, path, to="bob")
    offered = bob.page.locator("#messages .file-card")
    await expect(offered).to_have_attribute("data-state", "offered", timeout=WAIT_MS)
    await expect(offered.get_by_role("button", name="Accept")).to_be_visible()
    assert await serious_axe_problems(bob) == []
    shots = []
    for width, height in ((1280, 800), (390, 844)):
        for scheme in ("light", "dark"):
            await bob.page.set_viewport_size({"width": width, "height": height})
            await bob.page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            await offered.scroll_into_view_if_needed()  # the phone stacks the chat below
            await expect(offered).to_be_in_viewport()
            shots.append(await bob.screenshot(f"file-card-offered-{width}-{scheme}"))
    await offered.get_by_role("button", name="Accept").click()
    await expect(offered).to_have_attribute("data-state", "verified", timeout=WAIT_MS)
    await expect(offered.get_by_role("link", name="Save")).to_be_visible()
    assert await serious_axe_problems(bob) == []
    await offered.scroll_into_view_if_needed()
    shots.append(await bob.screenshot("file-card-verified-phone-dark"))
    await bob.page.set_viewport_size({"width": 1280, "height": 800})
    await bob.page.emulate_media(color_scheme="light")
    await offered.scroll_into_view_if_needed()
    shots.append(await bob.screenshot("file-card-verified-desktop-light"))
    assert all(shot.stat().st_size > 0 for shot in shots)


FIREFOX_SHA256 = """
const done = arguments[arguments.length - 1];
const t = window.chinwag.files().find((x) => x.direction === "in" && x.state === "verified");
const blob = window.chinwag.fileBlob(t.key);
blob.arrayBuffer()
  .then((bytes) => crypto.subtle.digest("SHA-256", bytes))
  .then((d) => done({size: blob.size, progress: t.progressEvents,
    sha256: Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("")}))
  .catch((e) => done({error: String(e)}));
"""


@pytest.mark.timeout(300)
async def test_a_5_mb_file_from_chromium_arrives_in_firefox(
    chinwag: ChinwagServer, open_person: OpenPerson, firefox: Firefox, tmp_path: Path
) -> None:
    await sign_in_firefox(firefox, chinwag, "fox")
    alice = await open_person("alice")
    await expect(alice.user_button("fox")).to_be_visible(timeout=WAIT_MS)
    path, digest = random_file(tmp_path, FIVE_MB, "from chromium.bin")
    await send_file(alice, path, to="fox")
    card = "#messages .file-card"
    await firefox.until(
        f"return document.querySelector('{card}')?.dataset.state === 'offered'", 60, "no offer"
    )
    await firefox.click(f"{card} .file-actions button.primary")  # Accept
    await firefox.until(
        f"return document.querySelector('{card}')?.dataset.state === 'verified'",
        120,
        "the file did not arrive verified",
    )
    got = await firefox.run(firefox.driver.execute_async_script, FIREFOX_SHA256)
    assert got["size"] == FIVE_MB and got["sha256"] == digest, got
    assert got["progress"] > 10
    assert "from chromium.bin" in await firefox.text(card)
    await expect(alice.page.locator(card)).to_have_attribute(
        "data-state", "verified", timeout=WAIT_MS
    )


async def test_a_damaged_file_is_discarded_with_an_error(
    open_person: OpenPerson, tmp_path: Path
) -> None:
    alice, bob = await two_people(open_person)
    # Alice's page flips one byte of the first chunk it sends: what arrives is not what was offered.
    await alice.page.evaluate("""() => {
      const send = RTCDataChannel.prototype.send;
      let flipped = false;
      RTCDataChannel.prototype.send = function (data) {
        if (!flipped && data instanceof ArrayBuffer) {
          flipped = true;
          const copy = new Uint8Array(data.slice(0));
          copy[0] ^= 0xff;
          data = copy.buffer;
        }
        return send.call(this, data);
      };
    }""")
    path, _ = random_file(tmp_path, 100_000, "damaged.bin")
    await send_file(alice, path, to="bob")
    card = bob.page.locator("#messages .file-card")
    await card.get_by_role("button", name="Accept").click(timeout=WAIT_MS)
    await expect(card).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    await expect(card).to_contain_text("SHA-256 mismatch")
    await expect(card.get_by_role("link", name="Save")).to_have_count(0)
    got = next(t for t in await transfers(bob) if t["direction"] == "in")
    assert got["url"] is None and got["error"] == "checksum"
    await expect(alice.page.locator("#messages .file-card")).to_have_attribute(
        "data-state", "failed", timeout=WAIT_MS
    )


async def test_a_room_offer_is_accepted_by_each_receiver_on_their_own(
    open_person: OpenPerson, tmp_path: Path
) -> None:
    alice, bob = await two_people(open_person)
    carol = await open_person("carol")
    dave = await open_person("dave")
    await expect(alice.user_button("dave")).to_be_visible(timeout=WAIT_MS)
    path, digest = random_file(tmp_path, 500_000, "for everyone.bin")
    await send_file(alice, path)  # "To" is Everyone
    for person in (bob, carol, dave):
        await expect(person.page.locator("#messages .file-card")).to_have_attribute(
            "data-state", "offered", timeout=WAIT_MS
        )
    await bob.page.locator("#messages .file-card").get_by_role("button", name="Accept").click()
    await carol.page.locator("#messages .file-card").get_by_role("button", name="Accept").click()
    await dave.page.locator("#messages .file-card").get_by_role("button", name="Decline").click()
    for person in (bob, carol):
        card = person.page.locator("#messages .file-card")
        await expect(card).to_have_attribute("data-state", "verified", timeout=WAIT_MS)
        async with person.page.expect_download(timeout=WAIT_MS) as saving:
            await card.get_by_role("link", name="Save").click()
        saved = await asyncio.to_thread(Path(await (await saving.value).path()).read_bytes)
        assert hashlib.sha256(saved).hexdigest() == digest
    await expect(dave.page.locator("#messages .file-card")).to_have_attribute(
        "data-state", "declined"
    )

    async def two_links(person: Person) -> bool:
        rows = [t for t in await transfers(person) if t["direction"] == "out" and not t["key"]]
        return sorted((t["peer"], t["state"]) for t in rows) == [
            ("bob", "verified"),
            ("carol", "verified"),
            ("dave", "declined"),
        ]

    await alice.until(lambda: two_links(alice), 60, "alice's side did not see each receiver")
    mine = alice.page.locator("#messages .file-card")
    await expect(mine).to_contain_text("Sent to bob, carol (verified)", timeout=WAIT_MS)
    await expect(mine.get_by_role("button", name="Cancel")).to_be_visible()
    assert {m["type"] for m in alice.received if m.get("name") == "dave"} >= {"file-decline"}


async def test_the_sender_cancels_a_room_offer_before_anyone_accepts(
    open_person: OpenPerson, tmp_path: Path
) -> None:
    alice, bob = await two_people(open_person)
    carol = await open_person("carol")
    await expect(alice.user_button("carol")).to_be_visible(timeout=WAIT_MS)
    path, _ = random_file(tmp_path, 50_000, "withdrawn.bin")
    await send_file(alice, path)
    mine = alice.page.locator("#messages .file-card")
    await expect(mine).to_have_attribute("data-state", "waiting", timeout=WAIT_MS)
    for person in (bob, carol):
        await expect(person.page.locator("#messages .file-card")).to_have_attribute(
            "data-state", "offered", timeout=WAIT_MS
        )
    await mine.get_by_role("button", name="Cancel").click()
    await expect(mine).to_have_attribute("data-state", "cancelled")
    for person in (bob, carol):
        card = person.page.locator("#messages .file-card")
        await expect(card).to_have_attribute("data-state", "cancelled", timeout=WAIT_MS)
        await expect(card.get_by_role("button", name="Accept")).to_have_count(0)
    # Alice's own cancel came back to her (a room broadcast) and changed nothing.
    rows = await transfers(alice)
    assert [(t["state"], t["peer"]) for t in rows] == [("cancelled", "")]


async def test_accepting_a_file_from_someone_who_has_left_says_so(
    open_person: OpenPerson, tmp_path: Path
) -> None:
    alice, bob = await two_people(open_person)
    path, _ = random_file(tmp_path, 50_000, "left behind.bin")
    await send_file(alice, path)
    card = bob.page.locator("#messages .file-card")
    await expect(card).to_have_attribute("data-state", "offered", timeout=WAIT_MS)
    await alice.close()  # her page is gone without a word: no file-cancel was sent
    await expect(bob.user_button("alice")).to_have_count(0, timeout=WAIT_MS)
    await card.get_by_role("button", name="Accept").click()
    await expect(card).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    await expect(card).to_contain_text("alice is no longer online")
    await bob.screenshot("file-card-gone")
    await expect(card.get_by_role("button", name="Accept")).to_have_count(0)
    refusal = [m for m in bob.received if m.get("type") == "error"]
    assert [(m["for"], m["code"]) for m in refusal] == [("file-accept", "no-such-user")]
    rows = [t for t in await transfers(bob) if t["direction"] == "in"]
    assert [(t["state"], t["error"], t["pc"]) for t in rows] == [("failed", "gone", "closed")]
