"""The ``chinwag`` command: ``serve`` and the other subcommands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .auth import add_token_command
from .config import ConfigError, add_arguments, load_settings
from .logs import setup_logging
from .nat.doctor import add_doctor_command
from .peer.cli import add_peer_commands
from .turn import add_turn_config_command

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chinwag",
        description="Self-hosted chat and video calling: presence, chat and WebRTC signaling.",
    )
    parser.add_argument("--version", action="version", version=f"chinwag {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the server (web client, chat and signaling on one port)",
        description=(
            "Serve the web client over HTTP and chat/signaling over WebSocket on one port. "
            "Every option can also be set in a TOML file (--config) or as an environment "
            "variable; precedence: default < file < environment < flag."
        ),
    )
    add_arguments(serve)
    serve.set_defaults(handler=_serve)
    add_turn_config_command(commands)
    add_doctor_command(commands)
    add_token_command(commands)
    add_peer_commands(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from .server import serve_forever

    settings = load_settings(args)
    setup_logging(settings.log_level, settings.log_format)
    if settings.workers > 1:
        from .workers import run_workers

        return run_workers(settings)
    asyncio.run(serve_forever(settings))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as error:
        print(f"chinwag: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


logging.getLogger("chinwag").addHandler(logging.NullHandler())
