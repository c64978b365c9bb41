"""`mdd generate`: Sensu Classic definitions that Sensu 1.9 loads untouched.

* The bundled example renders to tests/golden/ams1.json, byte for byte
  (``MDD_UPDATE_GOLDEN=1 pytest tests/test_generate.py`` rewrites it; review the diff).
* ``mdd.sensu_rules`` (Sensu's validator, re-implemented) is itself held to the cases that
  sensu-settings' own spec confirms, so that passing it means something.
* The output is deterministic, ``-o`` writes all or nothing, and a bad manifest writes nothing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.checks.registry import command_name
from mdd.core.command import check_command
from mdd.core.model import IntegrationPoint, Manifest, SensuSettings
from mdd.core.output import write_atomically
from mdd.sensu import alerting
from mdd.sensu import classic_rules as sensu_rules
from mdd.sensu.classic import GenerateError, render

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden" / "ams1.json"
MDD = Path(sys.executable).parent / "mdd"

# The names every Sensu piece accepts: Classic validator, Classic API routes, Sensu Go.
SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def run_mdd(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed `mdd` as a user would, from ``cwd``, without $MDD_MANIFESTS."""
    env = {k: v for k, v in os.environ.items() if k != "MDD_MANIFESTS"} | (env or {})
    return subprocess.run(
        [str(MDD), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def nulls(value: Any, path: str = "") -> Iterator[str]:
    if value is None:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from nulls(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nulls(item, f"{path}[{index}]")


def point(name: str, **kwargs: Any) -> IntegrationPoint:
    """A tcp integration point (the tcp check is complete and its options are known)."""
    options = kwargs.pop("options", {"host": f"{name}.ams1.example.net", "port": 443})
    return IntegrationPoint(name=name, type="tcp", options=options, **kwargs)


def manifest(*points: IntegrationPoint, datacenter: str = "ams1") -> Manifest:
    return Manifest(Path("/manifests/ams1.yaml"), datacenter, None, points)


def checks_of(m: Manifest) -> dict[str, dict[str, Any]]:
    document = json.loads(render(m))
    assert list(document) == ["checks", "filters"]
    assert document["filters"] == alerting.classic_filters()
    checks: dict[str, dict[str, Any]] = document["checks"]
    return checks


# --------------------------------------------------------------------------- the golden file


def test_bundled_example_renders_to_the_golden_file(tmp_path: Path) -> None:
    proc = run_mdd("generate", "ams1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    if os.environ.get("MDD_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(proc.stdout)
        pytest.skip(f"rewrote {GOLDEN}; review the diff")
    assert GOLDEN.is_file(), "no golden file: run with MDD_UPDATE_GOLDEN=1 and review it"
    assert proc.stdout == GOLDEN.read_bytes(), (
        "`mdd generate ams1` differs from tests/golden/ams1.json; if the change is intended, "
        "rewrite it with MDD_UPDATE_GOLDEN=1 and review the diff"
    )


def golden_checks() -> dict[str, dict[str, Any]]:
    document = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert list(document) == ["checks", "filters"]
    checks: dict[str, dict[str, Any]] = document["checks"]
    return checks


def test_golden_file_passes_sensu_rules() -> None:
    document = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sensu_rules.validate_document(document) == []
    for name, check in document["checks"].items():
        assert sensu_rules.token_failures(check) == [], name


def test_golden_checks_obey_each_sensu_rule_explicitly() -> None:
    from mdd.manifest import load

    checks = golden_checks()
    assert len(checks) == len(load(REPO / "mdd" / "examples" / "ams1.yaml").points) == 17
    for name, check in checks.items():
        assert SAFE_NAME.fullmatch(name) and name.startswith("mdd_ams1_"), name
        assert list(nulls(check)) == [], f"{name}: null values"

        assert isinstance(check["command"], str) and "extension" not in check
        interval = check["interval"]
        assert type(interval) is int and interval > 0, name
        if check.get("standalone") is True:
            assert "subscribers" not in check, name
        else:
            subscribers = check["subscribers"]
            assert isinstance(subscribers, list) and subscribers, name
            assert all(isinstance(s, str) and s for s in subscribers), name
        assert check["source"] == "mdd-ams1" and SAFE_NAME.fullmatch(check["source"])
        assert check["aggregate"] == "mdd_ams1" and SAFE_NAME.fullmatch(check["aggregate"])
        if "handlers" in check:
            assert all(isinstance(h, str) and h for h in check["handlers"]), name
        if "timeout" in check:
            assert type(check["timeout"]) in (int, float) and check["timeout"] > 0, name
        if "ttl" in check:
            assert type(check["ttl"]) is int and check["ttl"] > interval, name
        for key in ("occurrences", "refresh"):
            if key in check:
                assert type(check[key]) is int and check[key] > 0, (name, key)


def test_golden_checks_say_what_the_manifest_says() -> None:
    """Spot checks against mdd/examples/ams1.yaml and its bases, so the golden file can be trusted.

    The inherited points come first, in the order of their bases (base/global.yaml, then
    base/eu.yaml); ams1's own new points last; the for_each point expands in place.
    """
    checks = golden_checks()
    assert list(checks) == [
        "mdd_ams1_resolver-ns1",
        "mdd_ams1_resolver-ns2",
        "mdd_ams1_ntp",
        "mdd_ams1_ldap",
        "mdd_ams1_artifact-repo",
        "mdd_ams1_vault-cert",
        "mdd_ams1_egress-proxy",
        "mdd_ams1_egress-paste-denied",
        "mdd_ams1_bastion",
        "mdd_ams1_gateway",
        "mdd_ams1_shared-storage",
        "mdd_ams1_smtp-relay",
        "mdd_ams1_mgmt-blocked",
        "mdd_ams1_payments-db",
        "mdd_ams1_sessions-cache",
        "mdd_ams1_events-broker",
        "mdd_ams1_payments-vip",
    ]
    repo = checks["mdd_ams1_artifact-repo"]
    assert repo["interval"] == 30  # ams1's override of the inherited point: interval: 30s
    assert checks["mdd_ams1_ldap"]["interval"] == 60  # the default, 1m
    for check in checks.values():
        assert check["timeout"] == 30 and check["handlers"] == ["default"]
        assert check["occurrences"] == 2 and check["standalone"] is True
    assert repo["owner"] == "build-infra"
    assert repo["docs"] == "https://wiki.example.net/ams1/artifacts"  # overridden by ams1
    assert repo["mdd"] == {
        "datacenter": "ams1",
        "integration_point": "artifact-repo",
        "type": "http",
        "owner": "build-infra",
        "description": "Artifact repository answers health checks",
        "docs": "https://wiki.example.net/ams1/artifacts",
        "depends_on": ["resolver-ns1"],
    }
    vault = checks["mdd_ams1_vault-cert"]
    assert vault["dependencies"] == ["mdd-ams1/mdd_ams1_resolver-ns1"]
    assert vault["mdd"]["depends_on"] == ["resolver-ns1"]
    assert "docs" not in vault and "docs" not in vault["mdd"]
    # A chain: the VIP waits for its database, which waits for the resolver.
    assert checks["mdd_ams1_payments-vip"]["dependencies"] == ["mdd-ams1/mdd_ams1_payments-db"]
    assert checks["mdd_ams1_payments-db"]["dependencies"] == ["mdd-ams1/mdd_ams1_resolver-ns1"]
    assert "dependencies" not in checks["mdd_ams1_resolver-ns1"]
    assert shlex.split(checks["mdd_ams1_resolver-ns2"]["command"])[-6:] == [
        "--query",
        "ldap.ams1.example.net",
        "--servers",
        "ns2.ams1.example.net",
        "--timeout",
        "3s",
    ]
    # Secrets stay references: the file on the agent is named, never read.
    for name in ("ldap", "payments-db", "sessions-cache", "events-broker"):
        argv = shlex.split(checks[f"mdd_ams1_{name}"]["command"])
        assert argv[argv.index("--password-file") + 1].startswith("/etc/sensu/mdd/"), name
    assert shlex.split(checks["mdd_ams1_egress-paste-denied"]["command"])[-1] == "--denied"

    argv = shlex.split(checks["mdd_ams1_mgmt-blocked"]["command"])
    assert argv == [
        command_name("tcp"),
        "--point",
        "mgmt-blocked",
        "--host",
        "mgmt.ams1.example.net",
        "--port",
        "22",
        "--state",
        "closed",
        "--timeout",
        "3s",
    ]
    for name, check in checks.items():
        program = shlex.split(check["command"])[0]
        assert program == command_name(check["mdd"]["type"]), name
        assert name == f"mdd_ams1_{check['mdd']['integration_point']}"


def test_generate_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    # Different hash seeds: nothing may depend on the order of a set or of hashing.
    first = run_mdd("generate", "ams1", cwd=tmp_path, env={"PYTHONHASHSEED": "1"})
    second = run_mdd("generate", "ams1", cwd=tmp_path, env={"PYTHONHASHSEED": "2"})
    assert first.returncode == 0 and second.returncode == 0
    assert first.stdout == second.stdout and first.stdout.endswith(b"}\n")


# --------------------------------------------------------------------------- render()


def test_point_without_subscribers_is_standalone_and_with_them_is_not() -> None:
    checks = checks_of(
        manifest(
            point("alone"),
            point("subscribed", sensu=SensuSettings(subscribers=("mdd-ams1", "roundrobin:x"))),
        )
    )
    assert checks["mdd_ams1_alone"]["standalone"] is True
    assert "subscribers" not in checks["mdd_ams1_alone"]
    assert checks["mdd_ams1_subscribed"]["subscribers"] == ["mdd-ams1", "roundrobin:x"]
    assert "standalone" not in checks["mdd_ams1_subscribed"]


def test_every_check_carries_client_aggregate_and_mdd_attributes() -> None:
    p = point(
        "ldap",
        owner="identity",
        description='LDAPS "answers", it\'s said {{ x }} {% if %}',
        docs="https://wiki.example.net/ldap",
    )
    check = checks_of(manifest(p, datacenter="fra2"))["mdd_fra2_ldap"]
    assert check["source"] == "mdd-fra2"
    assert check["aggregate"] == "mdd_fra2"
    assert check["owner"] == "identity"
    assert check["docs"] == "https://wiki.example.net/ldap"
    assert check["mdd"] == {
        "datacenter": "fra2",
        "integration_point": "ldap",
        "type": "tcp",
        "owner": "identity",
        "description": 'LDAPS "answers", it\'s said {{ x }} {% if %}',
        "docs": "https://wiki.example.net/ldap",
    }


def test_absent_values_are_left_out_not_written_as_null() -> None:
    bare = point("bare", sensu=SensuSettings(timeout=None))
    text = render(manifest(bare))
    check = json.loads(text)["checks"]["mdd_ams1_bare"]
    assert "null" not in text
    assert set(check) == {"command", "standalone", "interval", "source", "aggregate", "mdd"}
    assert check["mdd"] == {"datacenter": "ams1", "integration_point": "bare", "type": "tcp"}


def test_sensu_settings_reach_the_check_as_integers() -> None:
    settings = SensuSettings(
        interval=45, timeout=20, handlers=("pager", "slack"), occurrences=3, refresh=900, ttl=180
    )
    check = checks_of(manifest(point("db", sensu=settings)))["mdd_ams1_db"]
    for key, value in (
        ("interval", 45),
        ("timeout", 20),
        ("occurrences", 3),
        ("refresh", 900),
        ("ttl", 180),
    ):
        assert check[key] == value and type(check[key]) is int, key
    assert check["handlers"] == ["pager", "slack"]


def test_handlers_none_and_handlers_not_given_differ() -> None:
    # Sensu Classic sends the events of a check without "handlers" to its handler named
    # "default"; only an explicit [] means no handler at all.
    checks = checks_of(
        manifest(
            point("quiet", sensu=SensuSettings(handlers=())),
            point("unset", sensu=SensuSettings()),
        )
    )
    assert checks["mdd_ams1_quiet"]["handlers"] == []
    assert "handlers" not in checks["mdd_ams1_unset"]


def test_handlers_emptied_by_a_point_reach_the_check_as_empty(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "lab1.yaml").write_text(
        "datacenter: lab1\nsensu: {handlers: [pager]}\nintegration_points:\n"
        "  - {name: a, type: tcp, check: {host: 127.0.0.1, port: 1}, sensu: {handlers: []}}\n"
        "  - {name: b, type: tcp, check: {host: 127.0.0.1, port: 2}}\n"
    )
    proc = run_mdd("generate", "lab1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    checks = json.loads(proc.stdout)["checks"]
    assert checks["mdd_lab1_a"]["handlers"] == []
    assert checks["mdd_lab1_b"]["handlers"] == ["pager"]
    assert sensu_rules.validate_document({"checks": checks}) == []


def test_depends_on_becomes_client_slash_check_dependencies() -> None:
    checks = checks_of(
        manifest(
            point("dns"),
            point("ldap"),
            point("vault", depends_on=("dns", "ldap")),
        )
    )
    vault = checks["mdd_ams1_vault"]
    assert vault["dependencies"] == ["mdd-ams1/mdd_ams1_dns", "mdd-ams1/mdd_ams1_ldap"]
    assert vault["mdd"]["depends_on"] == ["dns", "ldap"]
    for dependency in vault["dependencies"]:
        client, check_name = dependency.split("/")
        assert client == vault["source"] and check_name in checks
    assert "dependencies" not in checks["mdd_ams1_dns"]


def test_command_is_the_shell_quoted_check_command() -> None:
    options = {"host": "db.ams1.example.net", "port": 5432, "send": "PING it's\n", "timeout": 2.5}
    check = checks_of(manifest(point("db", options=options)))["mdd_ams1_db"]
    assert check["command"] == check_command("tcp", options, point="db")
    assert shlex.split(check["command"])[-4:-1] == ["--send", "PING it's\n", "--timeout"]


def test_points_keep_manifest_order_and_option_order_does_not_matter() -> None:
    names = ["zeta", "alpha", "mid"]
    options = {"host": "h.example.net", "port": 25, "send": "EHLO x\r\n", "expect": "^250"}
    reordered = dict(reversed(list(options.items())))
    one = render(manifest(*(point(n, options=options) for n in names)))
    two = render(manifest(*(point(n, options=reordered) for n in names)))
    assert one == two
    assert list(json.loads(one)["checks"]) == [f"mdd_ams1_{n}" for n in names]
    assert one.endswith("}\n") and not one.endswith("\n\n")


def test_non_ascii_text_is_escaped_and_reads_back() -> None:
    description = "Zürich — ☃ relay"
    text = render(manifest(point("relay", description=description)))
    assert text.isascii()
    assert json.loads(text)["checks"]["mdd_ams1_relay"]["mdd"]["description"] == description


def test_empty_manifest_gives_an_empty_checks_hash() -> None:
    text = render(manifest())
    assert json.loads(text) == {"checks": {}, "filters": alerting.classic_filters()}
    assert sensu_rules.validate_document(json.loads(text)) == []


def test_sensu_token_in_a_manifest_value_is_refused() -> None:
    p = point(
        "db",
        options={"host": "db.example.net", "port": 1, "send": "AUTH :::client.password:::"},
        line=12,
    )
    with pytest.raises(GenerateError) as caught:
        render(manifest(p))
    (problem,) = caught.value.problems
    assert str(problem).startswith("/manifests/ams1.yaml:12:1: db: ")
    assert "':::client.password:::'" in str(problem)


def test_token_split_across_two_values_is_refused() -> None:
    """Sensu's token regex spans words: ':::a' in one value and 'b:::' in the next."""
    options = {"host": "db.example.net", "port": 1, "send": ":::a", "expect": "b:::"}
    with pytest.raises(GenerateError):
        render(manifest(point("db", options=options)))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (point("x", sensu=SensuSettings(interval=0)), "interval must be an integer greater than 0"),
        (point("x", sensu=SensuSettings(interval=1.5)), "interval must be an integer"),  # type: ignore[arg-type]
        (point("bad name"), "check name cannot contain spaces or special characters"),
        (point("x", sensu=SensuSettings(handlers=("",))), "handlers must each be a string"),
        (point("x", sensu=SensuSettings(subscribers=("",))), "subscribers must each be a string"),
    ],
)
def test_render_refuses_to_return_what_sensu_would_reject(
    bad: IntegrationPoint, message: str
) -> None:
    """The loader never lets these through; render's own check is the last line of defence."""
    with pytest.raises(RuntimeError, match=message):
        render(manifest(bad))


# --------------------------------------------------------------------------- sensu_rules


def failures(check: dict[str, Any]) -> list[str]:
    return sensu_rules.validate_check(check)


def test_empty_check_has_exactly_sensus_five_failures() -> None:
    assert failures({}) == [
        "check name must be a string",
        "check name cannot contain spaces or special characters",
        "either check command or extension must be set",
        "check interval must be an integer greater than 0",
        "check subscribers must be an array",
    ]


# sensu-settings spec/validator_spec.rb "can validate a check definition": each step changes
# the check, and the validator must then report exactly this many failures.
SPEC_STEPS: list[tuple[str, Any, int]] = [
    ("name", "foo bar", 4),
    ("name", "foo\nbar", 4),
    ("name", "foo", 3),
    ("command", 1, 3),
    ("command", "true", 2),
    ("timeout", "foo", 3),
    ("timeout", 1.5, 2),
    ("timeout", 1, 2),
    ("publish", "false", 3),
    ("publish", False, 1),
    ("publish", True, 2),
    ("interval", "1", 2),
    ("interval", 1, 1),
    ("subscribers", 1, 1),
    ("subscribers", [1], 1),
    ("subscribers", [], 0),
    ("standalone", "true", 1),
    ("standalone", True, 0),
    ("handler", 1, 1),
    ("handler", "cat", 0),
    ("handlers", "cat", 1),
    ("handlers", ["cat"], 0),
    ("ttl", True, 1),
    ("ttl", -1, 1),
    ("ttl", 0, 1),
    ("ttl", 1, 0),
    ("ttl_status", True, 1),
    ("ttl_status", "2", 1),
    ("ttl_status", 2, 0),
    ("aggregates", "string", 1),
    ("aggregates", True, 1),
    ("aggregates", [1], 1),
    ("aggregates", [True], 1),
    ("aggregates", ["foo", "$bar$"], 1),
    ("aggregates", ["foo", "bar"], 0),
    ("aggregates", [":::some_custom_attr:::-checks", ":::another|default_value:::-checks"], 0),
    ("aggregate", 1, 1),
    ("aggregate", True, 0),
    ("aggregate", "$test", 1),
    ("aggregate", "test", 0),
    ("aggregate", ":::some_custom_attribute|magic:::", 0),
    ("low_flap_threshold", "25", 2),
    ("low_flap_threshold", 25, 1),
    ("high_flap_threshold", "55", 1),
    ("high_flap_threshold", 55, 0),
    ("source", 1, 1),
    ("source", "switch-%42%", 1),
    ("source", "to:ken", 1),
    ("source", "::token::", 1),
    ("source", ":::token", 1),
    ("source", "token|", 1),
    ("source", "my:::token|default:::value", 0),
    ("source", "switch-42", 0),
    ("stdin", "true", 1),
    ("stdin", True, 0),
    ("truncate_output", "yes", 1),
    ("truncate_output", True, 0),
    ("truncate_output_length", 0, 1),  # 0 is truthy in Ruby, so it is checked
    ("truncate_output_length", 255, 0),
    ("extension", "foo", 1),
    ("command", None, 0),
    ("extension", True, 1),
]


def test_sensu_rules_follow_sensu_settings_spec_step_by_step() -> None:
    check: dict[str, Any] = {}
    for step, (key, value, expected) in enumerate(SPEC_STEPS):
        if value is None:
            del check[key]
        else:
            check[key] = value
        got = failures(check)
        assert len(got) == expected, f"step {step}: {key}={value!r} gave {got}"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "foo\n"}, ["check name cannot contain spaces or special characters"]),  # \z
        ({"name": "z\u00fcrich"}, ["check name cannot contain spaces or special characters"]),
        (
            {"source": "z\u00fcrich"},
            ["check source cannot contain spaces, special characters, or invalid tokens"],
        ),
        ({"interval": 0}, ["check interval must be an integer greater than 0"]),
        ({"interval": 60.0}, ["check interval must be an integer greater than 0"]),
        ({"interval": True}, ["check interval must be an integer greater than 0"]),
        ({"timeout": True}, ["check timeout must be numeric"]),
        ({"ttl": 0}, ["check ttl must be greater than 0"]),
        ({"ttl": 120.0}, ["check ttl must be an integer"]),
        ({"cron": "* * * *"}, ["check cron string must use the cron syntax"]),
        ({"cron": "* * * * *"}, []),
        ({"cron": "*/5 0-6/2 1,15 jan-mar mon-fri"}, []),
        ({"cron": "@daily"}, []),
        ({"cron": "@reboot"}, ["check cron string must use the cron syntax"]),
        (
            {"cron": 5},
            ["check cron must be a string", "check cron string must use the cron syntax"],
        ),
        ({"cron": "61 * * * *"}, ["check cron string must use the cron syntax"]),
        ({"cron": "* * * *", "publish": False}, []),
        ({"interval": None, "publish": False}, []),
        ({"standalone": False, "subscribers": None}, ["check subscribers must be an array"]),
        ({"standalone": False, "subscribers": [""]}, ["check subscribers must each be a string"]),
        ({"proxy_requests": {}}, ["check proxy_requests client_attributes must be a hash"]),
        ({"proxy_requests": []}, ["check proxy_requests must be a hash"]),
        (
            {"proxy_requests": {"client_attributes": {}, "splay_coverage": 100}},
            [
                "check proxy_requests splay_coverage must be an integer greater than 0 and less "
                "than 100"
            ],
        ),
        ({"proxy_requests": {"client_attributes": {}, "splay_coverage": 65}}, []),
        (
            {"proxy_requests": {"client_attributes": {}, "splay": "yes"}},
            ["check proxy_requests splay must be boolean"],
        ),
        (
            {
                "hooks": {
                    "warning": {"command": "x"},
                    "2": {"command": "y"},
                    "non-zero": {"command": "z", "timeout": 1.5, "stdin": True},
                }
            },
            [],
        ),
        (
            {"hooks": {"nope": {"command": "x"}}},
            ["check hook key must be a severity, status, or 'non-zero'"],
        ),
        (
            {"hooks": {"256": {"command": "x"}}},
            ["check hook key must be a severity, status, or 'non-zero'"],
        ),
        (
            {"hooks": {"ok": {"command": 1, "timeout": "1", "stdin": 1}}},
            [
                "check hook command must be a string",
                "check hook timeout must be numeric",
                "check hook stdin must be boolean",
            ],
        ),
        ({"hooks": []}, ["check hooks must be a hash"]),
        ({"aggregate": ""}, ["check aggregate cannot contain spaces or special characters"]),
        ({"aggregate": False}, []),
        ({"aggregates": []}, []),
    ],
)
def test_sensu_rules_edge_cases(changes: dict[str, Any], expected: list[str]) -> None:
    check: dict[str, Any] = {"name": "x", "command": "true", "interval": 60, "standalone": True}
    for key, value in changes.items():
        if value is None:
            check.pop(key, None)
        else:
            check[key] = value
    assert failures(check) == expected


# sensu-settings spec "can validate check subdue": each step replaces subdue.
SUBDUE_STEPS: list[tuple[Any, int]] = [
    (True, 1),
    ({"days": []}, 1),
    ({"days": {}}, 1),
    ({"days": {"nope": {}}}, 1),
    ({"days": {"nope": []}}, 1),
    ({"days": {"all": {}}}, 1),
    ({"days": {"all": []}}, 1),
    ({"days": {"all": [True]}}, 1),
    ({"days": {"all": [{"begin": "5:00 PM"}]}}, 1),
    ({"days": {"all": [{"begin": "5:00 PM", "end": "nope"}]}}, 1),
    ({"days": {"all": [{"begin": "5:00 PM", "end": "8:00 AM"}]}}, 0),
]


@pytest.mark.parametrize(("subdue", "expected"), SUBDUE_STEPS)
def test_sensu_rules_subdue(subdue: Any, expected: int) -> None:
    check = {"name": "foo", "command": "true", "interval": 1, "standalone": True, "subdue": subdue}
    assert len(failures(check)) == expected, failures(check)


def test_sensu_rules_whole_document() -> None:
    assert sensu_rules.validate_document([]) != []
    assert sensu_rules.validate_document({"checks": []}) == ["checks must be a hash"]
    assert sensu_rules.validate_document({"checks": {"a": 1}}) == [
        "check 'a': check must be a hash"
    ]
    good = {"command": "true", "interval": 10, "standalone": True, "name": "ignored"}
    assert sensu_rules.validate_document({"checks": {"a.b-c_1": good}}) == []
    # The key is the name, whatever "name" the definition holds.
    assert sensu_rules.validate_document({"checks": {"a b": good}}) == [
        "check 'a b': check name cannot contain spaces or special characters"
    ]


def test_aggregate_names_the_api_cannot_serve() -> None:
    base = {"command": "true", "interval": 10, "standalone": True}
    colon = {"checks": {"x": {**base, "aggregate": "dc:ams1"}}}
    assert sensu_rules.validate_document(colon, api=False) == []  # the validator allows ':'
    (failure,) = sensu_rules.validate_document(colon)
    assert "'dc:ams1' cannot be read through the Sensu API" in failure
    piped = {"checks": {"x": {**base, "aggregates": ["ok", "a|b"], "aggregate": "fine"}}}
    assert len(sensu_rules.validate_document(piped)) == 1  # aggregates override aggregate
    assert sensu_rules.validate_document({"checks": {"x": {**base, "aggregate": True}}}) == []
    tokens = {"checks": {"x": {**base, "aggregate": ":::dc|ams1:::"}}}
    assert sensu_rules.validate_document(tokens) == []  # known only after substitution


def test_token_failures_find_what_sensu_would_substitute() -> None:
    assert sensu_rules.find_tokens("a :::disk.warning|80::: b :::x:::") == [
        ":::disk.warning|80:::",
        ":::x:::",
    ]
    assert sensu_rules.find_tokens("[::1]:443 and a:::b") == []
    assert sensu_rules.find_tokens("::::::") == []
    check = {"command": "x", "mdd": {"description": "at :::name:::"}, "handlers": [":::h:::"]}
    found = sensu_rules.token_failures(check)
    assert len(found) == 2
    assert found[0].startswith("mdd.description would hold ':::name:::'")
    assert found[1].startswith("handlers[0] would hold ':::h:::'")


# --------------------------------------------------------------------------- -o FILE


def only_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_output_option_writes_the_file_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = run_mdd("generate", "ams1", "-o", str(out / "mdd-ams1.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""  # stderr may say the bundled example was used
    assert only_files(out) == ["mdd-ams1.json"]  # no temporary file left behind
    printed = run_mdd("generate", "ams1", cwd=tmp_path).stdout
    assert (out / "mdd-ams1.json").read_bytes() == printed


def test_output_option_replaces_a_file_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "mdd-ams1.json"
    target.write_text("{}")
    target.chmod(0o640)
    proc = run_mdd("generate", "ams1", "--output", str(target), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(target.read_text())["checks"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


BAD_MANIFEST = """\
datacenter: bad
integration_points:
  - name: ldap
    type: tcp
    check: {host: ldap.bad.example.net, port: 99999}
"""


@pytest.mark.parametrize("existing", [True, False])
def test_bad_manifest_writes_nothing(tmp_path: Path, existing: bool) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "bad.yaml").write_text(BAD_MANIFEST)
    target = tmp_path / "out.json"
    if existing:
        target.write_text("previous content\n")
    proc = run_mdd("generate", "bad", "-o", str(target), cwd=tmp_path)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2, stderr
    assert proc.stdout == b""
    assert "Traceback" not in stderr
    assert "bad.yaml:5:" in stderr and "99999" in stderr, stderr
    assert only_files(tmp_path) == (["manifests", "out.json"] if existing else ["manifests"])
    if existing:
        assert target.read_text() == "previous content\n"


def test_bad_manifest_prints_nothing_on_stdout(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "bad.yaml").write_text(BAD_MANIFEST)
    proc = run_mdd("generate", "bad", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert b"Traceback" not in proc.stderr


def test_sensu_token_in_manifest_fails_cleanly(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "tok.yaml").write_text(
        "datacenter: tok\nintegration_points:\n"
        "  - name: redis\n    type: tcp\n"
        "    check: {host: redis.tok.example.net, port: 6379, send: 'AUTH :::client.pw:::'}\n"
    )
    proc = run_mdd("generate", "tok", "-o", str(tmp_path / "out.json"), cwd=tmp_path)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b"", stderr
    assert "tok.yaml:5:" in stderr and ":::" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "out.json").exists()


def test_unwritable_output_fails_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "out.json"
    proc = run_mdd("generate", "ams1", "-o", str(target), cwd=tmp_path)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b"", stderr
    assert "cannot write" in stderr and "Traceback" not in stderr
    assert not target.parent.exists()


GOOD_MANIFEST = """\
datacenter: lab1
integration_points:
  - name: ldap
    type: tcp
    check: {host: 127.0.0.1, port: 636}
"""


@pytest.mark.parametrize("how", ["same path", "another spelling", "symlink"])
def test_output_onto_the_manifest_itself_is_refused(tmp_path: Path, how: str) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    path = manifests / "lab1.yaml"
    path.write_text(GOOD_MANIFEST)
    target = {
        "same path": "manifests/lab1.yaml",
        "another spelling": "./manifests/../manifests/lab1.yaml",
        "symlink": "link.yaml",
    }[how]
    (tmp_path / "link.yaml").symlink_to(path)
    proc = run_mdd("generate", "lab1", "-o", target, cwd=tmp_path)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b"", stderr
    assert stderr == (
        f"mdd: -o {target} is the manifest manifests/lab1.yaml itself: write to another "
        f"file; nothing written\n"
    )
    assert path.read_text() == GOOD_MANIFEST


def test_an_empty_output_name_is_refused_not_taken_as_stdout(tmp_path: Path) -> None:
    # `mdd generate ams1 -o "$DEST"` with DEST unset must not print to stdout and exit 0.
    proc = run_mdd("generate", "ams1", "-o", "", cwd=tmp_path)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b"", stderr
    assert stderr.splitlines()[-1] == "mdd: -o needs a file name (or - for standard output)"
    assert only_files(tmp_path) == []


def test_output_dash_is_standard_output(tmp_path: Path) -> None:
    proc = run_mdd("generate", "ams1", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == run_mdd("generate", "ams1", cwd=tmp_path).stdout
    assert only_files(tmp_path) == []


def test_output_onto_a_folder_fails_like_any_unwritable_output(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    proc = run_mdd("generate", "ams1", "-o", "conf.d", cwd=tmp_path)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b"", stderr
    assert stderr.splitlines()[-1] == "mdd: cannot write conf.d: is a folder; nothing written"
    assert only_files(tmp_path / "conf.d") == []


def test_unknown_datacenter_fails_cleanly(tmp_path: Path) -> None:
    proc = run_mdd("generate", "nosuchdc", "-o", str(tmp_path / "out.json"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == b""
    assert b"Traceback" not in proc.stderr and b"nosuchdc" in proc.stderr
    assert only_files(tmp_path) == []


# --------------------------------------------------------------------------- write_atomically


def test_write_atomically_creates_a_file_as_the_umask_allows(tmp_path: Path) -> None:
    target = tmp_path / "new.json"
    old = os.umask(0o027)
    try:
        write_atomically(target, '{"checks": {}}\n')
    finally:
        os.umask(old)
    assert target.read_text() == '{"checks": {}}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert only_files(tmp_path) == ["new.json"]


def test_write_atomically_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomically(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_write_atomically_onto_a_folder_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "conf.json").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomically(tmp_path / "conf.json", "text")
    assert only_files(tmp_path) == ["conf.json"]
    assert only_files(tmp_path / "conf.json") == []


def test_write_atomically_failing_midway_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("previous")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "half written \udc80 never")  # a lone surrogate: no UTF-8
    assert target.read_text() == "previous"
    assert only_files(tmp_path) == ["out.json"]


def test_write_atomically_into_a_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "missing" / "out.json", "text")
    assert only_files(tmp_path) == []
