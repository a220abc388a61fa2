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
  sign-in and resume in :mod:`~chinwag.core.sessions`, who receives what in
  :mod:`~chinwag.core.routing`, the call state machine in
  :mod:`~chinwag.core.calls`, coalesced presence in
  :mod:`~chinwag.core.presence`, rooms and room calls in
  :mod:`~chinwag.core.rooms` and :mod:`~chinwag.core.roomdesk`, other
  nodes' users in :mod:`~chinwag.core.remote`.
* Identity is bound to the connection: ``name`` on everything relayed is the
  sender's current username, whatever the client wrote.
* A fault inside the core while handling one frame is logged and answered to
  that sender alone (``server-error``); the rules compute before they change
  anything, so no other connection is touched.
* A little over chinwag's ~400-line guide: every input, and every event from
  another node, is dispatched here so that one file shows all of them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Final, Protocol

from .calls import CallBook
from .chat_history import ChatHistory, StoredLine
from .context import Context, Policy
from .directory import Directory, Member, MemberState
from .effects import ConnId, Effect, LoadHistory, Release, ReleaseSeat
from .errors import ProtocolError, error_message
from .events import (
    BusEvent,
    ChatLine,
    Deliver,
    HostOrder,
    InvitesSpent,
    Joined,
    Left,
    Moved,
    NamesLost,
    NodeGone,
    NodeUsers,
    Relayed,
    Renamed,
    ResumeGrant,
    ResumeRefused,
    ResumeRequest,
    RoomControl,
    RoomNotice,
    RoomSettings,
    Status,
    TakeOver,
    Undeliverable,
)
from .greeting import Greeter
from .hostdesk import HostDesk
from .invites import Invite
from .moderation import is_waiting_key
from .operations import ServerOperations
from .outbox import Outbox
from .presence import RoomPresence
from .protocol import (
    Chat,
    HistoryRequest,
    Inbound,
    JoinRoom,
    RecordingRequest,
    Relay,
    RoomAction,
    RoomRequest,
    SfuRequest,
    SignIn,
    parse_frame,
)
from .recording import RecordingDesk
from .remote import RemoteUsers
from .roomdesk import RoomDesk
from .rooms import Room, RoomBook
from .routing import Router, message_type
from .sessions import Sessions
from .sfu import SfuDesk

__all__ = ["Authenticator", "IceProvider", "Lobby", "Policy", "StoredLine"]

log = logging.getLogger(__name__)

#: Relayed types counted by name in /metrics; any other is "other", so that
#: client-chosen type names cannot create unlimited metric labels.
_METRIC_TYPES: Final = frozenset(
    {
        "video-offer",
        "video-answer",
        "new-ice-candidate",
        "hang-up",
        "call-invite",
        "call-accept",
        "call-decline",
        "call-connected",
        "media-state",
        "call-diagnosis",
        "call-report",
        "room-signal",
    }
)


def _metric_type(message: Inbound) -> str:
    if message.__class__ is Relay:  # the hot path: one attribute, one set lookup
        kind = message.type
        return kind if kind in _METRIC_TYPES else "other"
    return message_type(message)


class Authenticator(Protocol):
    def check(self, name: str, credential: str | None, now: float) -> float | None:
        """The expiry of a signed token that lets ``name`` sign in, None for a password;
        raise ProtocolError if ``credential`` does not."""


class IceProvider(Protocol):
    @property
    def relays(self) -> bool:
        """Whether it hands out TURN relays."""

    def for_user(self, name: str, now: float, turn: bool = True) -> dict[str, Any]:
        """The ``ice-servers`` message for ``name``; ``expires`` is Unix time or None;
        without TURN credentials when ``turn`` is False."""


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
        self._received: dict[str, int] = {}  # messages by type; a plain dict counts faster
        self.error_codes: Counter[str] = Counter()  # errors the lobby sent, by code
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
        self._router = Router(context)
        self._greeter = Greeter(context, ice)
        self._history = ChatHistory(context, self._router)
        self._desk = RoomDesk(context, self._router)
        self._sfu = SfuDesk(context, self._router)
        self._recording = RecordingDesk(context, self._desk)
        self._desk.on_leaving = self._recording.left
        self._remote = RemoteUsers(context, self._router, self._desk)
        self._greeter.describe_room = self._desk.describe
        self._sessions = Sessions(
            context, self._router, self._greeter, self._history, self._desk, authenticator
        )
        self._sessions.on_frame = self._receive
        self._hosts = HostDesk(context, self._router, self._desk, self._history, invite_secret)
        self._desk.gate = self._hosts
        self._hosts.end_session = self._sessions.leave
        self._greeter.after_welcome = self._hosts.news.tell
        #: The operator's room operations (the HTTP API's); ``close_room`` here drains them.
        self.operations = ServerOperations(context, self._hosts)

    # -- queries -----------------------------------------------------------

    @property
    def received_types(self) -> Counter[str]:
        """Messages received, by type (for /metrics)."""
        return Counter(self._received)

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
        return self._router.is_busy(name)

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
        return self._router.room_call_since(name) > 0

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
        self._directory.open(self._sessions.new_member(conn, address))
        self._out.send((conn,), {"type": "id", "id": conn})
        return self._out.drain()

    def receive(self, conn: ConnId, data: str | bytes) -> list[Effect]:
        """One text frame from ``conn``; bad input is answered to it alone."""
        member = self._directory.at(conn)
        if member is not None:
            if member.pending is not None:
                self._sessions.hold(member, data)
            else:
                self._receive(member, data)
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
            self._sessions.dropped(member, clean)
        return self._out.drain()

    def expire(self) -> list[Effect]:
        """Housekeeping, about once a second: end lapsed parks, refresh ICE credentials,
        release idle room-call seats."""
        self._sessions.expire()
        self._desk.release_idle()
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
            self._sessions.claimed(member, name, ok)
        elif ok:
            self._out.emit(Release(name))
        return self._out.drain()

    def seat_claimed(self, conn: ConnId, room: str, name: str, ok: bool) -> list[Effect]:
        """The bus answered a :class:`~chinwag.core.effects.ClaimSeat` for ``conn``."""
        member = self._directory.at(conn)
        if member is not None and member.name == name:
            self._desk.seat_claimed(member, room, ok)
        elif ok:
            self._out.emit(ReleaseSeat(room, name))
        return self._out.drain()

    def room_claimed(self, conn: ConnId, key: str, won: RoomSettings | None) -> list[Effect]:
        """The bus answered a :class:`~chinwag.core.effects.ClaimRoom` for ``conn`` with
        room ``key``'s winning settings (None: the store was unreachable)."""
        member = self._directory.at(conn)
        try:
            if member is None or not self._sessions.room_claimed(member, key, won):
                self._desk.room_claimed(conn, member, won)
        except ProtocolError as error:
            self._out.send((conn,), error.as_message())
        self._desk.claims.answered(key)
        return self._out.drain()

    def claim_failed(self, conn: ConnId) -> list[Effect]:
        """The bus could not be asked (Redis down): refuse the sign-in clearly."""
        member = self._directory.at(conn)
        if member is not None:
            self._sessions.claim_failed(member)
        return self._out.drain()

    def undelivered(self, node: str, event: BusEvent) -> list[Effect]:
        """The cluster link could not carry ``event`` to ``node`` (the bus is down):
        a relayed message's sender hears ``unavailable``; a resume signs in afresh."""
        match event:
            case Deliver(sender=sender, target=target, kind=kind):
                self._router.unavailable(sender, target, kind)
            case ResumeRequest(conn=conn) | TakeOver(conn=conn):
                member = self._directory.at(conn)
                if member is not None:
                    self._sessions.resume_refused(member)
        return self._out.drain()

    def bus_event(self, event: BusEvent) -> list[Effect]:
        """An event from another node."""
        match event:
            case Joined(user=user):
                self._remote.joined(user)
            case Left(name=name, node=node):
                self._remote.left(name, node)
            case Renamed(old=old, new=new, node=node):
                self._remote.renamed(old, new, node)
            case Moved(user=user):
                self._remote.moved(user)
            case Status():
                self._remote.status(event)
            case ChatLine(name=name, id=conn, date=date, text=text, room=room):
                self._router.deliver_chat(name, conn, date, text, room)
            case Relayed(payload=payload, room=room):
                self._router.broadcast(payload, room)
            case Deliver():
                self._router.deliver_from_node(event)
            case Undeliverable(sender=sender, target=target, kind=kind, full=full):
                self._router.undeliverable(sender, target, kind, full)
            case NodeGone(node=node):
                self._remote.sync_node(node, ())
                self._hosts.node_lost()
            case NodeUsers(node=node, users=users):
                self._remote.sync_node(node, users)
                self._hosts.node_lost()
                self._hosts.node_joined()
            case RoomControl():
                self._hosts.control_from_node(event)
            case HostOrder():
                self._hosts.carry_out(event, here=False)
            case InvitesSpent():
                self._hosts.invites_from_node(event)
            case RoomNotice(room=room, payload=payload):
                self._hosts.news.deliver(room, payload)
            case NamesLost(names=names):
                self._sessions.names_lost(names)
            case ResumeRequest():
                self._sessions.hand_over(event)
            case TakeOver():
                self._sessions.give_way(event)
            case ResumeGrant():
                self._sessions.take_over(event)
            case ResumeRefused(conn=conn):
                member = self._directory.at(conn)
                if member is not None:
                    self._sessions.resume_refused(member)
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

    # -- dispatch ------------------------------------------------------------

    def _receive(self, member: Member, data: str | bytes) -> None:
        try:
            message = parse_frame(data)
            kind = _metric_type(message)
            self._received[kind] = self._received.get(kind, 0) + 1
            if self._router.within_rate(member, message):
                self._dispatch(member, message)
        except ProtocolError as error:
            self.error_codes[error.code] += 1
            self._out.send((member.conn,), error.as_message())
        except Exception:  # a bug: this sender alone hears of it; the others go on
            log.exception("lobby: failed on a frame from %s (%s)", member.conn, member.name)
            self.error_codes["server-error"] += 1
            failed = error_message("server-error", "The server failed to handle that message.")
            self._out.send((member.conn,), failed)

    def _dispatch(self, member: Member, message: Inbound) -> None:
        if isinstance(message, SignIn):
            self._sessions.sign_in(member, message)
        elif member.state is MemberState.SIGNING_IN or member.name is None:
            kind = message_type(message)
            raise ProtocolError("not-signed-in", "Sign in with a `username` message first.", kind)
        elif message.__class__ is Relay and not is_waiting_key(member.room):  # the hot path
            self._router.relay(member, message)
        elif is_waiting_key(member.room) and not isinstance(message, JoinRoom):
            raise ProtocolError(
                "waiting",
                "You are waiting for a host to let you in; that has to wait too.",
                message_type(message),
            )
        elif isinstance(message, Chat):
            self._router.chat(member, message.text)
        elif isinstance(message, JoinRoom):
            room, password, public, title, invite = message
            before = member.room
            self._desk.join_room(member, room, password, public, title, invite)
            if member.room != before:  # a new room: its history, as on signing in
                self._history.joined(member)
        elif isinstance(message, RoomRequest):
            self._room_request(member, message)
        elif isinstance(message, HistoryRequest):
            self._history.request(member, message)
        elif isinstance(message, SfuRequest):
            self._sfu.request(member, message)
        elif isinstance(message, RecordingRequest):
            self._recording.request(member, message)
        elif isinstance(message, RoomAction):
            self._hosts.act(member, message)
        else:
            assert isinstance(message, Relay)
            self._router.relay(member, message)

    def _room_request(self, member: Member, request: RoomRequest) -> None:
        kind = request.type
        if kind == "list-rooms":
            self._desk.list_rooms(member, request.offset)
        elif kind == "room-call-join":
            self._desk.call_join(member)
        else:
            self._desk.call_leave(member)

    def _full_list(self, room: str) -> dict[str, Any]:
        names = list(self._directory.members_of(room))
        busy = [name for name in names if self.is_busy(name)]
        return {"type": "userlist", "users": names, "busy": busy}
