"""``chinwag recordings``: ``list``, ``export ID DEST``, ``purge``, ``convert ID``.

They read the same flags, environment and config file as ``serve``, so they
find the recordings where the server writes them (``data_dir/recordings``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ..config import ConfigError, add_arguments, load_settings
from ..history import data_dir
from .recordings import MANIFEST, finish, list_recordings, read_manifest

__all__ = ["add_recordings_commands", "recordings_root"]

DAY = 86400


def recordings_root(args: argparse.Namespace) -> Path:
    """``data_dir/recordings`` for the settings in ``args``."""
    return data_dir(load_settings(args)) / "recordings"


def add_recordings_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``chinwag recordings``; its handlers are ``args.handler(args) -> exit code``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "recordings",
        help="list, export, convert or delete recordings of SFU calls",
        description="Manage the recordings of SFU calls in data_dir/recordings. Reads the same "
        "flags, environment and config file as serve.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per recording, newest first")
    listing.add_argument("--json", action="store_true", help="print the manifests as JSON")
    listing.set_defaults(handler=_list)
    export = actions.add_parser("export", help="copy a recording's playable files to DEST/ID")
    export.add_argument("id", metavar="ID", help="the recording (as `list` shows it)")
    export.add_argument("dest", metavar="DEST", help="folder to copy into (created)")
    export.set_defaults(handler=_export)
    purge = actions.add_parser("purge", help="delete recordings, originals included")
    purge.add_argument("id", metavar="ID", nargs="?", help="the recording to delete")
    purge.add_argument("--older-than", type=float, metavar="DAYS", help="those started earlier")
    purge.add_argument("--all", action="store_true", help="every recording")
    purge.set_defaults(handler=_purge)
    convert = actions.add_parser(
        "convert", help="make a recording playable again (e.g. after a crash mid-conversion)"
    )
    convert.add_argument("id", metavar="ID")
    convert.set_defaults(handler=_convert)
    for action in (listing, export, purge, convert):
        add_arguments(action)
    return parser


def _list(args: argparse.Namespace) -> int:
    found = list_recordings(recordings_root(args))
    if args.json:
        print(json.dumps(found, indent=2, sort_keys=True))
        return 0
    for manifest in found:
        seconds = (manifest.get("until", 0) - manifest.get("since", 0)) / 1000
        length = f"{seconds:.0f} s" if seconds > 0 else "-"
        print(
            f"{manifest['id']}  {manifest.get('state', '?'):10}  {length:>7}  "
            f"room {manifest.get('room', '?')!r} by {manifest.get('by', '?')}  "
            f"{len(manifest.get('files', []))} file(s)  {manifest['bytes'] / 1e6:.1f} MB"
        )
        _say_missing(manifest)
    if not found:
        print("no recordings", file=sys.stderr)
    return 0


def _folder(args: argparse.Namespace) -> Path:
    """The folder of recording ``args.id``; ConfigError if there is none."""
    root, recording = recordings_root(args), str(args.id)
    folder = root / recording
    if "/" in recording or recording.startswith(".") or not (folder / MANIFEST).is_file():
        raise ConfigError(f"no recording {recording!r} in {root} (see `chinwag recordings list`)")
    return folder


def _export(args: argparse.Namespace) -> int:
    folder = _folder(args)
    manifest = read_manifest(folder)
    if manifest.get("state") != "ready":
        raise ConfigError(
            f"recording {args.id} is {manifest.get('state', 'unknown')}, not ready: "
            "run `chinwag recordings convert` first"
        )
    target = Path(args.dest) / args.id
    target.mkdir(parents=True, exist_ok=True)
    for name in [entry["file"] for entry in manifest.get("files", [])] + [MANIFEST]:
        shutil.copy2(folder / name, target / name)
    print(target)
    return 0


def _purge(args: argparse.Namespace) -> int:
    if sum((args.id is not None, args.older_than is not None, args.all)) != 1:
        raise ConfigError("purge needs exactly one of: ID, --older-than DAYS, --all")
    if args.id is not None:
        doomed = [_folder(args)]
    else:
        root = recordings_root(args)
        cutoff = (time.time() - (args.older_than or 0) * DAY) * 1000
        doomed = [
            root / manifest["id"]
            for manifest in list_recordings(root)
            if args.all or manifest.get("since", 0) < cutoff
        ]
    for folder in doomed:
        if read_manifest(folder).get("state") in ("recording", "converting"):
            print(f"skipped {folder.name}: still {read_manifest(folder)['state']}", file=sys.stderr)
            continue
        shutil.rmtree(folder)
        print(f"deleted {folder.name}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    folder = _folder(args)
    manifest = read_manifest(folder)
    result = asyncio.run(
        finish(folder, manifest.get("people", {}), stopped_ms=manifest.get("until"))
    )
    print(f"{args.id}: {result['state']}" + (f" ({result['error']})" if "error" in result else ""))
    _say_missing(result)
    return 0 if result["state"] == "ready" else 1


def _say_missing(manifest: dict[str, Any]) -> None:
    """One indented line per recorded stream that gave no playable file, and why."""
    for gap in manifest.get("missing", []):
        print(f"  missing: {gap.get('person', '?')}'s {gap.get('kind', '?')}: {gap.get('reason')}")
