"""Sign-in credentials: checked, with a doubling wait per client address after failures (no I/O).

Failed credentials are counted per client address
(:class:`~chinwag.core.limits.FailureBackoff`): while an address must wait,
nothing it sends is checked, and only wrong credentials cost it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .auth import Authenticator as TokenAuthenticator
from .errors import ProtocolError
from .limits import FailureBackoff
from .members import Member
from .names import name_key
from .protocol import SignIn

if TYPE_CHECKING:
    from .context import Context
    from .ports import Authenticator

__all__ = ["Credentials"]


class Credentials:
    """The server's authenticator (if any), behind a per-address failure back-off."""

    def __init__(self, context: Context, authenticator: Authenticator | None) -> None:
        self._ctx = context
        self._auth = authenticator
        self._failures = FailureBackoff()

    @property
    def required(self) -> bool:
        """Whether sign-in checks a password or token at all."""
        return self._auth is not None

    def check(self, member: Member, request: SignIn) -> float | None:
        """Check the credential (None: open server or password; else the token's expiry).

        Failures are counted per address; while one must wait, nothing is checked.
        """
        if self._auth is None:
            return None
        now = self._ctx.monotonic()
        wait = self._failures.wait(member.address, now)
        if wait > 0:
            raise ProtocolError(
                "rate-limited",
                f"Too many failed sign-ins from your address; try again in {wait:.0f} s.",
                "username",
            )
        try:
            expires = self._auth.check(request.name, request.credential, self._ctx.clock())
        except ProtocolError as error:
            if error.code == "auth-failed":
                self._failures.failed(member.address, now)
            raise
        self._failures.succeeded(member.address)
        return expires

    def room_grants(self, request: SignIn) -> dict[str, str]:
        """The roles per room key that the sign-in token grants (none without one)."""
        if not isinstance(self._auth, TokenAuthenticator):
            return {}
        return {name_key(room): role for room, role in self._auth.room_roles(request.credential)}
