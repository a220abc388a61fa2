"""chinwag as a package: build the sdist and wheel, install the wheel into a
fresh venv, and serve the web client from that install alone.

The wheel is built the way a release is (``python -m build`` makes the sdist,
then the wheel from the unpacked sdist), so a file missing from either fails
here. The venv is a plain one: chinwag from the wheel, its dependencies from
the lock (``requirements/run.txt``, hashes checked), nothing from the checkout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "chinwag" / "web"
#: The one version number (pyproject.toml reads it from here, see its dynamic version).
VERSION = re.search(
    r'^__version__ = "([^"]+)"$', (ROOT / "src" / "chinwag" / "__init__.py").read_text(), re.M
)[1]
#: Building and installing take seconds on a quiet machine; the bounds are for a busy one.
BUILD_WITHIN = 300.0
# The build, the venv and the install run in module fixtures; the suite's
# 120 s per-test bound would cut them short on a busy machine.
pytestmark = pytest.mark.timeout(4 * BUILD_WITHIN)
START_WITHIN = 60.0

#: The environment of everything run in the venv: nothing of the checkout on sys.path.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

#: The pages a person opens; everything they reference must be served.
PAGES = ("/", "/r/someroom", "/check")

_JS_IMPORT = re.compile(
    r"""(?:\bimport|\bexport)\s[^;'"]*?\bfrom\s*["']([^"']+)["']"""  # import x from "..."
    r"""|\bimport\s*\(?\s*["']([^"']+)["']"""  # import "..." and import("...")
)
#: A literal path to a static file in a script (icons swapped at run time).
_JS_ASSET = re.compile(r"""["'](/[\w./-]+\.(?:svg|png|css|js|webmanifest))["']""")
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


def web_files() -> set[str]:
    """Every file of the web client in the checkout, relative to web/."""
    return {p.relative_to(WEB).as_posix() for p in WEB.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def wheel_and_sdist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``python -m build --no-isolation`` of a clean copy of the project."""
    work = tmp_path_factory.mktemp("build")
    source = work / "chinwag"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=BUILD_WITHIN,
    )
    (wheel,) = dist.glob("chinwag-*.whl")
    (sdist,) = dist.glob("chinwag-*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def installed(wheel_and_sdist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain venv holding the wheel and the locked run-time dependencies; its bin/."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=BUILD_WITHIN)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    lock = ROOT / "requirements" / "run.txt"
    for what in (["--require-hashes", "-r", str(lock)], [str(wheel_and_sdist[0])]):
        subprocess.run([*pip, *what], check=True, timeout=BUILD_WITHIN, env=CLEAN_ENV)
    return venv / "bin"


def test_the_wheel_and_the_sdist_carry_every_web_file(wheel_and_sdist: tuple[Path, Path]) -> None:
    wheel, sdist = wheel_and_sdist
    assert wheel.name == f"chinwag-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {
            name.removeprefix("chinwag/web/")
            for name in archive.namelist()
            if name.startswith("chinwag/web/")
        }
        assert "chinwag/py.typed" in archive.namelist()
    prefix = f"chinwag-{VERSION}/src/chinwag/web/"
    with tarfile.open(sdist) as archive:
        in_sdist = {
            member.name.removeprefix(prefix)
            for member in archive.getmembers()
            if member.isfile() and member.name.startswith(prefix)
        }
    expected = web_files()
    assert len(expected) > 30  # the checkout's client, not an empty folder
    assert in_wheel == expected
    assert in_sdist == expected


def test_version_comes_from_the_installed_package(installed: Path) -> None:
    shown = subprocess.run(
        [str(installed / "chinwag"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=START_WITHIN,
        env=CLEAN_ENV,
    )
    assert shown.stdout.strip() == f"chinwag {VERSION}"


def test_chinwag_serve_from_the_wheel_serves_every_page_and_asset(
    installed: Path, tmp_path: Path
) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import chinwag; print(chinwag.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path, timeout=START_WITHIN,
        env=CLEAN_ENV,
    ).stdout  # fmt: skip
    assert Path(where.strip()).is_relative_to(installed.parent), where  # not the checkout

    with serving(installed / "chinwag", tmp_path) as base:
        served = crawl(base)
    statuses = {path: status for path, (status, _) in served.items()}
    assert statuses == dict.fromkeys(served, 200), statuses
    assert all(body for _, body in served.values())
    # Every file of the client was reached from the pages (the two pages are / and /check).
    reached = {path.lstrip("/") for path in served} | {"index.html", "check.html"}
    assert web_files() <= reached, web_files() - reached


class _Refs(HTMLParser):
    """The URLs an HTML page loads: scripts, styles, icons, the manifest, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "img", "source") and found.get("src"):
            self.urls.append(str(found["src"]))
        if tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))


def references(path: str, body: bytes) -> Iterator[str]:
    """The URLs ``body`` (served at ``path``) makes a browser fetch, as written."""
    if path in PAGES:
        parser = _Refs()
        parser.feed(body.decode())
        yield from parser.urls
    elif path.endswith(".js"):
        for match in _JS_IMPORT.finditer(body.decode()):
            yield match.group(1) or match.group(2)
        yield from _JS_ASSET.findall(body.decode())
    elif path.endswith(".css"):
        yield from (url for url in _CSS_URL.findall(body.decode()) if not url.startswith("data:"))
    elif path.endswith(".webmanifest"):
        yield from (icon["src"] for icon in json.loads(body).get("icons", []))


def crawl(base: str) -> dict[str, tuple[int, bytes]]:
    """Fetch the pages and, transitively, everything they load: path -> (status, body)."""
    served: dict[str, tuple[int, bytes]] = {}
    queue = list(PAGES)
    while queue:
        path = queue.pop()
        if path in served:
            continue
        served[path] = status, body = fetch(base + path)
        if status != 200:
            continue
        for url in references(path, body):
            target = urlsplit(urljoin(base + path, url))
            assert f"{target.scheme}://{target.netloc}" == base, f"{path} loads {url}"
            queue.append(target.path)
    return served


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=START_WITHIN) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@contextlib.contextmanager
def serving(chinwag: Path, workdir: Path) -> Iterator[str]:
    """``chinwag serve`` from the venv on a free loopback port; yields ``http://host:port``."""
    command = [str(chinwag), "serve", "--host", "127.0.0.1", "--port", "0",
               "--data-dir", str(workdir / "data")]  # fmt: skip
    with (workdir / "chinwag.log").open("w") as log:
        process = subprocess.Popen(
            command, cwd=workdir, stdout=subprocess.PIPE, stderr=log, text=True
        )
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], START_WITHIN)
            assert ready, f"chinwag printed nothing within {START_WITHIN} s"
            line = process.stdout.readline()
            match = re.search(r"chinwag listening on (http://127\.0\.0\.1:\d+)/", line)
            assert match, f"unexpected first line {line!r}"
            yield match.group(1)
        finally:
            process.terminate()
            try:
                process.wait(START_WITHIN)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
