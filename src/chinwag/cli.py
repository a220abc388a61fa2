"""The ``chinwag`` command: ``serve`` and the other subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from . import __version__
from .cluster.bus import ClusterRefused
from .config import ConfigError, add_arguments, load_settings
from .core.auth import issue_token
from .history.cli import add_history_commands
from .logs import setup_logging
from .nat.doctor import add_doctor_command
from .nat.turn import add_turn_config_command
from .peer.cli import add_peer_commands
from .sfu.janus_config import add_janus_config_command
from .sfu.recordings_cli import add_recordings_commands

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
    add_janus_config_command(commands)
    add_doctor_command(commands)
    add_token_command(commands)
    add_peer_commands(commands)
    add_history_commands(commands)
    add_recordings_commands(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from .transport.eventloop import run
    from .transport.serve import serve_forever

    settings = load_settings(args)
    setup_logging(settings.log_level, settings.log_format)
    if settings.workers > 1:
        from .workers import run_workers

        return run_workers(settings)
    run(lambda: serve_forever(settings), settings.loop)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as error:
        print(f"chinwag: {error}", file=sys.stderr)
        return 2
    except ClusterRefused as error:
        print(f"chinwag: {error}", file=sys.stderr)
        return ClusterRefused.exit_code
    except KeyboardInterrupt:
        return 130
    return code


logging.getLogger("chinwag").addHandler(logging.NullHandler())


def add_token_command(subparsers: Any) -> None:
    """Add ``chinwag token NAME --ttl SECONDS`` to the CLI's subcommands.

    The secret comes from ``--token-secret``, ``CHINWAG_TOKEN_SECRET`` or the
    config file, as for ``serve``.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "token",
        help="print a signed sign-in token for NAME (needs token_secret)",
        description=(
            "Print a sign-in token (an HS256 JWT with sub=NAME and exp) that a chinwag server "
            "with the same token_secret accepts as `credential`. Prefer CHINWAG_TOKEN_SECRET "
            "or a config file to --token-secret: command lines are visible to other users."
        ),
    )
    parser.add_argument("name", metavar="NAME", help="the username the token is for")
    parser.add_argument(
        "--ttl", type=float, default=3600.0, help="seconds until it expires; default 3600"
    )
    parser.add_argument(
        "--token-secret", metavar="SECRET", help="HMAC secret (env CHINWAG_TOKEN_SECRET)"
    )
    parser.add_argument("--config", metavar="FILE", help="TOML file with token_secret")
    parser.set_defaults(handler=_token_command)


def _token_command(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if not settings.token_secret:
        raise ConfigError("token needs token_secret (--token-secret or CHINWAG_TOKEN_SECRET)")
    if args.ttl <= 0:
        raise ConfigError("--ttl must be positive")
    sys.stdout.write(issue_token(settings.token_secret, args.name, time.time() + args.ttl) + "\n")
    return 0
