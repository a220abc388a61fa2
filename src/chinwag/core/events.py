"""What nodes tell each other. Small frozen records, encoded with msgspec.

Presence events go to every node (``Bus.publish``); deliveries go to the node
that holds the target user (``Bus.send``). ``NodeGone`` is never sent by a
node: the bus synthesizes it when a node's lease runs out.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "BusEvent",
    "ChatLine",
    "Deliver",
    "HostOrder",
    "InvitesSpent",
    "Joined",
    "Left",
    "Moved",
    "NamesLost",
    "NodeGone",
    "NodeUsers",
    "Relayed",
    "Renamed",
    "ResumeGrant",
    "ResumeRefused",
    "ResumeRequest",
    "RoomControl",
    "RoomNotice",
    "RoomSettings",
    "Status",
    "TakeOver",
    "Undeliverable",
    "UserRecord",
    "decode_event",
    "encode_event",
]


class RoomSettings(msgspec.Struct, frozen=True):
    """A room's settings, as whoever opened it (or the operator's config) set them.

    Every member's record carries them, so a node that starts late, or hears
    of the room first from another node, knows its password too. The password
    travels only as a salted HMAC-SHA256 ``digest`` (empty: no password).
    ``created`` (ms) and ``opener`` break the tie when two nodes opened the
    same room at once: the earliest wins everywhere.
    """

    title: str = ""
    public: bool = False
    salt: bytes = b""
    digest: bytes = b""
    created: int = 0
    opener: str = ""

    @property
    def locked(self) -> bool:
        return bool(self.digest)


class UserRecord(msgspec.Struct, frozen=True):
    """One signed-in user as the shared directory stores it.

    ``room`` is the room's name as its opener typed it (``""``: the default
    room); ``call`` is when the user joined that room's call (Unix ms; 0: not
    in it), which orders the participants the same way on every node.
    """

    name: str
    node: str
    features: tuple[str, ...] = ()
    busy: bool = False
    room: str = ""
    call: int = 0
    settings: RoomSettings | None = None


class Joined(msgspec.Struct, frozen=True, tag="joined"):
    user: UserRecord


class Left(msgspec.Struct, frozen=True, tag="left"):
    name: str
    node: str


class Renamed(msgspec.Struct, frozen=True, tag="renamed"):
    old: str
    new: str
    node: str


class Moved(msgspec.Struct, frozen=True, tag="moved"):
    """A user changed room, or joined or left its room's call: its record now."""

    user: UserRecord


class Status(msgspec.Struct, frozen=True, tag="status"):
    """A user became busy (in a call) or idle."""

    name: str
    busy: bool


class ChatLine(msgspec.Struct, frozen=True, tag="chat"):
    name: str
    id: int
    date: int
    text: str
    room: str = ""  # the room's key


class Relayed(msgspec.Struct, frozen=True, tag="relayed"):
    """An untargeted pass-through message, for every user of one room on every node."""

    payload: bytes  # UTF-8 JSON, ready to send
    room: str = ""  # the room's key


class Deliver(msgspec.Struct, frozen=True, tag="deliver"):
    """A targeted message for ``target``, a user on the receiving node."""

    sender: str
    sender_node: str
    target: str
    kind: str
    payload: bytes  # UTF-8 JSON, ready to send
    #: Times a node passed it on because the target's session had moved to another
    #: node (see ``Router.deliver_from_node``); bounded, so views that disagree
    #: cannot pass it around for ever. (A default: processes without it ignore it.)
    hops: int = 0


class Undeliverable(msgspec.Struct, frozen=True, tag="undeliverable"):
    """Sent back when a Deliver found no such user (it left meanwhile), or a receiver
    that is being sent more than it can take (``full``)."""

    sender: str
    target: str
    kind: str
    full: bool = False


class NodeGone(msgspec.Struct, frozen=True, tag="node-gone"):
    node: str


class NodeUsers(msgspec.Struct, frozen=True, tag="node-users"):
    """Every user ``node`` has now; replaces what the receiver knew of that node.

    A bus hands its lobby one for every other live node when it joins or
    rejoins the cluster, and publishes its own node's after every (re)join, so
    the shared list is rebuilt after Redis restarts. Nodes not mentioned are
    left as they are: they come back with their own, or get NodeGone.
    """

    node: str
    users: tuple[UserRecord, ...]


class NamesLost(msgspec.Struct, frozen=True, tag="names-lost"):
    """This node's names that could not be re-claimed when it rejoined.

    Another node took them while this one was cut off from Redis (its lease
    lapsed). The lobby must take each name from its local user (sign it out or
    rename it). Never on the wire: the bus hands it to its own lobby.
    """

    names: tuple[str, ...]


class ResumeRequest(msgspec.Struct, frozen=True, tag="resume-request"):
    """A client came back to ``node`` with a resume token this node issued."""

    token: str
    node: str
    conn: int
    seq: int = 0  # the last ``seq`` the client received


class ResumeGrant(msgspec.Struct, frozen=True, tag="resume-grant"):
    """The session behind ``token``, handed over to the node that asked for it.

    The sender has already given the name to that node (``Bus.hand_over``) and
    dropped the session; the receiver carries it on from here.
    """

    token: str
    conn: int
    user: UserRecord
    backlog: tuple[bytes, ...]
    partner: str | None
    in_call: bool
    seq: int = 0  # the session's last ``seq``, to go on counting from
    expires: float | None = None  # its sign-in token's expiry: no resume after it
    dropped: int = 0  # backlog messages dropped while parked, for the resume's note
    #: Answering a :class:`TakeOver`: the older session ended, only its name moves
    #: (``token`` and ``backlog`` are empty); the receiver signs a new session in.
    fresh: bool = False


class TakeOver(msgspec.Struct, frozen=True, tag="take-over"):
    """A client on ``node`` proved with a signed token that it is ``name``, a user of
    the receiving node: end that older session and give the name to ``node``.

    Answered like a :class:`ResumeRequest`: a ``ResumeGrant`` with ``fresh``
    set, or ``ResumeRefused`` (no session of exactly that name here).
    """

    name: str
    node: str
    conn: int


class ResumeRefused(msgspec.Struct, frozen=True, tag="resume-refused"):
    """No session behind that token (it ended); the client signs in afresh."""

    conn: int


class RoomControl(msgspec.Struct, frozen=True, tag="room-control"):
    """Who runs a room and how it lets people in: one snapshot, replaced on every change.

    A node that changes it publishes the whole snapshot with ``version`` one
    higher; every node keeps the highest (``version``, ``node``), so two nodes
    that changed it at once end with the same one everywhere. Bans are the
    exception: they only grow while the room lives, so every node merges the
    bans of each snapshot it hears, and the node that knows a removed
    person's address adds it without a new version (a host's change made
    elsewhere at that moment is not replaced by it).
    ``roles`` holds hosts and moderators by name (everyone else is a guest),
    in the order they got the role; ``banned`` holds name keys;
    ``hands`` the names with a raised hand, in the order they raised it.
    A breakout room names its main room in ``parent``; a main room lists its
    breakout rooms in ``breakouts`` and who goes where in ``assignments``
    (name -> index into ``breakouts``).
    """

    room: str
    version: int = 0
    node: str = ""
    roles: dict[str, str] = {}
    entry: str = "open"  # open, waiting or locked
    banned: tuple[str, ...] = ()
    banned_addresses: tuple[str, ...] = ()
    hands: tuple[str, ...] = ()
    breakouts: tuple[str, ...] = ()
    assignments: dict[str, int] = {}
    parent: str = ""

    def newer_than(self, other: RoomControl | None) -> bool:
        return other is None or (self.version, self.node) > (other.version, other.node)


class HostOrder(msgspec.Struct, frozen=True, tag="host-order"):
    """A host's or moderator's action, already allowed, for every node to carry out
    on its own users: ``remove``, ``deny``, ``admit``, ``mute``, ``end-call``,
    ``move`` (to room ``to``) or ``say`` (a system message ``text``).

    ``room`` is the room's key; ``target`` a name, or empty for everyone in it.
    """

    room: str
    action: str
    by: str
    target: str = ""
    ban: bool = False
    kind: str = ""
    to: str = ""
    text: str = ""


class RoomNotice(msgspec.Struct, frozen=True, tag="room-notice"):
    """A ``moderation`` or ``reaction`` message for the users of room ``room`` (a key)
    on every node that understand rooms (the reference client never sees one)."""

    room: str
    payload: bytes  # UTF-8 JSON, ready to send


class RoomRecording(msgspec.Struct, frozen=True, tag="room-recording"):
    """A recording of room ``room``'s SFU call (opened at ``opened``) started (``on``) or
    stopped on another node: every node keeps the call's recording state and tells its
    own users; the node that started it records (its SFU link holds the recording)."""

    room: str
    opened: int
    since: int
    by: str
    on: bool
    stopped_by: str | None = None  # who stopped it (None: the media server, ``reason``)
    reason: str | None = None


class InvitesSpent(msgspec.Struct, frozen=True, tag="invites-spent"):
    """Invite ids another node used up (single use) or revoked, with their expiries."""

    used: tuple[tuple[str, int], ...] = ()
    revoked: tuple[tuple[str, int], ...] = ()


BusEvent = (
    Joined
    | Left
    | Renamed
    | Moved
    | Status
    | ChatLine
    | Relayed
    | Deliver
    | Undeliverable
    | NodeGone
    | NodeUsers
    | NamesLost
    | ResumeRequest
    | ResumeGrant
    | ResumeRefused
    | TakeOver
    | RoomControl
    | HostOrder
    | InvitesSpent
    | RoomNotice
    | RoomRecording
)

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[BusEvent] = msgspec.msgpack.Decoder(BusEvent)


def encode_event(event: BusEvent) -> bytes:
    return _encoder.encode(event)


def decode_event(data: bytes) -> BusEvent:
    return _decoder.decode(data)
