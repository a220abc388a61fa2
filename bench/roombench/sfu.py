"""A room call of Chromium pages and aiortc bots, on Janus or as a mesh (issue 19's benchmark).

``call_test`` starts a real Janus (``tests/janus.py``, configured by
``chinwag janus-config``) unless the call is a mesh, a ``chinwag serve`` with
``--sfu`` on it, ``bots`` Python participants (``sfubot.py``, each its own
process, sending a small 160x120 looped file, asking the low layer of
everyone) and ``pages`` browser contexts on the real web client at
``/r/<room>`` (1280x800). Once all are signed in, the pages press the call
button and the bots take their seats at one instant. Reported:

- the time until every participant decodes video from every other (each page
  records the wall-clock time of the first decoded frame per person, through
  the SFU or a mesh link; each bot prints it), and until every link is in;
- the signaling each participant sent for the call (``room-call-*``,
  ``room-signal``, ``sfu-*``, ``media-state``: frames each page sent, and what
  each bot counted);
- over a fixed window once the call has formed: CPU (cores) of Janus, of
  chinwag, of the whole browser (all pages: one Chromium) and of each bot,
  from /proc; and each page's upload (``bytesSent`` of every ``outbound-rtp``
  of its connections, summed) in kbit/s.

Everything talks to this machine only; every wait is bounded; every process
started here is stopped here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import procstat
from relaybench.servers import ROOT, running, say

from roombench.common import load_average

sys.path.insert(0, str(ROOT))  # tests/ holds the one Janus launcher, the Chromium flags, Person

from playwright.async_api import async_playwright

from tests.browser.people import Person
from tests.chromium import launch_chromium
from tests.janus import run_janus

SFU_TARGET_SECONDS = 3.0
PATIENCE_SECONDS = 120.0
READY_SECONDS = 60.0
BOT = Path(__file__).with_name("sfubot.py")
#: Messages a participant sends for the call itself (not sign-in, chat or pings).
CALL_TYPES = ("room-call", "room-signal", "sfu-", "media-state")

# In each page, every 100 ms (one round at a time): the wall-clock time (ms) the
# first video frame of each other participant decoded, through the SFU or a mesh link.
_RECORDER = """
(self) => {
  const seen = { decoding: {} };
  window.callBench = seen;
  let busy = false;
  setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const room = window.chinwag.room;
      const sfu = room.sfu();
      for (const name of room.participants) {
        if (name === self || seen.decoding[name]) continue;
        let frames = sfu ? await sfu.framesDecoded(name) : 0;
        const pc = room.peerConnection(name);
        if (pc) {
          (await pc.getStats()).forEach((s) => {
            if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
          });
        }
        if (frames > 0) seen.decoding[name] = Date.now();
      }
    } finally {
      busy = false;
    }
  }, 100);
}
"""

# Bytes this page has sent (media payload, every outbound-rtp of the SFU publisher and of
# each mesh link still open).
_BYTES_SENT = """
async () => {
  const room = window.chinwag.room;
  const pcs = [room.sfu()?.publisher(), ...room.peers().map((n) => room.peerConnection(n))];
  let bytes = 0;
  for (const pc of pcs.filter(Boolean)) {
    (await pc.getStats()).forEach((s) => {
      if (s.type === "outbound-rtp") bytes += s.bytesSent || 0;
    });
  }
  return bytes;
}
"""


class Bot:
    """One ``sfubot.py`` process: its output lines read by a thread as they come."""

    def __init__(self, name: str, url: str, room: str, play: Path, log: IO[bytes]) -> None:
        self.name = name
        self.lines: list[dict[str, Any]] = []
        self.process = subprocess.Popen(
            [
                *(sys.executable, str(BOT), "--server", url, "--room", room),
                *("--name", name, "--play", str(play)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(line))

    def ready(self) -> bool:
        return any(line.get("ready") for line in self.lines)

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.flush()

    def decoding(self) -> dict[str, float]:
        return {line["decoded"]: line["at_ms"] for line in self.lines if "decoded" in line}

    def sent(self) -> dict[str, int]:
        found = [line["sent"] for line in self.lines if "sent" in line]
        return {k: v for k, v in (found[-1] if found else {}).items() if k.startswith(CALL_TYPES)}

    def stop(self) -> None:
        """Close its stdin (it leaves the call and reports what it sent); killed if it hangs."""
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        time.sleep(0.2)  # the reader thread takes the last line


@contextlib.contextmanager
def bots(names: list[str], url: str, room: str, play: Path, log: IO[bytes]) -> Iterator[list[Bot]]:
    started: list[Bot] = []
    try:
        for name in names:
            started.append(Bot(name, url, room, play, log))
        yield started
    finally:
        for bot in started:
            bot.stop()


def small_video(folder: Path) -> Path:
    """A 10 s 160x120 15 fps VP8 + Opus file (a test pattern and a tone) for the bots."""
    path = folder / "small.webm"
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10"),
            *("-c:v", "libvpx", "-b:v", "150k", "-c:a", "libopus", str(path)),
        ],
        check=True,
        timeout=60,
    )
    return path


def call_test(
    log: IO[bytes], *, people: int, pages: int, sfu: bool, window: float
) -> dict[str, Any]:
    """One call of ``people`` (``pages`` of them Chromium, the rest bots): the figures."""
    mode = "sfu" if sfu else "mesh"
    page_names = [f"page{n}" for n in range(1, pages + 1)]
    bot_names = [f"bot{n}" for n in range(1, people - pages + 1)]
    room = f"bench{mode}"
    with (
        tempfile.TemporaryDirectory(prefix="callbench-") as folder,
        contextlib.ExitStack() as stack,
    ):
        play = small_video(Path(folder))
        args = ["--no-history", "--room-call-per-address", str(people)]
        janus = None
        if sfu:
            janus = stack.enter_context(run_janus(Path(folder)))
            # On Janus from the third person on (all join at once: no mesh worth the name).
            args += ["--sfu", janus.url, "--sfu-secret", janus.secret, "--mesh-max", "2"]
        server = stack.enter_context(running("chinwag", log, args))
        url = f"http://127.0.0.1:{server.port}"
        started = stack.enter_context(bots(bot_names, url, room, play, log))
        result = asyncio.run(_call(f"{url}/r/{room}", page_names, started, server, janus, window))
    result.update(mode=mode, people=people, pages=pages, bots=len(bot_names))
    _report(result)
    return result


async def _call(
    url: str, page_names: list[str], started: list[Bot], server: Any, janus: Any, window: float
) -> dict[str, Any]:
    async with async_playwright() as driver:
        browser = await launch_chromium(driver)
        try:
            persons = [await Person.open(browser, url, name) for name in page_names]
            for person in persons:
                await person.page.evaluate(_RECORDER, person.name)
            await _until(lambda: all(bot.ready() for bot in started), READY_SECONDS)
            load = load_average()
            servers = {"chinwag": server.pid, **({"janus": janus.process.pid} if janus else {})}
            setup_before = {name: procstat.usage(pid).cpu_seconds for name, pid in servers.items()}
            started_ms = time.time() * 1000
            for bot in started:
                bot.go()
            await asyncio.gather(*(p.page.locator("#room-call-button").click() for p in persons))
            wanted = _links(page_names, [b.name for b in started], sfu=janus is not None)
            decoding = await _until_all_decode(persons, started, started_ms, wanted)
            setup_cpu = {
                name: procstat.usage(pid).cpu_seconds - setup_before[name]
                for name, pid in servers.items()
            }
            # The window: the call formed (or the patience ran out); everyone sends and receives.
            counters = {**servers, **{bot.name: bot.process.pid for bot in started}}
            browsers = _chromium_roots()
            before = {name: procstat.usage(pid).cpu_seconds for name, pid in counters.items()}
            before_browser = sum(procstat.usage(pid).cpu_seconds for pid in browsers)
            sent_before = [await p.page.evaluate(_BYTES_SENT) for p in persons]
            begun = time.monotonic()
            await asyncio.sleep(window)
            sent_after = [await p.page.evaluate(_BYTES_SENT) for p in persons]
            elapsed = time.monotonic() - begun
            cpu = {
                name: (procstat.usage(pid).cpu_seconds - before[name]) / elapsed
                for name, pid in counters.items()
            }
            cpu["chromium"] = (
                sum(procstat.usage(pid).cpu_seconds for pid in browsers) - before_browser
            ) / elapsed
            signals = {p.name: _call_messages(p.sent) for p in persons}
        finally:
            await browser.close()
    for bot in started:
        bot.stop()
    signals.update({bot.name: bot.sent() for bot in started})
    wanted = _links(page_names, [bot.name for bot in started], sfu=janus is not None)
    by_pages = {link for link in wanted if link.split(">")[0] in page_names}
    return {
        "formed_s": _slowest(decoding, wanted),
        # What the people at the browsers see: every page decodes every other participant.
        "pages_formed_s": _slowest(decoding, by_pages),
        "median_link_decoding_s": _quantile(decoding, 0.5),
        "p90_link_decoding_s": _quantile(decoding, 0.9),
        "decoding_s": decoding,
        "links": len(wanted),
        "links_decoding": len(decoding),
        "never_decoded": sorted(wanted - set(decoding)),
        "signaling_sent": signals,
        "cpu_cores": cpu,
        "setup_cpu_s": setup_cpu,
        "upload_kbit_s": {
            p.name: (after - before_bytes) * 8 / 1000 / elapsed
            for p, before_bytes, after in zip(persons, sent_before, sent_after, strict=True)
        },
        "window_s": elapsed,
        "load_average": load,
    }


def _links(pages: list[str], bots: list[str], *, sfu: bool) -> set[str]:
    """The links (``a>b``: a decodes b) that must decode. A bot tells whose video it decodes
    only through the SFU (``sfubot.py``), so in a mesh only the pages' links count."""
    everyone = [*pages, *bots]
    receivers = everyone if sfu else pages
    return {f"{a}>{b}" for a in receivers for b in everyone if a != b}


async def _until_all_decode(
    persons: list[Person], started: list[Bot], started_ms: float, wanted: set[str]
) -> dict[str, float]:
    """Seconds from the start until each link (``a>b``: a decodes b) decoded its first frame."""
    everyone = [*(p.name for p in persons), *(bot.name for bot in started)]
    decoding: dict[str, float] = {}
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not wanted <= set(decoding) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        records = await asyncio.gather(*(p.page.evaluate("window.callBench") for p in persons))
        seen = [(p.name, r["decoding"]) for p, r in zip(persons, records, strict=True)]
        seen += [(bot.name, bot.decoding()) for bot in started]
        for who, record in seen:
            for other, at_ms in record.items():
                if other in everyone:
                    decoding[f"{who}>{other}"] = (at_ms - started_ms) / 1000
    return decoding


async def _until(done: Any, within: float) -> None:
    """Poll ``done()`` (a look at other processes' output: no event to wait on) for ``within`` s."""
    deadline = time.monotonic() + within
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)


def _slowest(decoding: dict[str, float], links: set[str]) -> float:
    """When the last of ``links`` decoded (infinite if one never did)."""
    return max(decoding[link] for link in links) if links <= set(decoding) else float("inf")


def _quantile(decoding: dict[str, float], fraction: float) -> float:
    ordered = sorted(decoding.values())
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else float("inf")


def _call_messages(sent: list[dict[str, Any]]) -> dict[str, int]:
    """How many call messages of each type are among what a page sent."""
    kinds = Counter(str(message.get("type")) for message in sent)
    return {k: v for k, v in kinds.items() if k.startswith(CALL_TYPES)}


def _chromium_roots() -> list[int]:
    """The Chromium processes under this one whose parent is not Chromium (each a whole tree)."""
    found = []
    for pid in procstat.descendants(os.getpid()):
        comm = _comm(pid)
        if comm.startswith("chrom") and not _comm(_parent(pid)).startswith("chrom"):
            found.append(pid)
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _report(result: dict[str, Any]) -> None:
    signals = result["signaling_sent"]
    per_person = {name: sum(kinds.values()) for name, kinds in signals.items()}
    cpu = result["cpu_cores"]
    bot_cpu = [v for k, v in cpu.items() if k.startswith("bot")]
    upload = result["upload_kbit_s"]
    say(
        f"  {result['mode']} of {result['people']} ({result['pages']} Chromium pages, "
        f"{result['bots']} bots): everyone decodes everyone after {result['formed_s']:.2f} s "
        f"(target {SFU_TARGET_SECONDS} s; median link {result['median_link_decoding_s']:.2f} s, "
        f"90% {result['p90_link_decoding_s']:.2f} s; "
        f"{result['links_decoding']}/{result['links']} links); load {result['load_average']}"
    )
    say(f"  every page decodes everyone after {result['pages_formed_s']:.2f} s")
    say(f"  call messages sent per participant: {per_person}")
    setup = ", ".join(f"{k} {v:.2f} s" for k, v in result["setup_cpu_s"].items())
    say(f"  CPU from the clicks until everyone decodes everyone: {setup}")
    say(
        "  CPU (cores) over {:.0f} s: ".format(result["window_s"])
        + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items() if not k.startswith("bot"))
        + (f", bots {min(bot_cpu):.2f}-{max(bot_cpu):.2f} each" if bot_cpu else "")
    )
    say("  upload per page (kbit/s): " + ", ".join(f"{k} {v:.0f}" for k, v in upload.items()))
    if result["never_decoded"]:
        say(f"  never decoded within {PATIENCE_SECONDS:.0f} s: {result['never_decoded'][:20]}")
