"""The Bus contract (chinwag/cluster/bus.py), one suite for MemoryBus and RedisBus."""

from __future__ import annotations

import asyncio

from chinwag.core.events import ChatLine, Deliver, Joined, NodeGone, RoomSettings
from chinwag.core.rooms import lock, opens
from tests.cluster.conftest import Cluster
from tests.cluster.support import eventually, record


def marker(text: str) -> Deliver:
    return Deliver("test", "test", "nobody", "marker", text.encode())


def is_marker(text: str) -> object:
    return lambda e: isinstance(e, Deliver) and e.kind == "marker" and e.payload == text.encode()


async def test_concurrent_claims_of_one_name_have_exactly_one_winner(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    for i in range(20):
        name = f"user{i}"
        won = await asyncio.gather(a.claim(record(name, "a")), b.claim(record(name, "b")))
        assert sorted(won) == [False, True], name
        owners = {r.node for r in await a.directory() if r.name == name}
        assert owners == {"a" if won[0] else "b"}


async def test_room_call_seats_are_capped_across_nodes(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    claims = [bus.claim_seat("stage", f"{bus.node}{n}", 8) for n in range(8) for bus in (a, b)]
    granted = await asyncio.gather(*claims)
    assert granted.count(True) == 8  # 16 at once, from two nodes: the cap holds
    seated = [f"{bus.node}{n}" for n in range(8) for bus in (a, b)]
    winner = seated[granted.index(True)]
    assert await a.claim_seat("stage", winner, 8)  # already seated: granted again
    await (a if winner.startswith("a") else b).release_seat("stage", winner)
    assert await b.claim_seat("stage", "late", 8)  # a freed seat is free for anyone
    assert not await a.claim_seat("stage", "later", 8)
    assert await a.claim_seat("other", "later", 8)  # another room's call


async def test_a_call_is_placed_once_on_the_least_loaded_janus_for_every_node(
    cluster: Cluster,
) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    one, two, three = "ws://j1:8188", "ws://j2:8188", "ws://j3:8188"
    # Many nodes placing one call at once: one pick, the least loaded, seen by all.
    picks = await asyncio.gather(
        *(bus.place_call("1:team", {one: 9, two: 4, three: 7}) for bus in (a, b) * 5)
    )
    assert set(picks) == {two}
    # Kept while it is offered, even once another Janus is less loaded.
    assert await b.place_call("1:team", {one: 0, two: 50}) == two
    # Equal loads: the Janus with fewer calls (whose rooms it may not list yet), then the first.
    assert await a.place_call("2:class", {one: 3, two: 3}) == one
    assert await b.place_call("3:club", {one: 3, two: 3}) == one  # one: 1 call, two: 1 call
    assert await a.place_call("4:band", {one: 3, two: 3, three: 3}) == three
    # Its Janus lost (not offered any more): the call moves to the least loaded, for all.
    assert await a.place_call("1:team", {one: 5, three: 2}) == three
    assert await b.place_call("1:team", {one: 5, two: 0, three: 9}) == three
    await b.unplace_call("1:team")  # the call ended: a new one with that key starts afresh
    assert await a.place_call("1:team", {one: 5, two: 0}) == two
    await a.unplace_call("never-placed")  # nothing to forget: no error


async def test_concurrent_room_claims_agree_on_one_lock(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    for i in range(10):
        room = f"vault{i}"
        locked, plain = lock("s3cret", i, "alice", "", False), RoomSettings(created=i)
        won = await asyncio.gather(a.claim_room(room, locked), b.claim_room(room, plain))
        assert won[0] == won[1] and won[0] in (locked, plain), room  # one winner, both told
        assert await a.claim_room(room, plain) == won[0]  # later claims keep it, even its own
        assert opens(await b.claim_room(room, RoomSettings()), "s3cret")  # the lock's digest


async def test_a_room_claim_lives_until_every_holder_released_it(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    first, second = lock("one", 1, "alice", "", False), lock("two", 2, "bob", "", False)
    assert await a.claim_room("vault", first) == first
    assert await b.claim_room("vault", second) == first
    await a.release_room("vault")
    await a.release_room("vault")  # twice: no more than once per node
    assert await a.claim_room("other", second) == second  # another room's claim
    assert await b.claim_room("vault", second) == first  # b still holds it
    await b.release_room("vault")
    assert await b.claim_room("vault", second) == second  # nobody held it: the new one wins


async def test_a_stopped_node_holds_no_room(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    first, second = lock("one", 1, "alice", "", False), RoomSettings(created=2)
    assert await b.claim_room("vault", first) == first
    await b.stop()
    assert await a.claim_room("vault", second) == second


async def test_a_claimed_name_is_taken_for_its_own_node_too(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    assert await a.claim(record("alice", "a"))
    assert not await a.claim(record("alice", "a"))
    assert not await b.claim(record("alice", "b"))


async def test_release_frees_the_name_only_for_its_owner(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    assert await a.claim(record("alice", "a"))
    await b.release("alice")  # not b's to free
    assert not await b.claim(record("alice", "b"))
    await a.release("alice")
    assert await b.claim(record("alice", "b"))
    assert [(r.name, r.node) for r in await a.directory()] == [("alice", "b")]


async def test_publish_reaches_every_other_node_once_in_order(cluster: Cluster) -> None:
    a, seen_by_a = await cluster.add("a")
    _, seen_by_b = await cluster.add("b")
    _, seen_by_c = await cluster.add("c")
    count = 2000
    for i in range(count):
        a.publish(ChatLine("alice", i, 0, f"line {i}"))
    for seen in (seen_by_b, seen_by_c):
        await eventually(lambda s=seen: len(s.of(ChatLine)) >= count, 10, "all chat lines")
        assert [e.id for e in seen.of(ChatLine)] == list(range(count))  # type: ignore[attr-defined]
    # Anything a would get back from its own publish would come before this marker.
    cluster.buses[1].send("a", marker("done"))
    await seen_by_a.wait_for(is_marker("done"))  # type: ignore[arg-type]
    assert seen_by_a.messages == [marker("done")]


async def test_send_reaches_that_node_only_after_what_was_published_before(
    cluster: Cluster,
) -> None:
    a, _ = await cluster.add("a")
    _, seen_by_b = await cluster.add("b")
    _, seen_by_c = await cluster.add("c")
    joined = Joined(record("alice", "a"))
    a.publish(joined)
    a.send("b", marker("for b"))
    await seen_by_b.wait_for(is_marker("for b"))  # type: ignore[arg-type]
    assert seen_by_b.messages == [joined, marker("for b")]
    a.send("c", marker("for c"))
    await seen_by_c.wait_for(is_marker("for c"))  # type: ignore[arg-type]
    assert seen_by_c.messages == [joined, marker("for c")]


async def test_directory_lists_every_claimed_user_and_updates(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    assert await a.claim(record("alice", "a"))
    assert await b.claim(record("bob", "b"))
    for bus in (a, b):
        assert sorted(await bus.directory(), key=lambda r: r.name) == [
            record("alice", "a"),
            record("bob", "b"),
        ]
    await a.update(record("alice", "a", busy=True))
    await b.update(record("alice", "b", busy=True))  # not b's: ignored
    assert sorted(await b.directory(), key=lambda r: r.name) == [
        record("alice", "a", busy=True),
        record("bob", "b"),
    ]


async def test_a_stopped_node_is_gone_and_its_names_free(cluster: Cluster) -> None:
    a, seen_by_a = await cluster.add("a")
    b, _ = await cluster.add("b")
    assert await b.claim(record("bob", "b"))
    b.publish(Joined(record("bob", "b")))
    await seen_by_a.wait_for(lambda e: isinstance(e, Joined))
    await b.stop()
    await seen_by_a.wait_for(lambda e: e == NodeGone("b"))
    assert seen_by_a.of(NodeGone) == [NodeGone("b")]
    assert await a.directory() == []
    assert await a.claim(record("bob", "a"))


async def test_hand_over_gives_a_name_to_another_node(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    assert await a.claim(record("alice", "a"))
    await b.hand_over(record("alice", "b"))  # not b's to give: ignored
    assert [(r.name, r.node) for r in await a.directory()] == [("alice", "a")]
    await a.hand_over(record("alice", "b"))
    await b.adopt(record("alice", "b"))
    assert [(r.name, r.node) for r in await a.directory()] == [("alice", "b")]
    await a.release("alice")  # no longer a's
    assert not await a.claim(record("alice", "a"))
    await b.release("alice")
    assert await a.claim(record("alice", "a"))


#: Spellings no one could tell from "alice": case, a Cyrillic "a" (U+0430), fullwidth,
#: and an invisible joiner (which sign-in refuses; the bus must not rely on that).
LOOK_ALIKES = ("Alice", "\u0430lice", "\uff41\uff4c\uff49\uff43\uff45", "ali\u200dce")


async def test_a_claim_excludes_every_look_alike_on_every_node(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    assert await a.claim(record("alice", "a"))
    for spelling in LOOK_ALIKES:
        assert not await b.claim(record(spelling, "b")), spelling
        assert not await a.claim(record(spelling, "a")), spelling
    assert await a.directory() == [record("alice", "a")]  # the name as its owner typed it


async def test_concurrent_look_alike_claims_have_exactly_one_winner(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    for i in range(10):
        on_a, on_b = f"user{i}", f"USER{i}" if i % 2 else f"u\u0455er{i}"  # U+0455 CYRILLIC DZE
        won = await asyncio.gather(a.claim(record(on_a, "a")), b.claim(record(on_b, "b")))
        assert sorted(won) == [False, True], (on_a, on_b)
        winner = record(on_a, "a") if won[0] else record(on_b, "b")
        assert [r for r in await b.directory() if r.name in (on_a, on_b)] == [winner]


async def test_release_and_update_find_the_claim_by_key(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    assert await a.claim(record("alice", "a"))
    await a.update(record("Alice", "a", busy=True))  # a new spelling of the same claim
    assert await b.directory() == [record("Alice", "a", busy=True)]
    assert not await b.claim(record("alice", "b"))
    await b.release("Alice")  # not b's to free
    assert not await b.claim(record("\u0430lice", "b"))
    await a.release("Alice")
    assert await b.claim(record("\u0430lice", "b"))
    assert await a.directory() == [record("\u0430lice", "b")]


async def test_a_handed_over_name_keeps_excluding_its_look_alikes(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    assert await a.claim(record("bob", "a"))
    await a.hand_over(record("bob", "b"))
    await b.adopt(record("bob", "b"))
    assert await a.directory() == [record("bob", "b")]
    assert not await a.claim(record("Bob", "a"))
    await b.release("bob")
    assert await a.claim(record("Bob", "a"))


async def test_a_stopped_node_frees_its_names_for_look_alikes(cluster: Cluster) -> None:
    a, _ = await cluster.add("a")
    b, _ = await cluster.add("b")
    assert await b.claim(record("alice", "b"))
    await b.stop()
    assert await a.claim(record("\u0430lice", "a"))
