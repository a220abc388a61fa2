"""The real Janus the tests of this folder share, one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.conftest import clients  # noqa: F401  (a fixture: clients closed after)
from tests.janus import Janus, run_janus


@pytest.fixture(scope="module")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Janus]:
    with run_janus(tmp_path_factory.mktemp("janus")) as server:
        yield server
