"""Where settings come from: command-line flags, ``CHINWAG_*`` variables, a TOML file.

Made from the one list of options in :class:`~chinwag.config.settings.Settings`.
Precedence, lowest first: built-in default < config file (``--config`` or
``CHINWAG_CONFIG``) < environment < command-line flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.errors import ProtocolError
from ..core.rooms import clean_room
from .settings import ConfigError, RoomConfig, Settings

__all__ = ["add_arguments", "load_settings", "settings_for_tests"]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _env(name: str) -> str:
    return "CHINWAG_" + name.upper()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting; unset flags stay ``None`` so lower layers show through."""
    for f in dataclasses.fields(Settings):
        if f.metadata.get("toml_only"):
            continue
        help_text = f"{f.metadata['help']} (env {_env(f.name)})"
        if f.default is not dataclasses.MISSING and f.default not in (None, False):
            help_text += f"; default {f.default}"
        kind = _kind(f)
        if kind is bool:
            parser.add_argument(
                _flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif kind is list:
            parser.add_argument(
                _flag(f.name), action="append", default=None, metavar="VALUE", help=help_text
            )
        else:
            parser.add_argument(
                _flag(f.name), type=kind, default=None, metavar=f.name.upper(), help=help_text
            )


def _kind(f: dataclasses.Field[Any]) -> type:
    annotation = str(f.type)
    for name, kind in (("bool", bool), ("list", list), ("int", int), ("float", float)):
        if annotation.startswith(name):
            return kind
    return str


def _coerce(f: dataclasses.Field[Any], raw: Any, source: str) -> Any:
    kind = _kind(f)
    try:
        if kind is bool and isinstance(raw, str):
            if raw.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes", "on")
        if kind is list:
            return [s for s in raw.split(",") if s] if isinstance(raw, str) else list(raw)
        if raw is None:
            return None
        return kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {f.name} cannot be {raw!r}") from None


def load_settings(
    flags: argparse.Namespace | None = None,
    environ: Mapping[str, str] = os.environ,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge default < TOML file < environment < flags < overrides, then validate."""
    fields = {f.name: f for f in dataclasses.fields(Settings) if f.init}
    values: dict[str, Any] = {}
    given = vars(flags) if flags is not None else {}
    path = given.get("config") or environ.get(_env("config"))
    if path:
        values.update(_read_toml(Path(path), fields))
    for name, f in fields.items():
        if _env(name) in environ and not f.metadata.get("toml_only"):
            values[name] = _coerce(f, environ[_env(name)], _env(name))
    for name, value in given.items():
        if name in fields and value is not None:
            values[name] = _coerce(fields[name], value, _flag(name))
    values.update(overrides or {})
    settings = Settings(**values)
    settings.validate()
    return settings


def _read_toml(path: Path, fields: Mapping[str, dataclasses.Field[Any]]) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}")
    return {
        name: _room_configs(value, str(path))
        if name == "rooms"
        else _coerce(fields[name], value, str(path))
        for name, value in data.items()
    }


def settings_for_tests(**overrides: Any) -> Settings:
    """Settings with defaults only (no environment, no file), for tests and embedding.

    History is off unless asked for: a test that wants it names its own data
    directory, so no test writes to, or reads another's lines from, the user's.
    """
    return load_settings(None, {}, {"history": False, **overrides})


def _room_configs(raw: Any, source: str) -> list[RoomConfig]:
    """The ``[[rooms]]`` tables, checked: names are validated when the server builds them."""
    if not isinstance(raw, list) or not all(isinstance(table, dict) for table in raw):
        raise ConfigError(f"{source}: rooms must be [[rooms]] tables")
    configs = []
    for table in raw:
        unknown = sorted(set(table) - {"name", "title", "password", "public", "hosts"})
        if unknown or not isinstance(table.get("name"), str):
            raise ConfigError(
                f"{source}: each [[rooms]] needs a string name and may have only"
                f" title, password, public and hosts (found {', '.join(unknown) or 'no name'})"
            )
        hosts = table.get("hosts", [])
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
            raise ConfigError(f"{source}: room {table['name']!r}: hosts is a list of usernames")
        title, password, public = (
            table.get(k, d) for k, d in (("title", ""), ("password", ""), ("public", False))
        )
        if (
            not isinstance(title, str)
            or not isinstance(password, str)
            or not isinstance(public, bool)
        ):
            raise ConfigError(
                f"{source}: room {table['name']!r}: title/password are strings, public a boolean"
            )
        try:
            name = clean_room(table["name"], "config")
        except ProtocolError as error:
            raise ConfigError(f"{source}: room {table['name']!r}: {error.message}") from None
        if not name:
            raise ConfigError(f"{source}: the default room (empty name) cannot be configured")
        configs.append(RoomConfig(name, title, password, public, tuple(hosts)))
    return configs
