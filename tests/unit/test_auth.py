"""Sign-in credentials, tokens and page origins (chinwag.core.auth: pure functions)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import io
import json
from contextlib import redirect_stdout

import pytest

from chinwag.cli import add_token_command
from chinwag.config import settings_for_tests
from chinwag.core.auth import (
    Authenticator,
    issue_token,
    origin_allowed,
    read_token,
)
from chinwag.core.errors import ProtocolError

NOW = 1_700_000_000.0
SECRET = "s3cret-shared-with-the-issuer"


def code_of(auth: Authenticator, name: str, credential: str | None, now: float = NOW) -> str:
    with pytest.raises(ProtocolError) as caught:
        auth.check(name, credential, now)
    assert caught.value.for_type == "username"
    return caught.value.code


def test_off_unless_a_password_or_secret_is_set() -> None:
    assert Authenticator.from_settings(settings_for_tests()) is None
    assert Authenticator.from_settings(settings_for_tests(password="pw")) is not None
    assert Authenticator.from_settings(settings_for_tests(token_secret="k")) is not None


def test_password() -> None:
    auth = Authenticator(password="correct horse")
    auth.check("alice", "correct horse", NOW)
    assert code_of(auth, "alice", None) == "auth-required"
    assert code_of(auth, "alice", "") == "auth-required"
    assert code_of(auth, "alice", "correct hors") == "auth-failed"
    assert code_of(auth, "alice", "correct horse ") == "auth-failed"


def test_token_round_trip_and_every_failure() -> None:
    auth = Authenticator(token_secret=SECRET)
    token = issue_token(SECRET, "alice", NOW + 60)
    auth.check("alice", token, NOW)
    assert code_of(auth, "alice", None) == "auth-required"
    assert code_of(auth, "bob", token) == "auth-failed"  # someone else's token
    assert code_of(auth, "alice", token, now=NOW + 60) == "auth-expired"
    assert code_of(auth, "alice", issue_token("other secret", "alice", NOW + 60)) == "auth-failed"
    header, _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"sub":"alice","exp":9999999999}').rstrip(b"=").decode()
    assert code_of(auth, "alice", f"{header}.{forged}.{signature}") == "auth-failed"
    for junk in ("not a token", "a.b.c", "eyJ.eyJ.", token + "x", "..", "password"):
        assert code_of(auth, "alice", junk) == "auth-failed", junk


def test_token_is_a_standard_hs256_jwt() -> None:
    token = issue_token(SECRET, "alice", NOW + 60)
    header, payload, signature = token.split(".")

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    assert json.loads(decode(header)) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(decode(payload)) == {"sub": "alice", "exp": int(NOW + 60)}
    expected = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert decode(signature) == expected
    claims = read_token(SECRET, token)
    assert (claims.name, claims.expires) == ("alice", int(NOW + 60))


def test_token_from_another_issuer_with_extra_claims() -> None:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    header = part({"typ": "JWT", "alg": "HS256"})
    payload = part({"sub": "bob", "exp": int(NOW) + 5, "iat": int(NOW), "iss": "intranet"})
    mac = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    Authenticator(token_secret=SECRET).check("bob", token, NOW)


def test_alg_none_and_wrong_claim_types_are_refused() -> None:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    auth = Authenticator(token_secret=SECRET)
    unsigned = f"{part({'alg': 'none'})}.{part({'sub': 'alice', 'exp': 2 * NOW})}."
    assert code_of(auth, "alice", unsigned) == "auth-failed"
    for claims in ({"sub": "alice"}, {"sub": 1, "exp": 2 * NOW}, {"sub": "alice", "exp": True}):
        header = part({"alg": "HS256"})
        payload = part(claims)
        mac = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
        assert code_of(auth, "alice", token) == "auth-failed", claims


def test_password_and_tokens_together() -> None:
    auth = Authenticator(password="pw", token_secret=SECRET)
    auth.check("carol", "pw", NOW)
    auth.check("carol", issue_token(SECRET, "carol", NOW + 1), NOW)
    assert code_of(auth, "carol", "wrong") == "auth-failed"
    assert code_of(auth, "carol", issue_token(SECRET, "carol", NOW - 1)) == "auth-expired"


def test_token_command_prints_a_token_the_server_accepts() -> None:
    parser = argparse.ArgumentParser()
    add_token_command(parser.add_subparsers())
    args = parser.parse_args(["token", "dave", "--ttl", "120", "--token-secret", SECRET])
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert args.handler(args) == 0
    token = printed.getvalue().strip()
    claims = read_token(SECRET, token)
    assert claims.name == "dave"
    Authenticator(token_secret=SECRET).check("dave", token, claims.expires - 120)


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "secure", "expected"),
    [
        (None, "chat.example", [], False, True),
        ("http://chat.example", "chat.example", [], False, True),
        ("http://chat.example", "chat.example:80", [], False, True),
        ("https://chat.example", "chat.example", [], True, True),
        ("https://chat.example", "chat.example", [], False, False),  # 443 vs 80
        ("http://CHAT.example:8080", "chat.example:8080", [], False, True),
        ("http://[::1]:5000", "chat.example", [], False, True),
        ("http://127.0.0.2:5000", "chat.example", [], False, True),
        ("http://app.localhost:5000", "chat.example", [], False, True),
        ("http://evil.example", "chat.example", [], False, False),
        ("http://chat.example.evil.example", "chat.example", [], False, False),
        ("null", "chat.example", [], False, False),
        ("null", "chat.example", ["null"], False, True),
        ("ftp://chat.example", "chat.example", [], False, False),
        ("https://app.example", "chat.example", ["https://app.example"], True, True),
        ("http://127.0.0.1:5000", "chat.example", ["https://app.example"], False, False),
        ("http://chat.example", "chat.example", ["https://app.example"], False, True),
        ("https://anything.example", "chat.example", ["*"], False, True),
    ],
)
def test_origin_allowed(
    origin: str | None, host: str, allowed: list[str], secure: bool, expected: bool
) -> None:
    assert origin_allowed(origin, host, allowed, secure) is expected
