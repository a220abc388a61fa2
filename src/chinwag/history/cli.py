"""``chinwag history export ROOM`` and ``chinwag history purge [ROOM]``.

Both read the same flags, environment and config file as ``serve``, so they
reach the store the server uses (the SQLite file in the data directory, or
Redis when ``--redis`` is set), even while history is switched off.

ROOM is a room's name as people type it ("Secret Plans", "team"; "lobby" is
the default room): it matches every stored room whose name has the same
:func:`~chinwag.core.names.name_key`, a locked room's lines included. When
nothing matches, both say so on stderr and exit with 2: an erasure request
that did nothing must not look like one that worked.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import msgspec

from ..config import add_arguments, load_settings
from ..core.names import name_key
from ..core.rooms import DEFAULT_ROOM, LOCK_MARK
from . import HistoryStore, HistoryUnavailable, open_history

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


class NoSuchRoom(Exception):
    """No stored room matches what the operator typed."""


def stored_as(typed: str, stored: list[str]) -> list[str]:
    """The stored room ids that the room name ``typed`` means (see the module docstring)."""
    wanted = {name_key(typed.strip())}
    if name_key(typed.strip()) == name_key("lobby"):
        wanted.add(DEFAULT_ROOM)
    return [room for room in stored if name_key(room.split(LOCK_MARK, 1)[0]) in wanted]


async def _matching(store: HistoryStore, typed: str) -> list[str]:
    found = stored_as(typed, await store.rooms())
    if not found:
        raise NoSuchRoom(f"no stored history for a room named {typed!r}; nothing was done")
    return found


def _export(args: argparse.Namespace) -> int:
    async def export() -> None:
        store = open_history(load_settings(args))
        try:
            for room in await _matching(store, args.room):
                async for record in store.export(room):
                    sys.stdout.buffer.write(msgspec.json.encode(record) + b"\n")
        finally:
            await store.close()

    return _run(export())


def _purge(args: argparse.Namespace) -> int:
    async def purge() -> None:
        store = open_history(load_settings(args))
        try:
            if args.room is None:
                removed = await store.purge(None)
            else:
                rooms = await _matching(store, args.room)
                removed = sum([await store.purge(room) for room in rooms])
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
    except NoSuchRoom as error:
        print(f"chinwag history: {error}", file=sys.stderr)
        return 2
    return 0
