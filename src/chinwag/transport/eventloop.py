"""Which event loop runs the server: uvloop's when installed, else asyncio's.

uvloop (the ``fast`` extra) is a kept, compiled loop on libuv; on it each
relayed message costs less (docs/performance.md). chinwag itself stays pure
Python and runs the same on either loop: ``--loop auto`` (the default) takes
uvloop when it imports and asyncio otherwise, silently; ``--loop uvloop``
refuses to start without it; ``--loop asyncio`` never uses it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine
from typing import Any

from ..extras import require

__all__ = ["describe", "loop_factory", "run"]


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """What makes the loop ``choice`` (one of ``config.LOOPS``) stands for."""
    if choice == "uvloop":
        require("fast")
    if choice != "asyncio":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            pass  # auto: asyncio's loop does the same work, a little slower
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory
    return asyncio.new_event_loop


def run(main: Callable[[], Coroutine[Any, Any, None]], choice: str) -> None:
    """Run ``main()`` to the end on a new loop of the kind ``choice`` names.

    The loop is chosen first, so a missing uvloop is one line and no coroutine is left unrun.
    """
    factory = loop_factory(choice)
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())


def describe(loop: asyncio.AbstractEventLoop) -> str:
    """Which loop this is, for the log: ``uvloop 0.21.0`` or ``asyncio``."""
    package = type(loop).__module__.partition(".")[0]
    if package == "uvloop":
        return f"uvloop {importlib.import_module('uvloop').__version__}"
    return package
