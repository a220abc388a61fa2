"""``chinwag history export ROOM`` and ``chinwag history purge [ROOM]``.

Both read the same flags, environment and config file as ``serve``, so they
reach the store the server uses (the SQLite file in the data directory, or
Redis when ``--redis`` is set), even while history is switched off.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import msgspec

from ..config import add_arguments, load_settings
from . import HistoryUnavailable, open_history

__all__ = ["add_history_commands"]


def add_history_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``chinwag history``; its handlers are ``args.handler(args) -> exit code``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "history",
        help="export or purge stored chat history",
        description="Read or delete the chat history the server keeps. Reads the same flags, "
        "environment and config file as serve.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="print a room's history as JSON lines, oldest first")
    export.add_argument("room", help="the room (the lobby is the room named lobby)")
    add_arguments(export)
    export.set_defaults(handler=_export)
    purge = actions.add_parser("purge", help="delete a room's history, or every room's")
    purge.add_argument("room", nargs="?", help="the room; every room if left out")
    add_arguments(purge)
    purge.set_defaults(handler=_purge)
    return parser


def _export(args: argparse.Namespace) -> int:
    async def export() -> None:
        store = open_history(load_settings(args))
        try:
            async for record in store.export(args.room):
                sys.stdout.buffer.write(msgspec.json.encode(record) + b"\n")
        finally:
            await store.close()

    return _run(export())


def _purge(args: argparse.Namespace) -> int:
    async def purge() -> None:
        store = open_history(load_settings(args))
        try:
            removed = await store.purge(args.room)
        finally:
            await store.close()
        where = f"room {args.room!r}" if args.room is not None else "every room"
        print(f"purged {removed} lines from {where}")

    return _run(purge())


def _run(command: Any) -> int:
    try:
        asyncio.run(command)
    except HistoryUnavailable as error:
        print(f"chinwag history: the history store failed: {error}", file=sys.stderr)
        return 1
    return 0
