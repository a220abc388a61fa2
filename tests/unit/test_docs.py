"""The docs list exactly the error codes the code has."""

from __future__ import annotations

import re
from pathlib import Path

from chinwag.core.errors import ERROR_CODES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_protocol_doc_lists_every_error_code() -> None:
    text = (DOCS / "protocol.md").read_text()
    table = text.split("<!-- error-codes:start -->")[1].split("<!-- error-codes:end -->")[0]
    documented = dict(re.findall(r"^\| `([a-z-]+)` \| (.+) \|$", table, re.MULTILINE))
    assert documented == ERROR_CODES
