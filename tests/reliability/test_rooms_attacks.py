"""Issue 22's attacks on rooms, names and passwords, over real sockets.

Each attack is bounded in count and time; figures are in docs/security.md.
"""

from __future__ import annotations

from tests.server.test_rooms import ROOMS
from tests.support import Client, StartServer


async def test_capital_i_and_zero_look_alikes_are_numbered_and_share_a_room(
    start_server: StartServer,
) -> None:
    server = await start_server(presence_interval=0.02)
    clients: list[Client] = []
    try:
        given = []
        for name in ("Paul", "PauI", "bob", "b0b", "Bill", "BiII", "alice", "aIice"):
            clients.append(await Client.open(server.port))
            await clients[-1].send({"type": "username", "name": name, "features": ROOMS})
            given.append((await clients[-1].wait_for("signed-in"))["name"])
        assert given == ["Paul", "PauI1", "bob", "b0b1", "Bill", "BiII1", "alice", "aIice1"]
        planner, look_alike = clients[0], clients[1]
        await planner.send({"type": "join-room", "room": "Plans"})
        await planner.wait_for("room", room="Plans")
        await look_alike.send({"type": "join-room", "room": "PIans"})
        moved = await look_alike.wait_for("room")
        assert moved["room"] == "Plans"  # the same room, shown as its opener typed it
        await planner.wait_for("userlist", users=["Paul", "PauI1"], busy=[])
    finally:
        for client in clients:
            await client.close()
