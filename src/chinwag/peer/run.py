"""The asyncio bodies of ``chinwag peer`` and ``chinwag call`` (they need aiortc).

Each returns the outcome name that :data:`chinwag.peer.cli.EXIT_CODES` maps
to an exit status, and prints one line saying what happened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from ..client import DEFAULT_FEATURES, ChinwagClient, ClientError, ConnectionClosed, ErrorReply
from .call import rtc_configuration
from .holds import Holds
from .media import CallMedia, MediaOptions
from .mesh import RoomMesh
from .phone import RING_TIMEOUT, Decide, DialOutcome, Phone, accept_always
from .sendfile import receive_files_into

__all__ = ["TerminalPrompt", "media_options", "run_call", "run_peer", "run_room_peer"]

#: How long an accepted call may take to connect its media before it counts as failed.
CONNECT_TIMEOUT = 30.0


def media_options(args: argparse.Namespace) -> MediaOptions:
    """The media flags shared by ``peer`` and ``call``."""
    return MediaOptions(
        echo=getattr(args, "echo", False),
        play=args.play,
        loop=args.loop,
        record=args.record,
        audio=not args.no_audio,
        video=not args.no_video,
    )


class TerminalPrompt:
    """Asks y/n on the terminal whether to take a call (``--ask``)."""

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None

    async def _line(self) -> str:
        if self._reader is None:
            self._reader = asyncio.StreamReader()
            protocol = asyncio.StreamReaderProtocol(self._reader)
            await asyncio.get_running_loop().connect_read_pipe(lambda: protocol, sys.stdin)
        return (await self._reader.readline()).decode(errors="replace")

    async def ask(self, caller: str) -> bool:
        """Print the question and read one answer; anything but y/yes declines."""
        print(f"{caller} is calling. Answer? [y/n] ", end="", flush=True)
        return (await self._line()).strip().lower() in ("y", "yes")


def _say(text: str) -> None:
    print(text, flush=True)


def _cancel_on_signals() -> None:
    """Turn SIGINT/SIGTERM into cancelling the main task, so calls end cleanly."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, task.cancel)


@contextlib.asynccontextmanager
async def _phone(
    args: argparse.Namespace,
    *,
    decide: Decide = accept_always,
    ring_timeout: float = RING_TIMEOUT,
    reconnect: bool = True,
) -> AsyncIterator[Phone | None]:
    """Sign in and set up the phone both commands use, with the media their flags ask for.

    Yields None after printing why it could not sign in. From here on a signal
    cancels the calling task: catch CancelledError to hang up cleanly.
    """
    _cancel_on_signals()
    client = ChinwagClient(args.server, args.name, reconnect=reconnect)
    try:
        await client.connect()
    except (ClientError, TimeoutError) as error:
        print(f"chinwag: cannot sign in to {args.server}: {error}", file=sys.stderr)
        yield None
        return
    options = media_options(args)
    try:
        yield Phone(
            client,
            lambda: CallMedia(options),
            decide=decide,
            relay_only=args.relay_only,
            ring_timeout=ring_timeout,
        )
    finally:
        await client.close()


async def run_peer(args: argparse.Namespace) -> str:
    """Answer calls until the server closes the connection or a signal arrives."""
    if args.room is not None:
        return await run_room_peer(args)
    decide = TerminalPrompt().ask if args.ask else accept_always
    async with _phone(args, decide=decide) as phone:
        if phone is None:
            return "error"
        _say(f"signed in as {phone.client.name}; waiting for calls")
        if args.files_into:  # the client's event callback keeps the receiver alive
            receive_files_into(phone.client, Path(args.files_into), args.relay_only)
            _say(f"files go to {args.files_into}")
        try:
            await phone.run()
        except asyncio.CancelledError:
            await phone.hang_up()
            return "ok"
        _say("the server closed the connection")
        return "error"
    return "error"  # not reached: the context manager either yields or returns


async def run_room_peer(args: argparse.Namespace) -> str:
    """Sit in room ``args.room``'s call until a signal arrives or the connection ends."""
    _cancel_on_signals()
    features = (*DEFAULT_FEATURES, "rooms", "no-rollback")
    client = ChinwagClient(
        args.server, args.name, features=features, room=args.room, room_password=args.room_password
    )
    try:
        await client.connect()
    except (ClientError, TimeoutError) as error:
        print(f"chinwag: cannot join room {args.room!r} on {args.server}: {error}", file=sys.stderr)
        return "error"
    options = media_options(args)
    holds = Holds()  # a host's mutes, obeyed by every link's media
    mesh = RoomMesh(
        client,
        lambda: CallMedia(options, holds=holds),
        lambda: rtc_configuration(client.ice_servers, args.relay_only),
        holds,
    )
    _say(f"signed in as {client.name} in room {args.room!r}; joining its call")
    try:
        await mesh.run()
    except asyncio.CancelledError:
        return "ok"
    except ErrorReply as error:
        _say(f"could not join the room call: {error}")
        return "failed"
    finally:
        await client.close()
    _say("the server closed the connection")
    return "error"


async def run_call(args: argparse.Namespace) -> str:
    """Call ``args.target`` and return the outcome name."""
    # One call, then an exit status: a dropped connection ends it rather than retrying.
    async with _phone(args, ring_timeout=args.ring_timeout, reconnect=False) as phone:
        if phone is None:
            return "error"
        runner = asyncio.create_task(phone.run())
        try:
            return await _call(phone, args.target, args.duration)
        except asyncio.CancelledError:
            await phone.hang_up()
            _say("hung up")
            return "ok"
        except (ConnectionClosed, ErrorReply) as error:
            _say(f"the call failed: {error}")
            return "failed"
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
    return "error"  # not reached: the context manager either yields or returns


_DIAL_MESSAGES = {
    DialOutcome.DECLINED: ("declined", "{0} declined the call"),
    DialOutcome.BUSY: ("busy", "{0} is busy"),
    DialOutcome.NO_ANSWER: ("no answer", "no answer from {0}"),
    DialOutcome.NO_SUCH_USER: ("no such user", "no such user: {0} is not online"),
    DialOutcome.HUNG_UP: ("failed", "{0} hung up before answering"),
}


async def _call(phone: Phone, target: str, duration: float | None) -> str:
    _say(f"calling {target}")
    outcome = await phone.dial(target)
    if outcome is not DialOutcome.ACCEPTED:
        name, message = _DIAL_MESSAGES[outcome]
        _say(message.format(target))
        return name
    call = phone.call
    assert call is not None
    _say(f"{target} accepted")
    connected = asyncio.create_task(call.connected.wait())
    ended = asyncio.create_task(phone.call_ended.wait())
    await asyncio.wait((connected, ended), timeout=CONNECT_TIMEOUT, return_when="FIRST_COMPLETED")
    connected.cancel()
    if not call.connected.is_set():
        ended.cancel()
        await phone.hang_up("failed")
        _say(f"the media connection with {target} failed")
        return "failed"
    _say(f"connected to {target}")
    try:
        async with asyncio.timeout(duration):
            await ended
    except TimeoutError:
        await phone.hang_up()
        _say(f"hung up after {duration:g} s")
        return "ok"
    _say(f"{target} hung up")
    return "ok"
