"""The core does no I/O: importing all of ``chinwag.core`` loads no I/O module.

Run in a fresh interpreter, so that modules other tests imported do not hide
an import the core itself makes.
"""

from __future__ import annotations

import json
import subprocess
import sys

IO_MODULES = ("asyncio", "socket", "ssl", "selectors", "redis", "sqlite3", "aiohttp", "h11")

PROBE = """
import importlib, json, pkgutil, sys
import chinwag.core
names = [m.name for m in pkgutil.iter_modules(chinwag.core.__path__)]
for name in names:
    importlib.import_module("chinwag.core." + name)
print(json.dumps({"modules": names, "loaded": sorted(sys.modules)}))
"""


def test_importing_the_core_loads_no_io_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(result.stdout)
    assert "lobby" in report["modules"]  # the probe really walked the package
    loaded = set(report["loaded"])
    assert [m for m in IO_MODULES if m in loaded] == []
