"""The Redis bus's Lua scripts, one named attribute each (no I/O until called).

Every script takes ``ARGV[1]``, the key prefix, and ``ARGV[2]``, the calling
node; each runs atomically inside Redis, which is what makes name claims,
hand-overs and reaping dead nodes safe between processes. Names are stored
by their :func:`~chinwag.core.names.name_key` (the bus computes it), so
every script below sees keys, never names as typed: a claim of one key
excludes every look-alike spelling of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["Scripts"]

_REAP = """
local function reap(p, dead)
  for _, key in ipairs(redis.call('HKEYS', p .. 'users:' .. dead)) do
    if redis.call('GET', p .. 'name:' .. key) == dead then
      redis.call('DEL', p .. 'name:' .. key)
    end
  end
  redis.call('DEL', p .. 'users:' .. dead)
  redis.call('SREM', p .. 'nodes', dead)
  for _, room in ipairs(redis.call('SMEMBERS', p .. 'rooms:' .. dead)) do
    redis.call('SREM', p .. 'holders:' .. room, dead)
    if redis.call('SCARD', p .. 'holders:' .. room) == 0 then
      redis.call('DEL', p .. 'room:' .. room)
    end
  end
  redis.call('DEL', p .. 'rooms:' .. dead)
end
"""

# ARGV[3] lease ms, ARGV[4] this node's announcement ("FORMAT VERSION", kept as
# its lease's value), then key, record pairs: this node's users.
# Returns {{}, lost keys} once registered, or {{node, its announcement}, {}} without
# registering when a live node announced another format ("1" from versions that
# announced nothing). One script, so two nodes of different formats starting at
# once cannot both miss each other.
_REGISTER = """
local p, node = ARGV[1], ARGV[2]
local format = string.match(ARGV[4], '^%S+')
for _, other in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  local about = other ~= node and redis.call('GET', p .. 'alive:' .. other)
  if about and string.match(about, '^%S+') ~= format then
    return {{other, about}, {}}
  end
end
redis.call('SET', p .. 'alive:' .. node, ARGV[4], 'PX', ARGV[3])
redis.call('SADD', p .. 'nodes', node)
local users = p .. 'users:' .. node
local wanted = {}
for i = 5, #ARGV, 2 do wanted[ARGV[i]] = true end
for _, key in ipairs(redis.call('HKEYS', users)) do
  if not wanted[key] and redis.call('GET', p .. 'name:' .. key) == node then
    redis.call('DEL', p .. 'name:' .. key)
  end
end
redis.call('DEL', users)
local lost = {}
for i = 5, #ARGV, 2 do
  local key = p .. 'name:' .. ARGV[i]
  local owner = redis.call('GET', key)
  if owner and owner ~= node and redis.call('EXISTS', p .. 'alive:' .. owner) == 1 then
    table.insert(lost, ARGV[i])
  else
    if owner and owner ~= node then redis.call('HDEL', p .. 'users:' .. owner, ARGV[i]) end
    redis.call('SET', key, node)
    redis.call('HSET', users, ARGV[i], ARGV[i + 1])
  end
end
return {{}, lost}
"""

# ARGV[3] key, ARGV[4] record. 1 claimed, 0 taken (here too), -1 this node is not registered.
_CLAIM = """
local p, node = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'alive:' .. node) == 0 then return -1 end
local key = p .. 'name:' .. ARGV[3]
local owner = redis.call('GET', key)
if owner then
  if owner == node or redis.call('EXISTS', p .. 'alive:' .. owner) == 1 then return 0 end
  redis.call('HDEL', p .. 'users:' .. owner, ARGV[3])
end
redis.call('SET', key, node)
redis.call('HSET', p .. 'users:' .. node, ARGV[3], ARGV[4])
return 1
"""

# ARGV[3] key.
_RELEASE = """
local p, node = ARGV[1], ARGV[2]
if redis.call('GET', p .. 'name:' .. ARGV[3]) == node then
  redis.call('DEL', p .. 'name:' .. ARGV[3])
end
return redis.call('HDEL', p .. 'users:' .. node, ARGV[3])
"""

# ARGV[3] key, ARGV[4] record (maybe a new spelling of the name).
_UPDATE = """
local p, node = ARGV[1], ARGV[2]
if redis.call('GET', p .. 'name:' .. ARGV[3]) ~= node then return 0 end
redis.call('HSET', p .. 'users:' .. node, ARGV[3], ARGV[4])
return 1
"""

# ARGV[3] key, ARGV[4] the new owner, ARGV[5] its record. 1 moved, 0 not ours.
_HAND_OVER = """
local p, node = ARGV[1], ARGV[2]
local key = p .. 'name:' .. ARGV[3]
if redis.call('GET', key) ~= node then return 0 end
redis.call('HDEL', p .. 'users:' .. node, ARGV[3])
redis.call('SET', key, ARGV[4])
redis.call('HSET', p .. 'users:' .. ARGV[4], ARGV[3], ARGV[5])
return 1
"""

# ARGV[3] room key, ARGV[4] name, ARGV[5] cap. 1 seated (or already), 0 full.
# Seats of nodes that are not alive are dropped first (a dead node's seats free up).
_CLAIM_SEAT = """
local p, node = ARGV[1], ARGV[2]
local seats = p .. 'seats:' .. ARGV[3]
local flat = redis.call('HGETALL', seats)
for i = 1, #flat, 2 do
  if redis.call('EXISTS', p .. 'alive:' .. flat[i + 1]) == 0 then
    redis.call('HDEL', seats, flat[i])
  end
end
if redis.call('HEXISTS', seats, ARGV[4]) == 1 then return 1 end
if redis.call('HLEN', seats) >= tonumber(ARGV[5]) then return 0 end
redis.call('HSET', seats, ARGV[4], node)
return 1
"""

# ARGV[3] room key, ARGV[4] name.
_RELEASE_SEAT = """
return redis.call('HDEL', ARGV[1] .. 'seats:' .. ARGV[3], ARGV[4])
"""

# ARGV[3] the call, then pairs: a Janus URL (sorted), its load. Returns the call's URL:
# the one it has if offered, else the least loaded (then fewest calls, then first), stored.
# The rule of placement.py's least_loaded, in one atomic step.
_PLACE_CALL = """
local calls = ARGV[1] .. 'sfu-calls'
local loads = {}
for i = 4, #ARGV, 2 do loads[ARGV[i]] = tonumber(ARGV[i + 1]) end
local placed = redis.call('HGET', calls, ARGV[3])
if placed and loads[placed] then return placed end
local count = {}
for _, url in ipairs(redis.call('HVALS', calls)) do count[url] = (count[url] or 0) + 1 end
local best, best_load, best_count
for i = 4, #ARGV, 2 do
  local url, load, n = ARGV[i], loads[ARGV[i]], count[ARGV[i]] or 0
  if best == nil or load < best_load or (load == best_load and n < best_count) then
    best, best_load, best_count = url, load, n
  end
end
redis.call('HSET', calls, ARGV[3], best)
return best
"""

# ARGV[3] the call.
_UNPLACE_CALL = """
return redis.call('HDEL', ARGV[1] .. 'sfu-calls', ARGV[3])
"""

# ARGV[3] room key, ARGV[4] msgpack RoomSettings. Returns the room's settings: the
# stored ones while a live node holds the room, else ARGV[4], stored now. Holders
# that are not alive are dropped first (a dead node's rooms free up).
_CLAIM_ROOM = """
local p, node = ARGV[1], ARGV[2]
local holders = p .. 'holders:' .. ARGV[3]
for _, other in ipairs(redis.call('SMEMBERS', holders)) do
  if redis.call('EXISTS', p .. 'alive:' .. other) == 0 then
    redis.call('SREM', holders, other)
  end
end
if redis.call('SCARD', holders) == 0 then
  redis.call('SET', p .. 'room:' .. ARGV[3], ARGV[4])
end
redis.call('SADD', holders, node)
redis.call('SADD', p .. 'rooms:' .. node, ARGV[3])
return redis.call('GET', p .. 'room:' .. ARGV[3])
"""

# ARGV[3] room key: this node holds it no more; the last holder's release forgets it.
_RELEASE_ROOM = """
local p, node = ARGV[1], ARGV[2]
local holders = p .. 'holders:' .. ARGV[3]
redis.call('SREM', p .. 'rooms:' .. node, ARGV[3])
redis.call('SREM', holders, node)
if redis.call('SCARD', holders) == 0 then
  redis.call('DEL', p .. 'room:' .. ARGV[3])
end
return 1
"""

# ARGV[3] lease ms. Returns the live nodes, or nil if this node's lease is gone.
_HEARTBEAT = (
    _REAP
    + """
local p, node = ARGV[1], ARGV[2]
if redis.call('PEXPIRE', p .. 'alive:' .. node, ARGV[3]) == 0 then return false end
local live = {}
for _, other in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  if redis.call('EXISTS', p .. 'alive:' .. other) == 1 then
    table.insert(live, other)
  else
    reap(p, other)
  end
end
return live
"""
)

_LEAVE = (
    _REAP
    + """
redis.call('DEL', ARGV[1] .. 'alive:' .. ARGV[2])
reap(ARGV[1], ARGV[2])
return 1
"""
)

# Returns {{node, record, record, ...}, ...} for every live node.
_DIRECTORY = """
local p = ARGV[1]
local out = {}
for _, node in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  if redis.call('EXISTS', p .. 'alive:' .. node) == 1 then
    local entry = redis.call('HVALS', p .. 'users:' .. node)
    table.insert(entry, 1, node)
    table.insert(out, entry)
  end
end
return out
"""


@dataclass(frozen=True, slots=True)
class Scripts:
    """The scripts, registered with one Redis client; call as ``scripts.claim(args=[...])``."""

    register: AsyncScript
    claim: AsyncScript
    release: AsyncScript
    update: AsyncScript
    hand_over: AsyncScript
    claim_seat: AsyncScript
    release_seat: AsyncScript
    claim_room: AsyncScript
    release_room: AsyncScript
    heartbeat: AsyncScript
    leave: AsyncScript
    directory: AsyncScript
    place_call: AsyncScript
    unplace_call: AsyncScript

    @classmethod
    def load(cls, redis: Redis) -> Scripts:
        return cls(
            register=redis.register_script(_REGISTER),
            claim=redis.register_script(_CLAIM),
            release=redis.register_script(_RELEASE),
            update=redis.register_script(_UPDATE),
            hand_over=redis.register_script(_HAND_OVER),
            claim_seat=redis.register_script(_CLAIM_SEAT),
            release_seat=redis.register_script(_RELEASE_SEAT),
            claim_room=redis.register_script(_CLAIM_ROOM),
            release_room=redis.register_script(_RELEASE_ROOM),
            heartbeat=redis.register_script(_HEARTBEAT),
            leave=redis.register_script(_LEAVE),
            directory=redis.register_script(_DIRECTORY),
            place_call=redis.register_script(_PLACE_CALL),
            unplace_call=redis.register_script(_UNPLACE_CALL),
        )
