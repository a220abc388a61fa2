"""One contract for every history store: SQLite (a real file) and Redis (a real redis-server)."""

from __future__ import annotations

from chinwag.history import Retention
from chinwag.history.base import DAY
from tests.history.conftest import Clock, MakeStore, line, stored


async def test_recent_gives_the_newest_lines_oldest_first_with_growing_ids(
    make_store: MakeStore,
) -> None:
    store = make_store()
    await stored(store, [line(f"line {n} 🙂 <b>é</b>", name=f"user{n}") for n in range(8)])
    records = await store.recent("lobby", 5)
    assert [r.text for r in records] == [f"line {n} 🙂 <b>é</b>" for n in range(3, 8)]
    assert [r.name for r in records] == [f"user{n}" for n in range(3, 8)]
    ids = [r.id for r in records]
    assert ids == sorted(set(ids)) and ids[0] > 0 and ids[-1] < 2**53
    assert all(r.room == "lobby" for r in records)
    assert store.written == 8 and store.failed == 0 and store.dropped == 0


async def test_lines_keep_their_date_and_rooms_are_apart(
    make_store: MakeStore, clock: Clock
) -> None:
    store = make_store()
    yesterday_ms = int((clock.now - DAY) * 1000)
    await stored(store, [line("a", room="one", date_ms=yesterday_ms), line("b", room="two")])
    [one] = await store.recent("one", 10)
    assert (one.text, one.date_ms) == ("a", yesterday_ms)
    assert [r.text for r in await store.recent("two", 10)] == ["b"]
    assert await store.recent("three", 10) == []


async def test_before_pages_back_through_every_line_once(make_store: MakeStore) -> None:
    store = make_store()
    await stored(store, [line(f"{n}") for n in range(25)])
    page = await store.recent("lobby", 10)
    seen = [r.text for r in page]
    while page:
        page = await store.before("lobby", page[0].id, 10)
        assert len(page) <= 10
        seen = [r.text for r in page] + seen
    assert seen == [f"{n}" for n in range(25)]


async def test_since_gives_the_lines_after_an_id_in_order(make_store: MakeStore) -> None:
    store = make_store()
    await stored(store, [line(f"{n}") for n in range(6)])
    records = await store.recent("lobby", 6)
    assert [r.text for r in await store.since("lobby", records[2].id)] == ["3", "4", "5"]
    assert await store.since("lobby", records[-1].id) == []
    assert await store.since("lobby", 0) == records
    await stored(store, [line("6")])
    assert [r.text for r in await store.since("lobby", records[-1].id)] == ["6"]


async def test_prune_keeps_the_newest_lines_of_each_room(make_store: MakeStore) -> None:
    store = make_store(Retention(max_lines=5))
    await stored(store, [line(f"{n}", room=room) for n in range(12) for room in ("a", "b")])
    await store.prune()
    for room in ("a", "b"):
        records = await store.recent(room, 100)
        assert [r.text for r in records] == [f"{n}" for n in range(7, 12)]
    last = records[-1].id
    await stored(store, [line("12", room="b")])
    [newest] = await store.recent("b", 1)
    assert newest.id > last


async def test_prune_keeps_the_newest_lines_of_all_rooms_within_the_total(
    make_store: MakeStore, clock: Clock
) -> None:
    store = make_store(Retention(max_lines=100, max_total=10))
    start = int(clock.now * 1000) - 60_000
    rooms = ("a", "b", "c", "a", "a", "b")  # the oldest lines go, whichever room they are in
    said = [line(f"{n}", room=rooms[n % 6], date_ms=start + n * 10) for n in range(30)]
    await stored(store, said)
    await store.prune()
    kept = []
    for room in ("a", "b", "c"):
        kept += [(r.date_ms, r.text) for r in await store.recent(room, 100)]
    assert [text for _, text in sorted(kept)] == [f"{n}" for n in range(20, 30)]
    assert sorted(await store.rooms()) == ["a", "b", "c"]


async def test_prune_deletes_lines_older_than_the_age_limit(
    make_store: MakeStore, clock: Clock
) -> None:
    store = make_store(Retention(max_age=30 * DAY))
    now_ms = int(clock.now * 1000)
    old = [line(f"old {n}", date_ms=now_ms - int(40 * DAY * 1000) + n) for n in range(3)]
    await stored(store, [*old, line("new", date_ms=now_ms)])
    await store.prune()
    assert [r.text for r in await store.recent("lobby", 10)] == ["new"]
    clock.now += 31 * DAY
    await store.prune()
    assert await store.recent("lobby", 10) == []


async def test_purge_one_room_or_all_and_ids_are_never_reused(make_store: MakeStore) -> None:
    store = make_store()
    await stored(store, [line(f"{n}", room=room) for n in range(3) for room in ("a", "b", "c")])
    [*_, last_a] = await store.recent("a", 3)
    assert await store.purge("a") == 3
    assert await store.recent("a", 10) == []
    assert len(await store.recent("b", 10)) == 3
    assert await store.purge() == 6
    assert await store.recent("b", 10) == [] and await store.recent("c", 10) == []
    await stored(store, [line("again", room="a")])
    [again] = await store.recent("a", 1)
    assert again.id > last_a.id


async def test_export_gives_every_line_in_order(make_store: MakeStore) -> None:
    store = make_store()
    await stored(store, [line(f"{n}") for n in range(10)])
    exported = [record async for record in store.export("lobby", page=3)]
    assert [r.text for r in exported] == [f"{n}" for n in range(10)]
    assert exported == await store.recent("lobby", 10)


async def test_a_second_store_on_the_same_place_sees_the_lines(make_store: MakeStore) -> None:
    first = make_store()
    await stored(first, [line("kept")])
    await first.close()
    second = make_store()
    assert [r.text for r in await second.recent("lobby", 10)] == ["kept"]


async def test_close_writes_what_is_queued_and_later_lines_are_dropped(
    make_store: MakeStore,
) -> None:
    store = make_store()
    for n in range(20):
        store.append(line(f"{n}"))
    await store.close()
    assert store.written == 20 and store.pending == 0
    store.append(line("too late"))
    assert store.dropped == 1
    reopened = make_store()
    assert len(await reopened.recent("lobby", 100)) == 20
