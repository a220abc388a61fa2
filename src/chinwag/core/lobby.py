"""The lobby: presence, names, chat and routing rules, with no I/O.

Rules of this module:

* Inputs are method calls: a connection opened (``connect``), a frame from it
  (``receive``), a transport-level fault (``reject``), a connection gone
  (``disconnect``), the presence timer (``flush_presence``), the housekeeping
  tick (``expire``), and, in a cluster, a name-claim result (``claimed``) or an
  event from another node (``bus_event``).
* Each call returns a list of effects for the transport to carry out, in
  order: :class:`Send` one payload to some connections, :class:`Close` one,
  and in a cluster :class:`Claim`/:class:`Release`/:class:`UpdateRecord` a
  name and :class:`Publish`/:class:`Forward` an event. The lobby never awaits
  and never touches a socket, so every rule is unit-tested by calling methods
  and reading the effects.
* Identity is bound to the connection: ``name`` on everything relayed is the
  sender's current username, whatever the client wrote.
* Presence is coalesced: changes are recorded as they happen and sent at most
  once per ``flush_presence`` call (the transport calls it every interval
  while ``presence_pending`` is true). Reference clients get the full
  ``userlist``; ``deltas`` clients get one full list, then ``presence`` deltas.
* The lobby knows who is in a call with whom from the signaling it relays
  (offer/invite, answer/accept, decline, hang-up), marks them busy, and hangs
  up the partners of a user who leaves for good.
* A connection lost without a closing handshake is *parked* for
  ``resume_grace``: the user stays in everyone's list and targeted messages
  queue (bounded) until the client signs in again with its resume token.
* Standalone (``node=None``) a name is free when this lobby does not know it.
  In a cluster every name is claimed through the bus first; users of other
  nodes are known from their presence events.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .calls import CallBook
from .effects import (
    Adopt,
    Claim,
    Close,
    ConnId,
    Effect,
    Forward,
    HandOver,
    Publish,
    Release,
    Send,
    UpdateRecord,
)
from .errors import ProtocolError, error_message
from .events import (
    BusEvent,
    ChatLine,
    Deliver,
    Joined,
    Left,
    NamesLost,
    NodeGone,
    NodeUsers,
    Relayed,
    Renamed,
    ResumeGrant,
    ResumeRefused,
    ResumeRequest,
    Status,
    Undeliverable,
    UserRecord,
)
from .limits import Rate, TokenBucket
from .presence import PresenceTracker
from .protocol import (
    Chat,
    Inbound,
    Relay,
    SignIn,
    encode,
    escape_html,
    numbered_name,
    parse_frame,
    relayed,
    strip_tags,
    with_seq,
)

__all__ = ["Authenticator", "IceProvider", "Lobby", "Policy"]

_MAX_CLAIM_TRIES = 50
#: Targeted messages kept after sending, for a resume to send again what the old
#: socket may have lost before anyone noticed it was dead ("seq" clients only).
RECENT_MESSAGES = 64
RECENT_BYTES = 64 * 1024
RESUME_WAIT = 3.0  # seconds to wait for another node's session before signing in afresh
TAKEN_OVER = 4001  # close code: the session was resumed on another connection
NAME_LOST = 4002  # close code: the name went to another node during a cluster split


#: Relayed types counted by name in /metrics; any other is "other", so that
#: client-chosen type names cannot create unlimited metric labels.
_METRIC_TYPES = frozenset(
    {
        "video-offer",
        "video-answer",
        "new-ice-candidate",
        "hang-up",
        "call-invite",
        "call-accept",
        "call-decline",
        "media-state",
    }
)


def _metric_type(message: Inbound) -> str:
    if isinstance(message, SignIn):
        return "username"
    if isinstance(message, Chat):
        return "message"
    return message.type if message.type in _METRIC_TYPES else "other"


# -- collaborators -------------------------------------------------------


class Authenticator(Protocol):
    def check(self, name: str, credential: str | None, now: float) -> None:
        """Return if ``credential`` lets ``name`` sign in; raise ProtocolError if not."""


class IceProvider(Protocol):
    def for_user(self, name: str, now: float) -> dict[str, Any]:
        """The ``ice-servers`` message for ``name``; ``expires`` is Unix time or None."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Limits and timings of the lobby (built from Settings by the server)."""

    chat_rate: Rate = Rate(5.0, 20.0)
    signal_rate: Rate = Rate(200.0, 1000.0)
    resume_grace: float = 30.0
    backlog_messages: int = 256
    backlog_bytes: int = 256 * 1024
    ring_timeout: float = 30.0


# -- state ---------------------------------------------------------------


@dataclass(slots=True)
class _ClaimInFlight:
    """A sign-in waiting for the cluster: a name claim, or another node's session."""

    request: SignIn
    name: str
    number: int
    notice: dict[str, Any] | None
    held: list[str | bytes] = field(default_factory=list)  # frames that came meanwhile
    resume_until: float | None = None  # waiting for another node to hand a session over


@dataclass(slots=True, eq=False)
class _Member:
    """One user of this node: connected, or parked while it may resume."""

    conn: ConnId | None
    chat_bucket: TokenBucket
    signal_bucket: TokenBucket
    name: str | None = None
    features: frozenset[str] = frozenset()
    token: str | None = None
    parked_until: float = 0.0
    backlog: list[bytes] | None = None
    backlog_size: int = 0
    claim: _ClaimInFlight | None = None
    ice_refresh_at: float | None = None
    warned_at: float = -1.0
    seq: int = 0  # the last ``seq`` given to a targeted message ("seq" feature)
    recent: deque[tuple[int, bytes]] | None = None  # sent, maybe lost (made on first use)
    recent_size: int = 0


class Lobby:
    """All the rules of one chinwag server (one node), fed by a transport."""

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        node: str | None = None,
        authenticator: Authenticator | None = None,
        ice: IceProvider | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or Policy()
        self.node = node
        self._auth = authenticator
        self._ice = ice
        self._clock = clock  # wall clock: chat dates, credential expiry
        self._monotonic = monotonic  # durations: rates, grace periods
        self._members: dict[ConnId, _Member] = {}  # connected, by connection
        self._local: dict[str, _Member] = {}  # signed in here (connected or parked)
        self._remote: dict[str, UserRecord] = {}  # signed in on other nodes
        self._order: dict[str, None] = {}  # every name, in list order
        self._tokens: dict[str, _Member] = {}
        self._parked: dict[str, _Member] = {}
        self._calls = CallBook()
        self.received_types: Counter[str] = Counter()  # messages by type, for /metrics
        self.error_codes: Counter[str] = Counter()  # errors the lobby sent, by code
        self._presence = PresenceTracker()
        self._out: list[Effect] = []

    # -- queries -----------------------------------------------------------

    @property
    def presence_pending(self) -> bool:
        """True while a ``flush_presence`` call has something to send."""
        return self._presence.pending

    @property
    def connection_count(self) -> int:
        return len(self._members)

    def usernames(self) -> list[str]:
        return list(self._order)

    def name_of(self, conn: ConnId) -> str | None:
        member = self._members.get(conn)
        return member.name if member else None

    def partner_of(self, name: str) -> str | None:
        return self._calls.partner_of(name)

    def is_busy(self, name: str) -> bool:
        remote = self._remote.get(name)
        if remote is not None:
            return remote.busy
        return self._calls.in_call(name)

    def active_calls(self) -> int:
        """Calls in progress with at least one side on this node."""
        return self._calls.active_pairs(self._local)

    def local_names(self) -> list[str]:
        """The users signed in on this node (connected or parked)."""
        return list(self._local)

    def ice_for_token(self, token: str) -> dict[str, Any] | None:
        """The ``ice-servers`` message for the session holding ``token``, if any."""
        member = self._tokens.get(token)
        if member is None or member.name is None:
            return None
        return self._ice_message(member.name)

    # -- inputs from connections ---------------------------------------------

    def connect(self, conn: ConnId) -> list[Effect]:
        """A socket opened: greet it with its ``id`` (it signs in next)."""
        self._members[conn] = self._new_member(conn)
        self._send((conn,), {"type": "id", "id": conn})
        return self._drain()

    def receive(self, conn: ConnId, data: str | bytes) -> list[Effect]:
        """One text frame from ``conn``; bad input is answered to it alone."""
        member = self._members.get(conn)
        if member is not None:
            if member.claim is not None:
                member.claim.held.append(data)
            else:
                self._receive(member, data)
        return self._drain()

    def _new_member(self, conn: ConnId | None) -> _Member:
        now = self._monotonic()
        chat, signal = self.policy.chat_rate, self.policy.signal_rate
        return _Member(conn, TokenBucket(chat, now), TokenBucket(signal, now))

    def reject(self, conn: ConnId, error: ProtocolError) -> list[Effect]:
        """A fault the transport found (binary frame, oversized frame)."""
        if conn in self._members:
            self._send((conn,), error.as_message())
        return self._drain()

    def disconnect(self, conn: ConnId, clean: bool = True) -> list[Effect]:
        """``conn`` is gone. ``clean`` is False when the socket just dropped.

        A dropped signed-in user is parked for ``resume_grace``; anyone else
        leaves at once.
        """
        member = self._members.pop(conn, None)
        if member is None:
            return []
        if member.name is None:
            return self._drain()
        self._presence.forget(conn)
        if not clean and self.policy.resume_grace > 0:
            member.conn = None
            member.parked_until = self._monotonic() + self.policy.resume_grace
            member.backlog = []
            self._parked[member.name] = member
        else:
            self._leave(member)
        return self._drain()

    def expire(self) -> list[Effect]:
        """Housekeeping, about once a second: end lapsed parks, refresh ICE credentials."""
        now = self._monotonic()
        for member in [m for m in self._parked.values() if m.parked_until <= now]:
            self._leave(member)
        for conn, member in list(self._members.items()):
            claim = member.claim
            if claim is not None and claim.resume_until is not None and claim.resume_until <= now:
                self._resume_refused(conn)  # the other node never answered
        for member in self._members.values():
            if member.ice_refresh_at is not None and member.ice_refresh_at <= now:
                self._send_ice_servers(member)
        return self._drain()

    def flush_presence(self) -> list[Effect]:
        """Send the coalesced presence changes; call every interval while pending."""
        update = self._presence.take(self._order, self.is_busy)
        legacy = tuple(c for c, m in self._connected() if "deltas" not in m.features)
        if update.list_changed:
            self._send(legacy, {"type": "userlist", "users": self.usernames()})
        if update.delta is not None:
            deltas = tuple(
                c for c, m in self._connected() if "deltas" in m.features and c not in update.fresh
            )
            self._send(deltas, update.delta)
        self._send(tuple(update.fresh), self._full_list())
        return self._drain()

    # -- inputs from the cluster ---------------------------------------------

    def claimed(self, conn: ConnId, name: str, ok: bool) -> list[Effect]:
        """The bus answered a :class:`Claim` for ``conn``."""
        member = self._members.get(conn)
        claim = member.claim if member is not None else None
        if member is None or claim is None or claim.name != name:
            if ok:
                self._out.append(Release(name))
            return self._drain()
        if not ok:
            self._try_next_name(member, claim)
            return self._drain()
        member.claim = None
        self._complete_sign_in(member, claim.request, name, claim.notice)
        self._release_held(member, claim.held)
        return self._drain()

    def claim_failed(self, conn: ConnId) -> list[Effect]:
        """The bus could not be asked (Redis down): refuse the sign-in clearly."""
        member = self._members.get(conn)
        if member is not None and member.claim is not None:
            held, member.claim = member.claim.held, None
            error = ProtocolError(
                "unavailable",
                "Sign-in is paused while the cluster store is unreachable.",
                "username",
            )
            self._send((conn,), error.as_message())
            for data in held:
                self._receive(member, data)
        return self._drain()

    def bus_event(self, event: BusEvent) -> list[Effect]:
        """An event from another node."""
        if isinstance(event, Joined):
            self._remote_joined(event.user)
        elif isinstance(event, Left):
            self._remote_left(event.name, event.node)
        elif isinstance(event, Renamed):
            self._remote_renamed(event)
        elif isinstance(event, Status):
            self._remote_status(event)
        elif isinstance(event, ChatLine):
            self._deliver_chat(event.name, event.id, event.date, event.text)
        elif isinstance(event, Relayed):
            self._send_payload(self._connected_conns(), event.payload)
        elif isinstance(event, Deliver):
            self._deliver_from_node(event)
        elif isinstance(event, Undeliverable):
            self._undeliverable(event.sender, event.target, event.kind)
        elif isinstance(event, NodeGone):
            self._sync_node(event.node, ())
        elif isinstance(event, NodeUsers):
            self._sync_node(event.node, event.users)
        elif isinstance(event, NamesLost):
            self._names_lost(event.names)
        elif isinstance(event, ResumeRequest):
            self._hand_over(event)
        elif isinstance(event, ResumeGrant):
            self._take_over(event)
        elif isinstance(event, ResumeRefused):
            self._resume_refused(event.conn)
        return self._drain()

    # -- effects plumbing ----------------------------------------------------

    def _drain(self) -> list[Effect]:
        out, self._out = self._out, []
        return out

    def _send(self, conns: tuple[ConnId, ...], message: dict[str, Any]) -> None:
        if conns:
            self._out.append(Send(conns, encode(message)))

    def _send_payload(self, conns: tuple[ConnId, ...], payload: bytes) -> None:
        if conns:
            self._out.append(Send(conns, payload))

    def _to_member(self, member: _Member, payload: bytes) -> None:
        """Deliver now, or queue while the member is parked."""
        numbered = "seq" in member.features
        if numbered:
            member.seq += 1
            payload = with_seq(payload, member.seq)
        if member.conn is not None:
            self._out.append(Send((member.conn,), payload))
            if numbered:
                self._remember(member, payload)
            return
        assert member.backlog is not None
        member.backlog.append(payload)
        member.backlog_size += len(payload)
        if (
            len(member.backlog) > self.policy.backlog_messages
            or member.backlog_size > self.policy.backlog_bytes
        ):
            self._leave(member)  # more than a resume can catch up with: gone for good

    def _remember(self, member: _Member, payload: bytes) -> None:
        if member.recent is None:
            member.recent = deque()
        member.recent.append((member.seq, payload))
        member.recent_size += len(payload)
        while len(member.recent) > RECENT_MESSAGES or member.recent_size > RECENT_BYTES:
            member.recent_size -= len(member.recent.popleft()[1])

    @staticmethod
    def _missed(member: _Member, seq: int) -> list[bytes]:
        """What ``member``'s client has not received, if it last got ``seq``."""
        lost = [payload for number, payload in member.recent or () if number > seq]
        return lost + (member.backlog or [])

    def _connected(self) -> Iterator[tuple[ConnId, _Member]]:
        for member in self._local.values():
            if member.conn is not None:
                yield member.conn, member

    def _connected_conns(self) -> tuple[ConnId, ...]:
        return tuple(m.conn for m in self._local.values() if m.conn is not None)

    # -- dispatch ------------------------------------------------------------

    def _receive(self, member: _Member, data: str | bytes) -> None:
        assert member.conn is not None
        try:
            message = parse_frame(data)
            self.received_types[_metric_type(message)] += 1
            if self._within_rate(member, message):
                self._dispatch(member, message)
        except ProtocolError as error:
            self.error_codes[error.code] += 1
            self._send((member.conn,), error.as_message())

    def _within_rate(self, member: _Member, message: Inbound) -> bool:
        now = self._monotonic()
        if isinstance(message, Relay):
            bucket, rate, kind = member.signal_bucket, self.policy.signal_rate, message.type
        else:
            bucket, rate = member.chat_bucket, self.policy.chat_rate
            kind = "message" if isinstance(message, Chat) else "username"
        if bucket.take(rate, now):
            return True
        if now - member.warned_at >= 1.0:  # one warning a second, not one per frame
            member.warned_at = now
            raise ProtocolError(
                "rate-limited",
                f"Too many messages: at most {rate.per_second:g} per second "
                f"(bursts of {rate.burst:g}); this {kind} and others until the rate "
                "drops were not delivered.",
                kind,
            )
        return False

    def _dispatch(self, member: _Member, message: Inbound) -> None:
        if isinstance(message, SignIn):
            self._sign_in(member, message)
        elif member.name is None:
            kind = "message" if isinstance(message, Chat) else message.type
            raise ProtocolError("not-signed-in", "Sign in with a `username` message first.", kind)
        elif isinstance(message, Chat):
            assert member.conn is not None
            self._chat(member.name, member.conn, message.text)
        else:
            self._relay(member.name, message)

    # -- signing in ----------------------------------------------------------

    def _sign_in(self, member: _Member, request: SignIn) -> None:
        notice = None
        if request.resume is not None and member.name is None:
            if self._resume(member, request):
                return
            home = self._token_node(request.resume)
            if home is not None:  # issued by another node: ask it to hand the session over
                assert member.conn is not None and self.node is not None
                wait = self._monotonic() + RESUME_WAIT
                member.claim = _ClaimInFlight(request, "", 0, None, resume_until=wait)
                ask = ResumeRequest(request.resume, self.node, member.conn, request.seq)
                self._out.append(Forward(home, ask))
                return
            notice = _bad_resume()
        self._continue_sign_in(member, request, notice)

    def _continue_sign_in(
        self, member: _Member, request: SignIn, notice: dict[str, Any] | None
    ) -> None:
        if request.name == member.name:
            return
        if self._auth is not None:
            self._auth.check(request.name, request.credential, self._clock())
        name, number = self._free_name(request.name, 0)
        if self.node is None:
            self._complete_sign_in(member, request, name, notice)
            return
        member.claim = _ClaimInFlight(request, name, number, notice)
        self._claim(member, name)

    def _claim(self, member: _Member, name: str) -> None:
        assert member.conn is not None
        record = UserRecord(name, self.node or "", tuple(sorted(member.features)))
        self._out.append(Claim(member.conn, record))

    def _try_next_name(self, member: _Member, claim: _ClaimInFlight) -> None:
        """The claim lost a race: try the next numbered name, as the reference does."""
        if claim.number >= _MAX_CLAIM_TRIES:
            member.claim = None
            self._send(
                (member.conn,) if member.conn else (),
                error_message(
                    "unavailable", "No free variant of that name; pick another.", "username"
                ),
            )
            return
        name, number = self._free_name(claim.request.name, claim.number + 1)
        claim.name, claim.number = name, number
        self._claim(member, name)

    def _free_name(self, wanted: str, start: int) -> tuple[str, int]:
        """The first name from ``wanted`` + ``start`` on that this node knows to be free."""
        number = start
        name = wanted if number == 0 else numbered_name(wanted, number)
        while name in self._order:
            number += 1
            name = numbered_name(wanted, number)
        return name, number

    def _complete_sign_in(
        self, member: _Member, request: SignIn, name: str, notice: dict[str, Any] | None
    ) -> None:
        assert member.conn is not None
        conn = member.conn
        if name != request.name:
            self._send((conn,), {"type": "rejectusername", "id": conn, "name": name})
        old = member.name
        member.name = name
        if old is None:
            member.features = request.features
            self._new_token(member)
            if member.features:
                self._welcome(member, resumed=False)
            if "deltas" in member.features:
                self._presence.owe_full_list(conn)
            if notice is not None:
                self._send((conn,), notice)
        else:
            del self._local[old]
            del self._order[old]
            self._calls.rename(old, name)
            self._presence.rename(old, name)
        self._local[name] = member
        self._order[name] = None
        self._touch(name)
        if self.node is not None:
            if old is None:
                self._out.append(Publish(Joined(self._record(member))))
            else:
                self._out.append(Publish(Renamed(old, name, self.node)))
                self._out.append(Release(old))

    def _new_token(self, member: _Member) -> None:
        if member.token is not None:
            self._tokens.pop(member.token, None)
        secret = secrets.token_urlsafe(24)
        # In a cluster the token names its node, so another node can ask for the session.
        member.token = f"{self.node}.{secret}" if self.node is not None else secret
        self._tokens[member.token] = member

    def _token_node(self, token: str) -> str | None:
        """The other node that issued ``token``, if it is one."""
        node, dot, _ = token.rpartition(".")
        if self.node is None or not dot or not node or node == self.node:
            return None
        return node

    def _hand_over(self, request: ResumeRequest) -> None:
        """Another node's client holds our session's token: give the session to that node."""
        session = self._tokens.get(request.token)
        if session is None or session.name is None:
            self._out.append(Forward(request.node, ResumeRefused(request.conn)))
            return
        name = session.name
        if session.conn is not None:  # the old socket is half-open
            self._members.pop(session.conn, None)
            self._out.append(Close(session.conn, TAKEN_OVER, "session resumed elsewhere"))
        record = UserRecord(name, request.node, tuple(sorted(session.features)), self.is_busy(name))
        self._parked.pop(name, None)
        self._tokens.pop(request.token, None)
        del self._local[name]
        self._remote[name] = record  # still listed, now on the other node: no flicker
        grant = ResumeGrant(
            request.token,
            request.conn,
            record,
            tuple(self._missed(session, request.seq)),
            self._calls.partner_of(name),
            self._calls.in_call(name),
            session.seq,
        )
        self._out += [HandOver(record), Forward(request.node, grant), Publish(Joined(record))]

    def _take_over(self, grant: ResumeGrant) -> None:
        """Carry on a session another node handed over."""
        name = grant.user.name
        member = self._members.get(grant.conn)
        pending = member.claim if member is not None else None
        if member is None or pending is None or pending.resume_until is None:
            # The client went away while we waited: keep its session parked here.
            member = self._new_member(None)
            member.parked_until = self._monotonic() + self.policy.resume_grace
            pending = None
        member.claim = None
        member.name = name
        member.features = frozenset(grant.user.features)
        member.seq = grant.seq
        self._remote.pop(name, None)
        if name not in self._order:
            self._order[name] = None
            self._touch(name)
        self._local[name] = member
        self._calls.restore(name, grant.partner, grant.in_call)
        self._new_token(member)
        self._out.append(Adopt(self._record(member)))
        if member.conn is None:
            member.backlog = list(grant.backlog)
            self._parked[name] = member
            return
        self._welcome(member, resumed=True)
        for payload in grant.backlog:
            self._out.append(Send((member.conn,), payload))
        self._send_full_list(member)
        if pending is not None:
            self._release_held(member, pending.held)

    def _resume_refused(self, conn: ConnId) -> None:
        """No session to resume after all: sign in afresh, saying so."""
        member = self._members.get(conn)
        pending = member.claim if member is not None else None
        if member is None or pending is None or pending.resume_until is None:
            return
        member.claim = None
        try:
            self._continue_sign_in(member, pending.request, _bad_resume())
        except ProtocolError as error:
            self._send((conn,), error.as_message())
        self._release_held(member, pending.held)

    def _release_held(self, member: _Member, held: list[str | bytes]) -> None:
        """Handle frames that waited for a sign-in, unless another wait began."""
        for data in held:
            if member.claim is None:
                self._receive(member, data)
            else:
                member.claim.held.append(data)

    def _send_full_list(self, member: _Member) -> None:
        assert member.conn is not None
        if "deltas" in member.features:
            self._presence.owe_full_list(member.conn)
        else:
            self._send((member.conn,), {"type": "userlist", "users": self.usernames()})

    def _welcome(self, member: _Member, resumed: bool) -> None:
        assert member.conn is not None and member.name is not None
        self._send(
            (member.conn,),
            {
                "type": "signed-in",
                "id": member.conn,
                "name": member.name,
                "features": sorted(member.features),
                "resume": member.token,
                "resumed": resumed,
                "ringTimeout": self.policy.ring_timeout,
            },
        )
        self._send_ice_servers(member)

    def _ice_message(self, name: str) -> dict[str, Any]:
        if self._ice is None:
            return {"type": "ice-servers", "iceServers": [], "expires": None}
        return self._ice.for_user(name, self._clock())

    def _send_ice_servers(self, member: _Member) -> None:
        assert member.conn is not None and member.name is not None
        message = self._ice_message(member.name)
        expires = message.get("expires")
        if expires is None:
            member.ice_refresh_at = None
        else:  # refresh when 80% of the credentials' life has passed
            remaining = max(0.0, float(expires) - self._clock())
            member.ice_refresh_at = self._monotonic() + max(1.0, 0.8 * remaining)
        self._send((member.conn,), message)

    def _resume(self, member: _Member, request: SignIn) -> bool:
        """Move the session holding the request's token onto ``member``'s connection."""
        assert request.resume is not None
        session = self._tokens.get(request.resume)
        if session is None or session.name is None or session is member:
            return False
        conn = member.conn
        assert conn is not None
        if session.conn is not None:  # the old socket is half-open: take over
            self._members.pop(session.conn, None)
            self._out.append(Close(session.conn, TAKEN_OVER, "session resumed elsewhere"))
        self._members[conn] = session
        self._parked.pop(session.name, None)
        session.conn = conn
        session.chat_bucket, session.signal_bucket = member.chat_bucket, member.signal_bucket
        self._new_token(session)
        backlog = self._missed(session, request.seq)
        session.backlog, session.backlog_size = None, 0
        self._welcome(session, resumed=True)
        for payload in backlog:
            self._out.append(Send((conn,), payload))
        self._send_full_list(session)
        return True

    def _leave(self, member: _Member) -> None:
        """``member`` is gone for good: out of the list, calls hung up."""
        name = member.name
        assert name is not None
        if member.conn is not None:
            self._members.pop(member.conn, None)
        self._parked.pop(name, None)
        if member.token is not None:
            self._tokens.pop(member.token, None)
        self._end_calls_of(name)
        self._local.pop(name, None)
        self._order.pop(name, None)
        self._touch(name)
        if self.node is not None:
            self._out.append(Publish(Left(name, self.node)))
            self._out.append(Release(name))

    def _record(self, member: _Member) -> UserRecord:
        assert member.name is not None
        return UserRecord(
            member.name, self.node or "", tuple(sorted(member.features)), self.is_busy(member.name)
        )

    # -- chat and relay ------------------------------------------------------

    def _chat(self, name: str, conn: ConnId, text: str) -> None:
        date = int(self._clock() * 1000)
        self._deliver_chat(name, conn, date, text)
        if self.node is not None:
            self._out.append(Publish(ChatLine(name, conn, date, text)))

    def _deliver_chat(self, name: str, conn: ConnId, date: int, text: str) -> None:
        line = {"type": "message", "name": name, "date": date, "id": conn}
        plain: list[ConnId] = []
        html: list[ConnId] = []
        for conn, member in self._connected():
            (plain if "plain-text" in member.features else html).append(conn)
        self._send(tuple(plain), {**line, "text": text})
        if html:
            self._send(tuple(html), {**line, "text": escape_html(strip_tags(text))})

    def _relay(self, sender: str, message: Relay) -> None:
        payload = relayed(message, sender)
        target = message.target
        if target is None:
            self._send_payload(self._connected_conns(), payload)
            if self.node is not None:
                self._out.append(Publish(Relayed(payload)))
            return
        local = self._local.get(target)
        remote = self._remote.get(target)
        if local is None and remote is None:
            raise ProtocolError(
                "no-such-user",
                f"{target} is not online; the {message.type} was not delivered.",
                message.type,
                target,
            )
        features = (
            local.features if local is not None else frozenset(remote.features if remote else ())
        )
        if message.type == "call-invite" and "ringing" not in features:
            self._ring_for_legacy(sender, target)
            return
        self._follow_call(sender, target, message.type)
        if local is not None:
            self._to_member(local, payload)
        else:
            assert remote is not None and self.node is not None
            deliver = Deliver(sender, self.node, target, message.type, payload)
            self._out.append(Forward(remote.node, deliver))

    def _deliver_from_node(self, event: Deliver) -> None:
        member = self._local.get(event.target)
        if member is None:
            self._out.append(
                Forward(event.sender_node, Undeliverable(event.sender, event.target, event.kind))
            )
            return
        self._follow_call(event.sender, event.target, event.kind)
        self._to_member(member, event.payload)

    def _undeliverable(self, sender: str, target: str, kind: str) -> None:
        member = self._local.get(sender)
        if member is not None:
            error = error_message(
                "no-such-user",
                f"{target} is not online; the {kind} was not delivered.",
                kind,
                target,
            )
            self._to_member(member, encode(error))

    # -- calls ---------------------------------------------------------------

    def _ring_for_legacy(self, caller: str, callee: str) -> None:
        """Answer a ``call-invite`` for a client that cannot ring.

        The reference client answers every offer at once, so the server
        accepts on its behalf (or declines as busy), and the caller goes on to
        send its ``video-offer``.
        """
        reply: dict[str, Any]
        if self.is_busy(callee) and self.partner_of(callee) != caller:
            reply = {"type": "call-decline", "name": callee, "target": caller, "reason": "busy"}
        else:
            self._follow_call(caller, callee, "call-invite")
            reply = {"type": "call-accept", "name": callee, "target": caller, "auto": True}
        self._to_member(self._local[caller], encode(reply))

    def _follow_call(self, sender: str, target: str, kind: str) -> None:
        for name in self._calls.follow(sender, target, kind):
            self._busy_changed(name)

    def _end_calls_of(self, name: str) -> None:
        """Hang up, on ``name``'s behalf, its local partners (ringing or talking).

        Partners on other nodes are hung up by their own node when it hears
        that ``name`` left.
        """
        partners, changed = self._calls.end_all(name)
        for other in changed:
            self._busy_changed(other)
        for other in partners:
            member = self._local.get(other)
            if member is not None:
                hang_up = {"type": "hang-up", "name": name, "target": other, "reason": "gone"}
                self._to_member(member, encode(hang_up))

    def _busy_changed(self, name: str) -> None:
        self._touch(name)
        member = self._local.get(name)
        if self.node is not None and member is not None:
            self._out.append(Publish(Status(name, self.is_busy(name))))
            self._out.append(UpdateRecord(self._record(member)))

    # -- other nodes' users --------------------------------------------------

    def _remote_joined(self, user: UserRecord) -> None:
        if user.node == self.node or user.name in self._local:
            return
        self._remote[user.name] = user
        self._order[user.name] = None
        self._touch(user.name)

    def _remote_left(self, name: str, node: str) -> None:
        record = self._remote.get(name)
        if record is None or record.node != node:
            return
        self._end_calls_of(name)
        del self._remote[name]
        self._order.pop(name, None)
        self._touch(name)

    def _remote_renamed(self, event: Renamed) -> None:
        record = self._remote.pop(event.old, None)
        if record is None or record.node != event.node:
            return
        self._remote[event.new] = UserRecord(event.new, record.node, record.features, record.busy)
        self._order.pop(event.old, None)
        self._order[event.new] = None
        self._calls.rename(event.old, event.new)
        self._presence.rename(event.old, event.new)

    def _sync_node(self, node: str, users: tuple[UserRecord, ...]) -> None:
        """Make what this lobby knows of ``node``'s users exactly ``users``."""
        if node == self.node:
            return
        current = {r.name: r for r in users}
        for name in [n for n, r in self._remote.items() if r.node == node and n not in current]:
            self._remote_left(name, node)
        for record in current.values():
            known = self._remote.get(record.name)
            if known is None:
                self._remote_joined(record)
            elif known != record:
                self._remote[record.name] = record
                self._touch(record.name)

    def _names_lost(self, names: tuple[str, ...]) -> None:
        """Another node took these names while this one was cut off: sign their users out."""
        for name in names:
            member = self._local.get(name)
            if member is None:
                continue
            if member.conn is not None:
                error = error_message(
                    "unavailable",
                    f"While this server was cut off, {name} was taken on another; sign in again.",
                    "username",
                )
                self._send((member.conn,), error)
                self._out.append(Close(member.conn, NAME_LOST, "name taken elsewhere"))
            self._leave(member)

    def _remote_status(self, event: Status) -> None:
        record = self._remote.get(event.name)
        if record is not None and record.busy != event.busy:
            self._remote[event.name] = UserRecord(
                record.name, record.node, record.features, event.busy
            )
            self._touch(event.name)

    # -- presence ------------------------------------------------------------

    def _touch(self, name: str) -> None:
        self._presence.touch(name)

    def _full_list(self) -> dict[str, Any]:
        busy = [name for name in self._order if self.is_busy(name)]
        return {"type": "userlist", "users": self.usernames(), "busy": busy}


def _bad_resume() -> dict[str, Any]:
    return error_message(
        "bad-resume", "That session has ended; signed in as a new session.", "username"
    )
