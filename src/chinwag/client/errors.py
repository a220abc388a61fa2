"""The errors :class:`~chinwag.client.ChinwagClient` raises.

::

    ChinwagError (chinwag.core.errors)
    └── ClientError          raised by this client
        ├── ConnectionClosed the socket closed (or never opened)
        └── ErrorReply       the server answered with an ``error`` message;
                             ``code`` is one of chinwag.core.errors.ERROR_CODES
"""

from __future__ import annotations

from ..core.errors import ChinwagError

__all__ = ["ClientError", "ConnectionClosed", "ErrorReply"]


class ClientError(ChinwagError):
    """Base class of the errors :class:`ChinwagClient` raises."""


class ConnectionClosed(ClientError):
    """The WebSocket is closed; ``code`` is its close code when known."""

    def __init__(self, message: str = "the connection is closed", code: int | None = None):
        super().__init__(message)
        self.code = code


class ErrorReply(ClientError):
    """The server refused something this client sent (an ``error`` message).

    ``code`` is a code from :data:`chinwag.core.errors.ERROR_CODES`, ``for_type``
    the type of the message that failed, ``target`` the user it concerned.
    """

    def __init__(
        self, code: str, message: str, for_type: str | None = None, target: str | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.for_type = for_type
        self.target = target
