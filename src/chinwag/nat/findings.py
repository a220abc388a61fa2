"""One check's outcome in ``chinwag doctor``: shared by the NAT and the SFU checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Finding", "Status"]

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    """One check's outcome; ``code`` is stable (for scripts), ``fix`` says what to do."""

    check: str
    status: Status
    code: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        """The one-line text form: status, check, what was found, and the fix."""
        text = f"{self.status.upper():4}  {self.check}: {self.detail}"
        return f"{text}\n      fix: {self.fix}" if self.fix else text
