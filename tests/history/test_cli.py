"""``chinwag history export`` and ``purge`` in a real subprocess, on the serve settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chinwag.core.names import name_key
from chinwag.core.rooms import LOCK_MARK
from chinwag.history.sqlite import SqliteHistory
from tests.history.conftest import line, stored


def chinwag(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m chinwag ARGS`` with a clean environment whose data lives under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHINWAG_")}
    env.update(XDG_DATA_HOME=str(home), PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run(
        [sys.executable, "-m", "chinwag", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def fill(path: Path) -> None:
    store = SqliteHistory(path)
    await stored(
        store, [line(f'{n} "quoted" é', room=room) for room in ("a", "b") for n in range(3)]
    )
    await store.close()


async def test_export_prints_a_room_as_json_lines_and_purge_empties_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await fill(data / "history.sqlite3")
    exported = chinwag("history", "export", "a", "--data-dir", str(data), home=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(row) for row in exported.stdout.splitlines()]
    assert [row["text"] for row in rows] == [f'{n} "quoted" é' for n in range(3)]
    assert {row["room"] for row in rows} == {"a"} and rows[0]["id"] < rows[-1]["id"]
    assert set(rows[0]) == {"room", "id", "name", "date_ms", "text"}

    purged = chinwag("history", "purge", "a", "--data-dir", str(data), home=tmp_path)
    assert purged.returncode == 0 and "purged 3 lines from room 'a'" in purged.stdout
    after = chinwag("history", "export", "a", "--data-dir", str(data), home=tmp_path)
    assert after.returncode == 2 and after.stdout == ""
    assert "no stored history for a room named 'a'" in after.stderr
    kept = chinwag("history", "export", "b", "--data-dir", str(data), home=tmp_path)
    assert len(kept.stdout.splitlines()) == 3


async def test_without_data_dir_the_commands_use_xdg_data_home(tmp_path: Path) -> None:
    await fill(tmp_path / "chinwag" / "history.sqlite3")
    purged = chinwag("history", "purge", home=tmp_path)
    assert purged.returncode == 0 and "purged 6 lines from every room" in purged.stdout


async def test_an_unusable_store_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    result = chinwag("history", "export", "a", "--data-dir", str(blocker), home=tmp_path)
    assert result.returncode == 1
    assert "the history store failed" in result.stderr and "Traceback" not in result.stderr


async def test_rooms_are_named_as_people_type_them_and_no_match_fails_loudly(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    store = SqliteHistory(data / "history.sqlite3")
    rooms = {  # as the server stores them: by key, a locked room's under its lock
        "lobby": "",
        "Team": name_key("Team"),
        "Secret Plans": name_key("Secret Plans") + LOCK_MARK + "00ff",
    }
    await stored(
        store, [line(f"{typed} {n}", room=room) for typed, room in rooms.items() for n in range(2)]
    )
    await store.close()
    for typed, expected in [
        ("lobby", "lobby"),
        ("TEAM", "Team"),
        ("  secret plans", "Secret Plans"),
    ]:
        exported = chinwag("history", "export", typed, "--data-dir", str(data), home=tmp_path)
        assert exported.returncode == 0, exported.stderr
        texts = [json.loads(row)["text"] for row in exported.stdout.splitlines()]
        assert texts == [f"{expected} 0", f"{expected} 1"], (typed, texts)
    purged = chinwag("history", "purge", "Secret Plans", "--data-dir", str(data), home=tmp_path)
    assert purged.returncode == 0 and "purged 2 lines" in purged.stdout
    for typed in ("Secret Plans", "Nowhere"):
        missing = chinwag("history", "purge", typed, "--data-dir", str(data), home=tmp_path)
        assert missing.returncode == 2, missing.stdout
        assert f"no stored history for a room named {typed!r}; nothing was done" in missing.stderr
