"""``chinwag doctor`` against a real Janus: right secret, wrong secret, nothing listening."""

from __future__ import annotations

import json
import socket

import pytest

from chinwag.cli import main
from chinwag.sfu.doctor import check_sfu
from tests.janus import Janus


def dead_url() -> str:
    """A ws:// URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"ws://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_usable_janus_is_named_with_its_version(janus: Janus) -> None:
    finding = await check_sfu(janus.url, janus.secret)
    assert (finding.status, finding.code) == ("ok", "ok"), finding
    assert "Janus 1.1.2 (chinwag-janus)" in finding.detail
    assert "VideoRoom 0.0.9" in finding.detail and "session timeout 60 s" in finding.detail


async def test_a_wrong_or_missing_secret_is_named(janus: Janus) -> None:
    wrong = await check_sfu(janus.url, "not-the-secret-at-all")
    assert (wrong.status, wrong.code) == ("fail", "sfu-secret-refused"), wrong
    assert wrong.detail == "Janus refused the API secret (its api_secret)"
    assert "api_secret in janus.jcfg" in wrong.fix
    missing = await check_sfu(janus.url, None)
    assert missing.code == "sfu-secret-refused"
    assert "sfu_secret is not set" in missing.detail


async def test_a_dead_port_is_unreachable() -> None:
    url = dead_url()
    finding = await check_sfu(url, "whatever-secret", patience=5)
    assert (finding.status, finding.code) == ("fail", "sfu-unreachable"), finding
    assert url in finding.detail and "janus -F" in finding.fix


def test_the_doctor_command_prints_one_finding_per_janus(
    janus: Janus, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = dead_url()
    code = main(
        ["doctor", "--json", "--host", "127.0.0.1", "--sfu", janus.url, "--sfu", dead,
         "--sfu-secret", janus.secret]
    )  # fmt: skip
    assert code == 1  # the dead one (and no TURN)
    findings = {f["check"]: f for f in json.loads(capsys.readouterr().out)}
    assert findings[f"sfu {janus.url}"]["status"] == "ok"
    assert findings[f"sfu {dead}"]["code"] == "sfu-unreachable"
