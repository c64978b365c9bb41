"""Running a datacenter's checks in one process and showing how far it is from done.

``runner`` probes points concurrently and yields outcomes; ``states`` turns outcomes into
deployment states (pending, green, regressed, blocked) and keeps the state file; ``board``,
``formats`` and ``report`` show them; ``status`` reads the same progress from a live Sensu.
"""
