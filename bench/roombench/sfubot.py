"""One aiortc participant of the room-call benchmarks, in its own process (``roombench.sfu``).

The Python peer (``chinwag.peer``: :class:`RoomMesh`, which moves to the SFU
with the call) signs in to ``--room``, says ``ready`` on stdout, takes its
seat when a line arrives on stdin, and sends ``--play`` (a small looped file)
as its camera and microphone. It asks the SFU for the ``low`` layer of
everyone (a bot shows nobody large). On stdout, one JSON object a line:
``{"ready": true}``; ``{"decoded": NAME, "at_ms": ...}`` when the first video
frame of NAME decodes here (through the SFU; wall clock); at the end (stdin
closed, or ``--seconds`` passed) ``{"sent": {type: count}}``, the signaling
messages it sent by type.

    python bench/roombench/sfubot.py --server http://127.0.0.1:PORT --room R --name b1 --play f
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from chinwag.client import DEFAULT_FEATURES, ChinwagClient
from chinwag.peer.call import rtc_configuration
from chinwag.peer.media import CallMedia, MediaOptions
from chinwag.peer.mesh import RoomMesh

LIFETIME_SECONDS = 600.0  # a forgotten bot ends by itself


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


class TrackNames(logging.Handler):
    """The name of the person whose track the SFU subscriber is handing over right now.

    ``RoomSfu`` logs ``sfu: receiving KIND from NAME`` just before it passes the
    track to the media (and so to our consumer), in the same call.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.current = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "sfu: receiving %s from %s" and isinstance(record.args, tuple):
            self.current = str(record.args[1])


async def first_frame(track: MediaStreamTrack, name: str, decoded: set[str]) -> None:
    """Note when ``name``'s first video frame decodes, then keep draining the track."""
    with contextlib.suppress(MediaStreamError):
        await track.recv()
        if name and name not in decoded:
            decoded.add(name)
            say({"decoded": name, "at_ms": time.time() * 1000})
        while True:
            await track.recv()


async def ask_low_layers(mesh: RoomMesh, client: ChinwagClient) -> None:
    """Once a second: the low layer of every person whose video our subscription carries."""
    asked: dict[str, str] = {}
    while True:
        await asyncio.sleep(1)
        sfu = mesh.sfu
        if sfu is None or sfu.subscriber is None:
            continue
        views = {name: "low" for name, kind in sfu.mids.values() if kind == "video"}
        if views and views != asked:
            asked = views
            await client.send({"type": "sfu-view", "views": views})


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(
        level=logging.WARNING, format=f"%(asctime)s {args.name} %(name)s %(message)s"
    )
    names = TrackNames()
    logging.getLogger("chinwag.peer.sfu").addHandler(names)
    logging.getLogger("chinwag.peer.sfu").setLevel(logging.INFO)
    client = ChinwagClient(
        args.server,
        args.name,
        features=(*DEFAULT_FEATURES, "rooms", "no-rollback"),
        room=args.room,
    )
    sent: Counter[str] = Counter()
    send = client.send

    async def counted(message: Mapping[str, Any]) -> None:
        sent[str(message.get("type"))] += 1
        await send(message)

    client.send = counted  # type: ignore[method-assign]
    await client.connect()
    decoded: set[str] = set()
    tasks: set[asyncio.Task[None]] = set()

    def consume(track: MediaStreamTrack) -> None:
        if track.kind == "video":
            task = asyncio.create_task(first_frame(track, names.current, decoded))
            tasks.add(task)

    options = MediaOptions(play=args.play, loop=True)
    mesh = RoomMesh(
        client,
        lambda: CallMedia(options, (consume,)),
        lambda: rtc_configuration(client.ice_servers, relay_only=False),
    )
    say({"ready": True})
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # the go
    running = [asyncio.create_task(mesh.run()), asyncio.create_task(ask_low_layers(mesh, client))]
    ended = loop.run_in_executor(None, sys.stdin.readline)  # stdin closed: stop
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ended, args.seconds)
    for task in (*running, *tasks):
        task.cancel()
    await asyncio.gather(*running, *tasks, return_exceptions=True)
    say({"sent": dict(sent)})
    await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--room", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--play", required=True, help="a small media file, sent in a loop")
    parser.add_argument("--seconds", type=float, default=LIFETIME_SECONDS)
    asyncio.run(main(parser.parse_args()))
