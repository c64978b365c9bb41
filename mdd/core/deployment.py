"""A point's deployment state: the words, and how a result decides one (``mdd.runner.states``
records them; Sensu's mdd-alerting filter and the batch results' ``mdd_state`` use the same
words).

Its own small module with no imports, since ``check-mdd-batch`` labels every result with
one on every run (``mdd.core.model`` re-exports the words for everything else).
"""

GREEN, PENDING, REGRESSED, BLOCKED = "green", "pending", "regressed", "blocked"
UNKNOWN = "unknown"  # a check that could not decide: never pending, never green


def deployment_state(
    ok: bool, blocked_by: tuple[str, ...], was_green: bool, status: int | None = None
) -> str:
    """``status``: the check's exit status (None: not run); anything but 0-2 is UNKNOWN."""
    if ok:
        return GREEN
    if blocked_by:
        return BLOCKED
    if status is not None and status not in (0, 1, 2):
        return UNKNOWN
    return REGRESSED if was_green else PENDING


def result_state(status: int, blocked_by: tuple[str, ...], was_green: bool) -> str:
    """The state a batch result is labelled with (``mdd_state``): the deployment state, or
    ``unknown`` for a check that could not decide (UNKNOWN is never shown as pending, nor as
    regressed: nothing says the point broke); a blocked point is ``blocked`` whatever its own
    check said, as on the boards. ``status``: the check's exit status (0 is OK)."""
    return deployment_state(status == 0, blocked_by, was_green, status)
