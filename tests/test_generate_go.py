"""`mdd generate --format sensu-go|sensu-go-json`: resources `sensuctl create -f` takes untouched.

* The bundled example renders to tests/golden/ams1-sensu-go.yaml and ams1-sensu-go.json,
  byte for byte (``MDD_UPDATE_GOLDEN=1`` rewrites them; review the diff).
* Every example and good test manifest renders in both formats; the output is read back as
  sensuctl reads it and every rule of Sensu Go's ``CheckConfig`` is asserted here, one by one,
  besides ``mdd.sensu.go_rules`` (itself held to cases that fail each rule in
  tests/test_go_rules.py). Secrets: tests/test_sensu_secrets.py.
* A round trip: the Classic output, converted by Sensu's own 1.x -> Go translation rules
  (sensu-translator ``translate_check``, re-implemented below), gives the same checks as the
  Go output, field by field where the two overlap.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from mdd.checks.registry import CHECK_TYPES
from mdd.core.model import IntegrationPoint, Manifest, SensuSettings
from mdd.manifest import load
from mdd.sensu import alerting, go_rules
from mdd.sensu.classic import render as render_classic
from mdd.sensu.facts import GenerateError
from mdd.sensu.go import GoOptions, render, resources

from .test_generate import REPO, run_mdd

GOLDEN = {
    "sensu-go": REPO / "tests" / "golden" / "ams1-sensu-go.yaml",
    "sensu-go-json": REPO / "tests" / "golden" / "ams1-sensu-go.json",
}
EXAMPLES = sorted((REPO / "mdd" / "examples").glob("[!_]*.yaml"))
GOOD = sorted((REPO / "tests" / "manifests" / "good").glob("*.yaml"))
MANIFESTS = EXAMPLES + GOOD

SAFE_NAME = re.compile(r"\A[A-Za-z0-9_.-]+\Z")  # the safe intersection (reference §6)
GO_NAME = re.compile(r"\A[\w.\-:]+\Z", re.ASCII)  # core v2 NameRegex
SUBSCRIPTION = re.compile(r"\A[\w.\-]+(:?[\w.\-]+)?\Z", re.ASCII)  # SubscriptionNameRegex
ASSET = re.compile(r"\A[\w/_.\-:]+\Z", re.ASCII)  # AssetNameRegex
LABEL_KEY = re.compile(r"\A[A-Za-z][A-Za-z0-9_]*\Z")  # docs: label keys
ENV_VAR = re.compile(r"\A[^=]+=.+\Z", re.DOTALL)  # ValidateEnvVars: FOO=BAR, both non-empty
SPEC_KEYS = set(go_rules.CHECK_FIELDS)


def point(name: str, **kwargs: Any) -> IntegrationPoint:
    options = kwargs.pop("options", {"host": f"{name}.ams1.example.net", "port": 443})
    return IntegrationPoint(name=name, type=kwargs.pop("type", "tcp"), options=options, **kwargs)


def manifest(*points: IntegrationPoint, datacenter: str = "ams1") -> Manifest:
    return Manifest(Path("/manifests/ams1.yaml"), datacenter, None, points)


def read_back(text: str) -> list[dict[str, Any]]:
    """The objects of a sensuctl file, split and decoded as sensuctl does."""
    objects = go_rules.parse_stream(text)
    assert all(isinstance(obj, dict) for obj in objects)
    return objects  # type: ignore[return-value]


def go_checks(m: Manifest, fmt: str = "yaml", **options: Any) -> dict[str, dict[str, Any]]:
    items = read_back(render(m, fmt, GoOptions(**options)))
    return {item["metadata"]["name"]: item for item in items if item["type"] == "CheckConfig"}


def assert_sensu_go_rules(resource: dict[str, Any], datacenter: str) -> None:
    """Every rule of the reference's Sensu Go section, asserted on one CheckConfig."""
    assert list(resource) == ["type", "api_version", "metadata", "spec"]
    assert resource["type"] == "CheckConfig" and resource["api_version"] == "core/v2"
    metadata, spec = resource["metadata"], resource["spec"]
    # Portable metadata: top level (sensuctl 6.x) and spec.metadata (7.x), identical.
    assert spec["metadata"] == metadata
    assert set(metadata) <= {"name", "namespace", "labels", "annotations"}
    name = metadata["name"]
    assert GO_NAME.search(name) and SAFE_NAME.search(name), name
    assert name.startswith(f"mdd_{datacenter}_")
    assert isinstance(metadata["namespace"], str) and GO_NAME.search(metadata["namespace"])
    for key, value in metadata.get("labels", {}).items():
        assert LABEL_KEY.search(key) and isinstance(value, str) and value, (name, key)
    for key, value in metadata.get("annotations", {}).items():
        assert isinstance(key, str) and isinstance(value, str), (name, key)
    labels = metadata["labels"]
    assert labels["mdd_datacenter"] == datacenter
    assert labels["mdd_check_type"] in CHECK_TYPES
    assert name == f"mdd_{datacenter}_{labels['mdd_point']}"

    assert set(spec) <= SPEC_KEYS, set(spec) - SPEC_KEYS  # sensuctl drops unknown keys
    assert isinstance(spec["command"], str) and spec["command"]
    assert shlex.split(spec["command"])[0] == f"check-mdd-{labels['mdd_check_type']}"
    assert spec["publish"] is True  # Sensu Go's default is false: never scheduled
    # interval or cron, never both; interval a JSON integer > 0 (uint32)
    assert ("interval" in spec) != ("cron" in spec), name
    if "interval" in spec:
        assert type(spec["interval"]) is int and 0 < spec["interval"] < 2**32
    else:
        assert isinstance(spec["cron"], str) and go_rules.cron_parses(spec["cron"])
    if "timeout" in spec:
        assert type(spec["timeout"]) is int and 0 <= spec["timeout"] < 2**32
    if "ttl" in spec:
        assert type(spec["ttl"]) is int and spec["ttl"] > spec.get("interval", 0)
    subscriptions = spec["subscriptions"]
    assert isinstance(subscriptions, list) and subscriptions, name
    for subscription in subscriptions:
        assert isinstance(subscription, str) and SUBSCRIPTION.search(subscription)
        assert not subscription.startswith("roundrobin:")  # Classic's spelling only
    for handler in spec["handlers"]:
        assert isinstance(handler, str) and GO_NAME.search(handler), handler
    assert spec["proxy_entity_name"] == f"mdd-{datacenter}"
    assert SAFE_NAME.search(spec["proxy_entity_name"])
    assert spec["output_metric_format"] == "nagios_perfdata"
    if "round_robin" in spec:
        assert spec["round_robin"] is True
    for asset in spec.get("runtime_assets", []):
        assert ASSET.search(asset)
    for item in spec.get("env_vars", []):
        assert ENV_VAR.search(item)
    for secret in spec.get("secrets", []):
        assert set(secret) == {"name", "secret"} and GO_NAME.search(secret["secret"])
    assert go_rules.token_failures(resource) == []
    assert "{{" not in json.dumps(resource)
    assert go_rules.wrapper_failures(resource, "CheckConfig", "core/v2") == []
    assert go_rules.check_failures(spec, spec["metadata"]) == []


# --------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_bundled_example_renders_to_the_golden_file(tmp_path: Path, fmt: str) -> None:
    proc = run_mdd("generate", "ams1", "--format", fmt, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    golden = GOLDEN[fmt]
    if os.environ.get("MDD_UPDATE_GOLDEN") == "1":
        golden.write_bytes(proc.stdout)
        pytest.skip(f"rewrote {golden}; review the diff")
    assert golden.is_file(), "no golden file: run with MDD_UPDATE_GOLDEN=1 and review it"
    assert proc.stdout == golden.read_bytes(), (
        f"`mdd generate ams1 --format {fmt}` differs from {golden.name}; if the change is "
        f"intended, rewrite it with MDD_UPDATE_GOLDEN=1 and review the diff"
    )


def test_the_two_golden_files_hold_the_same_resources() -> None:
    yaml_items = read_back(GOLDEN["sensu-go"].read_text(encoding="utf-8"))
    json_items = read_back(GOLDEN["sensu-go-json"].read_text(encoding="utf-8"))
    points = load(REPO / "mdd" / "examples" / "ams1.yaml").points
    assert yaml_items == json_items and len(yaml_items) == len(points) + 1
    for item in yaml_items[:-1]:
        assert_sensu_go_rules(item, "ams1")
    assert go_rules.filter_failures(yaml_items[-1]) == []
    assert yaml_items[-1]["metadata"]["name"] == alerting.NAME


def test_golden_go_checks_say_what_the_manifest_says() -> None:
    """Spot checks against mdd/examples/ams1.yaml, so the golden files can be trusted."""
    checks = {
        item["metadata"]["name"]: item
        for item in read_back(GOLDEN["sensu-go"].read_text(encoding="utf-8"))
        if item["type"] == "CheckConfig"
    }
    repo = checks["mdd_ams1_artifact-repo"]
    assert repo["metadata"]["labels"] == {
        "mdd_datacenter": "ams1",
        "mdd_point": "artifact-repo",
        "mdd_check_type": "http",
        "mdd_owner": "build-infra",
    }
    assert repo["metadata"]["annotations"] == {
        "mdd_description": "Artifact repository answers health checks",
        "mdd_docs": "https://wiki.example.net/ams1/artifacts",
        "mdd_depends_on": "mdd_ams1_resolver-ns1",
        "fatigue_check/occurrences": "2",
    }
    assert repo["metadata"]["namespace"] == "default"
    spec = repo["spec"]
    assert spec["interval"] == 30 and spec["timeout"] == 30 and "ttl" not in spec
    assert spec["subscriptions"] == ["mdd-ams1"]  # no subscribers in the manifest
    assert spec["handlers"] == ["default"]
    vault = checks["mdd_ams1_vault-cert"]
    assert vault["metadata"]["annotations"]["mdd_depends_on"] == "mdd_ams1_resolver-ns1"
    vip = checks["mdd_ams1_payments-vip"]
    assert vip["metadata"]["annotations"]["mdd_depends_on"] == "mdd_ams1_payments-db"
    assert "mdd_depends_on" not in checks["mdd_ams1_resolver-ns1"]["metadata"]["annotations"]
    classic = json.loads((REPO / "tests" / "golden" / "ams1.json").read_text())["checks"]
    assert set(classic) == set(checks)
    for name, check in checks.items():
        assert check["spec"]["command"] == classic[name]["command"]


# --------------------------------------------------------------------------- every manifest


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_every_manifest_renders_to_valid_sensu_go(path: Path, fmt: str) -> None:
    m = load(path)
    text = render(m, fmt)
    items = read_back(text)
    checks = [item for item in items if item["type"] == "CheckConfig"]
    assert len(checks) == len(m.points) > 0
    for item in checks:
        assert_sensu_go_rules(item, m.datacenter)
    # and the mdd-alerting filter, once, right after the checks
    assert [i["metadata"]["name"] for i in items[len(checks) :]] == [alerting.NAME]
    if fmt == "json":
        assert not text.lstrip().startswith("[")  # a top-level array is no sensuctl document
        assert "---" not in text.splitlines()
    else:
        separators = [line for line in text.splitlines() if line.startswith("---")]
        assert separators == ["---"] * len(items)  # nothing else splits a document
    assert render(m, "yaml") != render(m, "json")
    assert read_back(render(m, "yaml")) == read_back(render(m, "json"))


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_renders_in_every_format_from_the_cli(path: Path, tmp_path: Path) -> None:
    for fmt in ("sensu-classic", "sensu-go", "sensu-go-json"):
        proc = run_mdd("generate", str(path), "--format", fmt, cwd=tmp_path)
        assert proc.returncode == 0, (fmt, proc.stderr.decode())
        assert proc.stdout.endswith(b"\n")


def test_full_manifest_keeps_its_sensu_settings_in_go() -> None:
    m = load(REPO / "tests" / "manifests" / "good" / "full.yaml")
    checks = go_checks(m)
    primary = checks["mdd_fra-2_b_ldap.primary"]["spec"]
    assert primary["interval"] == 50 and primary["handlers"] == []
    assert primary["ttl"] == 300 and primary["timeout"] == 45
    assert primary["subscriptions"] == ["mdd-fra2"] and "round_robin" not in primary
    replica = checks["mdd_fra-2_b_LDAP_replica"]["spec"]
    assert replica["subscriptions"] == ["mdd-fra2"] and replica["round_robin"] is True
    assert replica["ttl"] == 600 and replica["interval"] == 60
    annotations = checks["mdd_fra-2_b_mgmt-blocked"]["metadata"]["annotations"]
    assert annotations["mdd_depends_on"] == "mdd_fra-2_b_ldap.primary,mdd_fra-2_b_LDAP_replica"
    assert annotations["fatigue_check/occurrences"] == "3"
    assert annotations["fatigue_check/interval"] == "3600"
    assert "mdd_owner" not in checks["mdd_fra-2_b_mgmt-blocked"]["metadata"]["labels"]


# --------------------------------------------------------------------------- the round trip


def ruby_truthy(value: Any) -> bool:
    """Ruby's truth: only nil and false are false (0, "" and [] are true)."""
    return value is not None and value is not False


def translate_check(check: dict[str, Any], name: str, namespace: str) -> dict[str, Any]:
    """sensu-translator 1.2.0 ``translate_check`` (lib/sensu/translator/translations.rb),
    line by line, with Ruby's truth (``object[:x]`` is true unless nil or false)."""
    obj = dict(check)
    spec: dict[str, Any] = {"command": obj.pop("command")}
    if ruby_truthy(obj.get("standalone")):
        obj.pop("standalone")
        spec["subscriptions"] = ["standalone"]
    else:
        subscribers = obj.pop("subscribers", None)
        spec["subscriptions"] = subscribers if ruby_truthy(subscribers) else []
    publish = obj.pop("publish", None)
    spec["publish"] = True if publish is None else publish
    for key in ("interval", "cron"):
        if ruby_truthy(obj.get(key)):
            spec[key] = obj.pop(key)
    handlers = obj.pop("handlers", None)
    spec["handlers"] = list(handlers) if ruby_truthy(handlers) else ["default"]
    if ruby_truthy(obj.get("handler")):
        spec["handlers"].append(obj.pop("handler"))
    spec["handlers"] = list(dict.fromkeys(spec["handlers"]))  # uniq!
    if ruby_truthy(obj.get("source")):
        spec["proxy_entity_name"] = obj.pop("source")
    for key in (
        "stdin",
        "timeout",
        "ttl",
        "ttl_status",
        "low_flap_threshold",
        "high_flap_threshold",
    ):
        if ruby_truthy(obj.get(key)):
            spec[key] = obj.pop(key)
    annotations: dict[str, str] = {}
    if obj:
        annotations["sensu.io.json_attributes"] = json.dumps(obj)
    if ruby_truthy(obj.get("occurrences")):
        annotations["fatigue_check/occurrences"] = str(obj["occurrences"])
    if ruby_truthy(obj.get("refresh")):
        annotations["fatigue_check/interval"] = str(obj["refresh"])
    return {
        "api_version": "core/v2",
        "type": "Check",  # the translator's own spelling (capitalize); sensuctl wants CheckConfig
        "metadata": {
            "namespace": namespace,
            "name": name,
            "labels": {},
            "annotations": annotations,
        },
        "spec": spec,
    }


OVERLAP = ("command", "publish", "interval", "cron", "timeout", "ttl", "handlers")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_classic_through_sensus_translator_gives_the_go_checks(path: Path) -> None:
    m = load(path)
    classic = json.loads(render_classic(m))["checks"]
    go = go_checks(m, namespace="ops")
    assert list(classic) == list(go)
    for name, check in classic.items():
        translated = translate_check(check, name, "ops")
        ours = go[name]
        assert translated["metadata"]["name"] == ours["metadata"]["name"]
        assert translated["metadata"]["namespace"] == ours["metadata"]["namespace"]
        for key in OVERLAP:
            assert translated["spec"].get(key) == ours["spec"].get(key), (name, key)
        assert translated["spec"]["proxy_entity_name"] == ours["spec"]["proxy_entity_name"]
        annotations = ours["metadata"].get("annotations", {})
        for key in ("fatigue_check/occurrences", "fatigue_check/interval"):
            assert translated["metadata"]["annotations"].get(key) == annotations.get(key), key
        # Subscriptions: where they differ, they differ by design and in a known way.
        theirs = translated["spec"]["subscriptions"]
        if theirs == ["standalone"]:  # Go has no standalone checks: mdd's default instead
            assert ours["spec"]["subscriptions"] == [f"mdd-{m.datacenter}"]
            assert "round_robin" not in ours["spec"]
        else:  # the translator keeps Classic's roundrobin: prefix; Go says round_robin
            stripped = [s.removeprefix("roundrobin:") for s in theirs]
            assert ours["spec"]["subscriptions"] == list(dict.fromkeys(stripped))
            rr = any(s.startswith("roundrobin:") for s in theirs)
            assert ours["spec"].get("round_robin", False) is rr
        # The rest of Classic's attributes are mdd's record: in Go, labels and annotations.
        leftover = json.loads(translated["metadata"]["annotations"]["sensu.io.json_attributes"])
        record = leftover["mdd"]
        labels = ours["metadata"]["labels"]
        assert labels["mdd_datacenter"] == record["datacenter"]
        assert labels["mdd_point"] == record["integration_point"]
        assert labels["mdd_check_type"] == record["type"]
        assert labels.get("mdd_owner") == record.get("owner")
        assert annotations.get("mdd_description") == record.get("description")
        assert annotations.get("mdd_docs") == record.get("docs")
        deps = [d.split("/", 1)[1] for d in leftover.get("dependencies", [])]
        assert annotations.get("mdd_depends_on", "") == ",".join(deps)


# --------------------------------------------------------------------------- manifest settings


def write(tmp_path: Path, text: str, name: str = "lab1") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


LAB = """\
datacenter: lab1
sensu: {SENSU}
integration_points:
  - name: a
    type: tcp
    check: {host: 127.0.0.1, port: 1}
    sensu: {POINT}
"""


def lab(tmp_path: Path, sensu: str = "{}", point_sensu: str = "{}") -> Manifest:
    return load(write(tmp_path, LAB.replace("{SENSU}", sensu).replace("{POINT}", point_sensu)))


def test_cron_replaces_the_interval_in_both_formats(tmp_path: Path) -> None:
    m = lab(tmp_path, "{cron: '*/5 * * * *', ttl: 10m}")
    classic = json.loads(render_classic(m))["checks"]["mdd_lab1_a"]
    assert classic["cron"] == "*/5 * * * *" and "interval" not in classic
    assert classic["ttl"] == 600
    spec = go_checks(m)["mdd_lab1_a"]["spec"]
    assert spec["cron"] == "*/5 * * * *" and "interval" not in spec and spec["ttl"] == 600
    assert 'cron: "*/5 * * * *"' in render(m)  # quoted: a leading * is a YAML alias


def test_a_points_interval_overrides_a_top_level_cron(tmp_path: Path) -> None:
    m = lab(tmp_path, "{cron: '0 * * * *'}", "{interval: 5m}")
    spec = go_checks(m)["mdd_lab1_a"]["spec"]
    assert spec["interval"] == 300 and "cron" not in spec
    m = lab(tmp_path, "{interval: 5m}", "{cron: '0 * * * *'}")
    spec = go_checks(m)["mdd_lab1_a"]["spec"]
    assert spec["cron"] == "0 * * * *" and "interval" not in spec


@pytest.mark.parametrize(
    ("sensu", "message"),
    [
        ("{cron: '* * * * *', interval: 1m}", "cron and interval: a check runs either"),
        ("{cron: '* * * *'}", "is not a cron schedule both Sensu Classic and Sensu Go read"),
        ("{cron: '0 6 * * 7'}", "is not a cron schedule both"),
        ("{cron: '@every 5m'}", "is Sensu Go only"),
        ("{subscribers: ['direct:x']}", "direct: subscriptions have no Sensu Go counterpart"),
        ("{subscribers: ['a:b:c']}", "at most one ':' inside"),
        ("{round_robin: 'yes'}", "round_robin: expected true or false"),
        ("{runtime_assets: ['my asset']}", "is not a Sensu Go asset name"),
    ],
)
def test_bad_sensu_settings_are_manifest_problems(tmp_path: Path, sensu: str, message: str) -> None:
    from mdd.manifest import ManifestError

    with pytest.raises(ManifestError) as caught:
        lab(tmp_path, sensu)
    assert any(message in p.message for p in caught.value.problems), caught.value.problems
    assert all(p.line == 2 for p in caught.value.problems)


def test_round_robin_in_both_formats(tmp_path: Path) -> None:
    m = lab(tmp_path, "{round_robin: true, ttl: 2m}")  # no subscribers: mdd-lab1
    classic = json.loads(render_classic(m))["checks"]["mdd_lab1_a"]
    assert classic["subscribers"] == ["roundrobin:mdd-lab1"] and "standalone" not in classic
    spec = go_checks(m)["mdd_lab1_a"]["spec"]
    assert spec["subscriptions"] == ["mdd-lab1"] and spec["round_robin"] is True
    assert spec["proxy_entity_name"] == "mdd-lab1"  # Go: ttl with round robin needs it
    m = lab(tmp_path, "{round_robin: true, subscribers: [web, roundrobin:db]}")
    classic = json.loads(render_classic(m))["checks"]["mdd_lab1_a"]
    assert classic["subscribers"] == ["roundrobin:web", "roundrobin:db"]
    assert go_checks(m)["mdd_lab1_a"]["spec"]["subscriptions"] == ["web", "db"]


def test_mixed_round_robin_subscriptions_cannot_be_written_for_go(tmp_path: Path) -> None:
    m = lab(tmp_path, "{subscribers: [web, roundrobin:db]}")
    assert json.loads(render_classic(m))["checks"]["mdd_lab1_a"]["subscribers"] == [
        "web",
        "roundrobin:db",
    ]
    with pytest.raises(GenerateError) as caught:
        render(m)
    (problem,) = caught.value.problems
    assert problem.line == 4 and "round_robin is one setting per check" in problem.message


def test_runtime_assets_from_the_manifest_and_the_command_line(tmp_path: Path) -> None:
    m = lab(tmp_path, "{runtime_assets: [python3]}")
    assert "runtime_assets" not in json.loads(render_classic(m))["checks"]["mdd_lab1_a"]
    spec = go_checks(m, runtime_assets=("mdd-checks", "python3"))["mdd_lab1_a"]["spec"]
    assert spec["runtime_assets"] == ["python3", "mdd-checks"]
    assert "runtime_assets" not in go_checks(lab(tmp_path))["mdd_lab1_a"]["spec"]


def test_namespace_reaches_both_metadata_copies() -> None:
    check = go_checks(manifest(point("db")), namespace="platform-ams1")["mdd_ams1_db"]
    assert check["metadata"]["namespace"] == "platform-ams1"
    assert check["spec"]["metadata"]["namespace"] == "platform-ams1"
    with pytest.raises(ValueError, match="namespace"):
        resources(manifest(point("db")), GoOptions(namespace="a b"))


def test_handlers_in_go() -> None:
    checks = go_checks(
        manifest(
            point("quiet", sensu=SensuSettings(handlers=())),
            point("unset"),
            point("paged", sensu=SensuSettings(handlers=("pager", "slack"))),
        )
    )
    assert checks["mdd_ams1_quiet"]["spec"]["handlers"] == []
    assert checks["mdd_ams1_unset"]["spec"]["handlers"] == ["default"]
    assert checks["mdd_ams1_paged"]["spec"]["handlers"] == ["pager", "slack"]


# --------------------------------------------------------------------------- text that Go rewrites


@pytest.mark.parametrize(
    "where",
    [
        {"description": "see {{ .labels.runbook }}"},
        {"owner": "{{.name}}"},
        {"options": {"host": "db.example.net", "port": 1, "send": "x {{- y }}"}},
    ],
)
def test_go_template_tokens_in_manifest_values_are_refused(where: dict[str, Any]) -> None:
    bad = point("db", line=7, **where)
    render_classic(manifest(bad))  # Classic does not substitute {{ }}
    with pytest.raises(GenerateError) as caught:
        render(manifest(bad))
    (problem,) = caught.value.problems
    assert str(problem).startswith("/manifests/ams1.yaml:7:1: db: the check's ")
    assert "Sensu Go agent replaces {{ ... }}" in problem.message


def test_yaml_look_alikes_stay_strings() -> None:
    tricky = ["y", "n", "no", "on", "1", "0x10", "1:20", "~", "null", "1e3", "- x", "a: b", "#x"]
    points = [
        point(f"p{index}", owner=value, description=value) for index, value in enumerate(tricky)
    ]
    text = render(manifest(*points))
    checks = {item["metadata"]["name"]: item for item in read_back(text)}
    for index, value in enumerate(tricky):
        metadata = checks[f"mdd_ams1_p{index}"]["metadata"]
        assert metadata["labels"]["mdd_owner"] == value
        assert metadata["annotations"]["mdd_description"] == value


def test_non_ascii_and_control_characters_read_back() -> None:
    description = "Zürich — ☃ relay 😀 \t tab"
    options = {"host": "relay.example.net", "port": 25, "send": "EHLO x\r\n--- not a split\n"}
    m = manifest(point("relay", description=description, options=options))
    for fmt in ("yaml", "json"):
        check = go_checks(m, fmt)["mdd_ams1_relay"]
        assert check["metadata"]["annotations"]["mdd_description"] == description
        assert shlex.split(check["spec"]["command"])[-2:] == [
            "--send",
            "EHLO x\r\n--- not a split\n",
        ]


# --------------------------------------------------------------------------- the command line


def test_go_only_options_are_refused_for_classic(tmp_path: Path) -> None:
    for option in (
        ["--namespace", "x"],
        ["--secrets-provider", "env"],
        ["--runtime-assets", "a"],
    ):
        proc = run_mdd("generate", "ams1", *option, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stdout == b""
        assert b"Sensu Go only" in proc.stderr


def test_bad_go_options_fail_cleanly(tmp_path: Path) -> None:
    for option, words in (
        (["--namespace", "a b"], b"--namespace"),
        (["--runtime-assets", ",,"], b"--runtime-assets"),
        (["--runtime-assets", "a b"], b"--runtime-assets"),
    ):
        proc = run_mdd("generate", "ams1", "--format", "sensu-go", *option, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stdout == b"", proc.stderr
        assert words in proc.stderr and b"Traceback" not in proc.stderr


def test_cli_options_reach_the_resources(tmp_path: Path) -> None:
    proc = run_mdd(
        "generate",
        "ams1",
        "--format",
        "sensu-go-json",
        "--namespace",
        "ops",
        "--runtime-assets",
        "mdd-checks, python3",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    for item in read_back(proc.stdout.decode()):
        assert item["metadata"]["namespace"] == "ops"
        if item["type"] == "CheckConfig":
            assert item["spec"]["runtime_assets"] == ["mdd-checks", "python3"]
        else:
            assert item["metadata"]["name"] == alerting.NAME


# --------------------------------------------------------------------------- --all -o DIR


def two_datacenters(tmp_path: Path) -> Path:
    folder = tmp_path / "manifests"
    folder.mkdir()
    for dc in ("ams1", "fra1"):
        (folder / f"{dc}.yaml").write_text(
            f"datacenter: {dc}\nintegration_points:\n"
            f"  - {{name: ldap, type: tcp, check: {{host: ldap.{dc}.example.net, port: 636}}}}\n"
        )
    (folder / "_shared.yaml").write_text("not: a datacenter\n")
    return folder


@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [("sensu-classic", "json"), ("sensu-go", "yaml"), ("sensu-go-json", "json")],
)
def test_all_writes_one_file_per_datacenter(tmp_path: Path, fmt: str, suffix: str) -> None:
    two_datacenters(tmp_path)
    proc = run_mdd("generate", "--all", "--format", fmt, "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"mdd-ams1.{suffix}",
        f"mdd-fra1.{suffix}",
    ]
    for dc in ("ams1", "fra1"):
        single = run_mdd("generate", dc, "--format", fmt, cwd=tmp_path)
        assert (tmp_path / "out" / f"mdd-{dc}.{suffix}").read_bytes() == single.stdout
    if fmt == "sensu-classic":  # side by side in conf.d: merged, nothing overwritten
        merged: dict[str, Any] = {}
        for path in (tmp_path / "out").iterdir():
            for name, check in json.loads(path.read_text())["checks"].items():
                assert name not in merged
                merged[name] = check
        assert sorted(merged) == ["mdd_ams1_ldap", "mdd_fra1_ldap"]


def test_all_refuses_check_names_that_two_datacenters_share(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    # mdd_<dc>_<point>: dc "a_b" with point "c" and dc "a" with point "b_c" are both mdd_a_b_c.
    (folder / "a_b.yaml").write_text(
        "datacenter: a_b\nintegration_points:\n"
        "  - {name: c, type: tcp, check: {host: 127.0.0.1, port: 1}}\n"
    )
    (folder / "a.yaml").write_text(
        "datacenter: a\nintegration_points:\n"
        "  - {name: ok, type: tcp, check: {host: 127.0.0.1, port: 1}}\n"
        "  - {name: b_c, type: tcp, check: {host: 127.0.0.1, port: 2}}\n"
    )
    proc = run_mdd("generate", "--all", "-o", "out", cwd=tmp_path)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in stderr, stderr
    assert "a_b.yaml:3:1: c: its check name mdd_a_b_c is also the name of point 'b_c'" in stderr
    assert "a_b.yaml:3:1:" in stderr and "manifests/a.yaml:4" in stderr, stderr
    assert not (tmp_path / "out").exists()


def test_all_writes_nothing_when_one_manifest_is_bad(tmp_path: Path) -> None:
    folder = two_datacenters(tmp_path)
    (folder / "zrh1.yaml").write_text("datacenter: zrh1\nintegration_points: []\n")
    (tmp_path / "out").mkdir()
    proc = run_mdd("generate", "--all", "--format", "sensu-go", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2 and b"zrh1.yaml:2:" in proc.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_all_needs_a_folder_and_no_datacenter(tmp_path: Path) -> None:
    two_datacenters(tmp_path)
    for args, message in (
        (["--all"], b"give the folder with -o DIR"),
        (["--all", "-o", "-"], b"give the folder with -o DIR"),
        (["ams1", "--all", "-o", "out"], b"--all generates every datacenter"),
        ([], b"give a DATACENTER"),
    ):
        proc = run_mdd("generate", *args, cwd=tmp_path)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
    (tmp_path / "file").write_text("x")
    proc = run_mdd("generate", "--all", "-o", "file", cwd=tmp_path)
    assert proc.returncode == 2 and b"not a folder" in proc.stderr
    assert (tmp_path / "file").read_text() == "x"
