"""Batch mode: one Sensu check per datacenter runs every point in one process.

``plan`` compiles a manifest into a plan file and the runner check's definition
(``mdd generate --batch``); ``submit`` hands each point's result to the local Sensu agent;
``main`` is ``check-mdd-batch``, the command the runner check runs.
"""
