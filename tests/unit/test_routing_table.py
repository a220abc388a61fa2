"""The routing table and the call table are the same in the code and in the docs."""

from __future__ import annotations

import re
from pathlib import Path

from chinwag.core import calls, routing
from chinwag.core.calls import CALL_MESSAGES, TRANSITIONS, CallState, Role

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _routing_rows(text: str) -> list[str]:
    table = text.split("<!-- routing:start -->")[1].split("<!-- routing:end -->")[0]
    return [line.strip() for line in table.strip().splitlines()]


def _message_types(rows: list[str]) -> set[str]:
    return {match[1] for row in rows if (match := re.match(r"\| `([a-z-]+)` \|", row))}


def test_routing_docstring_and_protocol_doc_have_the_same_table() -> None:
    assert routing.__doc__ is not None
    assert _routing_rows(routing.__doc__) == _routing_rows(PROTOCOL.read_text())


def test_every_message_the_protocol_doc_describes_has_a_routing_row() -> None:
    text = PROTOCOL.read_text().split("## Errors")[0]
    described = set(re.findall(r"^\| `([a-z-]+)` \| (?:`|either|caller|callee)", text, re.M))
    described |= {"username", "message"}
    routed = _message_types(_routing_rows(PROTOCOL.read_text()))
    assert described <= routed, described - routed
    assert routed >= CALL_MESSAGES


def test_call_docstring_table_is_the_transition_table() -> None:
    assert calls.__doc__ is not None
    rows = re.findall(r"^(\w+)\s+([a-z-]+)\s+(\w+)\s+(\w+)$", calls.__doc__, re.M)
    documented: dict[tuple[CallState, str], tuple[CallState, Role]] = {}
    for state, event, after, role in rows:
        states = [s for s in CallState if s.value == state] if state != "any" else None
        for each in states if states is not None else calls.LIVE_STATES:
            documented[(each, event)] = (CallState(after), Role(role))
    assert documented == TRANSITIONS
