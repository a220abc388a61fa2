"""``chinwag peer`` and ``chinwag call``: a WebRTC peer on the command line.

Only argparse is imported here at import time, so ``chinwag --help`` works
without aiortc; the handlers check for it and say how to install the ``peer`` extra
when it is missing. ``add_peer_commands(subparsers)`` adds both commands to
the ``chinwag`` parser. The asyncio bodies live in :mod:`chinwag.peer.run`.

``chinwag call`` exits with one status per outcome (:data:`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any, Final

from ..extras import MissingExtra, require

__all__ = ["EXIT_CODES", "add_peer_commands", "main"]

#: Exit status per outcome; every failure has its own code.
EXIT_CODES: Final = {
    "ok": 0,
    "error": 1,  # the server could not be reached, or refused the sign-in
    "usage": 2,  # argparse's own code for bad arguments
    "missing-aiortc": 3,
    "declined": 4,
    "busy": 5,
    "no answer": 6,
    "no such user": 7,
    "failed": 8,  # accepted, but the media connection failed or the other side vanished
}


def add_peer_commands(subparsers: Any) -> None:
    """Add ``peer``, ``call`` and ``send-file`` to the ``chinwag`` command's subparsers."""
    peer = subparsers.add_parser(
        "peer",
        help="a WebRTC peer that answers calls (echo, play a file, record)",
        description=(
            "Sign in and answer every call: echo the caller's own video and audio back "
            "(--echo), or send a file (--play) or a moving test pattern and a tone."
        ),
    )
    _add_common(peer)
    peer.add_argument("--name", default="peer", help="username to sign in as; default peer")
    peer.add_argument(
        "--echo", action="store_true", help="send each caller's own video and audio back"
    )
    peer.add_argument(
        "--ask", action="store_true", help="ask on the terminal before taking a call (y/n)"
    )
    peer.add_argument(
        "--room",
        metavar="ROOM",
        help="join ROOM's room call as one more participant instead of answering calls",
    )
    peer.add_argument("--room-password", metavar="PASSWORD", help="the password of --room")
    peer.add_argument(
        "--files-into",
        metavar="DIR",
        help="accept every file sent to this peer (within the server's limit) into DIR",
    )
    peer.set_defaults(handler=_run_peer)

    call = subparsers.add_parser(
        "call",
        help="call a user, stream to them, and exit with the call's outcome",
        description=(
            "Ring NAME; once they accept, send a file (--play) or a test pattern and a tone, "
            "optionally record what they send (--record), and hang up after --duration. "
            "The exit status says what happened: "
            + ", ".join(f"{code} {outcome}" for outcome, code in EXIT_CODES.items())
            + "."
        ),
    )
    call.add_argument("target", metavar="NAME", help="the user to call")
    _add_common(call)
    call.add_argument("--name", default="caller", help="username to sign in as; default caller")
    call.add_argument(
        "--duration", type=float, default=None, help="hang up after this many seconds"
    )
    call.add_argument(
        "--ring-timeout",
        type=float,
        default=30.0,
        help="seconds to ring before giving up as 'no answer'; default 30",
    )
    call.set_defaults(handler=_run_call)

    send_file = subparsers.add_parser(
        "send-file",
        help="send a file to a user, peer to peer, and exit once it arrived verified",
        description=(
            "Offer PATH to NAME; once they accept, send it over a WebRTC data channel. "
            "Exits 0 when NAME's SHA-256 check passed, 4 when declined, 8 when it failed."
        ),
    )
    send_file.add_argument("target", metavar="NAME", help="the user to send the file to")
    send_file.add_argument("path", metavar="PATH", help="the file to send")
    _add_common(send_file)
    send_file.add_argument("--name", default="sender", help="username to sign in as")
    send_file.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for it all; default 300"
    )
    send_file.set_defaults(handler=_run_send_file)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server", required=True, help="chinwag server URL, e.g. http://127.0.0.1:6503/"
    )
    parser.add_argument(
        "--play", metavar="FILE", help="send this media file (default: test pattern and tone)"
    )
    parser.add_argument("--loop", action="store_true", help="repeat the --play file")
    parser.add_argument(
        "--record", metavar="FILE", help="record what is received (.mp4, .webm or .mkv)"
    )
    parser.add_argument("--no-video", action="store_true", help="send no video")
    parser.add_argument("--no-audio", action="store_true", help="send no audio")
    parser.add_argument(
        "--relay-only",
        action="store_true",
        help=(
            "use only the TURN relays from the server's ice-servers (how two peers meet "
            "on loopback alone: aiortc never offers loopback host candidates)"
        ),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")


def _peer_modules_missing() -> bool:
    try:
        require("peer")
    except MissingExtra as error:
        print(f"chinwag: {error}", file=sys.stderr)
        return True
    return False


def _setup(args: argparse.Namespace) -> int | None:
    """Check aiortc is there and set up logging; return an exit code to stop with."""
    if _peer_modules_missing():
        return EXIT_CODES["missing-aiortc"]
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # What the phone does (who calls, who hangs up) is the command's own output.
    logging.getLogger("chinwag.peer.phone").setLevel(logging.INFO)
    return None


def _run_peer(args: argparse.Namespace) -> int:
    stop = _setup(args)
    if stop is not None:
        return stop
    from .run import run_peer

    return EXIT_CODES[asyncio.run(run_peer(args))]


def _run_call(args: argparse.Namespace) -> int:
    stop = _setup(args)
    if stop is not None:
        return stop
    from .run import run_call

    return EXIT_CODES[asyncio.run(run_call(args))]


def _run_send_file(args: argparse.Namespace) -> int:
    stop = _setup(args)
    if stop is not None:
        return stop
    from .sendfile import run_send_file

    return EXIT_CODES[asyncio.run(run_send_file(args))]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``peer`` or ``call`` on their own (``python -m chinwag.peer.cli``)."""
    parser = argparse.ArgumentParser(prog="chinwag")
    add_peer_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
