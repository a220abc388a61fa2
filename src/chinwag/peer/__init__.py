"""A WebRTC peer (aiortc) that speaks chinwag's protocol: ``chinwag peer`` and ``chinwag call``.

Modules, each importable only with the ``chinwag[peer]`` extra except ``cli``:

* :mod:`chinwag.peer.cli` - the two commands' arguments (argparse only).
* :mod:`chinwag.peer.run` - their asyncio bodies.
* :mod:`chinwag.peer.phone` - ringing: answer, decline, busy, dial, hang up.
* :mod:`chinwag.peer.line` - the line a phone's rules act on: its states,
  direction and dial outcome.
* :mod:`chinwag.peer.call` - one RTCPeerConnection: offers, answers, candidates.
* :mod:`chinwag.peer.media` - what a call sends (file, test pattern, tone, echo)
  and does with what it receives (record).

This package does not import aiortc itself, so ``chinwag --help`` works
without it.
"""

__all__: list[str] = []
