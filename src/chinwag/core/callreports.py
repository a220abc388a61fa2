"""Call outcomes as clients report them: checked, rate-limited, counted (no I/O).

A chinwag client sends ``call-report`` (docs/protocol.md, "Call diagnosis")
once its call connects (``outcome: connected``, with the time to its first
decoded frame and the candidate types of the selected pair) or fails
(``outcome: failed`` with a problem code, the same codes ``chinwag doctor``
and the web client's diagnosis use). The server relays it to nobody. It:

* counts each call once when it ends: ``started`` when it is answered,
  ``connected`` or ``failed`` (by reason) from what its sides reported during
  the call; a failure reported by either side wins over a connection, since
  "connected" then "one-way media" is a failed call;
* observes each report's time to first frame and selected pair at once
  (each side sees its own first frame and its own view of the pair), only
  when the report is about a real call: a live one-to-one call of the
  sender's (with its partner as ``target``, or none), or a link of the room
  call both sides sit in. Any other report is answered ``not-in-call`` and
  moves no metric;
* budgets reports per connection, per client address and in total, so one
  address cannot spend everyone's budget;
* logs one line per ended call: outcome, reason, time to first frame and
  pair; never names, addresses or content;
* counts a failed link of a room call (sender and target seated in one room
  call) at once, as it has no one-to-one record to merge into.

Counting is done by the transport: this module emits ``CountCall`` effects.
Labels are bounded: an unknown reason is ``other``, an unknown candidate type
``unknown``, and the time to first frame is clamped to ``MAX_FIRST_FRAME_MS``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from .effects import ConnId, CountCall
from .errors import ProtocolError
from .limits import KeyedBuckets, Rate, TokenBucket
from .outbox import Outbox

__all__ = [
    "CANDIDATE_TYPES",
    "KNOWN_REASONS",
    "MAX_FIRST_FRAME_MS",
    "CallReport",
    "CallReports",
    "parse_report",
]

log = logging.getLogger(__name__)

#: Problem codes counted by name; any other reason is counted as ``other``.
KNOWN_REASONS: Final = frozenset(
    {
        "credentials-refused",  # the relay answered 401/431 and gave no relay candidate
        "unreachable",  # the relay did not answer (701, closed port, firewall)
        "no-turn",  # a relay was needed and none is configured
        "no-path",  # ICE found no path, though candidates were exchanged
        "one-way-media",  # connected, but one side received nothing
        "connection-lost",  # it was connected, then the path broke for good
        "setup-failed",  # the offer/answer exchange failed
    }
)
CANDIDATE_TYPES: Final = frozenset({"host", "srflx", "prflx", "relay"})
#: Reports of a longer time to first frame are counted as this (a stuck clock, a lie).
MAX_FIRST_FRAME_MS: Final = 60_000
#: Per connection: a few at once (connected, then failed), then one every 10 s.
REPORTS_PER_CONNECTION: Final = Rate(0.1, 6.0)
#: Per client address (a household or office shares one): 30 at once, then one a second.
REPORTS_PER_ADDRESS: Final = Rate(1.0, 30.0)
#: For the whole node, so that many connections cannot flood the log either.
REPORTS_IN_TOTAL: Final = Rate(50.0, 200.0)
#: Connections whose report bucket is remembered; the oldest is forgotten first.
MAX_TRACKED_CONNECTIONS: Final = 10_000


class _ReportFields(msgspec.Struct):
    outcome: Any = None
    reason: Any = None
    ttff_ms: Any = None
    local: Any = None
    remote: Any = None


_decoder = msgspec.json.Decoder(_ReportFields)


@dataclass(frozen=True, slots=True)
class CallReport:
    """One checked ``call-report``; ``reason`` and the types are already bounded labels."""

    outcome: str
    reason: str = ""
    ttff_ms: int | None = None
    local: str = ""
    remote: str = ""


def parse_report(raw: bytes) -> CallReport:
    """Check a ``call-report`` frame; raise ``bad-field`` saying what is wrong."""
    fields = _decoder.decode(raw)
    if fields.outcome not in ("connected", "failed"):
        raise _bad("`outcome` must be `connected` or `failed`.")
    reason = ""
    if fields.outcome == "failed":
        if not isinstance(fields.reason, str) or not fields.reason:
            raise _bad("A failed call needs a `reason` (a problem code).")
        reason = fields.reason if fields.reason in KNOWN_REASONS else "other"
    ttff = fields.ttff_ms
    if ttff is not None and (isinstance(ttff, bool) or not isinstance(ttff, int | float)):
        raise _bad("`ttff_ms` must be a number of milliseconds.")
    for name, value in (("local", fields.local), ("remote", fields.remote)):
        if value is not None and not isinstance(value, str):
            raise _bad(f"`{name}` must be a candidate type (host, srflx, prflx, relay).")
    return CallReport(
        fields.outcome,
        reason,
        None if ttff is None else int(min(max(ttff, 0), MAX_FIRST_FRAME_MS)),
        _candidate_type(fields.local),
        _candidate_type(fields.remote),
    )


def _candidate_type(value: str | None) -> str:
    if value is None:
        return ""
    return value if value in CANDIDATE_TYPES else "unknown"


def _bad(text: str) -> ProtocolError:
    return ProtocolError("bad-field", text, "call-report")


@dataclass(slots=True)
class _CallRecord:
    """What the sides of one live call have reported so far."""

    names: tuple[str, str]
    outcome: str = ""  # "", "connected" or "failed"
    reason: str = ""
    ttff_ms: int | None = None
    route: str = ""
    ended: bool = field(default=False)

    def merge(self, report: CallReport) -> None:
        if report.outcome == "failed":
            if self.outcome != "failed":
                self.outcome, self.reason = "failed", report.reason
        elif not self.outcome:
            self.outcome = "connected"
        if report.ttff_ms is not None and self.ttff_ms is None:
            self.ttff_ms = report.ttff_ms
        if report.local and report.remote and not self.route:
            self.route = f"{report.local}/{report.remote}"


class CallReports:
    """Follows live calls and the reports about them; counts through ``outbox``."""

    def __init__(self, outbox: Outbox) -> None:
        self._out = outbox
        self._live: dict[str, _CallRecord] = {}  # both names of a live call -> its record
        self._buckets: dict[ConnId, TokenBucket] = {}
        self._by_address = KeyedBuckets(REPORTS_PER_ADDRESS, MAX_TRACKED_CONNECTIONS)
        self._total: TokenBucket | None = None

    def busy_changed(self, names: tuple[str, ...] | list[str], busy: Any) -> None:
        """The call state machine made ``names`` busy (answered) or free (ended).

        ``busy(name)`` says which; names come in pairs of one call's sides.
        """
        for name in names:
            if busy(name):
                self._start(name, names)
            else:
                self._end(name)

    def _start(self, name: str, names: tuple[str, ...] | list[str]) -> None:
        if name in self._live:
            return
        partner = next((n for n in names if n != name and n not in self._live), None)
        if partner is None:
            return
        record = _CallRecord((name, partner))
        self._live[name] = self._live[partner] = record
        self._out.emit(CountCall("started"))

    def _end(self, name: str) -> None:
        record = self._live.pop(name, None)
        if record is None or record.ended:
            return
        record.ended = True
        for other in record.names:
            self._live.pop(other, None)
        if record.outcome:
            self._out.emit(CountCall(record.outcome, record.reason))
        log.info(
            "call outcome=%s reason=%s ttff_ms=%s pair=%s",
            record.outcome or "unreported",
            record.reason or "-",
            "-" if record.ttff_ms is None else record.ttff_ms,
            record.route or "-",
        )

    def receive(
        self,
        conn: ConnId,
        sender: str,
        target: str | None,
        raw: bytes,
        now: float,
        *,
        link: bool = False,
        address: str = "",
    ) -> None:
        """A ``call-report`` from ``sender`` on ``conn`` (from ``address``): check, limit,
        observe, note.

        ``link``: sender and target sit in one room call, so the report is about
        that mesh link, which has no one-to-one record: a failure is counted at
        once (the web client reports each failed link once, from one side).
        """
        report = parse_report(raw)
        if not self._within_rate(conn, address, now):
            raise ProtocolError(
                "rate-limited",
                "Too many call reports: a client reports each call once or twice.",
                "call-report",
            )
        record = self._live.get(sender)
        if record is not None and (target is None or target in record.names):
            record.merge(report)
        elif not link:
            raise ProtocolError(
                "not-in-call",
                "A call report must be about a call you are in (its partner as `target`).",
                "call-report",
            )
        elif report.outcome == "failed":
            self._out.emit(CountCall("failed", report.reason))
            log.info("room call link outcome=failed reason=%s", report.reason)
        if report.ttff_ms is not None and report.outcome == "connected":
            self._out.emit(CountCall("first-frame", seconds=report.ttff_ms / 1000))
        if report.local and report.remote:
            self._out.emit(CountCall("route", f"{report.local}/{report.remote}"))

    def _within_rate(self, conn: ConnId, address: str, now: float) -> bool:
        if self._total is None:
            self._total = TokenBucket(REPORTS_IN_TOTAL, now)
        bucket = self._buckets.get(conn)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED_CONNECTIONS:
                del self._buckets[next(iter(self._buckets))]
            bucket = self._buckets[conn] = TokenBucket(REPORTS_PER_CONNECTION, now)
        return (
            bucket.take(REPORTS_PER_CONNECTION, now)
            and self._by_address.take(address, now)
            and self._total.take(REPORTS_IN_TOTAL, now)
        )
