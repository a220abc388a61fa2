"""The examples in examples/ run as documented, against a real server."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chinwag.client import ChatMessage, ChinwagClient
from chinwag.peer.media import CallMedia, MediaOptions
from chinwag.peer.phone import DialOutcome, Phone
from tests.peer.support import FrameCounter, RunningCli, start_process

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXAMPLES = Path(__file__).parents[2] / "examples"


async def run_example(name: str, *args: str) -> RunningCli:
    return await start_process(sys.executable, str(EXAMPLES / name / f"{name}.py"), *args)


async def test_chat_bot_answers_who(url: str, sign_in: Callable[[str], Any]) -> None:
    ivy: ChinwagClient = await sign_in("ivy")
    with ivy.subscribe() as events:
        bot = await run_example("chat_bot", url)
        try:
            async with asyncio.timeout(15):
                while "clockbot" not in ivy.roster:
                    await events.get()
                await ivy.chat("!who")
                reply = await events.wait_for(ChatMessage, where=lambda e: e.name == "clockbot")
        finally:
            await bot.stop()
    assert reply.text == "online: ivy, clockbot"


async def test_echo_bot_greets_and_echoes(url: str, sign_in: Callable[[str], Any]) -> None:
    bot = await run_example("echo_bot", url, "--relay-only")
    try:
        await bot.expect("call me")
        jay: ChinwagClient = await sign_in("jay")
        counter = FrameCounter()
        phone = Phone(jay, lambda: CallMedia(MediaOptions(), (counter.consume,)), relay_only=True)
        with jay.subscribe() as events:
            running = asyncio.create_task(phone.run())
            async with asyncio.timeout(30):
                greeting = await events.wait_for(ChatMessage)
            assert greeting.text == "hello jay, call echobot to see yourself"
        assert await phone.dial("echobot") is DialOutcome.ACCEPTED
        await counter.rising("video", 20)  # our own test pattern, back from the bot
        assert counter.sizes == {(640, 480)}
        await phone.hang_up()
        running.cancel()
        counter.stop()
    finally:
        await bot.stop()
