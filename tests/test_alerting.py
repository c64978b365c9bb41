"""The ``mdd-alerting`` filter that ``mdd generate`` writes, evaluated as each Sensu does.

Sensu Classic: the generated ``filters`` object and the handler chain docs/sensu.md shows
(``mdd-alerting``, ``occurrences``, ``check_dependencies``) run through
tests/sensu_classic_filters.rb, Sensu 1.9.0's filtering rewritten in Ruby with its own
``eval:`` semantics, against event bodies recorded from a real Sensu 1.9
(/work/shared/fixtures/sensu-classic-1.9-events, or ../shared/fixtures beside the clone).

Sensu Go: the generated ``EventFilter``'s expressions run in js2py (an ES5.1 interpreter,
like Sensu Go's otto: ES2015 syntax is a SyntaxError in both) on events shaped as Sensu Go's
pipeline sees them (``backend/pipeline/filter/legacy.go`` ``evaluateEventFilter``: metadata
flattened, missing label maps made empty, a raising expression skipped). The harness is first
held to the verdicts the real otto code gave on the recorded filter examples
(sensu-go-6.12/filter-evaluations.json).
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from mdd.manifest import load
from mdd.sensu import alerting, classic, go

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "mdd" / "examples" / "ams1.yaml"
RUBY_HARNESS = Path(__file__).with_name("sensu_classic_filters.rb")


def _fixtures() -> Path:
    """shared/fixtures beside the clone (CI), else the workplace's; a test reading a missing
    fixture fails."""
    for base in (REPO.parent / "shared" / "fixtures", Path("/work/shared/fixtures")):
        if (base / "sensu-classic-1.9-events").is_dir():
            return base
    return REPO.parent / "shared" / "fixtures"


FIXTURES = _fixtures()
CLASSIC_EVENTS = FIXTURES / "sensu-classic-1.9-events"
GO_FIXTURES = FIXTURES / "sensu-go-6.12"

# The handler of docs/sensu.md (its test checks the docs show exactly this chain).
CLASSIC_CHAIN = [alerting.NAME, "occurrences", "check_dependencies"]


# --------------------------------------------------------------------------- Sensu Classic


def classic_filters() -> dict[str, Any]:
    """The ``filters`` object of what ``mdd generate`` writes for the bundled example."""
    filters: dict[str, Any] = json.loads(classic.render(load(EXAMPLE)))["filters"]
    return filters


def sensu_classic(
    events: list[dict[str, Any]],
    chain: list[str] | None = None,
    registry: list[str] | None = None,
) -> list[dict[str, Any]]:
    """What Sensu 1.9 does with each event for a handler listing ``chain``."""
    payload = {
        "settings": {"filters": classic_filters()},
        "handler": {"type": "pipe", "command": "notify", "filters": chain or CLASSIC_CHAIN},
        "registry": registry or [],
        "events": events,
    }
    done = subprocess.run(
        ["ruby", str(RUBY_HARNESS)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def recorded(name: str) -> Any:
    return json.loads((CLASSIC_EVENTS / name).read_text(encoding="utf-8"))


def handler_stdin(kind: str) -> dict[str, Any]:
    event: dict[str, Any] = recorded("handler-stdin.json")[kind]
    return event


NEVER_OK = "ldap never ok, failing (first run)"
FIRST_GREEN = "ldap first green ever"
REGRESSED = "db regressed (first failing run)"
RECOVERED = "db recovered"


def with_check(event: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``event`` with check attributes changed (None: removed)."""
    changed = copy.deepcopy(dict(event))
    for key, value in changes.items():
        if value is None:
            changed["check"].pop(key, None)
        else:
            changed["check"][key] = value
    return changed


def test_classic_output_carries_the_filter_beside_the_checks() -> None:
    document = json.loads(classic.render(load(EXAMPLE)))
    assert list(document) == ["checks", "filters"]
    assert list(document["filters"]) == ["mdd-alerting"]
    assert document["filters"]["mdd-alerting"]["negate"] is True


def test_classic_never_green_point_does_not_reach_the_handler() -> None:
    never = [handler_stdin(NEVER_OK), *recorded("events-never-ok.json")]
    assert all(e["last_ok"] is None and e["action"] == "create" for e in never)
    for result in sensu_classic(never):
        assert result["filtered_by"] == "mdd-alerting"


def test_classic_regressed_point_pages_on_its_first_failing_run() -> None:
    regressed = [handler_stdin(REGRESSED), recorded("event-regressed.json")]
    assert regressed[0]["check"]["history"][-2:] == ["0", "2"]
    assert sensu_classic(regressed[:1]) == [{"handled": True, "filtered_by": None, "reason": None}]
    # the later failing runs are Sensu's occurrences/refresh business, not mdd-alerting's
    assert sensu_classic(regressed[1:], chain=[alerting.NAME])[0]["handled"]


def test_classic_occurrences_of_the_manifest_still_count() -> None:
    first = with_check(handler_stdin(REGRESSED), occurrences=2)
    second = copy.deepcopy(first)
    second["occurrences"] = second["occurrences_watermark"] = 2
    results = sensu_classic([first, second])
    assert results[0]["filtered_by"] == "occurrences"
    assert results[1]["handled"]


def test_classic_resolves_reach_the_handler() -> None:
    """A regressed point's recovery resolves as usual; a point's first green ever is a
    resolve too (status 0: the "delivered" notice), never a page."""
    recovered, first_green = handler_stdin(RECOVERED), handler_stdin(FIRST_GREEN)
    assert first_green["action"] == "resolve" and first_green["check"]["status"] == 0
    results = sensu_classic([recovered, first_green])
    assert [r["handled"] for r in results] == [True, True]


def test_classic_dependant_of_a_red_point_does_not_page_per_point() -> None:
    dependant = with_check(handler_stdin(REGRESSED), dependencies=["mdd-ams9/mdd_ams9_ldap"])
    red_cause = sensu_classic([dependant], registry=["mdd-ams9/mdd_ams9_ldap"])
    assert red_cause[0]["filtered_by"] == "check_dependencies"
    assert sensu_classic([dependant])[0]["handled"]  # the cause is green: it pages


@pytest.mark.parametrize(
    ("state", "last_ok", "handled"),
    [
        ("pending", 1796514051, False),  # the runner's word wins over Sensu's record
        ("blocked", 1796514051, False),  # the cause pages, not its dependants
        ("regressed", None, True),  # e.g. Sensu forgot last_ok (result deleted)
        ("unknown", None, False),  # could not decide, never green: no page
        ("unknown", 1796514051, True),  # could not decide, was green: pages
        ("green", None, False),  # inconsistent: falls back to last_ok
    ],
)
def test_classic_batch_state_decides_when_present(
    state: str, last_ok: int | None, handled: bool
) -> None:
    event = with_check(handler_stdin(REGRESSED), mdd_state=state)
    event["last_ok"] = last_ok
    assert sensu_classic([event])[0]["handled"] is handled


def test_classic_checks_mdd_did_not_generate_are_untouched() -> None:
    never = handler_stdin(NEVER_OK)
    foreign = [
        with_check(never, mdd=None),
        with_check(never, mdd=True),
        with_check(never, mdd={"datacenter": "ams9"}),  # the batch runner's own check
        with_check(never, mdd=None, mdd_state="pending"),
        handler_stdin("ntp stale (socket result, no ttl_status)"),
    ]
    for event in foreign:
        assert sensu_classic([event], chain=[alerting.NAME])[0]["handled"], event["check"]


def test_classic_batch_output_carries_the_same_filter(tmp_path: Path) -> None:
    from mdd.batch import definitions

    text, _plan = definitions.render(
        load(EXAMPLE), "sensu-classic", None, tmp_path / "p.plan", allow_command=True
    )
    assert json.loads(text)["filters"] == classic_filters()


# --------------------------------------------------------------------------- Sensu Go


def synthesize(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as a Sensu Go filter sees it: each object's metadata flattened into it,
    missing label and annotation maps made empty (legacy.go evaluateEventFilter)."""
    synth = copy.deepcopy(dict(event))
    for part in (synth, synth.get("check"), synth.get("entity")):
        if isinstance(part, dict):
            part.update(part.pop("metadata", None) or {})
            for key in ("labels", "annotations"):
                part[key] = part.get(key) or {}
    return synth


def go_filtered(spec: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """``evaluateEventFilter`` (no ``when``): True when the event is filtered out."""
    import js2py

    context = js2py.EvalJs()
    context.execute(f"var event = {json.dumps(synthesize(event))}; var sensu = {{}};")
    verdicts = []
    for expression in spec["expressions"]:
        # A statement, not js2py's JS eval(): that one finds its caller's scope with
        # inspect.stack() and runs in one module-global namespace, which is fragile.
        try:
            context.execute(f"var verdict = Boolean({expression});")
        except js2py.PyJsException:
            continue  # the pipeline logs the error and goes on
        verdicts.append(bool(context["verdict"]))
    if spec["action"] == "allow":
        return not all(verdicts)
    return any(verdicts)


def go_events() -> dict[str, dict[str, Any]]:
    recorded_events = json.loads((GO_FIXTURES / "filter-evaluations.json").read_text())["events"]
    return {name: entry["event"] for name, entry in recorded_events.items()}


def test_harness_gives_the_verdicts_of_the_real_otto_code() -> None:
    recorded_results = json.loads((GO_FIXTURES / "filter-evaluations.json").read_text())
    filters = {
        f["metadata"]["name"]: f["spec"]
        for f in yaml.safe_load_all((GO_FIXTURES / "filter-examples.yaml").read_text())
    }
    compared = 0
    for event_name, event in go_events().items():
        for name, verdict in recorded_results["results"][event_name].items():
            if name in ("is_incident", "time-helpers"):  # a built-in; otto's time helpers
                continue
            expected = "allow" if verdict.startswith("error") else verdict
            got = "deny" if go_filtered(filters[name], event) else "allow"
            assert got == expected, (event_name, name)
            compared += 1
    assert compared == 5 * 14


def go_filter(text: str) -> dict[str, Any]:
    from mdd.sensu import go_rules

    [resource] = [r for r in go_rules.parse_stream(text) if r["type"] == "EventFilter"]
    return resource


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_go_output_carries_the_event_filter(fmt: str) -> None:
    resource = go_filter(go.render(load(EXAMPLE), fmt))
    assert resource["metadata"] == {"name": "mdd-alerting", "namespace": "default"}
    assert resource["spec"]["action"] == "deny"


def test_go_expressions_are_es5() -> None:
    import js2py  # its parser is ES5.1: ES2015 syntax is refused, as otto refuses it

    for expression in alerting.go_spec()["expressions"]:
        js2py.translate_js(expression)
    with pytest.raises(js2py.PyJsException, match="not supported by ECMA 5.1"):
        js2py.translate_js("[1].some(x => x)")


GO_CASES: dict[str, tuple[str, dict[str, str], int | None, bool]] = {
    # name: (recorded event, labels added, last_ok or None to keep, filtered)
    "never green": ("mdd-never-green", {}, None, True),
    "was green, now failing": ("mdd-was-green", {}, None, False),
    "batch: blocked": ("mdd-blocked", {}, None, True),
    "green": ("mdd-ok", {}, None, False),
    "not mdd's": ("foreign", {}, None, False),
    "not mdd's, with an mdd_state": ("foreign", {"mdd_state": "pending"}, None, False),
    "batch: pending, Sensu saw an OK": ("mdd-was-green", {"mdd_state": "pending"}, None, True),
    "batch: regressed, last_ok forgotten": (
        "mdd-never-green",
        {"mdd_state": "regressed"},
        0,
        False,
    ),
    "batch: unknown, never green": ("mdd-never-green", {"mdd_state": "unknown"}, None, True),
    "batch: unknown, was green": ("mdd-was-green", {"mdd_state": "unknown"}, None, False),
    "the batch runner's own check": (
        "foreign",
        {"mdd_datacenter": "ams9", "mdd_batch": "true"},
        0,
        False,
    ),
}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("case", sorted(GO_CASES))
def test_go_filter_holds_back_what_is_not_built_and_what_is_blocked(case: str, fmt: str) -> None:
    base, labels, last_ok, filtered = GO_CASES[case]
    event = copy.deepcopy(go_events()[base])
    metadata = event["check"]["metadata"]
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    if last_ok is not None:
        event["check"]["last_ok"] = last_ok
    spec = go_filter(go.render(load(EXAMPLE), fmt))["spec"]
    assert go_filtered(spec, event) is filtered


def test_go_first_green_and_recovery_pass() -> None:
    """Status 0 is never held back: with Sensu's is_incident, a recovery or a point's first
    green (a resolution) reaches the handler; a regressed point's recovery resolves."""
    spec = alerting.go_spec()
    first_green = copy.deepcopy(go_events()["mdd-ok"])
    first_green["check"]["history"] = [{"status": 2, "executed": 1}, {"status": 0, "executed": 2}]
    assert not go_filtered(spec, first_green)


def test_go_batch_output_carries_the_same_filter(tmp_path: Path) -> None:
    from mdd.batch import definitions

    text, _plan = definitions.render(
        load(EXAMPLE), "sensu-go", None, tmp_path / "p.plan", allow_command=True
    )
    assert go_filter(text) == go_filter(go.render(load(EXAMPLE)))


def test_filters_are_held_to_each_sensus_rules() -> None:
    from mdd.sensu import classic_rules, go_rules

    assert classic_rules.validate_document({"filters": classic_filters()}) == []
    assert classic_rules.validate_document({"filters": {"x": {"negate": "yes"}}}) == [
        "filter 'x': filter negate must be boolean",
        "filter 'x': filter attributes must be a hash",
    ]
    resource = go_filter(go.render(load(EXAMPLE)))
    assert go_rules.filter_failures(resource) == []
    broken = copy.deepcopy(resource)
    broken["spec"].update(action="drop", expressions=[])
    assert go_rules.filter_failures(broken) == [
        "action 'drop' is not valid",
        "filter must have one or more expressions",
    ]
