"""``chinwag recordings`` on recordings made by hand (the real Janus one is in tests/sfu)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chinwag.cli import main
from chinwag.sfu.recordings import MANIFEST, recording_id, start_manifest

DAY_MS = 86400 * 1000


def make(root: Path, room: str, since: int, state: str = "ready") -> str:
    """A recording folder with one playable file and its manifest; its id."""
    recording = recording_id(room, since)
    folder = root / "recordings" / recording
    start_manifest(folder, room, since, "ann")
    (folder / "ann.webm").write_bytes(b"x" * 1000)
    (folder / "videoroom-1-user-2-3-video-1.mjr").write_bytes(b"y" * 2000)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest.update(state=state, until=since + 5000, files=[{"person": "ann", "file": "ann.webm"}])
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return recording


def test_list_export_and_purge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = int(time.time() * 1000)
    old = make(tmp_path, "Standup", now - 40 * DAY_MS)
    new = make(tmp_path, "Zoë's room", now)
    busy = make(tmp_path, "live", now - 50 * DAY_MS, state="recording")
    data = ["--data-dir", str(tmp_path)]

    assert main(["recordings", "list", *data]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted([old, new, busy], reverse=True)
    assert any("5 s" in line and "'Standup' by ann" in line for line in lines)
    assert main(["recordings", "list", "--json", *data]) == 0
    assert {m["id"]: m["bytes"] for m in json.loads(capsys.readouterr().out)}[new] > 3000

    assert main(["recordings", "export", new, str(tmp_path / "out"), *data]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / new).iterdir()) == ["ann.webm", MANIFEST]
    assert main(["recordings", "export", busy, str(tmp_path / "out"), *data]) == 2
    assert "not ready" in capsys.readouterr().err

    assert main(["recordings", "purge", *data]) == 2  # says which of ID/--older-than/--all
    assert main(["recordings", "purge", "--older-than", "30", *data]) == 0
    out = capsys.readouterr()
    assert f"deleted {old}" in out.out and f"skipped {busy}: still recording" in out.err
    assert main(["recordings", "purge", "../etc", *data]) == 2
    assert main(["recordings", "purge", new, *data]) == 0
    assert sorted(p.name for p in (tmp_path / "recordings").iterdir()) == [busy]


def test_an_empty_data_directory_has_no_recordings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recordings", "list", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().err == "no recordings\n"
