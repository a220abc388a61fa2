"""``chinwag admin ...``: the server API from a shell (docs/api.md).

Each subcommand is one API call; the answer is printed as JSON. The server's
address and key come from ``--url``/``--key`` or ``CHINWAG_API_URL``/
``CHINWAG_API_KEY`` (prefer the environment: command lines are visible to
other users of the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from typing import Any

from .routes import API_PREFIX

__all__ = ["add_admin_command"]


def add_admin_command(subparsers: Any) -> None:
    """Add ``chinwag admin`` and its subcommands."""
    admin: argparse.ArgumentParser = subparsers.add_parser(
        "admin",
        help="call a running server's API (rooms, invites, tokens, moderation)",
        description="Call the /api/v1/ API of a running chinwag server started with --api-key.",
    )
    admin.add_argument(
        "--url", help="the server, e.g. https://chat.example.org (env CHINWAG_API_URL)"
    )
    admin.add_argument("--key", help="the server's api_key (env CHINWAG_API_KEY; prefer it)")
    admin.add_argument("--cafile", help="CA or self-signed certificate (PEM) to trust")
    commands = admin.add_subparsers(dest="admin_command", metavar="ACTION", required=True)

    def action(
        name: str, help_text: str, method: str, path: str, *fields: str
    ) -> argparse.ArgumentParser:
        """A subcommand; its arguments' ``dest`` are the JSON body's ``fields``."""
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        parser.set_defaults(handler=_run, method=method, path=path, fields=fields)
        return parser

    action("rooms", "list rooms with their participants and calls", "GET", "/rooms")
    create = action(
        "create-room", "open a room, kept until closed", "POST", "/rooms/create",
        "room", "title", "password", "public", "hosts",
    )  # fmt: skip
    create.add_argument("room")
    create.add_argument("--title", default="")
    create.add_argument("--password", default="")
    create.add_argument("--public", action="store_true")
    create.add_argument(
        "--host", dest="hosts", action="append", default=[], help="a host's name; repeatable"
    )
    close = action("close-room", "remove everyone, forget the room", "POST", "/rooms/close", "room")
    close.add_argument("room")
    invite = action(
        "invite", "mint an invite link", "POST", "/invites",
        "room", "role", "ttl", "single", "passLock",
    )  # fmt: skip
    invite.add_argument("room")
    invite.add_argument("--role", choices=["guest", "moderator"], default="guest")
    invite.add_argument("--ttl", type=float, default=3600.0, help="seconds; default 3600")
    invite.add_argument("--single", action="store_true", help="the first entry spends it")
    invite.add_argument(
        "--pass-lock", dest="passLock", action="store_true", help="opens the room while locked"
    )
    token = action(
        "token", "mint a sign-in token (needs token_secret)", "POST", "/tokens",
        "name", "ttl", "rooms",
    )  # fmt: skip
    token.add_argument("name")
    token.add_argument("--ttl", type=float, default=3600.0, help="seconds; default 3600")
    token.add_argument(
        "--room", dest="rooms", action="append", default=[], metavar="ROOM=ROLE",
        help="a role in a room; repeatable",
    )  # fmt: skip
    remove = action(
        "remove", "remove a person from a room", "POST", "/participants/remove",
        "room", "name", "ban",
    )  # fmt: skip
    remove.add_argument("room")
    remove.add_argument("name")
    remove.add_argument("--ban", action="store_true", help="bar them for the room's lifetime")
    action("end-call", "end a room's call", "POST", "/calls/end", "room").add_argument("room")
    say = action("say", "post a system message to a room", "POST", "/messages", "room", "text")
    say.add_argument("room")
    say.add_argument("text")


def _body(args: argparse.Namespace) -> dict[str, Any] | None:
    """The JSON body of the call ``args`` names (None for a GET)."""
    if args.method == "GET":
        return None
    body = {field: getattr(args, field) for field in args.fields}
    if "rooms" in body:  # ROOM=ROLE pairs
        body["rooms"] = dict(pair.partition("=")[::2] for pair in body["rooms"])
    return body


def _run(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("CHINWAG_API_URL")
    key = args.key or os.environ.get("CHINWAG_API_KEY")
    if not url or not key:
        print("chinwag admin: needs --url and --key (or CHINWAG_API_URL and CHINWAG_API_KEY)",
              file=sys.stderr)  # fmt: skip
        return 2
    body = _body(args)
    request = urllib.request.Request(
        url.rstrip("/") + API_PREFIX + args.path,
        data=json.dumps(body).encode() if body is not None else None,
        method=args.method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:
            value = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            problem = json.loads(raw)["error"]
            print(f"chinwag admin: {problem['code']}: {problem['message']}", file=sys.stderr)
        except (ValueError, KeyError, TypeError):
            print(f"chinwag admin: HTTP {error.code}: {raw.decode(errors='replace')}",
                  file=sys.stderr)  # fmt: skip
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"chinwag admin: cannot reach {url}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(value, indent=2))
    return 0
