"""chinwag: self-hosted chat and video calling on one port.

The package is laid out by concern: ``core`` (the rules, no I/O),
``transport`` (HTTP and WebSocket on asyncio), ``cluster`` (the bus between
processes), ``nat`` (STUN, TURN), ``client`` and ``peer`` (Python clients),
``web`` (the browser client), ``config`` and ``cli``. docs/design.md draws it.
"""

from __future__ import annotations

import functools

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``chinwag.__version__``, read when first asked for: importing
    importlib.metadata loads the email package and with it ``socket`` (on 3.12
    and later), which importing ``chinwag.core`` must not."""
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:  # pyproject.toml holds the one version number; an install records it
        return version("chinwag")
    except PackageNotFoundError:  # a source tree put on sys.path without installing
        return "0+unknown"
