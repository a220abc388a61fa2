"""chinwag: self-hosted chat and video calling on one port.

The package is laid out by concern: ``core`` (the rules, no I/O),
``transport`` (HTTP and WebSocket on asyncio), ``cluster`` (the bus between
processes), ``nat`` (STUN, TURN), ``client`` and ``peer`` (Python clients),
``web`` (the browser client), ``config`` and ``cli``. docs/design.md draws it.
"""

from __future__ import annotations

__all__ = ["__version__"]

# The one version number: pyproject.toml reads it from here (setuptools'
# dynamic version). A constant, not importlib.metadata: that import drags in
# email and socket, and the core, a subpackage, must load no I/O module.
__version__ = "0.1.0"
