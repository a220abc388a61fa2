"""The desks of one lobby, as the lobby wired them (no I/O).

The lobby (:mod:`~chinwag.core.lobby`, the composition root) builds every
desk and hands them, in one record, to the two dispatchers: frames from
clients (:mod:`~chinwag.core.dispatch`) and events from other nodes
(:mod:`~chinwag.core.nodeevents`). No desk imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from .calldesk import CallDesk
from .chat_history import ChatHistory
from .handover import HandOvers
from .hostdesk import HostDesk
from .recording import RecordingDesk
from .remote import RemoteUsers
from .roomdesk import RoomDesk
from .routing import Router
from .sfu import SfuDesk
from .signin import SignIns

__all__ = ["Desks"]


@dataclass(frozen=True, slots=True)
class Desks:
    """Every desk of one lobby."""

    router: Router
    sign_ins: SignIns
    hand_overs: HandOvers
    rooms: RoomDesk
    calls: CallDesk
    history: ChatHistory
    sfu: SfuDesk
    recording: RecordingDesk
    hosts: HostDesk
    remote: RemoteUsers
