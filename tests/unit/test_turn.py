"""TURN REST credentials, ICE URL checks, the ice-servers message and the coturn config."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac

import pytest

from chinwag.config import ConfigError, settings_for_tests
from chinwag.nat.turn import (
    IceServers,
    add_turn_config_command,
    coturn_config,
    parse_ice_url,
    rest_credentials,
)

SECRET = "north-wind"
# Computed once with:
#   echo -n "1700003600:alice" | openssl dgst -sha1 -hmac north-wind -binary | base64
ALICE_CREDENTIAL = "iRtTIZ3N38dm9S+dP+UkHfnN9Qo="


def test_rest_credentials_match_the_openssl_vector() -> None:
    username, credential, expires = rest_credentials(SECRET, "alice", 3600, 1700000000.7)
    assert (username, credential, expires) == ("1700003600:alice", ALICE_CREDENTIAL, 1700003600)


def test_rest_credentials_match_hmac_for_other_users() -> None:
    username, credential, _ = rest_credentials("s3", "Zoë 2", 60, 1000)
    expected = hmac.new(b"s3", "1060:Zoë 2".encode(), hashlib.sha1).digest()
    assert username == "1060:Zoë 2"
    assert base64.b64decode(credential) == expected


def ice_servers(**settings: object) -> IceServers:
    return IceServers.from_settings(settings_for_tests(**settings))


def test_ice_servers_with_secret_attach_credentials_to_turn_urls_only() -> None:
    servers = ice_servers(
        ice_url=[
            "stun:stun.example.org",
            "turn:turn.example.org:3478?transport=udp",
            "turns:turn.example.org:443?transport=tcp",
        ],
        turn_secret=SECRET,
        turn_ttl=3600,  # the openssl vector's
    )
    message = servers.for_user("alice", 1700000000)
    assert message == {
        "type": "ice-servers",
        "iceServers": [
            {"urls": ["stun:stun.example.org"]},
            {
                "urls": [
                    "turn:turn.example.org:3478?transport=udp",
                    "turns:turn.example.org:443?transport=tcp",
                ],
                "username": "1700003600:alice",
                "credential": ALICE_CREDENTIAL,
            },
        ],
        "expires": 1700003600,
    }
    assert SECRET not in repr(message) and SECRET not in repr(servers)


def test_ice_servers_with_static_credentials_never_expire() -> None:
    servers = ice_servers(ice_url=["turn:127.0.0.1"], turn_username="u", turn_password="p")
    message = servers.for_user("bob", 5)
    assert message["iceServers"] == [
        {"urls": ["turn:127.0.0.1"], "username": "u", "credential": "p"}
    ]
    assert message["expires"] is None
    assert "'p'" not in repr(servers)


def test_no_ice_server_unless_configured() -> None:
    assert ice_servers().for_user("carol", 0) == {
        "type": "ice-servers",
        "iceServers": [],
        "expires": None,
    }


def test_credentials_asked_for_later_expire_later() -> None:
    servers = ice_servers(ice_url=["turn:h"], turn_secret=SECRET, turn_ttl=600)
    expires = servers.for_user("alice", 1000)["expires"]
    assert expires == 1600
    later = servers.for_user("alice", 1480)
    assert later["expires"] == 2080
    assert later["iceServers"][0]["username"] == "2080:alice"


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "transport"),
    [
        ("stun:stun.example.org", "stun", "stun.example.org", 3478, None),
        ("stun:127.0.0.1:19302", "stun", "127.0.0.1", 19302, None),
        ("turn:[::1]:3479?transport=tcp", "turn", "[::1]", 3479, "tcp"),
        ("turns:turn.example.org", "turns", "turn.example.org", 5349, None),
        ("TURN:Turn.Example.org?transport=UDP", "turn", "Turn.Example.org", 3478, "udp"),
    ],
)
def test_good_urls_parse(
    url: str, scheme: str, host: str, port: int, transport: str | None
) -> None:
    parsed = parse_ice_url(url)
    assert (parsed.url, parsed.scheme, parsed.host, parsed.port, parsed.transport) == (
        url,
        scheme,
        host,
        port,
        transport,
    )


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://example.org", "must start with stun:, turn: or turns:"),
        ("stuns:example.org", "must start with stun:, turn: or turns:"),
        ("turn://example.org:3478", "without '//'"),
        ("turn:", "expected turn:HOST[:PORT][?transport=udp|tcp]"),
        ("stun:host:3478?transport=udp", "?transport= is only for turn: and turns: URLs"),
        ("turn:host?transport=sctp", "transport must be udp or tcp, not 'sctp'"),
        ("turn:host:0", "port must be 1-65535, not 0"),
        ("turn:host:70000", "port must be 1-65535, not 70000"),
        ("turn:[zz::1]", "[zz::1] is not an IPv6 address"),
        ("turn:user@host", "expected turn:HOST"),
        ("turn:host?foo=bar", "expected turn:HOST"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_ice_url(url)
    assert f"ice_url {url!r}" in str(caught.value)
    assert complaint in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"ice_url": ["turn:h"]}, "set turn_secret"),
        ({"turn_secret": "s"}, "no turn: or turns: URL"),
        ({"ice_url": ["stun:h"], "turn_secret": "s"}, "no turn: or turns: URL"),
        ({"ice_url": ["turn:h"], "turn_username": "u"}, "go together"),
        ({"ice_url": ["turn:h"], "turn_secret": "s", "turn_ttl": 0}, "turn_ttl must be"),
        ({"ice_url": ["stun:h", "stun:h:x"]}, "ice_url 'stun:h:x'"),
    ],
)
def test_inconsistent_settings_are_refused(settings: dict[str, object], complaint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ice_servers(**settings)
    assert complaint in str(caught.value)


def test_coturn_config_matches_the_secret_and_realm() -> None:
    settings = settings_for_tests(
        ice_url=["turn:turn.example.org:3479?transport=udp"], turn_secret=SECRET, turn_realm="r1"
    )
    lines = coturn_config(settings, 50000, 50100).splitlines()
    for expected in [
        "listening-port=3479",
        "min-port=50000",
        "max-port=50100",
        "realm=r1",
        "use-auth-secret",
        f"static-auth-secret={SECRET}",
        "fingerprint",
        "no-cli",
        "no-tls",
        "no-dtls",
        "denied-peer-ip=10.0.0.0-10.255.255.255",
        "denied-peer-ip=127.0.0.0-127.255.255.255",
        "denied-peer-ip=::1",
        "denied-peer-ip=169.254.0.0-169.254.255.255",
        "denied-peer-ip=172.16.0.0-172.31.255.255",
        "denied-peer-ip=192.168.0.0-192.168.255.255",
        "denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ]:
        assert expected in lines
    assert any("allow-loopback-peers" in line for line in lines if line.startswith("#"))
    assert "lt-cred-mech" not in lines
    assert "denied-peer-ip=::" not in lines  # coturn would deny every peer


def test_coturn_config_for_turns_and_static_credentials() -> None:
    settings = settings_for_tests(
        ice_url=["turns:turn.example.org:443?transport=tcp"],
        turn_username="u",
        turn_password="p",
        cert="/etc/chinwag/cert.pem",
        key="/etc/chinwag/key.pem",
    )
    lines = coturn_config(settings).splitlines()
    for expected in [
        "listening-port=3478",
        "tls-listening-port=443",
        "cert=/etc/chinwag/cert.pem",
        "pkey=/etc/chinwag/key.pem",
        "lt-cred-mech",
        "user=u:p",
    ]:
        assert expected in lines
    assert "no-tls" not in lines and "use-auth-secret" not in lines


def test_coturn_config_needs_credentials_and_sane_ports() -> None:
    with pytest.raises(ConfigError, match="turn-config needs turn_secret"):
        coturn_config(settings_for_tests())
    with pytest.raises(ConfigError, match="relay ports 60000-50000"):
        coturn_config(settings_for_tests(turn_secret="s"), 60000, 50000)


def test_turn_config_command_reads_flags(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="chinwag")
    add_turn_config_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "turn-config",
            "--turn-secret",
            "flag-secret",
            "--turn-realm",
            "example.org",
            "--ice-url",
            "turn:example.org",
            "--relay-min-port",
            "40000",
        ]
    )
    assert args.handler(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert "static-auth-secret=flag-secret" in out
    assert "realm=example.org" in out
    assert "min-port=40000" in out and "max-port=65535" in out
