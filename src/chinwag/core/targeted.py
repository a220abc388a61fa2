"""Byte budgets of targeted messages (relays and direct messages), paid by the sender (no I/O).

A message with a ``target`` costs its bytes twice: from its sender's budget
(``Policy.targeted_rate``) and from what its receiver may be sent by everyone
together (``Policy.inbound_rate``). The second is what keeps a receiver that
reads at a reasonable pace (the inbound rate) from being pushed over its send
buffer, and dropped as a slow reader, by what others send it: past it, the
*sender* is told ``rate-limited`` naming the target, and the message is not
delivered. On another node's receiver the check is made there, and the sender
hears of it through ``Undeliverable(full=True)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ProtocolError
from .limits import Rate, TokenBucket

if TYPE_CHECKING:
    from .context import Policy
    from .members import Member

__all__ = ["receiver_full", "spend_targeted", "take_inbound", "targeted_refusal"]


def spend_targeted(
    sender: Member, size: int, rate: Rate, now: float, kind: str, target: str
) -> ProtocolError | None:
    """Spend ``size`` bytes of ``sender``'s targeted budget; past it, the ``rate-limited``
    error to tell the sender (the caller tells at most once a second, as for counts)."""
    if sender.targeted_bytes is None:
        sender.targeted_bytes = TokenBucket(rate, now)
    if sender.targeted_bytes.take(rate, now, min(size, max(rate.burst, 0.0))):
        return None
    return ProtocolError(
        "rate-limited",
        f"Too many bytes to others: at most {rate.per_second / 1024:g} KiB a second "
        f"(bursts of {rate.burst / 1024:g} KiB) with a `target`; this {kind} and others "
        "until the rate drops were not delivered.",
        kind,
        target,
    )


def take_inbound(receiver: Member, size: int, rate: Rate, now: float) -> bool:
    """Spend ``size`` bytes of what ``receiver`` may be sent; False: it is full just now."""
    if receiver.inbound_bytes is None:
        receiver.inbound_bytes = TokenBucket(rate, now)
    return receiver.inbound_bytes.take(rate, now, min(size, rate.burst))


def receiver_full(target: str, kind: str) -> ProtocolError:
    """What the sender of a message that ``target`` cannot take just now is told."""
    return ProtocolError(
        "rate-limited",
        f"{target} is being sent more than it can take just now; the {kind} was not delivered. "
        "Send again in a moment.",
        kind,
        target,
    )


def targeted_refusal(
    sender: Member,
    receiver: Member | None,
    size: int,
    policy: Policy,
    now: float,
    kind: str,
    target: str,
) -> ProtocolError | None:
    """Spend a targeted message's bytes from its sender and (when it is on this node) its
    receiver; the error to tell the sender if either budget is spent, else None."""
    refused = spend_targeted(sender, size, policy.targeted_rate, now, kind, target)
    if refused is not None or receiver is None:
        return refused
    full = not take_inbound(receiver, size, policy.inbound_rate, now)
    return receiver_full(target, kind) if full else None
