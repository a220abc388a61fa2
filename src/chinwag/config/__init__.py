"""Settings for ``chinwag serve``: one declaration per option -> flags, env, TOML.

* :mod:`.settings` - :class:`Settings`, every option once with its help text,
  and the checks of values that are wrong together.
* :mod:`.sources` - the flags, ``CHINWAG_*`` variables and TOML file made
  from that list, and :func:`load_settings`, which merges them.

Import every name from ``chinwag.config``.
"""

from __future__ import annotations

from .settings import LOOPS, ConfigError, RoomConfig, Settings
from .sources import add_arguments, load_settings, settings_for_tests

__all__ = [
    "LOOPS",
    "ConfigError",
    "RoomConfig",
    "Settings",
    "add_arguments",
    "load_settings",
    "settings_for_tests",
]
