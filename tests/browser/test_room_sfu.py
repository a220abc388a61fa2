"""Room calls beyond a mesh, end to end: Chromium pages, the chinwag server and a real Janus.

With ``--mesh-max 2`` the third person moves the call to Janus: every page then
publishes once and receives the others over one subscriber connection. Media
is proven per remote person (getStats ``framesDecoded`` of that person's m-line
rising), and the subscriber's selected candidate pair ends at Janus's port.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from chinwag.client import DEFAULT_FEATURES, ChinwagClient
from chinwag.core.names import name_key
from chinwag.peer.call import rtc_configuration
from chinwag.peer.media import CallMedia, MediaOptions
from chinwag.peer.mesh import RoomMesh
from chinwag.sfu.janus import JanusSession
from chinwag.sfu.room import VIDEOROOM
from chinwag.transport.server import ChinwagServer
from tests.browser.people import OpenPerson, Person, until
from tests.browser.test_hosts import open_people, person_action, press
from tests.janus import Janus, run_janus
from tests.peer.support import FrameCounter, FramesBySender
from tests.support import StartServer

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.browser,
    # Three or four pages encoding simulcast plus Janus: on a loaded 2-core machine a test
    # takes 60-300 s, over the suite's default of 120.
    pytest.mark.timeout(480),
]

#: Seconds for everyone to decode everyone on a busy 2-core machine.
CONNECT_WITHIN = 120
RISE_WITHIN = 60

# Frames decoded from each other participant: through the SFU once it flows, else the mesh.
_FRAMES = """
async () => {
  const room = window.chinwag.room;
  const sfu = room.sfu();
  const out = {};
  for (const name of room.participants) {
    let frames = sfu ? await sfu.framesDecoded(name) : 0;
    const pc = room.peerConnection(name);
    if (pc) {
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
      });
    }
    out[name] = frames;
  }
  return out;
}
"""

# The subscriber connection's selected pair: the remote candidate's address and port.
_SFU_REMOTE = """
async () => {
  const pc = window.chinwag.room.sfu()?.subscriber();
  if (!pc) return null;
  const report = await pc.getStats();
  let pair = null;
  report.forEach((s) => {
    const id = s.type === "transport" && s.selectedCandidatePairId;
    if (id) pair = report.get(id);
  });
  const remote = pair && report.get(pair.remoteCandidateId);
  return remote ? {address: remote.address, port: remote.port} : null;
}
"""


@pytest.fixture
def janus(tmp_path: Path) -> Iterator[Janus]:
    with run_janus(tmp_path) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def chinwag(start_chinwag: StartServer, janus: Janus) -> AsyncIterator[ChinwagServer]:
    server = await start_chinwag(sfu=[janus.url], sfu_secret=janus.secret, mesh_max=2)
    await until(lambda: server.sfu is not None and server.sfu.up(), 20, "Janus not connected")
    yield server


async def frames(person: Person) -> dict[str, int]:
    result: dict[str, int] = await person.page.evaluate(_FRAMES)
    return result


async def everyone_decodes_everyone(people: list[Person]) -> dict[str, dict[str, int]]:
    """Each page decodes video from each other one, then every count rises again."""
    names = {p.name for p in people}
    seen: dict[str, dict[str, int]] = {}

    async def started() -> dict[str, dict[str, int]] | None:
        seen.update({p.name: await frames(p) for p in people})
        ready = all(seen[p.name].get(o, 0) > 0 for p in people for o in names - {p.name})
        return dict(seen) if ready else None

    first = await until_or_show(started, CONNECT_WITHIN, "not everyone decodes everyone", seen)

    async def risen() -> dict[str, dict[str, int]] | None:
        seen.update({p.name: await frames(p) for p in people})
        rose = all(
            seen[p.name].get(o, 0) > first[p.name][o] for p in people for o in names - {p.name}
        )
        return dict(seen) if rose else None

    rising: dict[str, dict[str, int]] = await until_or_show(
        risen, RISE_WITHIN, "frames stopped rising", seen
    )
    return rising


async def until_or_show(probe: Any, within: float, failure: str, shown: object) -> Any:
    """``until``, its failure message showing ``shown`` as it was last."""
    try:
        return await until(probe, within, failure)
    except AssertionError as error:
        raise AssertionError(f"{error}; last seen: {shown}") from None


async def join_call(person: Person, label: str) -> None:
    await person.page.get_by_role("button", name=label).click()
    await expect(person.page.locator("#stage")).to_be_visible(timeout=60_000)


def janus_ports(janus: Janus) -> set[int]:
    """The UDP ports Janus holds (its ICE candidates are on these)."""
    ports = set()
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        local, inode = line.split()[1], line.split()[9]
        if inode in _socket_inodes(janus.process.pid):
            ports.add(int(local.split(":")[1], 16))
    return ports


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = str(fd.readlink()) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


async def test_four_people_with_mesh_max_two_all_receive_everyone_from_janus(
    open_person: OpenPerson, janus: Janus
) -> None:
    people = [await open_person(name, path="r/big") for name in ("ann", "ben", "cat", "dan")]
    await join_call(people[0], "Start a group call")
    for person in people[1:]:
        await join_call(person, "Join the group call")
    await everyone_decodes_everyone(people)
    ports = janus_ports(janus)
    for person in people:
        remote = await until(
            lambda p=person: p.page.evaluate(_SFU_REMOTE), 20, f"{person.name}: no SFU pair"
        )
        print(person.name, "receives from", remote)
        assert remote["port"] in ports, (person.name, remote, ports)
        # Nobody holds a mesh link any more: all media comes through Janus.
        assert await until(
            lambda p=person: p.page.evaluate("window.chinwag.room.peers().length === 0"),
            20,
            f"{person.name} still holds mesh links",
        )


# Every 200 ms (one reading at a time): frames decoded from each other
# participant (mesh + SFU), and for each the longest time its count went
# without changing once it had started. A closed mesh link lowers the sum:
# still a change (the SFU's frames were already decoding then). The stall
# clock only runs across readings at most 1 s apart: a longer gap means the
# page itself was not running (a starved machine), which is not a media stall.
_WATCH_STALLS = (
    """
() => {
  const frames = """
    + _FRAMES.strip()
    + """;
  const seen = {};
  const readings = [];
  window.stalls = {seen, readings};
  (async () => {
    let last = performance.now();
    for (;;) {
      const now = await frames();
      const at = performance.now();
      const step = at - last <= 1000 ? at - last : 0;
      last = at;
      readings.push([Math.round(at), now]);
      for (const [name, count] of Object.entries(now)) {
        const s = seen[name] ??= {count: 0, frozen: 0, worst: 0};
        if (count !== s.count) s.frozen = 0;
        else if (count > 0) s.frozen += step;
        s.worst = Math.max(s.worst, s.frozen);
        s.count = count;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
}
"""
)

_WORST_STALL = """
() => Object.fromEntries(Object.entries(window.stalls.seen).map(([name, s]) => [name, s.worst]))
"""


async def test_the_third_joining_a_mesh_of_two_moves_it_without_a_stall(
    open_person: OpenPerson,
) -> None:
    ann, ben, cat = [await open_person(name, path="r/move") for name in ("ann", "ben", "cat")]
    await join_call(ann, "Start a group call")
    await join_call(ben, "Join the group call")
    await everyone_decodes_everyone([ann, ben])
    assert await ann.page.evaluate("window.chinwag.room.sfu() === null")
    for person in (ann, ben):
        await person.page.evaluate(_WATCH_STALLS)
    await join_call(cat, "Join the group call")
    await everyone_decodes_everyone([ann, ben, cat])
    for person in (ann, ben):  # the mesh link between them was replaced by the SFU
        await until(
            lambda p=person: p.page.evaluate("window.chinwag.room.peers().length === 0"),
            30,
            f"{person.name} still holds its mesh link",
        )
    await everyone_decodes_everyone([ann, ben, cat])
    for person in (ann, ben):
        worst = await person.page.evaluate(_WORST_STALL)
        print(person.name, "longest stall per remote (ms):", worst)
        other = "ben" if person is ann else "ann"
        readings = await person.page.evaluate("window.stalls.readings")
        shown = "\n".join(f"{at} {counts}" for at, counts in readings)
        assert worst[other] < 2000, f"{person.name}: {worst}; readings:\n{shown}"


_BOT_FRAMES = "window.chinwag.room.sfu()?.framesDecoded('robot') ?? 0"


async def test_a_python_bot_publishes_and_subscribes_with_two_browsers(
    open_person: OpenPerson, chinwag: ChinwagServer
) -> None:
    """The bot decodes each browser's simulcast video, also after asking other layers
    (``sfu-view``: Janus switches substream on a keyframe), and the browsers decode it."""
    ann, ben = [await open_person(name, path="r/bots") for name in ("ann", "ben")]
    await join_call(ann, "Start a group call")
    await join_call(ben, "Join the group call")
    client = ChinwagClient(
        chinwag.url, "robot", features=(*DEFAULT_FEATURES, "rooms", "no-rollback"), room="bots"
    )
    await client.connect()
    counter = FrameCounter()
    by_sender = FramesBySender(lambda: mesh)
    mesh = RoomMesh(
        client,
        lambda: CallMedia(MediaOptions(), (counter.consume, by_sender.consume)),
        lambda: rtc_configuration(client.ice_servers, relay_only=False),
    )
    running = asyncio.create_task(mesh.run())  # the third: the call moves to the SFU
    try:
        await everyone_decodes_everyone([ann, ben])
        for person in (ann, ben):  # the browsers decode the bot through the SFU
            first = await until(lambda p=person: p.page.evaluate(_BOT_FRAMES), 60, "no bot video")
            await until(
                lambda p=person, f=first: _more(p, _BOT_FRAMES, f), RISE_WITHIN, "bot stalled"
            )
        assert mesh.sfu is not None and not mesh.links
        await by_sender.rising({"ann", "ben"}, within=RISE_WITHIN)  # each browser's video
        await counter.rising("audio", 20, within=60)
        for layers in ({"ann": "low", "ben": "low"}, {"ann": "high", "ben": "medium"}):
            await client.send({"type": "sfu-view", "views": layers})
            await by_sender.rising({"ann", "ben"}, within=RISE_WITHIN)
        assert set(mesh.sfu.receiving) == {"ann", "ben"}
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        counter.stop()
        by_sender.stop()
        await client.close()


async def _more(person: Person, expression: str, than: int) -> bool:
    return bool(await person.page.evaluate(expression) > than)


# Video frames decoded on the given subscriber m-lines (whoever they carry now).
_FRAMES_ON_MIDS = """
async (mids) => {
  const report = await window.chinwag.room.sfu().subscriber().getStats();
  let frames = 0;
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video" && mids.includes(String(s.mid))) {
      frames += s.framesDecoded || 0;
    }
  });
  return frames;
}
"""


async def janus_displays(server: ChinwagServer, janus: Janus) -> set[str]:
    """Who is in the call's VideoRoom, as Janus lists it (besides chinwag's watcher)."""
    assert server.sfu is not None
    (room,) = server.sfu.rooms.values()
    async with JanusSession(janus.url, janus.secret) as session:
        handle = await session.attach(VIDEOROOM)
        reply = await handle.request({"request": "listparticipants", "room": room.id})
    return {p["display"] for p in reply.data["participants"] if p.get("display")}


async def test_who_leaves_is_out_of_janus_at_once_and_their_streams_stop(
    open_person: OpenPerson, chinwag: ChinwagServer, janus: Janus
) -> None:
    people = [await open_person(name, path="r/leave") for name in ("ann", "ben", "cat")]
    ann, ben, cat = people
    await join_call(ann, "Start a group call")
    for person in (ben, cat):
        await join_call(person, "Join the group call")
    await everyone_decodes_everyone(people)
    assert await janus_displays(chinwag, janus) == {"ann", "ben", "cat"}
    cat_mids = {
        p.name: await p.page.evaluate("window.chinwag.room.sfu().midsOf('cat')") for p in (ann, ben)
    }

    await cat.page.get_by_role("button", name="Leave call").click()

    async def cat_gone() -> bool:
        return "cat" not in await janus_displays(chinwag, janus)

    await until(cat_gone, 10, "cat is still in the Janus room")
    for person in (ann, ben):  # cat's tile goes, and nothing more of cat is decoded
        await expect(person.page.get_by_role("region", name="cat")).to_have_count(0)
        mids = cat_mids[person.name]
        before = await person.page.evaluate(_FRAMES_ON_MIDS, mids)
        await person.page.wait_for_timeout(2000)  # a window in which nothing may arrive
        assert await person.page.evaluate(_FRAMES_ON_MIDS, mids) == before, person.name
    await everyone_decodes_everyone([ann, ben])  # the others go on


@contextlib.contextmanager
def showing_janus_problems(*instances: Janus) -> Iterator[None]:
    """On a failed assertion, print the warnings and errors of each Janus's log."""
    try:
        yield
    except AssertionError:
        for janus in instances:
            lines = janus.log_tail(20_000).splitlines()
            print(janus.url, *[line for line in lines if "ERR" in line or "WARN" in line][-30:])
        raise


async def test_janus_killed_mid_call_the_call_goes_on_on_the_other_within_10_s(
    open_person: OpenPerson, start_chinwag: StartServer, janus: Janus, tmp_path: Path
) -> None:
    with run_janus(tmp_path / "second") as second:
        server = await start_chinwag(
            sfu=[janus.url, second.url], sfu_secret=janus.secret, mesh_max=2
        )
        assert server.sfu is not None
        await until(lambda: len(server.sfu.up()) == 2, 20, "both Janus not connected")
        people = [
            await open_person(name, server=server, path="r/failover")
            for name in ("ann", "ben", "cat")
        ]
        await join_call(people[0], "Start a group call")
        for person in people[1:]:
            await join_call(person, "Join the group call")
        with showing_janus_problems(janus, second):
            await everyone_decodes_everyone(people)
        room = name_key("failover")  # calls are placed by the room's key, not its name
        first = server.sfu.placed()[room]
        victim, survivor = (janus, second) if first == janus.url else (second, janus)

        victim.process.kill()  # SIGKILL
        killed_at = asyncio.get_running_loop().time()
        await until(lambda: server.sfu.placed().get(room) == survivor.url, 10, "not moved")
        before = {p.name: await frames(p) for p in people}

        async def all_rising_again() -> bool:
            for person in people:
                now = await frames(person)
                if any(now[o] <= before[person.name][o] for o in now if o != person.name):
                    return False
            return True

        with showing_janus_problems(survivor):
            await until(all_rising_again, 10, "media did not resume on the other Janus in 10 s")
        took = asyncio.get_running_loop().time() - killed_at
        print(f"media through the second Janus {took:.1f} s after the first was killed")
        ports = janus_ports(survivor)
        for person in people:
            remote = await person.page.evaluate(_SFU_REMOTE)
            assert remote is not None and remote["port"] in ports, (person.name, remote)


# Audio packets received from `name` on our subscription (its audio m-lines, whoever).
_AUDIO_FROM = """
async (name) => {
  const sfu = window.chinwag.room.sfu();
  const mids = sfu.midsOf(name);
  const report = await sfu.subscriber().getStats();
  let packets = 0;
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio" && mids.includes(String(s.mid))) {
      packets += s.packetsReceived || 0;
    }
  });
  return packets;
}
"""

# Audio packets our SFU publisher sent.
_AUDIO_SENT = """
async () => {
  const report = await window.chinwag.room.sfu().publisher().getStats();
  let packets = 0;
  report.forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "audio") packets += s.packetsSent || 0;
  });
  return packets;
}
"""


async def test_a_hosts_mute_holds_the_audio_at_janus_until_the_person_unmutes(
    open_person: OpenPerson, chinwag: ChinwagServer
) -> None:
    people = [await open_person(name, path="r/hush") for name in ("ann", "ben", "cat")]
    ann, ben, cat = people  # ann opened the room: its host
    await join_call(ann, "Start a group call in this room")
    await join_call(ben, "Join the group call (1 in it)")
    await join_call(cat, "Join the group call (2 in it)")  # the third: on to Janus
    await everyone_decodes_everyone(people)
    first = await cat.page.evaluate(_AUDIO_FROM, "ben")
    await until(lambda: _more(cat, f"({_AUDIO_FROM})('ben')", first + 50), RISE_WITHIN, "no audio")

    await open_people(ann)
    await person_action(ann, "ben", "Mute")
    await ben.sees_text("#messages", "ann muted you. You can unmute yourself.")

    async def held_back() -> bool:
        received = await cat.page.evaluate(_AUDIO_FROM, "ben")
        sending = await ben.page.evaluate(_AUDIO_SENT)
        await cat.page.wait_for_timeout(3000)  # a window in which nothing may arrive
        # Ben's page still sends (a disabled track is sent as silence): Janus holds it back.
        assert await ben.page.evaluate(_AUDIO_SENT) > sending + 50, "ben's page stopped sending"
        return bool(await cat.page.evaluate(_AUDIO_FROM, "ben") == received)

    await until(held_back, RISE_WITHIN, "ben's audio still reaches cat")

    await press(ben, "Unmute")  # as in Meet, ben may unmute himself: sfu-unmute
    again = await cat.page.evaluate(_AUDIO_FROM, "ben")
    await until(
        lambda: _more(cat, f"({_AUDIO_FROM})('ben')", again + 50), RISE_WITHIN, "still muted"
    )
