"""Settings: one declaration, four sources, fixed precedence."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from chinwag.config import ConfigError, add_arguments, load_settings


def flags(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults() -> None:
    settings = load_settings(flags(), {})
    assert (settings.host, settings.port, settings.max_frame) == ("0.0.0.0", 6503, 65536)
    assert settings.ice_url == []


def test_precedence_default_file_env_flag(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('port = 7000\nheartbeat = 5.0\nice_url = ["stun:a"]\nlog_level = "debug"\n')
    env = {"CHINWAG_PORT": "7100", "CHINWAG_HEARTBEAT": "6"}
    settings = load_settings(flags("--config", str(config), "--port", "7200"), env)
    assert settings.port == 7200  # flag beats env
    assert settings.heartbeat == 6.0  # env beats file
    assert settings.ice_url == ["stun:a"] and settings.log_level == "debug"  # file beats default


def test_lists_and_booleans_from_env_and_flags() -> None:
    settings = load_settings(flags("--ice-url", "stun:x", "--ice-url", "turn:y"), {})
    assert settings.ice_url == ["stun:x", "turn:y"]
    assert load_settings(flags(), {"CHINWAG_ICE_URL": "stun:a,stun:b"}).ice_url == [
        "stun:a",
        "stun:b",
    ]
    assert load_settings(flags(), {"CHINWAG_SELF_SIGNED": "yes"}).self_signed is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHINWAG_PORT": "x"}, "CHINWAG_PORT: port cannot be 'x'"),
        ({"CHINWAG_PORT": "70000"}, "port must be 0-65535"),
        ({"CHINWAG_CERT": "a.pem"}, "cert and key go together"),
        ({"CHINWAG_WORKERS": "2"}, "workers > 1 needs redis"),
        ({"CHINWAG_SELF_SIGNED": "maybe"}, "self_signed cannot be 'maybe'"),
        ({"CHINWAG_HISTORY_LINES": "2000"}, "history_lines must be between 0 and"),
        ({"CHINWAG_HISTORY_MAX_AGE": "0"}, "history_max_lines and history_max_age must be"),
        ({"CHINWAG_FILE_MAX_BYTES": "-1"}, "file_max_bytes must be 0"),
    ],
)
def test_errors_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(flags(), env)


def test_unknown_key_in_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="unknown settings prot"):
        load_settings(flags("--config", str(config)), {})


def test_history_is_on_by_default_and_off_with_one_setting() -> None:
    assert load_settings(flags(), {}).history is True
    assert load_settings(flags(), {"CHINWAG_HISTORY": "off"}).history is False
    assert load_settings(flags("--no-history"), {}).history is False


def test_secrets_are_redacted() -> None:
    settings = load_settings(flags("--turn-secret", "s3cret", "--password", "pw"), {})
    shown = settings.redacted()
    assert shown["turn_secret"] == "***" and shown["password"] == "***"
    assert "s3cret" not in repr(shown)
