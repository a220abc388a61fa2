"""NAT traversal tools: probing STUN/TURN servers as a browser would, and ``chinwag doctor``.

(``stun.py`` and ``turn.py`` move here when the tree is reorganised.)
"""
