"""The Python client after a dropped socket: it comes back, resumes its session, and a call
in progress carries on (media is peer to peer). Real server, real sockets, dropped from the
server side."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from chinwag.client import (
    ChatMessage,
    ChinwagClient,
    ConnectionClosed,
    ErrorReceived,
    Event,
    MediaState,
    Presence,
    Reconnecting,
    ReconnectPolicy,
    Resumed,
    SessionLost,
    Subscription,
)
from chinwag.config import settings_for_tests
from chinwag.peer.media import CallMedia, MediaOptions
from chinwag.peer.phone import DialOutcome, Phone
from chinwag.transport.server import ChinwagServer
from tests.peer.support import FrameCounter

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Quick retries, so that a test waits fractions of a second, not the default's seconds.
FAST = ReconnectPolicy(attempts=30, first_delay=0.05, max_delay=0.2)
WITHIN = 10.0  # seconds any one expected event may take


def drop(server: ChinwagServer, name: str) -> None:
    """Cut ``name``'s socket from the server side, with no close frame (a network loss)."""
    conns = [conn for conn in server.websockets if server.lobby.name_of(conn) == name]
    assert len(conns) == 1, f"{name} has {len(conns)} sockets"
    server.websockets[conns[0]].abort()


async def wait_for(events: Subscription, kind: type[Event], **where: Any) -> Any:
    """The next ``kind`` event whose fields equal ``where``, within WITHIN seconds."""
    async with asyncio.timeout(WITHIN):
        return await events.wait_for(
            kind,
            ErrorReceived,
            where=lambda e: (
                isinstance(e, kind) and all(getattr(e, k) == v for k, v in where.items())
            ),
        )


async def collect_until_chat(events: Subscription, text: str) -> list[Event]:
    """Every event up to and including the chat line ``text``."""
    seen: list[Event] = []
    async with asyncio.timeout(WITHIN):
        async for event in events:
            seen.append(event)
            if isinstance(event, ChatMessage) and event.text == text:
                return seen
    raise AssertionError(f"the connection ended before {text!r}; saw {seen}")


@pytest.fixture
def open_client(sign_in: Callable[..., Any]) -> Callable[..., Any]:
    """Factory: a signed-in client with quick reconnects; closed after the test."""

    def open_one(name: str, **options: Any) -> Any:
        return sign_in(name, **{"reconnect": FAST, **options})

    return open_one


async def test_a_dropped_client_resumes_and_gets_what_was_sent_meanwhile(
    server: ChinwagServer, open_client: Callable[..., Any]
) -> None:
    alice: ChinwagClient = await open_client("alice")
    bob: ChinwagClient = await open_client("bob")
    assert "seq" in alice.accepted_features
    with alice.subscribe() as alice_events, bob.subscribe() as bob_events:
        drop(server, "alice")
        gap = await wait_for(alice_events, Reconnecting)
        assert gap.code == 1006
        with pytest.raises(ConnectionClosed):  # sends fail while away (documented)
            await alice.chat("lost")
        await bob.media_state("alice", audio=False, video=True)

        resumed = await wait_for(alice_events, Resumed)
        assert resumed.name == alice.name == "alice"
        await alice.chat("back")
        seen = await collect_until_chat(alice_events, "back")
        # Bob's message arrives exactly once: queued or sent again by seq, never both.
        from_bob = [e for e in seen if isinstance(e, MediaState) and e.name == "bob"]
        assert [(e.audio, e.video) for e in from_bob] == [(False, True)]
        assert alice.last_seq >= 1
        assert not any(isinstance(e, SessionLost | ErrorReceived) for e in seen)

        # Bob never saw alice leave.
        seen_by_bob = await collect_until_chat(bob_events, "back")
        assert not any(isinstance(e, Presence) and "alice" in e.left for e in seen_by_bob)
        assert "alice" in bob.roster


async def test_a_session_taken_over_elsewhere_does_not_come_back(
    server: ChinwagServer, url: str, open_client: Callable[..., Any]
) -> None:
    alice: ChinwagClient = await open_client("alice")
    with alice.subscribe() as events:
        other = ChinwagClient(url, "alice", connect_timeout=5.0, reconnect=False)
        other.resume_token = alice.resume_token
        try:
            signed_in = await other.connect()
            assert signed_in.resumed and signed_in.name == "alice"
            async with asyncio.timeout(WITHIN):
                seen = [event async for event in events]  # ends when alice's client gives up
        finally:
            await other.close()
    assert alice.close_code == 4001
    assert not any(isinstance(e, Reconnecting) for e in seen)


async def test_without_reconnect_a_drop_ends_the_client(
    server: ChinwagServer, open_client: Callable[..., Any]
) -> None:
    alice: ChinwagClient = await open_client("alice", reconnect=False)
    with alice.subscribe() as events:
        drop(server, "alice")
        async with asyncio.timeout(WITHIN):
            seen = [event async for event in events]
    assert alice.close_code == 1006 and alice.closed
    assert not any(isinstance(e, Reconnecting) for e in seen)


async def test_a_server_restart_gives_a_new_session() -> None:
    settings = settings_for_tests(host="127.0.0.1", port=0, presence_interval=0.02)
    first = ChinwagServer(settings)
    await first.start()
    port = first.port
    alice = ChinwagClient(f"http://127.0.0.1:{port}/", "alice", reconnect=FAST)
    second: ChinwagServer | None = None
    try:
        await alice.connect()
        with alice.subscribe() as events:
            await first.stop()  # closes with 1001: come back
            gap = await wait_for(events, Reconnecting)
            assert gap.code == 1001
            second = ChinwagServer(settings_for_tests(host="127.0.0.1", port=port))
            await second.start()
            lost = await wait_for(events, SessionLost)
            assert lost.name == "alice" and alice.last_seq == 0
            refusal = await wait_for(events, ErrorReceived)  # the old token means nothing here
            assert refusal.code == "bad-resume"
            await alice.chat("new session")
            await collect_until_chat(events, "new session")
    finally:
        await alice.close()
        await first.stop()
        if second is not None:
            await second.stop()


async def test_a_call_carries_on_across_a_resume(
    server: ChinwagServer, open_client: Callable[..., Any]
) -> None:
    phones: list[tuple[Phone, asyncio.Task[None], FrameCounter]] = []
    for name in ("alice", "bob"):
        counter = FrameCounter()
        client = await open_client(name)
        phone = Phone(
            client, lambda c=counter: CallMedia(MediaOptions(), (c.consume,)), relay_only=True
        )
        phones.append((phone, asyncio.create_task(phone.run()), counter))
    (alice, _, alice_got), (bob, _, bob_got) = phones
    try:
        assert await alice.dial("bob") is DialOutcome.ACCEPTED
        await bob_got.rising("video", 10)
        call = alice.call
        with alice.client.subscribe() as events:
            drop(server, "alice")
            await wait_for(events, Resumed)
        await bob_got.rising("video", 20)
        await alice_got.rising("video", 20)
        assert alice.call is call and bob.call is not None
        assert not alice.call_ended.is_set() and not bob.call_ended.is_set()
    finally:
        for phone, task, counter in phones:
            await phone.hang_up()
            task.cancel()
            counter.stop()


async def test_close_while_waiting_to_reconnect_ends_at_once(
    server: ChinwagServer, open_client: Callable[..., Any]
) -> None:
    patient = ReconnectPolicy(attempts=3, first_delay=30.0, max_delay=30.0)
    alice: ChinwagClient = await open_client("alice", reconnect=patient)
    with alice.subscribe() as events:
        drop(server, "alice")
        await wait_for(events, Reconnecting)
        async with asyncio.timeout(2.0):  # far less than the 30 s backoff
            await alice.close()
            with pytest.raises(ConnectionClosed):
                await events.get()
    assert alice.closed
