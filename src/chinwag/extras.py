"""Optional parts and what to say when one is missing.

chinwag is installed from a checkout, not from a package index, so a missing
optional dependency is reported in one line that names it and gives the
command that installs it from the checkout (``pip install -e '.[redis]'``);
never a traceback.
"""

from __future__ import annotations

import importlib
from typing import Final

from .config import ConfigError

__all__ = ["EXTRAS", "MissingExtra", "install_hint", "missing", "require"]

#: extra name -> (what it enables, the modules it provides)
EXTRAS: Final = {
    "redis": ("--redis (several processes sharing one lobby)", ("redis",)),
    "peer": ("the Python peer", ("aiortc", "av")),
    "tls": ("--self-signed (generating a certificate)", ("cryptography",)),
    "metrics": ("/metrics", ("prometheus_client",)),
    "fast": ("--loop uvloop (the faster event loop)", ("uvloop",)),
}


class MissingExtra(ConfigError):
    """An optional dependency a chosen feature needs is not installed."""


def install_hint(extra: str) -> str:
    return f"pip install -e '.[{extra}]'"


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported."""
    absent = []
    for module in EXTRAS[extra][1]:
        try:
            importlib.import_module(module)
        except ImportError:
            absent.append(module)
    return absent


def require(extra: str) -> None:
    """Raise :class:`MissingExtra` (one line: what, how to install it) if ``extra`` is missing."""
    absent = missing(extra)
    if absent:
        feature = EXTRAS[extra][0]
        raise MissingExtra(
            f"{feature} needs {' and '.join(absent)}, which is not installed;"
            f" from a checkout: {install_hint(extra)}"
        )
