"""``chinwag janus-config``: the files it writes, and the options it refuses."""

from __future__ import annotations

import argparse
import re
import stat
from pathlib import Path

import pytest

from chinwag.cli import main
from chinwag.config import ConfigError, settings_for_tests
from chinwag.sfu.janus_config import (
    KNOWN_MODULES,
    JanusOptions,
    add_janus_config_command,
    janus_config_files,
)

SECRET = "a-long-enough-secret-0123"


def settings_line(text: str, key: str) -> str:
    """The value of ``key = value`` in a jcfg text (the first, uncommented one)."""
    match = re.search(rf"^\t{key} = (.*)$", text, re.MULTILINE)
    assert match is not None, f"{key} missing from:\n{text}"
    return match.group(1)


def test_only_the_videoroom_and_websockets_load() -> None:
    files = janus_config_files(
        JanusOptions(SECRET), settings_for_tests(), {"plugins": ["libjanus_future.so"]}
    )
    core = files["janus.jcfg"]
    plugins = settings_line(core.split("plugins: {")[1], "disable").strip('"').split(",")
    transports = settings_line(core.split("transports: {")[1], "disable").strip('"').split(",")
    assert "libjanus_videoroom.so" not in plugins
    assert set(plugins) == set(KNOWN_MODULES["plugins"]) - {"libjanus_videoroom.so"} | {
        "libjanus_future.so"
    }
    assert set(transports) == set(KNOWN_MODULES["transports"]) - {"libjanus_websockets.so"}
    assert "libjanus_http.so" in transports  # the HTTP transport is the Admin API's home
    assert settings_line(core.split("events: {")[1], "broadcast") == "false"


def test_the_api_is_guarded_and_on_loopback() -> None:
    files = janus_config_files(JanusOptions(SECRET, ws_port=9999), settings_for_tests())
    core, ws, room = (
        files["janus.jcfg"],
        files["janus.transport.websockets.jcfg"],
        files["janus.plugin.videoroom.jcfg"],
    )
    assert settings_line(core, "api_secret") == f'"{SECRET}"'
    assert "token_auth" not in core.replace("# No token_auth", "")
    assert "admin_secret" not in core.replace("no admin_secret", "")
    assert settings_line(ws, "ws_ip") == '"127.0.0.1"'
    assert settings_line(ws, "ws_port") == "9999"
    assert settings_line(ws, "admin_ws") == "false"
    assert settings_line(ws, "wss") == "false"
    assert settings_line(ws, "ws_acl") == '"127.,::1"'
    assert settings_line(room, "admin_key") == f'"{SECRET}"'
    assert "room-" not in room  # no sample rooms: chinwag creates every room


def test_ice_settings_follow_what_chinwag_hands_out() -> None:
    settings = settings_for_tests(
        ice_url=["stun:stun.example.org:3479", "turn:turn.example.org?transport=tcp"],
        turn_secret="turn-rest-secret",
    )
    core = janus_config_files(
        JanusOptions(SECRET, rtp_min_port=30000, rtp_max_port=30999), settings, now=1_700_000_000
    )["janus.jcfg"]
    assert settings_line(core, "rtp_port_range") == '"30000-30999"'
    assert settings_line(core, "stun_server") == '"stun.example.org"'
    assert settings_line(core, "stun_port") == "3479"
    # Janus's own TURN stays commented out, but ready, with REST credentials from the secret.
    assert '#turn_server = "turn.example.org"' in core
    assert '#turn_type = "tcp"' in core
    assert re.search(r'#turn_user = "\d+:janus"', core)
    with_public_ip = janus_config_files(
        JanusOptions(SECRET, public_ip="203.0.113.7", ice_enforce=("eth0",)), settings
    )["janus.jcfg"]
    assert settings_line(with_public_ip, "nat_1_1_mapping") == '"203.0.113.7"'
    assert settings_line(with_public_ip, "ice_enforce_list") == '"eth0"'
    assert "stun_server" not in with_public_ip


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (JanusOptions(""), "needs sfu_secret of at least 16"),
        (JanusOptions('quote"in-the-secret-xx'), "may not contain quotes"),
        (JanusOptions(SECRET, listen="127.0.0.1\n"), "may not contain"),
        (JanusOptions(SECRET, ws_port=0), "ws port must be 1-65535"),
        (JanusOptions(SECRET, rtp_min_port=50000, rtp_max_port=40000), "RTP ports 50000-40000"),
        (JanusOptions(SECRET, public_ip="my.host"), "is not an IP address"),
        (JanusOptions(SECRET, ice_enforce=("eth0,eth1",)), "one name or address"),
        (JanusOptions(SECRET, session_timeout=5), "session_timeout"),
    ],
)
def test_unusable_options_are_refused(options: JanusOptions, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        janus_config_files(options, settings_for_tests())


def test_the_command_writes_private_files(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="chinwag")
    add_janus_config_command(parser.add_subparsers(dest="command"))
    out = tmp_path / "conf"
    args = parser.parse_args(
        ["janus-config", "--out", str(out), "--sfu-secret", SECRET, "--ws-port", "8200",
         "--listen", "10.0.0.5", "--janus-lib", str(tmp_path / "no-janus-here")]
    )  # fmt: skip
    assert args.handler(args) == 0
    names = sorted(path.name for path in out.iterdir())
    assert names == [
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.websockets.jcfg",
    ]
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # they hold the API secret
    ws = (out / "janus.transport.websockets.jcfg").read_text()
    assert settings_line(ws, "ws_ip") == '"10.0.0.5"'
    assert "ws_acl" not in ws  # not on loopback: the operator's firewall decides
    assert str(tmp_path / "no-janus-here/plugins") in (out / "janus.jcfg").read_text()


def test_the_command_without_a_secret_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["janus-config", "--out", str(tmp_path / "conf")]) == 2
    assert "secrets.token_urlsafe" in capsys.readouterr().err
    assert not (tmp_path / "conf").exists()
