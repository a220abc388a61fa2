"""Who is where: the users of this node and of the others (no I/O).

:class:`Directory` owns every map that says where a user is, and is the only
code that changes them. Its invariants (``check`` asserts them all; the
property test in ``tests/unit/test_core_properties.py`` calls it after every
step):

1. Every open connection has exactly one :class:`Member`, in state
   ``SIGNING_IN`` or ``CONNECTED``, whose ``conn`` is that connection.
2. A *local* user (signed in here) is ``CONNECTED`` or ``PARKED``, is listed
   under its own ``name``, and holds exactly one resume token, which maps
   back to it.
3. ``PARKED`` members are exactly the local users without a connection.
4. Local and remote (other nodes') names are disjoint, and the listed order
   holds exactly their union: each listed name has one member or record.
5. No two listed names share a :func:`~chinwag.core.names.name_key`; every
   lookup by name goes through that key, so "Alice" finds "alice" (the name
   is listed as its owner typed it).
6. Every listed name is in exactly one room: the one its member (``room``,
   a room key) or record (``name_key(record.room)``) says, listed there in
   the order it arrived. A room with nobody in it is not listed at all.

A little over chinwag's ~400-line guide on purpose: the invariants above are
kept only because every map they speak of is changed by this one class, so
splitting it would put one invariant's two halves in two files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import msgspec

from .effects import ConnId
from .events import UserRecord
from .members import Member, MemberState
from .names import name_key

__all__ = ["Directory"]


class Directory:
    """The maps of who is where, kept consistent (see the module docstring)."""

    def __init__(self) -> None:
        self._by_conn: dict[ConnId, Member] = {}
        self._local: dict[str, Member] = {}
        self._remote: dict[str, UserRecord] = {}
        self._order: dict[str, None] = {}  # every name, in list order
        self._tokens: dict[str, Member] = {}
        self._parked: dict[str, Member] = {}
        self._keys: dict[str, str] = {}  # name_key -> the listed name
        self._parked_from: Counter[str] = Counter()  # parked sessions by client address
        self._rooms: dict[str, dict[str, None]] = {}  # room key -> its names, in order
        self._room_of: dict[str, str] = {}  # listed name -> its room key

    # -- queries -------------------------------------------------------------

    @property
    def order(self) -> dict[str, None]:
        """Every listed name in list order (read only: do not change it)."""
        return self._order

    def names(self) -> list[str]:
        return list(self._order)

    def members_of(self, room: str) -> dict[str, None]:
        """The names in room ``room`` (a key), in list order (read only: do not change it)."""
        return self._rooms.get(room, {})

    def room_of(self, name: str) -> str | None:
        """The key of the room a listed name (or one spelled alike) is in."""
        room = self._room_of.get(name)
        if room is None and name not in self._order:
            room = self._room_of.get(self._keys.get(name_key(name), ""))
        return room

    def room_keys(self) -> list[str]:
        """Every room someone is in."""
        return list(self._rooms)

    def connected_in(self, room: str) -> Iterator[Member]:
        """This node's connected members in room ``room``, in list order."""
        for name in self._rooms.get(room, ()):
            member = self._local.get(name)
            if member is not None and member.state is MemberState.CONNECTED:
                yield member

    def local_in(self, room: str) -> Iterator[Member]:
        """This node's members in room ``room``, connected or parked, in list order."""
        for name in self._rooms.get(room, ()):
            member = self._local.get(name)
            if member is not None:
                yield member

    def connection_count(self) -> int:
        return len(self._by_conn)

    def parked_count(self) -> int:
        return len(self._parked)

    def parked_from(self, address: str) -> int:
        """Parked sessions whose last socket came from ``address`` (they count against
        its connection limit: a parked session holds memory as a socket does)."""
        return self._parked_from.get(address, 0)

    def has_node(self, node: str) -> bool:
        """True while ``node`` lists a user; a node holding a session always does.

        A scan: asked only for resume tokens naming another node (rate-limited).
        """
        return any(record.node == node for record in self._remote.values())

    def at(self, conn: ConnId) -> Member | None:
        return self._by_conn.get(conn)

    def listed_as(self, name: str) -> str | None:
        """The listed name that ``name`` cannot be told apart from, if any."""
        if name in self._order:  # the common case: spelled as listed
            return name
        return self._keys.get(name_key(name))

    def local(self, name: str) -> Member | None:
        member = self._local.get(name)
        if member is None and name not in self._order:
            member = self._local.get(self._keys.get(name_key(name), ""))
        return member

    def remote(self, name: str) -> UserRecord | None:
        record = self._remote.get(name)
        if record is None and name not in self._order:
            record = self._remote.get(self._keys.get(name_key(name), ""))
        return record

    def listed(self, name: str) -> bool:
        return self.listed_as(name) is not None

    def local_names(self) -> list[str]:
        return list(self._local)

    def by_token(self, token: str) -> Member | None:
        return self._tokens.get(token)

    def open_members(self) -> list[Member]:
        """Every member with a socket (signing in or connected)."""
        return list(self._by_conn.values())

    def connected(self) -> Iterator[Member]:
        """Signed-in members with a socket, in list order."""
        for member in self._local.values():
            if member.state is MemberState.CONNECTED:
                yield member

    def parked(self) -> Iterator[Member]:
        """Signed-in members without a socket."""
        yield from self._parked.values()

    def parked_until(self, now: float) -> list[Member]:
        """Parked members whose grace ended at or before ``now``."""
        return [m for m in self._parked.values() if m.parked_until <= now]

    def remote_of(self, node: str) -> list[str]:
        return [name for name, record in self._remote.items() if record.node == node]

    # -- changes to this node's users ----------------------------------------

    def open(self, member: Member) -> None:
        """A socket opened; ``member`` signs in next."""
        assert member.state is MemberState.SIGNING_IN and member.conn not in self._by_conn
        self._by_conn[member.conn] = member

    def drop(self, member: Member) -> None:
        """A socket that never signed in is gone."""
        assert member.state is MemberState.SIGNING_IN
        self._by_conn.pop(member.conn, None)

    def sign_in(self, member: Member, name: str, token: str) -> None:
        """``member`` (signing in, or a handed-over session) is now ``name``."""
        assert member.state is MemberState.SIGNING_IN and self.local(name) is None
        if self._remote.pop(name, None) is not None:  # the cluster gave this node the name
            self._exit(name)  # kept in its place in the list; it enters its own room below
        member.name = name
        member.state = MemberState.CONNECTED
        self._local[name] = member
        self._list(name)
        self._enter(name, member.room)
        self._set_token(member, token)

    def move(self, member: Member, room: str) -> str:
        """A local member goes to room ``room`` (a key); returns the room it left."""
        assert member.name is not None and self._local.get(member.name) is member
        old = self._room_of.get(member.name, member.room)
        self._exit(member.name)
        member.room = room
        self._enter(member.name, room)
        return old

    def rename(self, member: Member, new: str) -> str:
        """Rename a local member; returns the old name. The new name goes last in the list."""
        old = member.name
        assert old is not None and self._local.get(old) is member
        assert self.local(new) in (None, member)  # a new spelling of one's own name is fine
        self._remote.pop(new, None)  # a stale record: the cluster gave this node the name
        del self._local[old]
        self._unlist(old)
        self._exit(old)
        member.name = new
        self._local[new] = member
        self._list(new)
        self._enter(new, member.room)
        return old

    def new_token(self, member: Member, token: str) -> None:
        assert member.name is not None and self._local.get(member.name) is member
        self._set_token(member, token)

    def park(self, member: Member, until: float) -> None:
        """``member``'s socket dropped: keep its session until ``until``."""
        assert member.state is MemberState.CONNECTED and member.name is not None
        del self._by_conn[member.conn]
        member.state = MemberState.PARKED
        member.parked_until = until
        self._park(member)

    def attach(self, session: Member, newcomer: Member) -> ConnId | None:
        """Move ``session`` onto ``newcomer``'s socket (a resume).

        Returns the session's old socket if it was still open (half-open):
        the caller closes it.
        """
        assert session.name is not None and newcomer.state is MemberState.SIGNING_IN
        old = session.conn if session.state is MemberState.CONNECTED else None
        if old is not None:
            del self._by_conn[old]
        self._unpark(session.name)
        session.conn = newcomer.conn
        session.address = newcomer.address
        session.state = MemberState.CONNECTED
        self._by_conn[newcomer.conn] = session
        return old

    def remove(self, member: Member) -> None:
        """``member`` left for good (or was never signed in)."""
        if member.state is not MemberState.PARKED and self._by_conn.get(member.conn) is member:
            del self._by_conn[member.conn]
        if member.name is not None and self._local.get(member.name) is member:
            self._unpark(member.name)
            del self._local[member.name]
            self._unlist(member.name)
            self._exit(member.name)
        if member.token is not None and self._tokens.get(member.token) is member:
            del self._tokens[member.token]

    def hand_away(self, member: Member, record: UserRecord) -> ConnId | None:
        """``member``'s session moved to another node: listed as ``record``, in place.

        Returns its socket if it was still open (half-open): the caller closes it.
        """
        name = member.name
        assert name is not None and self._local.get(name) is member and record.name == name
        old = member.conn if member.state is MemberState.CONNECTED else None
        if old is not None:
            del self._by_conn[old]
        self._unpark(name)
        del self._local[name]
        if member.token is not None:
            self._tokens.pop(member.token, None)
        self._remote[name] = record  # still listed where it was: no flicker
        self._place(name, name_key(record.room))
        return old

    def adopt(self, member: Member, name: str, token: str) -> None:
        """A session another node handed over is ``member``'s now (signing in or parked)."""
        assert member.state is not MemberState.CONNECTED and self.local(name) is None
        self._remote.pop(name, None)
        member.name = name
        if member.state is MemberState.PARKED:
            self._park(member)
        else:
            member.state = MemberState.CONNECTED
        self._local[name] = member
        if name not in self._order:
            self._list(name)
        self._place(name, member.room)
        self._set_token(member, token)

    def _park(self, member: Member) -> None:
        assert member.name is not None
        self._parked[member.name] = member
        self._parked_from[member.address] += 1

    def _unpark(self, name: str) -> None:
        member = self._parked.pop(name, None)
        if member is not None:
            self._parked_from[member.address] -= 1
            if self._parked_from[member.address] <= 0:
                del self._parked_from[member.address]

    def _list(self, name: str) -> None:
        """List ``name`` last, dropping a stale remote record that shares its key."""
        stale = self._keys.get(name_key(name))
        if stale is not None and stale != name and stale in self._remote:
            self.remove_remote(stale)
        self._keys[name_key(name)] = name
        self._order[name] = None

    def _unlist(self, name: str) -> None:
        del self._order[name]
        if self._keys.get(name_key(name)) == name:
            del self._keys[name_key(name)]

    def _set_token(self, member: Member, token: str) -> None:
        if member.token is not None and self._tokens.get(member.token) is member:
            del self._tokens[member.token]
        member.token = token
        self._tokens[token] = member

    # -- other nodes' users --------------------------------------------------

    def add_remote(self, record: UserRecord) -> bool:
        """Another node's user joined; False when the name is this node's."""
        if self.local(record.name) is not None:
            return False
        self._remote[record.name] = record
        if record.name not in self._order:
            self._list(record.name)
        self._place(record.name, name_key(record.room))
        return True

    def update_remote(self, record: UserRecord) -> None:
        if record.name in self._remote:
            self._remote[record.name] = record
            self._place(record.name, name_key(record.room))

    def remove_remote(self, name: str) -> None:
        if self._remote.pop(name, None) is not None:
            self._unlist(name)
            self._exit(name)

    def rename_remote(self, old: str, new: str, node: str) -> bool:
        """Another node's user renamed; False when this node knows no such user there."""
        record = self._remote.get(old)
        if record is None or record.node != node or self.local(new) is not None:
            return False
        del self._remote[old]
        self._unlist(old)
        self._exit(old)
        self._remote[new] = msgspec.structs.replace(record, name=new)
        self._list(new)
        self._enter(new, name_key(record.room))
        return True

    # -- rooms -------------------------------------------------------------------

    def _enter(self, name: str, room: str) -> None:
        self._rooms.setdefault(room, {})[name] = None
        self._room_of[name] = room

    def _exit(self, name: str) -> None:
        room = self._room_of.pop(name, None)
        if room is None:
            return
        names = self._rooms[room]
        del names[name]
        if not names:
            del self._rooms[room]

    def _place(self, name: str, room: str) -> None:
        """``name`` is in ``room``: moved there if it was elsewhere, in place if not."""
        if self._room_of.get(name) != room:
            self._exit(name)
            self._enter(name, room)

    # -- invariants ------------------------------------------------------------

    def check(self) -> None:
        """Assert every invariant in the module docstring."""
        for conn, member in self._by_conn.items():
            assert member.conn == conn, (conn, member)
            assert member.state is not MemberState.PARKED, member
        for name, member in self._local.items():
            assert member.name == name and member.state is not MemberState.SIGNING_IN, member
            if member.state is MemberState.CONNECTED:
                assert self._by_conn.get(member.conn) is member, member
            assert member.token is not None and self._tokens.get(member.token) is member, member
        parked = {n for n, m in self._local.items() if m.state is MemberState.PARKED}
        assert set(self._parked) == parked, (self._parked, parked)
        assert all(self._parked[n] is self._local[n] for n in parked)
        assert self._parked_from == Counter(m.address for m in self._parked.values())
        assert not set(self._local) & set(self._remote)
        assert set(self._order) == set(self._local) | set(self._remote)
        assert self._keys == {name_key(n): n for n in self._order}, (self._keys, self._order)
        assert len(self._keys) == len(self._order), "two listed names share a key"
        assert all(m in self._local.values() for m in self._tokens.values())
        for member in self._by_conn.values():
            if member.state is MemberState.SIGNING_IN:
                assert member.name is None, member
        self._check_rooms()

    def _check_rooms(self) -> None:
        assert set(self._room_of) == set(self._order), (self._room_of, self._order)
        for name, member in self._local.items():
            assert self._room_of[name] == member.room, (name, member.room)
        for name, record in self._remote.items():
            assert self._room_of[name] == name_key(record.room), (name, record)
        listed = [(room, name) for room, names in self._rooms.items() for name in names]
        assert sorted(listed) == sorted((r, n) for n, r in self._room_of.items()), listed
        assert all(self._rooms.values()), self._rooms
