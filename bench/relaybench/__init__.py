"""The relay benchmark's parts; ``bench/relay.py`` is the command that runs them.

- ``servers``: the servers under test (command lines, processes) and shared constants;
- ``drive``: the load-generator worker processes and their client groups;
- ``relaytest``: the relay test (ramp, closed loop, latency, a common rate);
- ``footprint``: memory per idle connection, sign-in storms, client libraries' cost;
- ``report``: versions, markdown tables and verdicts.
"""
