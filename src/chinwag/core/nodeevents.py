"""Events from other nodes, each handed to the desk whose rule it is (no I/O)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    Status,
    TakeOver,
    Undeliverable,
)

if TYPE_CHECKING:
    from .context import Context
    from .desks import Desks

__all__ = ["NodeEvents"]


class NodeEvents:
    """Hands each event from another node to its desk."""

    def __init__(self, context: Context, desks: Desks) -> None:
        self._ctx = context
        self._desks = desks

    def undelivered(self, event: BusEvent) -> None:
        """The cluster link could not carry ``event`` to its node (the bus is down):
        a relayed message's sender hears ``unavailable``; a resume signs in afresh."""
        match event:
            case Deliver(sender=sender, target=target, kind=kind):
                self._desks.router.unavailable(sender, target, kind)
            case ResumeRequest(conn=conn) | TakeOver(conn=conn):
                member = self._ctx.directory.at(conn)
                if member is not None:
                    self._desks.hand_overs.resume_refused(member)

    def handle(self, event: BusEvent) -> None:
        """An event from another node."""
        match event:
            case Joined(user=user):
                self._desks.remote.joined(user)
            case Left(name=name, node=node):
                self._desks.remote.left(name, node)
            case Renamed(old=old, new=new, node=node):
                self._desks.remote.renamed(old, new, node)
            case Moved(user=user):
                self._desks.remote.moved(user)
            case Status():
                self._desks.remote.status(event)
            case ChatLine(name=name, id=conn, date=date, text=text, room=room):
                self._desks.router.deliver_chat(name, conn, date, text, room)
            case Relayed(payload=payload, room=room):
                self._desks.router.broadcast(payload, room)
            case Deliver():
                self._desks.router.deliver_from_node(event)
            case Undeliverable(sender=sender, target=target, kind=kind, full=full):
                self._desks.router.undeliverable(sender, target, kind, full)
            case NodeGone(node=node):
                self._desks.remote.sync_node(node, ())
                self._desks.hosts.door.node_lost()
            case NodeUsers(node=node, users=users):
                self._desks.remote.sync_node(node, users)
                self._desks.hosts.door.node_lost()
                self._desks.hosts.node_joined()
            case RoomControl():
                self._desks.hosts.control_from_node(event)
            case HostOrder():
                self._desks.hosts.carry_out(event, here=False)
            case InvitesSpent():
                self._desks.hosts.invites_from_node(event)
            case RoomNotice(room=room, payload=payload):
                self._desks.hosts.news.deliver(room, payload)
            case NamesLost(names=names):
                self._desks.sign_ins.names_lost(names)
            case ResumeRequest():
                self._desks.hand_overs.hand_over(event)
            case TakeOver():
                self._desks.hand_overs.give_way(event)
            case ResumeGrant():
                self._desks.hand_overs.take_over(event)
            case ResumeRefused(conn=conn):
                member = self._ctx.directory.at(conn)
                if member is not None:
                    self._desks.hand_overs.resume_refused(member)
