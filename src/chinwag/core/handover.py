"""Hand-over: resume tokens, and sessions moving between sockets and nodes (no I/O).

* A dropped signed-in user is parked for ``resume_grace``; a resume token
  moves its session onto a new socket: here, or, when the token names
  another node, by asking that node to hand the session over
  (``ResumeRequest`` -> ``ResumeGrant``/``ResumeRefused``). A token naming a
  node that lists no user is answered at once (``bad-resume``). A session
  signed in with a token cannot be resumed after the token's expiry. A
  resumed session keeps its room and its room-call seat.
* A signed token's name held on another node is given up there
  (``TakeOver``, answered by a fresh ``ResumeGrant``): the older session ends
  and the new one signs in under the name.

Signing in itself (claims, renames, signing out) is :mod:`~chinwag.core.signin`'s.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import msgspec

from .chat_history import release_held
from .closecodes import CloseCode
from .effects import Adopt, Close, ConnId, Forward, HandOver, Publish, Release, UpdateRecord
from .errors import ProtocolError, error_message
from .events import Joined, Left, ResumeGrant, ResumeRefused, ResumeRequest, TakeOver
from .members import NO_CONN, RESUME_WAIT, Member, MemberState, Pending
from .protocol import SignIn
from .status import record_of

if TYPE_CHECKING:
    from .context import Context
    from .ports import Placement, SignInSteps, WelcomeBack

__all__ = ["HandOvers"]


class HandOvers:
    """Resumes sessions, and hands them to and takes them from other nodes."""

    def __init__(
        self,
        context: Context,
        sign_ins: SignInSteps,
        greeter: WelcomeBack,
        desk: Placement,
        auth: bool,
    ) -> None:
        self._ctx = context
        self._sign_ins = sign_ins
        self._greeter = greeter
        self._desk = desk
        self._auth = auth  # whether sign-in checks credentials (every node of a cluster alike)

    def sign_in(self, member: Member, request: SignIn) -> None:
        """A ``username`` message: resume the session its token names, else sign in or rename."""
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
            notice = bad_resume()
        self._sign_ins.sign_in(member, request, notice)

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
        self._close_half_open(self._ctx.directory.attach(session, member))
        # The session keeps its own rate buckets: a drop and a resume must not refill them.
        self._ctx.directory.new_token(session, self._sign_ins.token())
        backlog = session.mailbox.take_missed(request.seq)
        self._greeter.welcome_back(session, backlog)
        # A resume is not a join: a joining history still being read for the old socket
        # is not sent; the lines held for it follow the backlog (they are newer).
        release_held(self._ctx, session)
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
        record = msgspec.structs.replace(record_of(self._ctx, session), node=request.node)
        missed = tuple(session.mailbox.missed(request.seq))
        self._close_half_open(self._ctx.directory.hand_away(session, record))
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
            record_of(self._ctx, older), node=request.node, busy=False, call=0
        )
        self._sign_ins.end_older_session(older, handed_to=record)
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
        self._sign_ins.complete_sign_in(
            member, pending.request, name, pending.notice, pending.entry, pending.expires
        )
        self._ctx.outbox.emit(UpdateRecord(record_of(self._ctx, member)))
        if old_room is not None and old_room != member.room:
            self._desk.gone(name, old_room)
        self._sign_ins.release_held(member, pending.held)
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
            member = self._sign_ins.new_member(NO_CONN)
            member.state = MemberState.PARKED
            member.parked_until = self._ctx.monotonic() + self._ctx.policy.resume_grace
            pending = None
        member.pending = None
        member.features = frozenset(grant.user.features)
        member.mailbox.numbered = "seq" in member.features
        member.mailbox.seq = grant.seq
        member.mailbox.dropped = grant.dropped
        member.expires = grant.expires
        member.credentialed = self._auth  # every node of a cluster checks alike
        was_listed = self._ctx.directory.listed(name)
        self._desk.restore(member, grant.user)
        self._ctx.directory.adopt(member, name, self._sign_ins.token())
        self._desk.restored(grant.user)
        if not was_listed:
            self._ctx.presence.touch(member.room, name)
        self._ctx.calls.restore(name, grant.partner, grant.in_call)
        self._ctx.outbox.emit(Adopt(record_of(self._ctx, member)))
        if not member.connected:
            member.mailbox.backlog = deque(grant.backlog)
            return
        self._greeter.welcome_back(member, grant.backlog)
        if pending is not None:
            self._sign_ins.release_held(member, pending.held)

    def resume_refused(self, member: Member) -> None:
        """No session to resume after all: sign in afresh, saying so."""
        pending = member.pending
        if pending is None or pending.resume_until is None:
            return
        if pending.taking_over:  # no older session there after all: claim the name as usual
            pending.resume_until, pending.taking_over = None, False
            self._sign_ins.claim(member, pending.name)
            return
        member.pending = None
        try:
            self._sign_ins.sign_in(member, pending.request, bad_resume())
        except ProtocolError as error:
            self._ctx.outbox.send((member.conn,), error.as_message())
        self._sign_ins.release_held(member, pending.held)

    def _end_lapsed(self, session: Member) -> None:
        """A session whose sign-in token expired was asked for: it ends now."""
        if session.connected:
            self._ctx.outbox.emit(Close(session.conn, 1008, "sign-in token expired"))
            self._ctx.presence.forget(session.conn)
        self._sign_ins.leave(session)

    def _close_half_open(self, conn: ConnId | None) -> None:
        """Close a moved session's old socket if it was still open (half-open)."""
        if conn is not None:
            self._ctx.outbox.emit(Close(conn, CloseCode.TAKEN_OVER, "session resumed elsewhere"))

    # -- dropped sockets and lapsed waits -------------------------------------------------

    def dropped(self, member: Member, clean: bool) -> None:
        """``member``'s socket is gone: park a dropped signed-in user, else it leaves."""
        if member.state is MemberState.SIGNING_IN:
            if member.pending is not None and member.pending.opening is not None:
                self._ctx.outbox.emit(Release(member.pending.name))  # claimed before the room
            self._ctx.directory.drop(member)
            return
        self._ctx.presence.forget(member.conn)
        if clean or self._ctx.policy.resume_grace <= 0:
            self._sign_ins.leave(member)
            return
        self._ctx.directory.park(member, self._ctx.monotonic() + self._ctx.policy.resume_grace)
        release_held(self._ctx, member)  # into the backlog: the joining history is dropped

    def expire(self) -> None:
        """Housekeeping: end lapsed parks and resume waits, refresh ICE credentials."""
        now = self._ctx.monotonic()
        for member in self._ctx.directory.parked_until(now):
            self._sign_ins.leave(member)
        for member in self._ctx.directory.open_members():
            pending = member.pending
            if (
                pending is not None
                and pending.resume_until is not None
                and pending.resume_until <= now
            ):
                self.resume_refused(member)  # the other node never answered
        self._greeter.refresh_ice(now)


def _lapsed(session: Member, now: float) -> bool:
    return session.expires is not None and session.expires <= now


def bad_resume() -> dict[str, Any]:
    return error_message(
        "bad-resume", "That session has ended; signed in as a new session.", "username"
    )
