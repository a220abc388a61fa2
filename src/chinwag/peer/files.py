"""Files in chat from Python: send and receive over an aiortc ``RTCDataChannel``.

The same protocol as the web client (docs/protocol.md, "Files"): the server
relays ``file-offer``/``-accept``/``-decline``/``-cancel``/``-signal``; the bytes
go peer to peer in 16 KiB chunks on a data channel of a peer connection of
their own, the receiver checks the offer's SHA-256 and answers ``"ok"`` or
``"bad"``. aiortc gathers every candidate before ``setLocalDescription``
returns, so this side sends no trickled candidates; it applies the browser's.
As sender it makes the channel and is the only side that offers (the
impolite role); as receiver it only answers.

Use::

    files = FileTransfers(client, configuration)
    await files.send_file("bob", Path("notes.pdf"))          # -> "verified"
    files.on_offer = lambda offer: offer.accept(Path("inbox"))
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from ..client import ChinwagClient, FileMessage

__all__ = ["CHUNK_BYTES", "FileTransfers", "IncomingFile", "safe_file_name"]

logger = logging.getLogger("chinwag.peer.files")

CHUNK_BYTES = 16 * 1024
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024


def safe_file_name(name: str) -> str:
    """A file name from another person, safe to create in a directory of ours."""
    cleaned = "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in name)
    return cleaned.lstrip(".").strip()[:200] or "file"


@dataclass
class _Link:
    """One transfer's peer connection, and what the negotiation still waits for."""

    peer: str
    file: str
    pc: RTCPeerConnection
    done: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    held: list[dict[str, Any]] = field(default_factory=list)

    def finish(self, outcome: str) -> None:
        if not self.done.done():
            self.done.set_result(outcome)


@dataclass
class IncomingFile:
    """An offer someone made us: ``accept(directory)`` saves it there, ``decline()`` says no."""

    transfers: FileTransfers
    sender: str
    file: str
    filename: str
    size: int
    sha256: str

    async def accept(self, directory: Path) -> Path:
        """Receive the file into ``directory``; its path once the SHA-256 matched."""
        return await self.transfers._receive(self, directory)

    async def decline(self) -> None:
        await self.transfers._send("file-decline", self.sender, self.file)


class FileTransfers:
    """Sends files and hears offers for one signed-in :class:`ChinwagClient`."""

    def __init__(
        self,
        client: ChinwagClient,
        configuration: Callable[[], RTCConfiguration],
    ) -> None:
        self.client = client
        self.configuration = configuration
        #: Called with each offer within the limit (a larger one is declined at once).
        self.on_offer: Callable[[IncomingFile], Awaitable[Any] | None] = lambda offer: None
        self._links: dict[tuple[str, str], _Link] = {}
        self._accepted: dict[str, asyncio.Queue[str]] = {}  # our offers: who accepted
        client.on(FileMessage, self._on_message)

    @property
    def max_bytes(self) -> int:
        """The server's limit, told at sign-in (``fileMaxBytes``)."""
        return self.client.file_max_bytes

    async def _send(self, kind: str, target: str, file: str, **fields: Any) -> None:
        await self.client.send({"type": kind, "target": target, "file": file, **fields})

    # -- sending ---------------------------------------------------------------

    async def send_file(self, target: str, path: Path, within: float = 120.0) -> str:
        """Offer ``path`` to ``target`` and send it once accepted. Returns how it ended:
        ``verified``, ``declined`` (or ``declined: REASON``), ``cancelled`` or ``failed``."""
        data = await asyncio.to_thread(path.read_bytes)
        if len(data) > self.max_bytes:
            raise ValueError(f"{path.name} is {len(data)} bytes, over the limit {self.max_bytes}")
        file = str(uuid.uuid4())
        answers: asyncio.Queue[str] = asyncio.Queue()
        self._accepted[file] = answers
        try:
            digest = hashlib.sha256(data).hexdigest()
            await self._send(
                "file-offer", target, file, filename=path.name, size=len(data), sha256=digest
            )
            async with asyncio.timeout(within):
                answer = await answers.get()
                if answer != "accept":
                    return answer
                return await self._send_bytes(target, file, data)
        finally:
            del self._accepted[file]

    async def _send_bytes(self, target: str, file: str, data: bytes) -> str:
        link = self._open(target, file)
        channel = link.pc.createDataChannel("file", ordered=True)
        channel.bufferedAmountLowThreshold = LOW_WATER
        drained = asyncio.Event()
        channel.on("bufferedamountlow", drained.set)
        channel.on("message", lambda text: link.finish({"ok": "verified"}.get(text, "failed")))
        channel.on("close", lambda: link.finish("failed"))

        async def pump() -> None:
            for offset in range(0, len(data), CHUNK_BYTES):
                while channel.bufferedAmount > HIGH_WATER and not link.done.done():
                    drained.clear()
                    await drained.wait()
                if link.done.done() or channel.readyState != "open":
                    return
                channel.send(data[offset : offset + CHUNK_BYTES])

        channel.on("open", lambda: asyncio.ensure_future(pump()))
        await link.pc.setLocalDescription(await link.pc.createOffer())
        await self._signal(link)
        return await self._close_after(link)

    # -- receiving -------------------------------------------------------------

    async def _on_offer(self, message: FileMessage) -> None:
        raw = message.raw
        size = raw.get("size")
        if not isinstance(size, int) or size < 0 or size > self.max_bytes:
            await self._send("file-decline", message.name, message.file, reason="too-large")
            return
        offer = IncomingFile(
            self,
            message.name,
            message.file,
            str(raw.get("filename", "")),
            size,
            str(raw.get("sha256", "")),
        )
        result = self.on_offer(offer)
        if result is not None:
            await result

    async def _receive(self, offer: IncomingFile, directory: Path) -> Path:
        link = self._open(offer.sender, offer.file)
        chunks: list[bytes] = []
        received = 0
        saved: list[Path] = []

        def on_channel(channel: RTCDataChannel) -> None:
            def on_message(data: bytes | str) -> None:
                nonlocal received
                if isinstance(data, str):
                    if data == "cancel":
                        link.finish("cancelled")
                    return
                chunks.append(data)
                received += len(data)
                if received > offer.size:
                    link.finish("failed")
                elif received == offer.size:
                    whole = b"".join(chunks)
                    good = hashlib.sha256(whole).hexdigest() == offer.sha256
                    channel.send("ok" if good else "bad")
                    if good:
                        target = directory / safe_file_name(offer.filename)
                        target.write_bytes(whole)
                        saved.append(target)
                    link.finish("verified" if good else "failed")

            channel.on("message", on_message)

        link.pc.on("datachannel", on_channel)
        await self._send("file-accept", offer.sender, offer.file)
        outcome = await self._close_after(link, grace=2.0)
        if outcome != "verified":
            raise RuntimeError(f"{offer.filename} from {offer.sender}: {outcome}")
        return saved[0]

    # -- both ------------------------------------------------------------------

    def _open(self, peer: str, file: str) -> _Link:
        link = _Link(peer, file, RTCPeerConnection(self.configuration()))
        self._links[(peer, file)] = link

        @link.pc.on("connectionstatechange")
        def on_state() -> None:
            if link.pc.connectionState == "failed":
                link.finish("failed")

        return link

    async def _close_after(self, link: _Link, grace: float = 0.0) -> str:
        try:
            outcome = await link.done
            if grace:  # the receiver lets the sender read "ok" and close first
                await asyncio.sleep(grace)
            return outcome
        finally:
            self._links.pop((link.peer, link.file), None)
            await link.pc.close()

    async def _signal(self, link: _Link) -> None:
        description = link.pc.localDescription
        await self._send(
            "file-signal",
            link.peer,
            link.file,
            description={"type": description.type, "sdp": description.sdp},
        )

    async def _on_signal(self, link: _Link, raw: dict[str, Any]) -> None:
        description = raw.get("description")
        if isinstance(description, dict):
            await link.pc.setRemoteDescription(
                RTCSessionDescription(sdp=str(description["sdp"]), type=str(description["type"]))
            )
            if description.get("type") == "offer":
                await link.pc.setLocalDescription(await link.pc.createAnswer())
                await self._signal(link)
            for held in link.held:
                await self._add_candidate(link, held)
            link.held.clear()
            return
        candidate = raw.get("candidate")
        if isinstance(candidate, dict):
            if link.pc.remoteDescription is None:
                link.held.append(candidate)
            else:
                await self._add_candidate(link, candidate)

    async def _add_candidate(self, link: _Link, body: dict[str, Any]) -> None:
        line = str(body.get("candidate") or "").removeprefix("candidate:")
        if not line:
            return
        try:
            candidate = candidate_from_sdp(line)
        except (ValueError, IndexError):
            logger.warning("file from %s: ignoring a bad candidate %r", link.peer, line)
            return
        candidate.sdpMid = body.get("sdpMid")
        candidate.sdpMLineIndex = body.get("sdpMLineIndex")
        await link.pc.addIceCandidate(candidate)

    async def _on_message(self, message: FileMessage) -> None:
        if message.type == "file-offer":
            await self._on_offer(message)
            return
        answers = self._accepted.get(message.file)
        if answers is not None and message.type in ("file-accept", "file-decline", "file-cancel"):
            reason = message.raw.get("reason")
            word = {"file-accept": "accept", "file-decline": "declined"}.get(
                message.type, "cancelled"
            )
            await answers.put(f"{word}: {reason}" if reason else word)
        link = self._links.get((message.name, message.file))
        if link is None:
            return
        if message.type == "file-signal":
            await self._on_signal(link, dict(message.raw))
        elif message.type == "file-cancel":
            link.finish("cancelled")
