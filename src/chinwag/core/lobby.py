"""The lobby: the inputs of one chinwag node and their dispatch, with no I/O.

Rules of this module:

* Inputs are method calls: a connection opened (``connect``), a frame from it
  (``receive``), a transport-level fault (``reject``), a connection gone
  (``disconnect``), the presence timer (``flush_presence``), the housekeeping
  tick (``expire``), and, in a cluster, a name-claim result (``claimed``) or an
  event from another node (``bus_event``).
* Each call returns a list of effects (:mod:`chinwag.core.effects`) for the
  transport and the cluster link to carry out, in order. The lobby never
  awaits and never touches a socket, so every rule is unit-tested by calling
  methods and reading the effects.
* The rules live in the modules behind this facade: who is where in
  :mod:`~chinwag.core.directory`, delivery in :mod:`~chinwag.core.outbox`,
  sign-in in :mod:`~chinwag.core.signin`, resume and hand-over in
  :mod:`~chinwag.core.handover`, who receives what in
  :mod:`~chinwag.core.routing`, the call state machine in
  :mod:`~chinwag.core.calls`, coalesced presence in
  :mod:`~chinwag.core.presence`, rooms in :mod:`~chinwag.core.rooms` and
  :mod:`~chinwag.core.roomdesk`, room calls in :mod:`~chinwag.core.roomcall`
  and :mod:`~chinwag.core.calldesk`, hosts' rules in :mod:`~chinwag.core.door`
  and :mod:`~chinwag.core.hostdesk`, other nodes' users in
  :mod:`~chinwag.core.remote`. The desks ask each other through the
  protocols of :mod:`~chinwag.core.ports`.
* Identity is bound to the connection: ``name`` on everything relayed is the
  sender's current username, whatever the client wrote.
* This module is the composition root: it builds every desk and wires them.
  Frames from clients are dispatched in :mod:`~chinwag.core.dispatch`,
  events from other nodes in :mod:`~chinwag.core.nodeevents`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from .calldesk import CallDesk
from .calls import CallBook
from .chat_history import ChatHistory, StoredLine
from .context import Context, Policy
from .desks import Desks
from .directory import Directory
from .dispatch import Dispatch
from .effects import ConnId, Effect, LoadHistory, Release, ReleaseSeat
from .errors import ProtocolError
from .events import BusEvent, RoomSettings
from .greeting import Greeter
from .handover import HandOvers
from .hostdesk import HostDesk
from .invites import Invite
from .moderation import is_waiting_key
from .nodeevents import NodeEvents
from .operations import ServerOperations
from .outbox import Outbox
from .ports import Authenticator, IceProvider
from .presence import RoomPresence
from .recording import RecordingDesk
from .remote import RemoteUsers
from .roomdesk import RoomDesk
from .rooms import Room, RoomBook
from .routing import Router
from .sfu import SfuDesk
from .signin import SignIns
from .status import is_busy, room_call_since

__all__ = ["Lobby", "Policy", "StoredLine"]


class Lobby:
    """All the rules of one chinwag server (one node), fed by a transport."""

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        node: str | None = None,
        authenticator: Authenticator | None = None,
        ice: IceProvider | None = None,
        rooms: RoomBook | None = None,
        invite_secret: bytes | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or Policy()
        self.node = node
        self._clock = clock
        self._directory = Directory()
        self._calls = CallBook()
        self._presence = RoomPresence()
        self._rooms = rooms or RoomBook()
        self._out = Outbox()
        context = Context(
            self.policy,
            node,
            self._directory,
            self._calls,
            self._out,
            self._presence,
            self._rooms,
            clock,
            monotonic,
        )
        self._ctx = context
        self._router = Router(context)
        self._greeter = Greeter(context, ice)
        self._history = ChatHistory(context)
        self._room_calls = CallDesk(context)
        self._desk = RoomDesk(context, self._room_calls)
        self._sfu = SfuDesk(context, self._router)
        self._recording = RecordingDesk(context, self._room_calls)
        self._room_calls.on_leaving = self._recording.left
        self._remote = RemoteUsers(context, self._router, self._desk)
        self._greeter.describe_room = self._desk.describe
        self._sign_ins = SignIns(
            context, self._router, self._greeter, self._history, self._desk, authenticator
        )
        self._hand_overs = HandOvers(
            context, self._sign_ins, self._greeter, self._desk, authenticator is not None
        )
        self._hosts = HostDesk(context, self._desk, self._room_calls, self._history, invite_secret)
        self._desk.gate = self._hosts.door
        self._hosts.end_session = self._sign_ins.leave
        self._greeter.after_welcome = self._hosts.news.tell
        #: The operator's room operations (the HTTP API's); ``close_room`` here drains them.
        self.operations = ServerOperations(context, self._hosts)
        desks = Desks(
            self._router,
            self._sign_ins,
            self._hand_overs,
            self._desk,
            self._room_calls,
            self._history,
            self._sfu,
            self._recording,
            self._hosts,
            self._remote,
        )
        self._frames = Dispatch(context, desks)
        self._sign_ins.on_frame = self._frames.receive
        self._node_events = NodeEvents(context, desks)
        self.error_codes = self._frames.error_codes  # errors the lobby sent, by code

    # -- queries -----------------------------------------------------------

    @property
    def received_types(self) -> Counter[str]:
        """Messages received, by type (for /metrics)."""
        return Counter(self._frames.received)

    @property
    def presence_pending(self) -> bool:
        """True while a ``flush_presence`` call has something to send."""
        return self._presence.pending

    @property
    def connection_count(self) -> int:
        return self._directory.connection_count()

    def usernames(self) -> list[str]:
        return self._directory.names()

    def name_of(self, conn: ConnId) -> str | None:
        member = self._directory.at(conn)
        return member.name if member else None

    def partner_of(self, name: str) -> str | None:
        return self._calls.partner_of(name)

    def call_state(self, name: str) -> str:
        """The state of ``name``'s one-to-one call, in the shared vocabulary (``idle`` if none)."""
        return self._calls.state_of(name).value

    def is_busy(self, name: str) -> bool:
        return is_busy(self._ctx, name)

    def active_calls(self) -> int:
        """Calls in progress with at least one side on this node."""
        return self._calls.active_pairs(set(self._directory.local_names()))

    def local_names(self) -> list[str]:
        """The users signed in on this node (connected or parked)."""
        return self._directory.local_names()

    def public_rooms(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """A page of the public rooms from the ``offset``-th, most people first, and how many
        there are (``list-rooms``, ``GET /api/rooms``)."""
        return self._desk.public_rooms(offset)

    def in_room_call(self, name: str) -> bool:
        """Whether a listed user has a seat in its room's call."""
        return room_call_since(self._ctx, name) > 0

    def room_of(self, name: str) -> str | None:
        """The name of the room a listed user is in (as whoever opened it typed it)."""
        key = self._directory.room_of(name)
        room = self._rooms.get(key) if key is not None else None
        return room.name if room is not None else key

    def ice_for_token(self, token: str) -> dict[str, Any] | None:
        """The ``ice-servers`` message for the session holding ``token``, if any."""
        member = self._directory.by_token(token)
        if member is None or member.name is None:
            return None
        return self._greeter.ice_message(member)

    def check(self) -> None:
        """Assert the core's invariants (for tests): the directory's, the call book's
        and the rooms'."""
        self._directory.check()
        self._calls.check()
        rooms = {key: self._directory.members_of(key) for key in self._directory.room_keys()}
        self._rooms.check(rooms, rooms)

    # -- inputs from connections ---------------------------------------------

    def parked_from(self, address: str) -> int:
        """Parked sessions last connected from ``address``; the transport counts them
        against that address's connection limit (and ``parked_count`` against the total)."""
        return self._directory.parked_from(address)

    @property
    def parked_count(self) -> int:
        return self._directory.parked_count()

    def connect(self, conn: ConnId, address: str = "") -> list[Effect]:
        """A socket opened from ``address`` (per-address limits): greet it with its ``id``."""
        self._directory.open(self._sign_ins.new_member(conn, address))
        self._out.send((conn,), {"type": "id", "id": conn})
        return self._out.drain()

    def receive(self, conn: ConnId, data: str | bytes) -> list[Effect]:
        """One text frame from ``conn``; bad input is answered to it alone."""
        member = self._directory.at(conn)
        if member is not None:
            if member.pending is not None:
                self._sign_ins.hold(member, data)
            else:
                self._frames.receive(member, data)
        return self._out.drain()

    def reject(self, conn: ConnId, error: ProtocolError) -> list[Effect]:
        """A fault the transport found (binary frame, oversized frame)."""
        if self._directory.at(conn) is not None:
            self._out.send((conn,), error.as_message())
        return self._out.drain()

    def disconnect(self, conn: ConnId, clean: bool = True) -> list[Effect]:
        """``conn`` is gone. ``clean`` is False when the socket just dropped.

        A dropped signed-in user is parked for ``resume_grace``; anyone else
        leaves at once.
        """
        member = self._directory.at(conn)
        if member is not None:
            self._hand_overs.dropped(member, clean)
        return self._out.drain()

    def expire(self) -> list[Effect]:
        """Housekeeping, about once a second: end lapsed parks, refresh ICE credentials,
        release idle room-call seats."""
        self._hand_overs.expire()
        self._room_calls.release_idle()
        self._hosts.invites.prune(self._clock())
        return self._out.drain()

    def flush_presence(self) -> list[Effect]:
        """Send the coalesced presence changes; call every interval while pending."""
        for room, update in self._presence.take(self._directory.members_of, self.is_busy):
            if is_waiting_key(room):  # knockers see no list; the room's hosts see them
                self._hosts.news.tell_waiting(room)
                continue
            connected = list(self._directory.connected_in(room))
            if update.list_changed:
                names = list(self._directory.members_of(room))
                reference = (m.conn for m in connected if "deltas" not in m.features)
                self._out.send(reference, {"type": "userlist", "users": names})
            if update.delta is not None:
                deltas = (
                    m.conn
                    for m in connected
                    if "deltas" in m.features and m.conn not in update.fresh
                )
                self._out.send(deltas, update.delta)
            self._out.send(update.fresh, self._full_list(room))
        return self._out.drain()

    # -- inputs from the history store -----------------------------------------

    def history_loaded(self, load: LoadHistory, lines: list[StoredLine] | None) -> list[Effect]:
        """The store answered ``load`` (oldest first), or None: it could not be read in time."""
        self._history.loaded(load, lines)
        return self._out.drain()

    # -- inputs from the SFU link ----------------------------------------------

    def sfu_reply(self, room: str, opened: int, name: str, message: dict[str, Any]) -> list[Effect]:
        """The SFU link's answer (``sfu-published``, ``sfu-offer``, an ``error``) for ``name``."""
        self._sfu.reply(room, opened, name, message)
        return self._out.drain()

    def sfu_speaker(self, room: str, opened: int, name: str) -> list[Effect]:
        """Janus says ``name`` is talking in that SFU call."""
        self._sfu.speaker(room, opened, name)
        return self._out.drain()

    def sfu_recording_failed(self, room: str, opened: int, since: int, reason: str) -> list[Effect]:
        """The SFU link could not start, or lost, the recording ``since`` of that call."""
        self._recording.failed(room, opened, since, reason)
        return self._out.drain()

    # -- inputs from the cluster ---------------------------------------------

    def claimed(self, conn: ConnId, name: str, ok: bool) -> list[Effect]:
        """The bus answered a :class:`~chinwag.core.effects.Claim` for ``conn``."""
        member = self._directory.at(conn)
        if member is not None:
            self._sign_ins.claimed(member, name, ok)
        elif ok:
            self._out.emit(Release(name))
        return self._out.drain()

    def seat_claimed(self, conn: ConnId, room: str, name: str, ok: bool) -> list[Effect]:
        """The bus answered a :class:`~chinwag.core.effects.ClaimSeat` for ``conn``."""
        member = self._directory.at(conn)
        if member is not None and member.name == name:
            self._room_calls.seat_claimed(member, room, ok)
        elif ok:
            self._out.emit(ReleaseSeat(room, name))
        return self._out.drain()

    def room_claimed(self, conn: ConnId, key: str, won: RoomSettings | None) -> list[Effect]:
        """The bus answered a :class:`~chinwag.core.effects.ClaimRoom` for ``conn`` with
        room ``key``'s winning settings (None: the store was unreachable)."""
        member = self._directory.at(conn)
        try:
            if member is None or not self._sign_ins.room_claimed(member, key, won):
                self._desk.room_claimed(conn, member, won)
        except ProtocolError as error:
            self._out.send((conn,), error.as_message())
        self._desk.claims.answered(key)
        return self._out.drain()

    def claim_failed(self, conn: ConnId) -> list[Effect]:
        """The bus could not be asked (Redis down): refuse the sign-in clearly."""
        member = self._directory.at(conn)
        if member is not None:
            self._sign_ins.claim_failed(member)
        return self._out.drain()

    def undelivered(self, node: str, event: BusEvent) -> list[Effect]:
        """The cluster link could not carry ``event`` to ``node`` (the bus is down):
        a relayed message's sender hears ``unavailable``; a resume signs in afresh."""
        self._node_events.undelivered(event)
        return self._out.drain()

    def bus_event(self, event: BusEvent) -> list[Effect]:
        """An event from another node."""
        self._node_events.handle(event)
        return self._out.drain()

    # -- operations on rooms (an HTTP API's, acting as the server) --------------

    def remove_participant(self, room: str, name: str, ban: bool = False) -> list[Effect]:
        """Remove ``name`` from ``room`` (``ban``: for the room's lifetime), as the server."""
        self._hosts.remove(room, name, ban)
        return self._out.drain()

    def end_call(self, room: str) -> list[Effect]:
        """End ``room``'s call for everyone in it."""
        self._hosts.end_call(room)
        return self._out.drain()

    def post_system_message(self, room: str, text: str) -> list[Effect]:
        """A ``moderation`` message with action ``say`` and no sender, to everyone in ``room``."""
        self._hosts.say(room, text)
        return self._out.drain()

    def mint_invite(
        self, room: str, role: str, ttl: float, single: bool = False, opens_lock: bool = False
    ) -> tuple[str, Invite]:
        """A signed invite link token to ``room`` (``role`` guest or moderator)."""
        return self._hosts.mint(room, role, ttl, single=single, opens_lock=opens_lock)

    def close_room(self, room: Room) -> list[Effect]:
        """Remove everyone from ``room`` on every node and forget it if the API opened it."""
        self.operations.close_room(room)
        return self._out.drain()

    def room_control(self, room: str) -> dict[str, Any] | None:
        """Room ``room``'s roles, entry, hands and waiting list (None: nobody hosts it)."""
        return self._hosts.news.describe(room)

    def _full_list(self, room: str) -> dict[str, Any]:
        names = list(self._directory.members_of(room))
        busy = [name for name in names if self.is_busy(name)]
        return {"type": "userlist", "users": names, "busy": busy}
