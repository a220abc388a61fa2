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
  other algorithms (``none`` included) are refused. Tokens are issued and
  verified by PyJWT; on top of it, each part must be strict base64url (no
  padding, nothing appended) and ``exp`` must be a whole number at most
  :data:`MAX_TOKEN_LIFETIME` away, so a leaked token cannot live for ever.

:func:`origin_allowed` decides which page origins may open a WebSocket.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

from .errors import ProtocolError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "MAX_TOKEN_LIFETIME",
    "Authenticator",
    "is_loopback_host",
    "issue_token",
    "origin_allowed",
    "read_token",
    "strict_token_shape",
    "verified_claims",
]

_FOR = "username"
_ALGORITHM: Final = "HS256"
#: The furthest ahead a token's ``exp`` may be (one year and a day).
MAX_TOKEN_LIFETIME: Final = 366 * 24 * 3600
#: Three parts of unpadded base64url: PyJWT would accept ``=`` padding after them.
_STRICT_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _jwt() -> ModuleType:
    """PyJWT, imported on first use: its package imports its JWKS client, hence
    ``urllib.request`` and ``ssl``, which the core must not load (token checks
    themselves do no I/O)."""
    import jwt

    return jwt


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def issue_token(
    secret: str | bytes, name: str, expires: float, rooms: dict[str, str] | None = None
) -> str:
    """A signed sign-in token for ``name``, valid until Unix time ``expires``.

    ``rooms`` maps room names to the role (``host``, ``moderator``) the token's
    holder has there (the ``rooms`` claim).
    """
    claims: dict[str, Any] = {"sub": name, "exp": int(expires)}
    if rooms:
        claims["rooms"] = rooms
    return str(_jwt().encode(claims, _key(secret), algorithm=_ALGORITHM))


#: Roles a sign-in token may grant in a room (``rooms`` claim).
TOKEN_ROLES: Final = frozenset({"host", "moderator", "guest"})


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says: whose it is, until when, and its roles per room."""

    name: str
    expires: int
    rooms: tuple[tuple[str, str], ...] = ()


def strict_token_shape(token: str) -> bool:
    """Three parts of strict unpadded base64url (PyJWT alone would accept more)."""
    return _STRICT_TOKEN.fullmatch(token) is not None


def verified_claims(
    secret: str | bytes, token: str, required: tuple[str, ...]
) -> dict[str, Any] | None:
    """The claims of an HS256 ``token`` whose signature ``secret`` verifies, else None.

    The expiry is not checked here: callers say "expired" in their own words.
    """
    jwt = _jwt()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _key(secret),
            algorithms=[_ALGORITHM],
            options={"require": list(required), "verify_exp": False, "verify_sub": False},
        )
    except jwt.PyJWTError:
        return None
    return claims


def _room_roles(raw: object) -> tuple[tuple[str, str], ...] | None:
    """The ``rooms`` claim as (room, role) pairs; None when it is malformed."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or len(raw) > 100:
        return None
    pairs = tuple(raw.items())
    if not all(isinstance(room, str) and role in TOKEN_ROLES for room, role in pairs):
        return None
    return pairs


def read_token(secret: str | bytes, token: str) -> TokenClaims:
    """Verify ``token``'s signature and return its claims (expiry not checked).

    Raises ProtocolError ``auth-failed`` for anything malformed or forged.
    """
    failed = ProtocolError("auth-failed", "The sign-in token is not valid.", _FOR)
    if not strict_token_shape(token):
        raise failed
    claims = verified_claims(secret, token, ("sub", "exp"))
    if claims is None:
        raise failed
    name, expires = claims.get("sub"), claims.get("exp")
    rooms = _room_roles(claims.get("rooms"))
    if (
        not isinstance(name, str)
        or not isinstance(expires, int)
        or isinstance(expires, bool)
        or rooms is None
    ):
        raise failed
    return TokenClaims(name, expires, rooms)


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

    def room_roles(self, credential: str | None) -> tuple[tuple[str, str], ...]:
        """The roles per room a sign-in token (already checked by ``check``) grants."""
        if not self.token_secret or not credential or not _looks_like_token(credential):
            return ()
        try:
            return read_token(self.token_secret, credential).rooms
        except ProtocolError:
            return ()

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Authenticator | None:
        """The authenticator the settings ask for, or None when sign-in is open."""
        if not settings.password and not settings.token_secret:
            return None
        return cls(settings.password or None, settings.token_secret or None)

    def check(self, name: str, credential: str | None, now: float) -> float | None:
        """Check that ``credential`` lets ``name`` sign in at Unix time ``now``.

        Returns the Unix time a signed token stops working (the caller keeps
        the session no longer, and never numbers a token's name), or None
        for the shared password. Raises ProtocolError ``auth-required`` (none
        given), ``auth-failed`` (wrong password, bad signature, token for
        another name, expiry too far away) or ``auth-expired``; the caller
        refuses the sign-in and answers the client with the error.
        """
        if not credential:
            raise ProtocolError(
                "auth-required", "This server needs a password or token to sign in.", _FOR
            )
        if self.token_secret and (self.password is None or _looks_like_token(credential)):
            return self._check_token(name, credential, now)
        assert self.password is not None
        if not hmac.compare_digest(credential.encode(), self.password.encode()):
            raise ProtocolError("auth-failed", "The password is wrong.", _FOR)
        return None

    def _check_token(self, name: str, token: str, now: float) -> float:
        assert self.token_secret is not None
        claims = read_token(self.token_secret, token)
        if claims.name != name:
            raise ProtocolError("auth-failed", "The sign-in token is for another name.", _FOR)
        if claims.expires <= now:
            raise ProtocolError("auth-expired", "The sign-in token has expired.", _FOR)
        if claims.expires > now + MAX_TOKEN_LIFETIME:
            raise ProtocolError(
                "auth-failed", "The sign-in token's expiry is more than a year away.", _FOR
            )
        return float(claims.expires)


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
