"""A host's mute in an SFU call is enforced at Janus (``SfuModerate``), in the core.

The lobby is called directly; the effects are what the SFU link carries out
(tests/sfu/test_janus_moderate.py shows Janus holding the stream back).
"""

from __future__ import annotations

from typing import Any

from chinwag.core.effects import SfuModerate
from chinwag.core.events import HostOrder
from tests.unit.test_lobby_sfu import Call, errors


def moderations(effects: list[Any]) -> list[SfuModerate]:
    return [e for e in effects if isinstance(e, SfuModerate)]


def sfu_call() -> Call:
    """ann (the room's host: she opened it), ben and cat in a call on the SFU."""
    call = Call(mesh_max=2)
    call.seat("ann", "ben", "cat")
    return call


def test_a_hosts_mute_in_an_sfu_call_is_sent_to_janus_for_that_stream() -> None:
    call = sfu_call()
    opened = call.opened()
    effects = call.say("ann", type="mute", target="ben", kind="audio")
    assert moderations(effects) == [SfuModerate("r", opened, "ben", "audio", True)]
    effects = call.say("ann", type="mute", target="cat", kind="screen")  # one video m-line
    assert moderations(effects) == [SfuModerate("r", opened, "cat", "video", True)]
    effects = call.say("ann", type="mute")  # everyone but the host
    assert sorted(m.name for m in moderations(effects)) == ["ben", "cat"]
    assert {m.kind for m in moderations(effects)} == {"audio"}


def test_a_guest_cannot_mute_and_nothing_reaches_janus() -> None:
    call = sfu_call()
    effects = call.say("ben", type="mute", target="cat", kind="audio")
    assert errors(effects, call.conns["ben"]) == ["forbidden"]
    assert moderations(effects) == []
    effects = call.say("ben", type="mute")
    assert errors(effects, call.conns["ben"]) == ["forbidden"]
    assert moderations(effects) == []


def test_in_a_mesh_the_clients_obey_and_janus_is_not_asked() -> None:
    call = Call(mesh_max=4)
    call.seat("ann", "ben")
    effects = call.say("ann", type="mute", target="ben", kind="audio")
    assert not errors(effects, call.conns["ann"])
    assert moderations(effects) == []


def test_the_muted_person_unmutes_only_their_own_stream() -> None:
    call = sfu_call()
    opened = call.opened()
    call.say("ann", type="mute", target="ben", kind="video")
    effects = call.say("ben", type="sfu-unmute", kind="video")
    assert moderations(effects) == [SfuModerate("r", opened, "ben", "video", False)]
    # Whatever else the message says, it lifts the sender's own mute, nobody else's.
    effects = call.say("cat", type="sfu-unmute", kind="video", target="ben", name="ben")
    assert moderations(effects) == [SfuModerate("r", opened, "cat", "video", False)]
    effects = call.say("ben", type="sfu-unmute", kind="screen")
    assert errors(effects, call.conns["ben"]) == ["bad-field"] and not moderations(effects)


def test_sfu_unmute_outside_an_sfu_call_is_refused() -> None:
    call = Call(mesh_max=4)
    call.seat("ann", "ben")
    effects = call.say("ben", type="sfu-unmute", kind="audio")
    assert errors(effects, call.conns["ben"]) == ["not-sfu-call"] and not moderations(effects)
    call.person("dan")
    effects = call.say("dan", type="sfu-unmute", kind="audio")
    assert errors(effects, call.conns["dan"]) == ["not-in-call"] and not moderations(effects)


def test_a_mute_ordered_on_another_node_is_enforced_for_this_nodes_participants() -> None:
    call = sfu_call()
    opened = call.opened()
    # A host whose connection is on another server: its order comes over the bus.
    effects = call.lobby.bus_event(HostOrder("r", "mute", "zed", "ben", kind="video"))
    assert moderations(effects) == [SfuModerate("r", opened, "ben", "video", True)]
    effects = call.lobby.bus_event(HostOrder("r", "mute", "zed", kind="audio"))
    assert sorted(m.name for m in moderations(effects)) == ["ann", "ben", "cat"]
    # Someone who is not in the call (only in the room) has no stream to hold back.
    call.person("dan")
    effects = call.lobby.bus_event(HostOrder("r", "mute", "zed", "dan", kind="audio"))
    assert moderations(effects) == []
