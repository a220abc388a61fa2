"""Who may sign in, and from which pages: pure checks, no I/O.

Sign-in authentication is off unless the operator sets ``password`` or
``token_secret``; :meth:`Authenticator.from_settings` then returns an
authenticator the lobby asks at sign-in with the ``credential`` field of the
``username`` message.

Two kinds of credential, either or both enabled:

* a **shared password** (``--password``), compared in constant time;
* a **signed token** (``--token-secret``) issued by chinwag
  (``chinwag token NAME --ttl 3600``) or by any other system that holds the
  secret. A token is a JSON Web Token (RFC 7519) with ``alg`` HS256, so any
  JWT library can issue one::

      base64url({"alg":"HS256","typ":"JWT"}) "." base64url({"sub":NAME,"exp":UNIX}) "."
      base64url(HMAC-SHA256(secret, <first two parts joined by ".">))

  (base64url without ``=`` padding). ``sub`` is the username the token is
  for, ``exp`` the Unix time it stops working. Other claims are ignored;
  other algorithms (``none`` included) are refused.

:func:`origin_allowed` decides which page origins may open a WebSocket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from .errors import ProtocolError

__all__ = [
    "Authenticator",
    "is_loopback_host",
    "issue_token",
    "origin_allowed",
    "read_token",
]

_HEADER: Final = {"alg": "HS256", "typ": "JWT"}
_FOR = "username"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, signing_input: str) -> bytes:
    return hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()


def issue_token(secret: str | bytes, name: str, expires: float) -> str:
    """A signed sign-in token for ``name``, valid until Unix time ``expires``."""
    key = secret.encode() if isinstance(secret, str) else secret
    header = _b64encode(json.dumps(_HEADER, separators=(",", ":")).encode())
    claims = {"sub": name, "exp": int(expires)}
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64encode(_sign(key, signing_input))}"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says: whose it is and until when."""

    name: str
    expires: int


def read_token(secret: str | bytes, token: str) -> TokenClaims:
    """Verify ``token``'s signature and return its claims (expiry not checked).

    Raises ProtocolError ``auth-failed`` for anything malformed or forged.
    """
    key = secret.encode() if isinstance(secret, str) else secret
    failed = ProtocolError("auth-failed", "The sign-in token is not valid.", _FOR)
    parts = token.split(".")
    if len(parts) != 3:
        raise failed
    header_part, payload_part, signature_part = parts
    try:
        signature = _b64decode(signature_part)
        header = json.loads(_b64decode(header_part))
    except (ValueError, UnicodeDecodeError):
        raise failed from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise failed
    expected = _sign(key, f"{header_part}.{payload_part}")
    if not hmac.compare_digest(signature, expected):
        raise failed
    try:
        claims: Any = json.loads(_b64decode(payload_part))
    except (ValueError, UnicodeDecodeError):
        raise failed from None
    if not isinstance(claims, dict):
        raise failed
    name, expires = claims.get("sub"), claims.get("exp")
    if not isinstance(name, str) or not isinstance(expires, int) or isinstance(expires, bool):
        raise failed
    return TokenClaims(name, expires)


def _looks_like_token(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


class AuthSettings(Protocol):
    """The two settings sign-in checks read (``config.Settings`` has them)."""

    @property
    def password(self) -> str | None: ...
    @property
    def token_secret(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Authenticator:
    """Checks sign-in credentials against a shared password and/or a token secret."""

    password: str | None = None
    token_secret: str | None = None

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Authenticator | None:
        """The authenticator the settings ask for, or None when sign-in is open."""
        if not settings.password and not settings.token_secret:
            return None
        return cls(settings.password or None, settings.token_secret or None)

    def check(self, name: str, credential: str | None, now: float) -> None:
        """Return if ``credential`` lets ``name`` sign in at Unix time ``now``.

        Raises ProtocolError ``auth-required`` (none given), ``auth-failed``
        (wrong password, bad signature, token for another name) or
        ``auth-expired``; the caller refuses the sign-in and answers the
        client with the error.
        """
        if not credential:
            raise ProtocolError(
                "auth-required", "This server needs a password or token to sign in.", _FOR
            )
        if self.token_secret and (self.password is None or _looks_like_token(credential)):
            self._check_token(name, credential, now)
            return
        assert self.password is not None
        if not hmac.compare_digest(credential.encode(), self.password.encode()):
            raise ProtocolError("auth-failed", "The password is wrong.", _FOR)

    def _check_token(self, name: str, token: str, now: float) -> None:
        assert self.token_secret is not None
        claims = read_token(self.token_secret, token)
        if claims.name != name:
            raise ProtocolError("auth-failed", "The sign-in token is for another name.", _FOR)
        if claims.expires <= now:
            raise ProtocolError("auth-expired", "The sign-in token has expired.", _FOR)


# -- page origins -------------------------------------------------------------

_DEFAULT_PORTS: Final = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def _host_and_port(netloc: str, scheme: str) -> tuple[str, str]:
    """Split ``host[:port]`` (IPv6 in brackets), filling in the scheme's default port."""
    netloc = netloc.lower()
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = netloc.partition(":")
    return host, port or _DEFAULT_PORTS.get(scheme, "")


def is_loopback_host(host: str) -> bool:
    """True for localhost names and loopback addresses: where browsers allow cameras on HTTP."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin_allowed(
    origin: str | None, host: str | None, allowed: list[str], secure: bool = False
) -> bool:
    """May a page from ``origin`` open a WebSocket on the server reached as ``host``?

    Allowed: no ``Origin`` header (not a browser); the same origin as the
    ``Host`` header; every origin in ``allowed`` (``*`` allows all). While
    ``allowed`` is empty, also any page served from a loopback host, so local
    development and tests work out of the box.
    """
    if origin is None:
        return True
    origin = origin.strip()
    if "*" in allowed or origin in allowed:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    origin_host = _host_and_port(parts.netloc, parts.scheme)
    if host and origin_host == _host_and_port(host, "https" if secure else "http"):
        return True
    return not allowed and is_loopback_host(origin_host[0])
