"""Room calls beyond a mesh: chinwag drives Janus's VideoRoom (all the SFU I/O lives here).

:mod:`~chinwag.sfu.janus` is the Janus API client; :mod:`~chinwag.sfu.link`
carries out the core's SFU effects (rooms, publishers, subscriptions, kicks).
"""
