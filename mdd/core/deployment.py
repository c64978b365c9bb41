"""A point's deployment state: the words (decided by ``mdd.runner.states``; Sensu's
mdd-alerting filter and the batch results' ``mdd_state`` use the same words).

Its own small module with no imports, since ``check-mdd-batch`` labels every result with
one on every run (``mdd.core.model`` re-exports them for everything else).
"""

GREEN, PENDING, REGRESSED, BLOCKED = "green", "pending", "regressed", "blocked"
UNKNOWN = "unknown"  # a check that could not decide: never pending, never green
