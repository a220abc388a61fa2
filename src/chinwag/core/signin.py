"""Sign-in: name claims, renames and signing out (no I/O).

* Standalone (``node=None``) a name is free when this node lists no name
  with the same :func:`~chinwag.core.names.name_key`; a taken name is
  numbered, as the reference server does, except when a signed token proves
  whose it is: the token's name is signed in exactly, taking over an older
  session of that name (here, or on its node, asked with ``TakeOver``: see
  :mod:`~chinwag.core.handover`), or refused (``name-taken``).
* In a cluster every name is claimed through the bus first (by its key: a
  new spelling of one's own name keeps the claim and is only stored) (:class:`Claim`,
  answered by ``Lobby.claimed``); frames that arrive meanwhile are held in
  :class:`~chinwag.core.members.Pending` (at most ``held_frames``/``held_bytes``;
  more are dropped with ``rate-limited``) and handled, in order, once the wait ends.
* Credentials are checked by :mod:`~chinwag.core.credentials`, with a doubling
  wait per client address after failures.
* A user involved in a call (ringing, rung, connecting or active) cannot
  rename (``in-call``): a freed name must not reach the partner's live call.
* A user in a room call cannot rename either.
* A client with the ``rooms`` feature may sign in straight into a room
  (``room``, ``roomPassword``); the room desk checks it before the name is
  claimed.

Resume tokens, and sessions moving between sockets and nodes, are
:mod:`~chinwag.core.handover`'s; it calls in here to finish a sign-in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from .calls import CallState
from .closecodes import CloseCode
from .credentials import Credentials
from .effects import (
    Claim,
    Close,
    ConnId,
    Forward,
    Publish,
    Release,
    UpdateRecord,
)
from .errors import ProtocolError, error_message
from .events import Joined, Left, Renamed, RoomSettings, TakeOver, UserRecord
from .limits import TokenBucket
from .members import RESUME_WAIT, Frame, Member, Pending, SignInRoom
from .names import name_key
from .protocol import SignIn, numbered_name
from .rooms import DEFAULT_ROOM
from .status import record_of, room_call_since

if TYPE_CHECKING:
    from .context import Context
    from .ports import Authenticator, Hangups, RoomEntrance, SignInHistory, Welcome

__all__ = ["NAME_LOST", "TAKEN_OVER", "SignIns"]

MAX_CLAIM_TRIES: Final = 50
TAKEN_OVER: Final = CloseCode.TAKEN_OVER  # the session was resumed on another connection
NAME_LOST: Final = CloseCode.NAME_LOST  # the name went to another node during a cluster split


class SignIns:
    """Signs users in (claiming their names), renames them, and signs them out."""

    def __init__(
        self,
        context: Context,
        router: Hangups,
        greeter: Welcome,
        history: SignInHistory,
        desk: RoomEntrance,
        authenticator: Authenticator | None,
    ) -> None:
        self._ctx = context
        self._router = router
        self._desk = desk
        self._greeter = greeter
        self._history = history
        self._credentials = Credentials(context, authenticator)
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

    def sign_in(
        self, member: Member, request: SignIn, notice: dict[str, Any] | None = None
    ) -> None:
        """A ``username`` message (a resume token already tried): sign in or rename.

        ``notice`` is sent once signed in (the resume token was no good).
        """
        if request.name == member.name:
            return
        if member.name is not None and self._ctx.calls.involved(member.name):
            raise _in_call(member.name, self._ctx.calls.state_of(member.name))
        if member.name is not None and room_call_since(self._ctx, member.name):
            raise _in_call(member.name, None)
        expires = self._credentials.check(member, request)
        entry = SignInRoom()
        if member.name is None and "rooms" in request.features:
            member.grants = self._credentials.room_grants(request)
            room = request.room or DEFAULT_ROOM
            gate = self._desk.gate
            allowed = gate.screen(member, request.name, room, request.invite, "username")
            found = self._desk.admit(
                member, room, request.room_password, "username", allowed.invite is not None
            )
            entry = SignInRoom(room, found, request.room_password, allowed)
        took_over = False
        if expires is not None:
            name, number = request.name, 0
            older = self._older_session(member, name)
            if isinstance(older, UserRecord):
                pending = Pending(request, name, 0, notice, expires=expires, entry=entry)
                self._ask_to_give_way(member, pending, older.node)
                return
            if older is not None:
                self.end_older_session(older)
                took_over = True
        else:
            name, number = self._free_name(request.name, 0, member)
        # A name taken over here, or a new spelling of one's own, is this node's claim already.
        if self._ctx.node is None or took_over or _respelled(member.name, name):
            self.complete_sign_in(member, request, name, notice, entry, expires)
            return
        member.pending = Pending(request, name, number, notice, expires=expires, entry=entry)
        self.claim(member, name)

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

    def end_older_session(self, older: Member, handed_to: UserRecord | None = None) -> None:
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
        self.complete_sign_in(
            member, pending.request, name, pending.notice, pending.entry, pending.expires
        )
        self.release_held(member, pending.held)

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
        self.complete_sign_in(member, request, pending.name, notice, entry, pending.expires)
        self.release_held(member, pending.held)
        return True

    def claim(self, member: Member, name: str) -> None:
        """Ask the bus for ``name`` (answered by ``claimed``)."""
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
            self.release_held(member, pending.held)
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
        self.claim(member, pending.name)

    def _free_name(self, wanted: str, start: int, member: Member) -> tuple[str, int]:
        """The first name from ``wanted`` + ``start`` on that this node knows to be free
        (``member``'s own name counts as free: a new spelling of it is allowed)."""
        number = start
        name = wanted if number == 0 else numbered_name(wanted, number)
        while self._ctx.directory.listed_as(name) not in (None, member.name):
            number += 1
            name = numbered_name(wanted, number)
        return name, number

    def complete_sign_in(
        self,
        member: Member,
        request: SignIn,
        name: str,
        notice: dict[str, Any] | None,
        entry: SignInRoom,
        expires: float | None = None,
    ) -> None:
        """``member`` is ``name`` now (signed in, or renamed): tell it, its room and the cluster."""
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
        if self._credentials.required:
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
            self._ctx.directory.sign_in(member, name, self.token())
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
                record = record_of(self._ctx, member)
                self._ctx.outbox.emit(Publish(Joined(record)))
                if record.room:  # the claim stored no room
                    self._ctx.outbox.emit(UpdateRecord(record))
            else:
                self._ctx.outbox.emit(Publish(Renamed(old, name, self._ctx.node)))
                if _respelled(old, name):  # one claim, by key: store the new spelling
                    self._ctx.outbox.emit(UpdateRecord(record_of(self._ctx, member)))
                else:
                    self._ctx.outbox.emit(Release(old))
        if old is None:  # after Joined: other nodes know the room before its new control
            self._desk.gate.entered(member, opened, entry.allowed.invite)

    def token(self) -> str:
        """A new resume token."""
        secret = secrets.token_urlsafe(24)
        # In a cluster the token names its node, so another node can ask for the session.
        return f"{self._ctx.node}.{secret}" if self._ctx.node is not None else secret

    def release_held(self, member: Member, held: list[Frame]) -> None:
        """Handle frames that waited for a sign-in, unless another wait began."""
        for data in held:
            if member.pending is None:
                self.on_frame(member, data)
            else:
                self.hold(member, data)

    # -- signing out -------------------------------------------------------------------

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


def _respelled(old: str | None, new: str) -> bool:
    """True when ``new`` is another spelling of ``old`` (the bus claims names by key)."""
    return old is not None and name_key(old) == name_key(new)


def _in_call(name: str, state: CallState | None) -> ProtocolError:
    call = f"a {state.value} call" if state is not None else "a seat in the room call"
    return ProtocolError(
        "in-call",
        f"{name} has {call}; hang up before changing your name.",
        "username",
        name,
    )
