"""``chinwag doctor`` against a real coturn on loopback: each diagnosis caused for real.

The doctor runs as the ``chinwag`` command does (``cli.main``), with the same
flags as ``serve``; its ``--json`` output is what the tests read, and the exit
code must say whether anything failed. UDP blocked by a firewall is caused in
a network namespace, in ``tests/nat/test_nat_lab.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chinwag.cli import main
from chinwag.config import settings_for_tests
from chinwag.nat.turn import coturn_config
from tests.coturn import free_port
from tests.nat.conftest import StartCoturn

SECRET = "doctor-secret"


def doctor(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, list[dict[str, Any]]]:
    """Run ``chinwag doctor --json`` with ``flags``; return its exit code and findings."""
    code = main(["doctor", "--json", "--host", "127.0.0.1", "--patience", "1.5", *flags])
    findings = json.loads(capsys.readouterr().out)
    assert isinstance(findings, list)
    return code, findings


def turn_flags(port: int, secret: str = SECRET, *transports: str) -> list[str]:
    flags = ["--turn-secret", secret, "--turn-ttl", "600"]
    for transport in transports or ("udp", "tcp"):
        flags += ["--ice-url", f"turn:127.0.0.1:{port}?transport={transport}"]
    return flags


def codes(findings: list[dict[str, Any]], status: str) -> set[str]:
    return {finding["code"] for finding in findings if finding["status"] == status}


def test_right_secret_passes_every_check_over_udp_and_tcp(
    capsys: pytest.CaptureFixture[str], start_coturn: StartCoturn
) -> None:
    coturn = start_coturn(SECRET)
    code, findings = doctor(capsys, *turn_flags(coturn.port))
    assert code == 0, findings
    assert {f["status"] for f in findings} == {"ok"}, findings
    checks = [f["check"] for f in findings]
    for transport in ("udp", "tcp"):
        url = f"turn:127.0.0.1:{coturn.port}?transport={transport}"
        for step in ("resolve", "binding", "allocate", "relay data"):
            assert f"{url} {step}" in checks
    binding = next(f for f in findings if f["check"].endswith("udp binding"))
    assert "127.0.0.1:" in binding["detail"]  # the reflexive address is reported


def test_wrong_secret_is_named_credentials_refused(
    capsys: pytest.CaptureFixture[str], start_coturn: StartCoturn
) -> None:
    coturn = start_coturn(SECRET)
    code, findings = doctor(capsys, *turn_flags(coturn.port, "not-the-secret"))
    assert code == 1
    refused = [f for f in findings if f["code"] == "credentials-refused"]
    assert len(refused) == 2, findings  # once per transport
    assert all("401" in f["detail"] and "turn_secret" in f["fix"] for f in refused)


def test_closed_port_is_named_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = doctor(capsys, *turn_flags(free_port()))
    assert code == 1
    unreachable = [f for f in findings if f["code"] == "unreachable"]
    assert [f["check"].split("?")[1] for f in unreachable] == [
        "transport=udp reach",
        "transport=tcp reach",
    ]
    assert "connection refused" in unreachable[1]["detail"]


def test_no_turn_configured_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = doctor(capsys)
    assert code == 1
    assert codes(findings, "fail") == {"no-turn"}


def test_plain_http_on_a_lan_address_is_named_for_cameras(
    capsys: pytest.CaptureFixture[str], start_coturn: StartCoturn
) -> None:
    coturn = start_coturn(SECRET)
    flags = turn_flags(coturn.port, SECRET, "udp")
    code, findings = doctor(capsys, *flags, "--public-url", "http://192.168.1.20:6503")
    assert code == 1
    assert codes(findings, "fail") == {"insecure-origin"}
    code, findings = doctor(capsys, *flags, "--public-url", "https://chat.example.org")
    assert code == 0, findings


def test_relay_that_refuses_its_peers_is_named(
    capsys: pytest.CaptureFixture[str], start_coturn: StartCoturn
) -> None:
    """coturn run from ``chinwag turn-config`` output denies 127.0.0.0/8 as a peer, so on
    loopback it allocates but will not relay between its own allocations."""
    settings = settings_for_tests(ice_url=["turn:turn.example.org"], turn_secret=SECRET)
    coturn = start_coturn(SECRET, config=coturn_config(settings))
    code, findings = doctor(capsys, *turn_flags(coturn.port, SECRET, "udp"))
    assert code == 1
    assert codes(findings, "fail") == {"peer-refused"}, findings
    refused = next(f for f in findings if f["code"] == "peer-refused")
    assert refused["check"].endswith("relay data") and "403" in refused["detail"]


def test_turn_server_clock_ahead_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """coturn runs under faketime two hours ahead, so 600 s credentials look expired."""
    from tests.coturn import start_coturn, stop_coturn

    coturn = start_coturn(tmp_path, SECRET, wrapper=["faketime", "-f", "+2h"])
    try:
        code, findings = doctor(capsys, *turn_flags(coturn.port, SECRET, "udp"))
    finally:
        stop_coturn(coturn)
    assert code == 1
    assert codes(findings, "fail") == {"clock-off"}, findings
    clock = next(f for f in findings if f["code"] == "clock-off")
    assert "NTP" in clock["fix"]


def test_text_output_is_one_line_per_check_with_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["doctor", "--host", "127.0.0.1"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0].startswith("OK    public url: http://127.0.0.1:6503")
    assert lines[1].startswith("FAIL  turn: no TURN server is configured")
    assert lines[2].startswith("      fix: run coturn")
