"""Hosts' rules in the lobby, by calling it with a clock the test moves (no sockets).

The socket-level twins are in tests/server/test_hosts.py, across processes in
tests/cluster/test_hosts_cluster.py.
"""

from __future__ import annotations

import json
from typing import Any

from chinwag.core.auth import Authenticator, issue_token
from chinwag.core.effects import Moderated
from chinwag.core.events import RoomControl
from chinwag.core.lobby import Lobby
from chinwag.core.moderation import Role, bumped, promoted, with_ban, with_bans_of
from tests.unit.test_lobby import sent
from tests.unit.test_lobby_rooms import ROOMS, errors

SECRET = b"a secret of at least thirty-two bytes!!"


class World:
    def __init__(self, **lobby: Any) -> None:
        self.now = 1_700_000_000.0
        self.lobby = Lobby(clock=lambda: self.now, invite_secret=SECRET, **lobby)
        self.next = 0

    def join(self, name: str, room: str = "team", **extra: Any) -> tuple[int, list[Any]]:
        self.next += 1
        self.lobby.connect(self.next)
        hello = {"type": "username", "name": name, "features": ROOMS, "room": room, **extra}
        effects = self.lobby.receive(self.next, json.dumps(hello))
        self.lobby.check()
        return self.next, effects

    def say(self, conn: int, **fields: Any) -> list[Any]:
        effects = self.lobby.receive(conn, json.dumps(fields))
        self.lobby.check()
        return effects


def test_an_invite_is_refused_once_the_clock_passes_its_expiry() -> None:
    world = World()
    host, _ = world.join("ana")
    world.say(host, type="set-entry", entry="locked")
    minted = sent(world.say(host, type="invite-create", ttl=600, passLock=True), host)[-1]
    assert minted["expires"] == int(world.now) + 600
    world.now += 599
    early, effects = world.join("bea", invite=minted["invite"])
    assert not errors(effects, early)
    world.now += 2  # past the expiry: the same link now says so
    late, effects = world.join("cy", invite=minted["invite"])
    assert errors(effects, late) == ["invite-expired"]
    assert world.lobby.room_of("cy") is None


def test_a_token_grants_a_role_per_room_and_the_log_hears_each_action() -> None:
    secret = "token secret of thirty-two bytes or more"
    world = World(authenticator=Authenticator(token_secret=secret))
    token = issue_token(secret, "mo", world.now + 60, rooms={"Team": "moderator"})
    guest_token = issue_token(secret, "gil", world.now + 60)
    world.join("gil", credential=guest_token)  # opens the room: its host
    mo, effects = world.join("mo", credential=token)
    control = [m for m in sent(effects, mo) if m["type"] == "room-control"][-1]
    assert control["roles"] == {"gil": "host", "mo": "moderator"}
    effects = world.say(mo, type="set-entry", entry="waiting")
    logged = [e for e in effects if isinstance(e, Moderated)]
    assert logged == [Moderated("team", "entry", "mo", "", (("entry", "waiting"),))]


def test_promotion_prefers_the_first_moderator_then_the_longest_present() -> None:
    control = RoomControl("team", roles={"late": "moderator", "early": "moderator"})
    after, chosen = promoted(control, ["guest", "early", "late"])
    assert chosen == "late" and after.roles["late"] == Role.HOST  # moderator first by grant
    after, chosen = promoted(RoomControl("team"), ["first", "second"])
    assert chosen == "first"
    unchanged, chosen = promoted(after, ["first", "second"])
    assert chosen is None and unchanged is after


def test_the_api_operations_act_as_the_server() -> None:
    world = World()
    world.join("ana")
    dana, _ = world.join("dana")
    effects = world.lobby.post_system_message("team", "Maintenance at noon")
    notice = sent(effects, dana)[-1]
    assert notice == {
        "type": "moderation",
        "room": "team",
        "action": "say",
        "by": None,
        "target": None,
        "text": "Maintenance at noon",
    }
    world.lobby.remove_participant("team", "dana", ban=True)
    assert world.lobby.room_of("dana") is None
    again, effects = world.join("dana")
    assert errors(effects, again) == ["banned"]
    token, invite = world.lobby.mint_invite("team", "guest", 60)
    assert invite.room == "team" and token.count(".") == 2


def test_bans_merge_across_snapshots_while_roles_follow_the_newest() -> None:
    base = RoomControl(room="team", version=4, node="a", roles={"ana": "host"}, banned=("dana",))
    # Node a makes gus a moderator; node b, which held dana, adds her address (no new version).
    by_host = bumped(
        RoomControl(room="team", version=4, node="a", roles={"ana": "host", "gus": "moderator"},
                    banned=("dana",)),
        "a",
    )  # fmt: skip
    by_holder = with_ban(base, "dana", "10.0.0.7")
    assert by_holder.version == base.version  # it cannot win over the host's change
    merged = with_bans_of(by_host, by_holder)
    assert merged.roles == {"ana": "host", "gus": "moderator"}
    assert merged.banned == ("dana",) and merged.banned_addresses == ("10.0.0.7",)
    assert with_bans_of(by_holder, by_host).banned_addresses == ("10.0.0.7",)
