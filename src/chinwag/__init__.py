"""chinwag: self-hosted chat and video calling on one port.

The package is laid out by concern: ``core`` (the rules, no I/O),
``transport`` (HTTP and WebSocket on asyncio), ``cluster`` (the bus between
processes), ``nat`` (STUN, TURN), ``client`` and ``peer`` (Python clients),
``web`` (the browser client), ``config`` and ``cli``. docs/design.md draws it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:  # pyproject.toml holds the one version number; an install records it
    __version__ = version("chinwag")
except PackageNotFoundError:  # a source tree put on sys.path without installing
    __version__ = "0+unknown"
