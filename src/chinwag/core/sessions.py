"""Sessions: sign-in, name claims, renames, resume, hand-over and take-over (no I/O).

* Standalone (``node=None``) a name is free when this node lists no name
  with the same :func:`~chinwag.core.names.name_key`; a taken name is
  numbered, as the reference server does, except when a signed token proves
  whose it is: the token's name is signed in exactly, taking over an older
  session of that name (here, or on its node, asked with ``TakeOver``), or
  refused (``name-taken``).
* In a cluster every name is claimed through the bus first (by its key: a
  new spelling of one's own name keeps the claim and is only stored) (:class:`Claim`,
  answered by ``Lobby.claimed``); frames that arrive meanwhile are held in
  :class:`Pending` (at most ``held_frames``/``held_bytes``; more are dropped
  with ``rate-limited``) and handled, in order, once the wait ends.
* A resume token moves a session onto a new socket: here, or, when the token
  names another node, by asking that node to hand the session over
  (``ResumeRequest`` -> ``ResumeGrant``/``ResumeRefused``). A token naming a
  node that lists no user is answered at once (``bad-resume``). A session
  signed in with a token cannot be resumed after the token's expiry.
* Failed credentials are counted per client address, with a doubling wait
  (:class:`~chinwag.core.limits.FailureBackoff`).
* A user involved in a call (ringing, rung, connecting or active) cannot
  rename (``in-call``): a freed name must not reach the partner's live call.
* A user in a room call cannot rename either.
* A client with the ``rooms`` feature may sign in straight into a room
  (``room``, ``roomPassword``); the room desk checks it before the name is
  claimed. A resumed session keeps its room and its room-call seat.

(A little over chinwag's ~400-line guide: sign-in, claim and resume, here and
across nodes, are one story whose steps hand a session to each other.)
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

import msgspec

from .auth import Authenticator as TokenAuthenticator
from .calls import CallState
from .chat_history import ChatHistory
from .closecodes import CloseCode
from .directory import NO_CONN, Member, MemberState
from .effects import (
    Adopt,
    Claim,
    Close,
    ConnId,
    Forward,
    HandOver,
    Publish,
    Release,
    UpdateRecord,
)
from .errors import ProtocolError, error_message
from .events import (
    Joined,
    Left,
    Renamed,
    ResumeGrant,
    ResumeRefused,
    ResumeRequest,
    RoomSettings,
    TakeOver,
    UserRecord,
)
from .gate import Pass
from .greeting import Greeter
from .limits import FailureBackoff, TokenBucket
from .names import name_key
from .protocol import SignIn, numbered_name
from .roomdesk import RoomDesk
from .rooms import DEFAULT_ROOM, Room
from .routing import Router

if TYPE_CHECKING:
    from .context import Context
    from .lobby import Authenticator

__all__ = ["NAME_LOST", "RESUME_WAIT", "TAKEN_OVER", "Pending", "Sessions"]

MAX_CLAIM_TRIES: Final = 50
RESUME_WAIT: Final = 3.0  # seconds to wait for another node's session before signing in afresh
TAKEN_OVER: Final = CloseCode.TAKEN_OVER  # the session was resumed on another connection
NAME_LOST: Final = CloseCode.NAME_LOST  # the name went to another node during a cluster split

Frame = str | bytes


@dataclass(slots=True)
class Entry:
    """The room a new sign-in goes to, as the room desk allowed it."""

    name: str = DEFAULT_ROOM
    found: Room | None = None  # None: the sign-in opens it
    password: str | None = None
    allowed: Pass = field(default_factory=Pass)  # the gate's word: an invite, a knock
    claimed: RoomSettings | None = None  # a new room's settings, as the cluster agreed


@dataclass(slots=True)
class Pending:
    """A sign-in waiting for the cluster: a name claim, or another node's session."""

    request: SignIn
    name: str
    number: int
    notice: dict[str, Any] | None
    held: list[Frame] = field(default_factory=list)  # frames that came meanwhile
    held_size: int = 0
    resume_until: float | None = None  # waiting for another node to hand a session over
    expires: float | None = None  # a signed token's expiry: the name is never numbered
    warned: bool = False  # told that held frames were dropped
    taking_over: bool = False  # a token's name: its holder's node was asked to give it up
    opening: RoomSettings | None = None  # name claimed; the new room's claim offered these

    def hold(self, data: Frame, max_frames: int, max_bytes: int) -> bool:
        """Keep ``data`` for when the wait ends; False (dropped) past the limits."""
        if len(self.held) >= max_frames or self.held_size + len(data) > max_bytes:
            return False
        self.held.append(data)
        self.held_size += len(data)
        return True

    entry: Entry = field(default_factory=Entry)


class Sessions:
    """Signs users in and out, and moves sessions between sockets and nodes."""

    def __init__(
        self,
        context: Context,
        router: Router,
        greeter: Greeter,
        history: ChatHistory,
        desk: RoomDesk,
        authenticator: Authenticator | None,
    ) -> None:
        self._ctx = context
        self._router = router
        self._desk = desk
        self._greeter = greeter
        self._history = history
        self._auth = authenticator
        self._failures = FailureBackoff()
        #: Handles one frame for a member (the lobby's dispatch): frames held
        #: during a wait go through it when the wait ends.
        self.on_frame: Callable[[Member, Frame], None] = lambda member, data: None

    def new_member(self, conn: ConnId, address: str = "") -> Member:
        now, policy = self._ctx.monotonic(), self._ctx.policy
        return Member(
            conn,
            TokenBucket(policy.chat_rate, now),
            TokenBucket(policy.signal_rate, now),
            TokenBucket(policy.broadcast_rate, now),
            address,
        )

    def hold(self, member: Member, data: Frame) -> None:
        """A frame arrived while ``member``'s sign-in waits: keep it, within bounds."""
        pending = member.pending
        assert pending is not None
        policy = self._ctx.policy
        if pending.hold(data, policy.held_frames, policy.held_bytes) or pending.warned:
            return
        pending.warned = True  # once per wait: the warning must not be a flood of its own
        error = error_message(
            "rate-limited",
            f"While signing in, at most {policy.held_frames} messages "
            f"({policy.held_bytes // 1024} KiB) wait; this one and later ones were dropped.",
        )
        self._ctx.outbox.send((member.conn,), error)

    # -- signing in and renaming -------------------------------------------------

    def sign_in(self, member: Member, request: SignIn) -> None:
        """A ``username`` message: sign in, resume, or rename."""
        notice = None
        if request.resume is not None and member.name is None:
            if self._resume(member, request):
                return
            home = self._token_node(request.resume)
            if home is not None and self._ctx.directory.has_node(home):
                # Issued by another node that holds sessions: ask it to hand this one over.
                assert self._ctx.node is not None
                wait = self._ctx.monotonic() + RESUME_WAIT
                member.pending = Pending(request, "", 0, None, resume_until=wait)
                ask = ResumeRequest(request.resume, self._ctx.node, member.conn, request.seq)
                self._ctx.outbox.emit(Forward(home, ask))
                return
            notice = _bad_resume()
        self._continue_sign_in(member, request, notice)

    def _continue_sign_in(
        self, member: Member, request: SignIn, notice: dict[str, Any] | None
    ) -> None:
        if request.name == member.name:
            return
        if member.name is not None and self._ctx.calls.involved(member.name):
            raise _in_call(member.name, self._ctx.calls.state_of(member.name))
        if member.name is not None and self._router.room_call_since(member.name):
            raise _in_call(member.name, None)
        expires = self._authenticate(member, request)
        entry = Entry()
        if member.name is None and "rooms" in request.features:
            member.grants = self._room_grants(request)
            room = request.room or DEFAULT_ROOM
            gate = self._desk.gate
            allowed = gate.screen(member, request.name, room, request.invite, "username")
            found = self._desk.admit(
                member, room, request.room_password, "username", allowed.invite is not None
            )
            entry = Entry(room, found, request.room_password, allowed)
        took_over = False
        if expires is not None:
            name, number = request.name, 0
            older = self._older_session(member, name)
            if isinstance(older, UserRecord):
                pending = Pending(request, name, 0, notice, expires=expires, entry=entry)
                self._ask_to_give_way(member, pending, older.node)
                return
            if older is not None:
                self._end_older_session(older)
                took_over = True
        else:
            name, number = self._free_name(request.name, 0, member)
        # A name taken over here, or a new spelling of one's own, is this node's claim already.
        if self._ctx.node is None or took_over or _respelled(member.name, name):
            self._complete_sign_in(member, request, name, notice, entry, expires)
            return
        member.pending = Pending(request, name, number, notice, expires=expires, entry=entry)
        self._claim(member, name)

    def _authenticate(self, member: Member, request: SignIn) -> float | None:
        """Check the credential (None: open server or password; else the token's expiry).

        Failures are counted per address; while one must wait, nothing is checked.
        """
        if self._auth is None:
            return None
        now = self._ctx.monotonic()
        wait = self._failures.wait(member.address, now)
        if wait > 0:
            raise ProtocolError(
                "rate-limited",
                f"Too many failed sign-ins from your address; try again in {wait:.0f} s.",
                "username",
            )
        try:
            expires = self._auth.check(request.name, request.credential, self._ctx.clock())
        except ProtocolError as error:
            if error.code == "auth-failed":
                self._failures.failed(member.address, now)
            raise
        self._failures.succeeded(member.address)
        return expires

    def _room_grants(self, request: SignIn) -> dict[str, str]:
        """The roles per room key that the sign-in token grants (none without one)."""
        if not isinstance(self._auth, TokenAuthenticator):
            return {}
        return {name_key(room): role for room, role in self._auth.room_roles(request.credential)}

    def _older_session(self, member: Member, name: str) -> Member | UserRecord | None:
        """What stands in the way of a token's name, which is never numbered: an older
        session of it here, or its record on another node; None when it is free.

        A look-alike spelling, or a rename onto a name in use, is refused.
        """
        holder = self._ctx.directory.listed_as(name)
        if holder is None or holder == member.name:
            return None
        if holder == name and member.name is None:
            older = self._ctx.directory.local(name)
            record = self._ctx.directory.remote(name)
            if older is not None or record is not None:
                return older or record
        raise ProtocolError(
            "name-taken",
            f"{holder} is signed in elsewhere (spelled alike, or you are renaming); "
            "sign out there first.",
            "username",
            holder,
        )

    def _ask_to_give_way(self, member: Member, pending: Pending, node: str) -> None:
        """A token's name is held on ``node``: ask that node to end the older session."""
        assert self._ctx.node is not None
        pending.resume_until = self._ctx.monotonic() + RESUME_WAIT
        pending.taking_over = True
        member.pending = pending
        ask = TakeOver(pending.name, self._ctx.node, member.conn)
        self._ctx.outbox.emit(Forward(node, ask))

    def _end_older_session(self, older: Member, handed_to: UserRecord | None = None) -> None:
        """The same token's owner signed in again: its older session ends here.

        The name stays online (no ``Left``/``Release``): the new session takes
        it at once, here, or on ``handed_to.node`` (listed there meanwhile).
        Its calls are hung up: here now, on other nodes when they hear ``Left``
        (a take-over from another node publishes it).
        """
        assert older.name is not None
        if older.connected:
            message = "You signed in again on another connection; this one is closed."
            error = error_message("name-taken", message, "username", older.name)
            self._ctx.outbox.send((older.conn,), error)
            self._ctx.outbox.emit(Close(older.conn, TAKEN_OVER, "signed in elsewhere"))
        self._ctx.presence.forget(older.conn)
        older.pending = None  # a rename claim in flight: its answer finds no one
        if handed_to is None:
            self._ctx.directory.remove(older)
            self._desk.gone(older.name, older.room)  # its room call seat; an empty room closes
            self._ctx.presence.touch(older.room, older.name)
        else:
            self._ctx.directory.hand_away(older, handed_to)
        self._router.end_calls_of(older.name)

    def claimed(self, member: Member, name: str, ok: bool) -> None:
        """The bus answered a claim of ``name`` for ``member``."""
        pending = member.pending
        if pending is None or pending.name != name:
            if ok:
                self._ctx.outbox.emit(Release(name))
            return
        if not ok:
            self._try_next_name(member, pending)
            return
        member.pending = None
        self._complete_sign_in(
            member, pending.request, name, pending.notice, pending.entry, pending.expires
        )
        self._release_held(member, pending.held)

    def claim_failed(self, member: Member) -> None:
        """The bus could not be asked (Redis down): refuse the sign-in clearly."""
        if member.pending is None:
            return
        held, member.pending = member.pending.held, None
        error = ProtocolError(
            "unavailable", "Sign-in is paused while the cluster store is unreachable.", "username"
        )
        self._ctx.outbox.send((member.conn,), error.as_message())
        for data in held:
            self.on_frame(member, data)

    def _claiming_room(self, member: Member, waiting: Pending) -> bool:
        """A sign-in (its name claimed) that opens a room in a cluster claims the room's
        settings first (:mod:`~chinwag.core.roomclaims`); True while it waits for them
        (``waiting`` is then its pending sign-in)."""
        entry = waiting.entry
        if entry.found is not None or entry.claimed is not None or entry.allowed.wait:
            return False
        conn, name = member.conn, waiting.name
        waiting.opening = self._desk.claims.offer(conn, entry.name, entry.password, name, "", False)
        if waiting.opening is None:
            return False
        member.pending = waiting
        return True

    def room_claimed(self, member: Member, key: str, won: RoomSettings | None) -> bool:
        """The cluster answered the room claim of ``member``'s sign-in (False: not a
        sign-in's claim): enter under the winning settings, or be refused as on one
        process (the name claimed for it is let go)."""
        pending = member.pending
        if pending is None or pending.opening is None or name_key(pending.entry.name) != key:
            return False
        member.pending, entry = None, pending.entry
        invited = entry.allowed.invite is not None
        try:
            settings = self._desk.claimed_settings(
                member, entry.name, pending.opening, won, entry.password, invited, "username"
            )
        except ProtocolError as error:
            self._ctx.outbox.emit(Release(pending.name))
            self._ctx.outbox.send((member.conn,), error.as_message())
            for data in pending.held:
                self.on_frame(member, data)
            return True
        entry = replace(entry, claimed=settings)
        request, notice = pending.request, pending.notice
        self._complete_sign_in(member, request, pending.name, notice, entry, pending.expires)
        self._release_held(member, pending.held)
        return True

    def _claim(self, member: Member, name: str) -> None:
        record = UserRecord(name, self._ctx.node or "", tuple(sorted(member.features)))
        self._ctx.outbox.emit(Claim(member.conn, record))

    def _try_next_name(self, member: Member, pending: Pending) -> None:
        """The claim lost a race: try the next numbered name, as the reference does."""
        if pending.expires is not None:  # a token's name is never numbered
            member.pending = None
            error = error_message(
                "name-taken",
                f"{pending.name} is signed in on another server; sign out there first.",
                "username",
                pending.name,
            )
            self._ctx.outbox.send((member.conn,), error)
            self._release_held(member, pending.held)
            return
        if pending.number >= MAX_CLAIM_TRIES:
            member.pending = None
            error = error_message(
                "unavailable", "No free variant of that name; pick another.", "username"
            )
            self._ctx.outbox.send((member.conn,), error)
            return
        pending.name, pending.number = self._free_name(
            pending.request.name, pending.number + 1, member
        )
        self._claim(member, pending.name)

    def _free_name(self, wanted: str, start: int, member: Member) -> tuple[str, int]:
        """The first name from ``wanted`` + ``start`` on that this node knows to be free
        (``member``'s own name counts as free: a new spelling of it is allowed)."""
        number = start
        name = wanted if number == 0 else numbered_name(wanted, number)
        while self._ctx.directory.listed_as(name) not in (None, member.name):
            number += 1
            name = numbered_name(wanted, number)
        return name, number

    def _complete_sign_in(
        self,
        member: Member,
        request: SignIn,
        name: str,
        notice: dict[str, Any] | None,
        entry: Entry,
        expires: float | None = None,
    ) -> None:
        conn, old = member.conn, member.name
        waiting = Pending(request, name, 0, notice, expires=expires, entry=entry)
        if old is None and self._claiming_room(member, waiting):
            return
        if old is not None and self._ctx.calls.involved(old):  # a call began during the claim
            if self._ctx.node is not None:
                self._ctx.outbox.emit(Release(name))
            self._ctx.outbox.send(
                (conn,), _in_call(old, self._ctx.calls.state_of(old)).as_message()
            )
            return
        if name != request.name:
            self._ctx.outbox.send((conn,), {"type": "rejectusername", "id": conn, "name": name})
        if self._auth is not None:
            member.expires = expires
            member.credentialed = True
        opened = False
        if old is None:
            member.features = self._history.offered(request.features)
            member.mailbox.numbered = "seq" in member.features
            opened = self._desk.settle(
                member,
                entry.name,
                entry.found,
                entry.password,
                name,
                wait=entry.allowed.wait,
                claimed=entry.claimed,
            )
            self._ctx.directory.sign_in(member, name, self._token())
            if member.features:
                self._greeter.welcome(member, resumed=False)
            if "deltas" in member.features:
                self._ctx.presence.room(member.room).owe_full_list(conn)
            if notice is not None:
                self._ctx.outbox.send((conn,), notice)
            self._history.joined(member)
        else:
            self._ctx.directory.rename(member, name)
            self._ctx.calls.rename(old, name)
            self._ctx.presence.room(member.room).rename(old, name)
            self._desk.gate.renamed(old, name, member.room)
        self._ctx.presence.touch(member.room, name)
        if self._ctx.node is not None:
            if old is None:
                record = self._router.record_of(member)
                self._ctx.outbox.emit(Publish(Joined(record)))
                if record.room:  # the claim stored no room
                    self._ctx.outbox.emit(UpdateRecord(record))
            else:
                self._ctx.outbox.emit(Publish(Renamed(old, name, self._ctx.node)))
                if _respelled(old, name):  # one claim, by key: store the new spelling
                    self._ctx.outbox.emit(UpdateRecord(self._router.record_of(member)))
                else:
                    self._ctx.outbox.emit(Release(old))
        if old is None:  # after Joined: other nodes know the room before its new control
            self._desk.gate.entered(member, opened, entry.allowed.invite)

    def _token(self) -> str:
        secret = secrets.token_urlsafe(24)
        # In a cluster the token names its node, so another node can ask for the session.
        return f"{self._ctx.node}.{secret}" if self._ctx.node is not None else secret

    def _token_node(self, token: str) -> str | None:
        """The other node that issued ``token``, if it is one."""
        node, dot, _ = token.rpartition(".")
        if self._ctx.node is None or not dot or not node or node == self._ctx.node:
            return None
        return node

    # -- resume on this node -------------------------------------------------------

    def _resume(self, member: Member, request: SignIn) -> bool:
        """Move the session holding the request's token onto ``member``'s socket."""
        assert request.resume is not None
        session = self._ctx.directory.by_token(request.resume)
        if session is None or session is member:
            return False
        if _lapsed(session, self._ctx.clock()):
            self._end_lapsed(session)
            raise ProtocolError(
                "auth-expired",
                "The sign-in token of that session has expired; sign in with a new one.",
                "username",
            )
        session.pending = None  # a rename claim from the lost socket: its answer finds no one
        half_open = self._ctx.directory.attach(session, member)
        if half_open is not None:
            self._ctx.outbox.emit(Close(half_open, TAKEN_OVER, "session resumed elsewhere"))
        # The session keeps its own rate buckets: a drop and a resume must not refill them.
        self._ctx.directory.new_token(session, self._token())
        backlog = session.mailbox.take_missed(request.seq)
        self._greeter.welcome_back(session, backlog)
        # A resume is not a join: a joining history still being read for the old socket
        # is not sent; the lines held for it follow the backlog (they are newer).
        self._router.release_held(session)
        return True

    # -- sessions moving between nodes -----------------------------------------------

    def hand_over(self, request: ResumeRequest) -> None:
        """Another node's client holds our session's token: give the session to that node."""
        session = self._ctx.directory.by_token(request.token)
        if session is None or session.name is None or _lapsed(session, self._ctx.clock()):
            if session is not None and session.name is not None:
                self._end_lapsed(session)
            self._ctx.outbox.emit(Forward(request.node, ResumeRefused(request.conn)))
            return
        name = session.name
        record = msgspec.structs.replace(self._router.record_of(session), node=request.node)
        missed = tuple(session.mailbox.missed(request.seq))
        half_open = self._ctx.directory.hand_away(session, record)
        if half_open is not None:
            self._ctx.outbox.emit(Close(half_open, TAKEN_OVER, "session resumed elsewhere"))
        grant = ResumeGrant(
            request.token,
            request.conn,
            record,
            missed,
            self._ctx.calls.partner_of(name),
            self._ctx.calls.in_call(name),
            session.mailbox.seq,
            session.expires,
            session.mailbox.dropped,
        )
        # Joined before the grant, as in give_way: other nodes hear where the session
        # went before anything it says from there (docs/deployment.md, Redis).
        self._ctx.outbox.emit(
            HandOver(record), Publish(Joined(record)), Forward(request.node, grant)
        )

    def give_way(self, request: TakeOver) -> None:
        """A client on another node signed in with a token for one of this node's users:
        end that user's session here and give its name to that node."""
        older = self._ctx.directory.local(request.name)
        if older is None or older.name != request.name:
            self._ctx.outbox.emit(Forward(request.node, ResumeRefused(request.conn)))
            return
        room = older.room
        record = msgspec.structs.replace(
            self._router.record_of(older), node=request.node, busy=False, call=0
        )
        self._end_older_session(older, handed_to=record)
        self._desk.gone(request.name, room)  # its room-call seat; the room keeps it listed
        grant = ResumeGrant("", request.conn, record, (), None, False, fresh=True)
        # Left ends the older session's calls on every node; with Joined right after it
        # (one presence interval) lists see no change. Both precede the grant, so other
        # nodes hear them before the new session's own news.
        left = Left(request.name, self._ctx.node or "")
        self._ctx.outbox.emit(
            HandOver(record), Publish(left), Publish(Joined(record)), Forward(request.node, grant)
        )

    def _took_name(self, grant: ResumeGrant) -> bool:
        """Sign in the new session whose name another node gave up (``grant.fresh``);
        False when its client went away meanwhile."""
        member = self._ctx.directory.at(grant.conn)
        pending = member.pending if member is not None else None
        if member is None or pending is None or not pending.taking_over:
            return False
        name = grant.user.name
        member.pending = None
        old_room = self._ctx.directory.room_of(name)
        self._ctx.outbox.emit(Adopt(grant.user))
        self._complete_sign_in(
            member, pending.request, name, pending.notice, pending.entry, pending.expires
        )
        self._ctx.outbox.emit(UpdateRecord(self._router.record_of(member)))
        if old_room is not None and old_room != member.room:
            self._desk.gone(name, old_room)
        self._release_held(member, pending.held)
        return True

    def take_over(self, grant: ResumeGrant) -> None:
        """Carry on a session another node handed over."""
        if grant.fresh and self._took_name(grant):
            return
        # (A fresh grant whose client went away is parked like a resumed one: it ends
        # after the grace period, as any dropped session does.)
        name = grant.user.name
        member = self._ctx.directory.at(grant.conn)
        pending = member.pending if member is not None else None
        if member is None or pending is None or pending.resume_until is None:
            # The client went away while we waited: keep its session parked here.
            member = self.new_member(NO_CONN)
            member.state = MemberState.PARKED
            member.parked_until = self._ctx.monotonic() + self._ctx.policy.resume_grace
            pending = None
        member.pending = None
        member.features = frozenset(grant.user.features)
        member.mailbox.numbered = "seq" in member.features
        member.mailbox.seq = grant.seq
        member.mailbox.dropped = grant.dropped
        member.expires = grant.expires
        member.credentialed = self._auth is not None  # every node of a cluster checks alike
        was_listed = self._ctx.directory.listed(name)
        self._desk.restore(member, grant.user)
        self._ctx.directory.adopt(member, name, self._token())
        self._desk.restored(grant.user)
        if not was_listed:
            self._ctx.presence.touch(member.room, name)
        self._ctx.calls.restore(name, grant.partner, grant.in_call)
        self._ctx.outbox.emit(Adopt(self._router.record_of(member)))
        if not member.connected:
            member.mailbox.backlog = deque(grant.backlog)
            return
        self._greeter.welcome_back(member, grant.backlog)
        if pending is not None:
            self._release_held(member, pending.held)

    def resume_refused(self, member: Member) -> None:
        """No session to resume after all: sign in afresh, saying so."""
        pending = member.pending
        if pending is None or pending.resume_until is None:
            return
        if pending.taking_over:  # no older session there after all: claim the name as usual
            pending.resume_until, pending.taking_over = None, False
            self._claim(member, pending.name)
            return
        member.pending = None
        try:
            self._continue_sign_in(member, pending.request, _bad_resume())
        except ProtocolError as error:
            self._ctx.outbox.send((member.conn,), error.as_message())
        self._release_held(member, pending.held)

    def _release_held(self, member: Member, held: list[Frame]) -> None:
        """Handle frames that waited for a sign-in, unless another wait began."""
        for data in held:
            if member.pending is None:
                self.on_frame(member, data)
            else:
                self.hold(member, data)

    def _end_lapsed(self, session: Member) -> None:
        """A session whose sign-in token expired was asked for: it ends now."""
        if session.connected:
            self._ctx.outbox.emit(Close(session.conn, 1008, "sign-in token expired"))
            self._ctx.presence.forget(session.conn)
        self.leave(session)

    # -- leaving ---------------------------------------------------------------------

    def dropped(self, member: Member, clean: bool) -> None:
        """``member``'s socket is gone: park a dropped signed-in user, else it leaves."""
        if member.state is MemberState.SIGNING_IN:
            if member.pending is not None and member.pending.opening is not None:
                self._ctx.outbox.emit(Release(member.pending.name))  # claimed before the room
            self._ctx.directory.drop(member)
            return
        self._ctx.presence.forget(member.conn)
        if clean or self._ctx.policy.resume_grace <= 0:
            self.leave(member)
            return
        self._ctx.directory.park(member, self._ctx.monotonic() + self._ctx.policy.resume_grace)
        self._router.release_held(member)  # into the backlog: the joining history is dropped

    def leave(self, member: Member) -> None:
        """``member`` is gone for good: out of the list, calls hung up."""
        name = member.name
        if name is None or self._ctx.directory.local(name) is not member:
            self._ctx.directory.remove(member)
            return  # already gone (a backlog overflow while leaving)
        self._ctx.directory.remove(member)
        self._router.end_calls_of(name)
        self._desk.gone(name, member.room)
        self._ctx.presence.touch(member.room, name)
        if self._ctx.node is not None:
            self._ctx.outbox.emit(Publish(Left(name, self._ctx.node)), Release(name))

    def names_lost(self, names: tuple[str, ...]) -> None:
        """Another node took these names while this one was cut off: sign their users out."""
        for name in names:
            member = self._ctx.directory.local(name)
            if member is None:
                continue
            if member.connected:
                error = error_message(
                    "unavailable",
                    f"While this server was cut off, {name} was taken on another; sign in again.",
                    "username",
                )
                self._ctx.outbox.send((member.conn,), error)
                self._ctx.outbox.emit(Close(member.conn, NAME_LOST, "name taken elsewhere"))
            self.leave(member)

    def expire(self) -> None:
        """Housekeeping: end lapsed parks and resume waits, refresh ICE credentials."""
        now = self._ctx.monotonic()
        for member in self._ctx.directory.parked_until(now):
            self.leave(member)
        for member in self._ctx.directory.open_members():
            pending = member.pending
            if (
                pending is not None
                and pending.resume_until is not None
                and pending.resume_until <= now
            ):
                self.resume_refused(member)  # the other node never answered
        self._greeter.refresh_ice(now)


def _respelled(old: str | None, new: str) -> bool:
    """True when ``new`` is another spelling of ``old`` (the bus claims names by key)."""
    return old is not None and name_key(old) == name_key(new)


def _lapsed(session: Member, now: float) -> bool:
    return session.expires is not None and session.expires <= now


def _bad_resume() -> dict[str, Any]:
    return error_message(
        "bad-resume", "That session has ended; signed in as a new session.", "username"
    )


def _in_call(name: str, state: CallState | None) -> ProtocolError:
    call = f"a {state.value} call" if state is not None else "a seat in the room call"
    return ProtocolError(
        "in-call",
        f"{name} has {call}; hang up before changing your name.",
        "username",
        name,
    )
