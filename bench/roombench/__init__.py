"""The parts of bench/rooms.py: room chat at scale, a crowd joining one room, a mesh forming."""
