"""Coverage-guided fuzzing of the message parser (atheris, run by hand).

    .venv/bin/pip install atheris
    .venv/bin/python fuzz/fuzz_parse_frame.py -max_total_time=60 fuzz/corpus/parse_frame

The only exception parse_frame may raise is ProtocolError, with a known code;
anything else is a crash atheris reports with the input that caused it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import atheris

from chinwag.core.errors import ERROR_CODES, ProtocolError
from chinwag.core.protocol import Chat, Relay, SignIn, parse_frame

TYPES = ["username", "message", "video-offer", "hang-up", "call-invite", "userlist", "error", ""]
FIELDS = ["type", "name", "text", "target", "features", "resume", "credential", "sdp"]


def structured(data: bytes) -> bytes:
    """Turn fuzz bytes into a JSON object: msgspec is C, so raw bytes rarely reach our branches."""
    provider = atheris.FuzzedDataProvider(data)
    message: dict[str, Any] = {"type": provider.PickValueInList(TYPES)}
    for _ in range(provider.ConsumeIntInRange(0, 4)):
        kind = provider.ConsumeIntInRange(0, 4)
        value: Any = (
            provider.ConsumeUnicode(40),
            provider.ConsumeInt(4),
            None,
            [provider.ConsumeUnicode(12) for _ in range(provider.ConsumeIntInRange(0, 3))],
            {"sdp": provider.ConsumeUnicode(20)},
        )[kind]
        message[provider.PickValueInList(FIELDS)] = value
    return json.dumps(message).encode()


def test_one_input(data: bytes) -> None:
    frame = structured(data[1:]) if data[:1] and data[0] & 1 else data
    try:
        message = parse_frame(frame)
    except ProtocolError as error:
        assert error.code in ERROR_CODES, error.code
        return
    assert isinstance(message, SignIn | Chat | Relay), message
    if isinstance(message, Relay):
        assert message.body["type"] == message.type


if __name__ == "__main__":
    atheris.instrument_all()  # the package is imported already, so instrument what is loaded
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
