"""Headless Chromium for every browser-driving test directory: one set of flags, one launcher.

The flags are the ones known to work on the CI machines (Debian's
``/usr/bin/chromium``, never ``playwright install``):

- ``--allow-loopback-in-peer-connection``: without it a loopback-only host
  gathers no ICE candidates and calls hang with no error;
- ``--disable-features=WebRtcHideLocalIpsWithMdns``: host candidates are
  addresses, not ``<uuid>.local`` names that need multicast;
- the background-networking flags keep Chromium from dialling outside hosts;
- ``--use-fake-ui-for-media-stream`` answers the permission prompt (and, in
  headless mode, ``getDisplayMedia`` with a fake screen); ``=deny`` refuses.

Fake cameras: with ``cameras=N`` Chromium offers ``fake_device_0`` ...
``fake_device_{N-1}``. ``fake_device_1`` is special: Chromium makes the second
fake camera a *depth* camera (16-bit Y16 frames, ``VideoFrame.format`` null)
that WebRTC's encoder drops, so a call switched to it sends nothing.
``tests/browser/test_devices.py`` shows this on a bare page; tests that switch
cameras use ``fake_device_2`` (MJPEG, decoded to I420 like a real webcam).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from playwright.async_api import Browser, Playwright

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "chromium_flags", "launch_chromium"]

CHROMIUM = "/usr/bin/chromium"
_FAKE_DEVICES = "--use-fake-device-for-media-stream"
_FAKE_PROMPT = "--use-fake-ui-for-media-stream"
_NO_MDNS = "--disable-features=WebRtcHideLocalIpsWithMdns"

#: The flags every test browser starts with (one fake camera, permission granted).
CHROMIUM_FLAGS: list[str] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    _FAKE_DEVICES,
    _FAKE_PROMPT,
    "--allow-loopback-in-peer-connection",
    _NO_MDNS,
    "--autoplay-policy=no-user-gesture-required",
]


Prompt = Literal["allow", "deny", "none"]


def chromium_flags(
    *,
    cameras: int | None = 1,
    prompt: Prompt = "allow",
    mdns: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """:data:`CHROMIUM_FLAGS`, changed as asked, then ``extra``.

    ``cameras``: how many fake cameras (fake microphones come with them; 0 means
    microphones only), or None for no fake devices at all (only the host's).
    ``prompt``: the permission prompt says yes, says no, or is not faked (then
    only what a context was granted is allowed). ``mdns``: hide host
    candidates behind mDNS names.
    """
    flags = []
    for flag in CHROMIUM_FLAGS:
        if flag == _FAKE_DEVICES and cameras != 1:
            if cameras is None:
                continue
            flag = f"{_FAKE_DEVICES}=device-count={cameras}"
        elif flag == _FAKE_PROMPT and prompt != "allow":
            if prompt == "none":
                continue
            flag = f"{_FAKE_PROMPT}=deny"
        elif flag == _NO_MDNS and mdns:
            continue
        flags.append(flag)
    return [*flags, *extra]


async def launch_chromium(
    playwright: Playwright,
    *,
    cameras: int | None = 1,
    prompt: Prompt = "allow",
    mdns: bool = False,
    extra: Sequence[str] = (),
) -> Browser:
    """Launch headless Debian Chromium with :func:`chromium_flags`; the caller closes it."""
    flags = chromium_flags(cameras=cameras, prompt=prompt, mdns=mdns, extra=extra)
    return await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
