"""NAT traversal: the STUN responder, ICE servers and TURN credentials, coturn
configuration, and ``chinwag doctor`` (probing STUN/TURN as a browser would)."""
