"""The ``mdd-alerting`` event filter: Sensu itself knows the bring-up.

Written by ``mdd generate`` beside the checks (Sensu Classic: a ``filters`` object; Sensu Go:
an ``EventFilter`` resource), in per-point and batch mode alike, and always the same bytes, so
that every datacenter's file can carry it. A handler that lists it gets:

* no failure of a point that has never been green (no page while it is being built);
* a point that was green and now fails on its first failing run (Sensu's own occurrence
  filters, listed after it, still apply the manifest's ``occurrences``);
* no failure of a point that batch mode reports ``blocked`` (the cause pages, not its
  dependants); in per-point mode on Classic, Sensu's ``check_dependencies`` does that part;
* every resolve, as Sensu sends it: a regressed point's recovery, and a point's first green
  ever (the "delivered" notice: ``action: resolve`` / status 0, never a page);
* every event of a check that mdd did not generate, untouched: the filter acts only on
  checks carrying mdd's marks (Classic: the ``mdd`` attribute with ``integration_point``;
  Go: the label ``mdd_point``). The batch runner's own check has neither.

What the filter reads: the deployment state ``mdd_state`` when a result carries it (batch
mode: the runner knows the true state, Classic as a result attribute, Go as a check label),
else what Sensu records: Sensu 1.x's event ``last_ok`` (nil until the check has returned OK
once: lib/sensu/server/process.rb ``check_history``/``create_event``) and Sensu Go's
``check.last_ok`` (0 until the first OK: backend/store/etcd/event_store.go
``updateEventHistory``). An expression that cannot be evaluated lets the event through, in
both Sensus (Classic: ``eval`` errors are no match, and the filter is ``negate: true``; Go:
the pipeline logs and skips a raising expression): when in doubt, page.
"""

from __future__ import annotations

from typing import Any

from mdd.core.model import BLOCKED, PENDING, REGRESSED

NAME = "mdd-alerting"  # runbooks and tooling outside mdd refer to it: never rename
STATE = "mdd_state"  # the batch result attribute (Classic) / check label (Go)
POINT_LABEL = "mdd_point"  # the Go label that marks a check mdd generated

# States that never page when the check fails; REGRESSED always pages; any other value (or
# none: per-point mode) falls back to Sensu's own record of an earlier OK.
_HELD = (PENDING, BLOCKED)

# Sensu 1.x: a filter with ``negate: true`` filters out (holds back) the events whose every
# attribute matches (lib/sensu/server/filter.rb ``native_filter``). The one attribute is an
# ``eval:`` of the event's ``check`` (``value``); ``:::last_ok|nil:::`` is replaced by the
# event's ``last_ok`` before evaluation (lib/sensu/utilities.rb ``process_eval_string``):
# Sensu reads it back with ``to_i`` (process.rb ``check_history``), so it is digits or ``nil``.
_CLASSIC_HELD = " ".join(_HELD)
CLASSIC_EXPRESSION = (
    "eval: value.is_a?(Hash) && value[:mdd].is_a?(Hash) && !value[:mdd][:integration_point].nil?"
    f" && value[:status] != 0 && (%w[{_CLASSIC_HELD}].include?(value[:{STATE}])"
    f" || (value[:{STATE}] != '{REGRESSED}' && :::last_ok|nil:::.nil?))"
)

# Sensu Go: ``action: deny`` filters out the events for which an expression is true
# (backend/pipeline/filter/legacy.go ``evaluateEventFilter``); otto runs ES5 only.
_LABELS = "event.check.labels"
GO_EXPRESSION = (
    f"event.check != null && '{POINT_LABEL}' in {_LABELS} && event.check.status != 0 && ("
    + " || ".join(f"{_LABELS}.{STATE} == '{state}'" for state in _HELD)
    + f" || ({_LABELS}.{STATE} != '{REGRESSED}' && event.check.last_ok == 0))"
)


def classic_filters() -> dict[str, Any]:
    """The ``filters`` object of a Sensu Classic configuration file."""
    return {NAME: {"negate": True, "attributes": {"check": CLASSIC_EXPRESSION}}}


def go_spec() -> dict[str, Any]:
    """The ``spec`` of the Sensu Go ``EventFilter`` (its metadata is the caller's)."""
    return {"action": "deny", "expressions": [GO_EXPRESSION]}
