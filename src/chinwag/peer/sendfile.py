"""``chinwag send-file NAME PATH`` and ``chinwag peer --files-into DIR``: files from the
command line, over :class:`~chinwag.peer.files.FileTransfers`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from ..client import ChinwagClient, ClientError
from .call import rtc_configuration
from .files import FileTransfers, IncomingFile

__all__ = ["receive_files_into", "run_send_file"]

#: How each ending of a transfer maps onto the command's outcomes (cli.EXIT_CODES).
_OUTCOMES = {"verified": "ok", "declined": "declined", "cancelled": "failed", "failed": "failed"}


def transfers_for(client: ChinwagClient, relay_only: bool) -> FileTransfers:
    return FileTransfers(client, lambda: rtc_configuration(client.ice_servers, relay_only))


async def run_send_file(args: argparse.Namespace) -> str:
    """Offer ``args.path`` to ``args.target``, send it, and return the outcome name."""
    path = Path(args.path)
    if not await asyncio.to_thread(path.is_file):
        print(f"chinwag: no such file: {path}", file=sys.stderr)
        return "error"
    client = ChinwagClient(args.server, args.name, reconnect=False)
    try:
        try:
            await client.connect()
        except (ClientError, TimeoutError) as error:
            print(f"chinwag: cannot sign in to {args.server}: {error}", file=sys.stderr)
            return "error"
        await client.wait_for_ice_servers()
        files = transfers_for(client, args.relay_only)
        try:
            ending = await files.send_file(args.target, path, within=args.timeout)
        except ValueError as error:  # over the server's limit
            print(f"chinwag: {error}", file=sys.stderr)
            return "error"
        except TimeoutError:
            ending = "failed: no answer"
        print(f"{path.name} to {args.target}: {ending}", flush=True)
        return _OUTCOMES.get(ending.split(":")[0], "failed")
    finally:
        await client.close()


def receive_files_into(client: ChinwagClient, directory: Path, relay_only: bool) -> FileTransfers:
    """Accept every file offered within the server's limit into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    files = transfers_for(client, relay_only)

    async def accept(offer: IncomingFile) -> None:
        print(f"{offer.sender} sends {offer.filename} ({offer.size} bytes)", flush=True)
        try:
            saved = await offer.accept(directory)
        except RuntimeError as error:
            print(f"not received: {error}", flush=True)
            return
        print(f"saved {saved} (SHA-256 verified)", flush=True)

    files.on_offer = accept
    return files
