"""``mdd generate --batch``: the one runner check of a datacenter, and its plan.

The per-point definitions are rendered first, exactly as without ``--batch`` (so every
check the manifest would give passes the same rules), and the plan takes each point's
result attributes from them (``mdd.batch.plan``). What is written for Sensu is one check,
``mdd-batch-<dc>``, scheduled like the datacenter's points (``plan.schedule``), that runs
``check-mdd-batch``; its results reach Sensu as the per-point checks' own. The
``mdd-alerting`` filter (``mdd.sensu.alerting``) is written beside it, as without ``--batch``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NamedTuple

from mdd.batch import plan as batch_plan
from mdd.core.model import Manifest


class Batch(NamedTuple):
    """What ``mdd generate --batch`` writes for one datacenter."""

    definitions: str  # the runner check (and the mdd-alerting filter), for Sensu
    plan: str  # the plan the runner check runs


def _classic(manifest: Manifest, plan_path: Path, allow_command: bool) -> Batch:
    from mdd.sensu import alerting, classic, classic_rules
    from mdd.sensu.facts import default_subscription

    per_point = json.loads(classic.render(manifest))["checks"]
    definitions = [{"name": name, **check} for name, check in per_point.items()]
    sched = batch_plan.schedule(manifest)
    plan = batch_plan.build(manifest, "classic", definitions, sched, allow_command)
    check: dict[str, Any] = {
        "command": batch_plan.runner_command(plan_path, manifest.datacenter, sched.command_prefix)
    }
    if sched.round_robin:
        check["subscribers"] = [
            s if s.startswith("roundrobin:") else f"roundrobin:{s}"
            for s in sched.subscriptions or (default_subscription(manifest),)
        ]
    elif sched.subscriptions:
        check["subscribers"] = list(sched.subscriptions)
    else:
        check["standalone"] = True
    check["interval"] = sched.interval
    if sched.timeout is not None:
        check["timeout"] = sched.timeout
    # its own ttl: a runner that stops (or is removed) turns its check stale, CRITICAL
    check["ttl"] = sched.ttl
    check["ttl_status"] = batch_plan.TTL_STATUS
    if sched.handlers is not None:
        check["handlers"] = list(sched.handlers)
    if any(d.get("stdin") for d in definitions):
        check["stdin"] = True  # {client: ...} secrets: the runner reads the client once
    check["mdd"] = {
        "datacenter": manifest.datacenter,
        "batch": True,
        "points": len(manifest.points),
    }
    document = {"checks": {plan["runner"]: check}, "filters": alerting.classic_filters()}
    failures = classic_rules.validate_document(document)
    if failures:
        raise RuntimeError("bug: the batch check breaks Sensu's rules:\n  " + "\n  ".join(failures))
    text = json.dumps(document, indent=2, ensure_ascii=True, allow_nan=False) + "\n"
    return Batch(text, batch_plan.dump(plan))


def _go(manifest: Manifest, fmt: str, options: Any, plan_path: Path, allow_command: bool) -> Batch:
    from mdd.sensu import go
    from mdd.sensu.facts import default_subscription

    options = options or go.GoOptions()
    items = go.resources(manifest, options)
    checks = [item for item in items if item["type"] == "CheckConfig"]
    secrets = [item for item in items if item["type"] == "Secret"]
    sched = batch_plan.schedule(manifest)
    plan = batch_plan.build(manifest, "go", checks, sched, allow_command)
    names = tuple(s.removeprefix("roundrobin:") for s in sched.subscriptions) or (
        default_subscription(manifest),
    )
    spec: dict[str, Any] = {
        "command": batch_plan.runner_command(plan_path, manifest.datacenter, sched.command_prefix),
        "subscriptions": list(dict.fromkeys(names)),
        "publish": True,
        "interval": sched.interval,
    }
    if sched.timeout is not None:
        spec["timeout"] = sched.timeout
    spec["ttl"] = sched.ttl  # its own ttl: a runner that stops turns its check stale
    if sched.round_robin or any(s.startswith("roundrobin:") for s in sched.subscriptions):
        spec["round_robin"] = True
        spec["proxy_entity_name"] = manifest.client  # Sensu Go: a round-robin ttl needs one
    spec["handlers"] = list(sched.handlers if sched.handlers is not None else ("default",))
    assets = tuple(dict.fromkeys(a for c in checks for a in c["spec"].get("runtime_assets", ())))
    if assets:
        spec["runtime_assets"] = list(assets)
    envs = list(
        dict.fromkeys(
            (s["name"], s["secret"]) for c in checks for s in c["spec"].get("secrets", ())
        )
    )
    if envs:
        spec["secrets"] = [{"name": name, "secret": secret} for name, secret in envs]
    labels = {"mdd_datacenter": manifest.datacenter, "mdd_batch": "true"}
    annotations = {"mdd_points": str(len(manifest.points))}
    metadata = go._metadata(plan["runner"], options.namespace, labels, annotations)
    runner = go._wrap("CheckConfig", "core/v2", metadata, spec)
    resources = [runner, go.filter_resource(options), *secrets]
    text = go.to_yaml(resources) if fmt == "yaml" else go.to_json(resources)
    go.verify(text, resources)
    return Batch(text, batch_plan.dump(plan))


def rate_warning(manifest: Manifest, fmt: str) -> str | None:
    """For Sensu Go: the warning when the datacenter's points submit more results a second
    than the agent's events API takes by default (a backlog that never drains)."""
    if fmt == "sensu-classic":
        return None
    rate = batch_plan.events_per_second(manifest.points)
    if rate <= batch_plan.AGENT_EVENTS_RATE_LIMIT:
        return None
    need = math.ceil(round(rate, 6))
    return (
        f"{manifest.datacenter}: {len(manifest.points)} points submit {rate:.1f} results a "
        f"second, more than the Sensu Go agent's events API takes by default "
        f"({batch_plan.AGENT_EVENTS_RATE_LIMIT:g}/s, burst {batch_plan.AGENT_EVENTS_BURST}): "
        f"start sensu-agent with --events-rate-limit {need} (and --events-burst-limit "
        f"{need}), and add --events-rate-limit {need} to the runner's command "
        f"(docs/batch.md#sensu-go-rate-limit)"
    )


def render(
    manifest: Manifest, fmt: str, go_options: Any, plan_path: Path, allow_command: bool = False
) -> Batch:
    """The runner check's definitions and the plan for ``--format fmt``; ``plan_path`` is the
    absolute path the runner check's command names; ``allow_command``: the operator allows
    ``command`` points in the plan (``--allow-command``)."""
    if fmt == "sensu-classic":
        return _classic(manifest, plan_path, allow_command)
    go_format = "yaml" if fmt == "sensu-go" else "json"
    return _go(manifest, go_format, go_options, plan_path, allow_command)
