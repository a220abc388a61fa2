"""The server tests of chat, relay, resume and bad input run on uvloop's loop as well.

``chinwag serve`` runs on uvloop when it is installed (the ``fast`` extra,
which the test environment installs), so the behaviours a person meets are
checked on both loops: uvloop's transports are not asyncio's classes and
differ in when they call back. The rest of the server tests run on asyncio's
loop only, to keep the suite's time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
import uvloop

BOTH_LOOPS = frozenset({"test_rules.py", "test_sessions.py", "test_bad_input.py"})


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    if item.path.name in BOTH_LOOPS:
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}
