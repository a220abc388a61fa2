"""Background: tasks owned in a TaskGroup, guarded from each other, all ended by stop()."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from chinwag.background import Background

pytestmark = pytest.mark.asyncio


async def test_a_failing_task_is_logged_and_leaves_its_siblings_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = Background("test")
    finished = asyncio.Event()

    async def fails() -> None:
        raise RuntimeError("boom")

    async def carries_on() -> None:
        await asyncio.sleep(0)
        finished.set()

    tasks.spawn(fails(), "failing work")
    tasks.spawn(carries_on(), "other work")
    await asyncio.wait_for(finished.wait(), 5)
    await tasks.stop()
    assert "test: failing work failed" in caplog.text
    assert "boom" in caplog.text


async def test_stop_cancels_every_task_and_returns_once_each_has_ended() -> None:
    tasks = Background("test")
    started = asyncio.Event()
    cleaned: list[str] = []

    async def forever(name: str) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # cleanup that itself awaits
            cleaned.append(name)

    tasks.spawn(forever("a"), "a")
    tasks.spawn(forever("b"), "b")
    await asyncio.wait_for(started.wait(), 5)
    assert len(tasks) == 2
    await tasks.stop()
    assert sorted(cleaned) == ["a", "b"]
    assert len(tasks) == 0


async def test_work_spawned_after_stop_or_before_the_group_opened_is_handled() -> None:
    tasks = Background("test")
    ran: list[str] = []

    async def note(name: str) -> None:
        ran.append(name)

    tasks.spawn(note("early"), "early")  # the group opens in a task not yet run
    assert len(tasks) == 1
    await tasks.stop()  # stopped before it ran: closed, never started
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine was never awaited" would be an error
        tasks.spawn(note("late"), "late")
        gc.collect()
    assert ran == []

    done = asyncio.Event()

    async def first() -> None:
        ran.append("first")
        done.set()

    again = Background("test")
    again.spawn(first(), "first")
    await asyncio.wait_for(done.wait(), 5)
    assert ran == ["first"]
    await again.stop()
