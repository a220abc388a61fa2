"""chinwag: self-hosted chat and video calling on one port.

The package is laid out by concern: ``protocol`` (wire records, no I/O),
``lobby`` (presence, names and routing rules, no I/O), ``websocket`` (RFC 6455
framing, no I/O), ``server`` (the asyncio transport), ``config`` and ``cli``.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
