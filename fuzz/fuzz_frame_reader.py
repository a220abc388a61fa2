"""Coverage-guided fuzzing of the WebSocket frame reader (atheris, run by hand).

    .venv/bin/python fuzz/fuzz_frame_reader.py -max_total_time=60 fuzz/corpus/frame_reader

The input is split at arbitrary points (the first byte picks the chunk size)
and fed to one FrameReader, as a socket would deliver it. The reader must
never raise, must stop after its first Violation, and must never return a
message larger than its limit.
"""

from __future__ import annotations

import sys

import atheris

from chinwag.transport.websocket import FrameReader, Message, Violation

MAX_SIZE = 1024


def test_one_input(data: bytes) -> None:
    if not data:
        return
    step = data[0] % 32 + 1
    reader = FrameReader(MAX_SIZE)
    violated = False
    for start in range(1, len(data), step):
        for event in reader.receive_data(data[start : start + step]):
            assert not violated, "an event after a violation"
            if isinstance(event, Violation):
                assert event.code in (1002, 1009), event
                violated = True
            else:
                assert isinstance(event, Message)
                assert len(event.payload) <= MAX_SIZE or event.opcode in (0x8, 0x9, 0xA)


if __name__ == "__main__":
    atheris.instrument_all()  # the package is imported already, so instrument what is loaded
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
