"""Manifest loading: every mistake is reported, where it was written, and good manifests load.

Each file in manifests/bad/ carries the problems it must produce as ``# expect:`` lines at its
top, in order; adding a case means adding one file.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import pytest

from mdd.checks.api import Option
from mdd.checks.registry import CHECK_TYPES
from mdd.core.model import IntegrationPoint, SensuSettings
from mdd.core.problems import ManifestError, Problem
from mdd.manifest import POINT_KEYS, SENSU_KEYS, TOP_LEVEL_KEYS, load, yamlload
from mdd.manifest.locate import LocateError, find_manifest, is_bundled

HERE = Path(__file__).parent
BAD = sorted((HERE / "manifests" / "bad").glob("*.yaml"))
GOOD = sorted((HERE / "manifests" / "good").glob("*.yaml"))
EXPECT = "# expect: "


# An expect line says {check_types} where a message lists the registered check types, so the
# fixtures need no edit when a type is added.
CHECK_TYPE_LIST = ", ".join(sorted(CHECK_TYPES))


def expected_problems(path: Path) -> list[str]:
    """The ``# expect:`` lines; ``{types}`` stands for the registered check types (sorted,
    comma-separated), so that adding a type does not rewrite every fixture that lists them."""
    return [
        line.removeprefix(EXPECT).replace("{check_types}", CHECK_TYPE_LIST)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith(EXPECT)
    ]


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ManifestError) as info:
        load(path)
    return info.value.problems


# --------------------------------------------------------------------------- bad manifests


def test_there_is_a_bad_fixture_per_mistake() -> None:
    assert len(BAD) >= 30


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_manifest_is_reported_precisely(path: Path) -> None:
    expected = expected_problems(path)
    assert expected, f"{path.name} has no '# expect:' line"
    problems = problems_of(path)
    assert [f"{p.line}:{p.column}: {p.message}" for p in problems] == expected
    assert all(p.file == str(path) for p in problems)


def test_several_mistakes_are_all_reported_in_file_order() -> None:
    problems = problems_of(HERE / "manifests" / "bad" / "many-mistakes.yaml")
    kinds = {p.message.split(" ")[0] for p in problems}
    assert len(problems) >= 7
    assert {"unknown", "undefined", "port:", "duplicate", "check", "type:"} <= kinds
    positions = [(p.line, p.column) for p in problems]
    assert positions == sorted(positions)


def test_unknown_key_suggests_the_nearest_known_key(tmp_path: Path) -> None:
    path = tmp_path / "dc.yaml"
    path.write_text(
        "datacenter: dc1\n"
        "integration_points:\n"
        "  - name: ldap\n"
        "    type: tcp\n"
        "    check: {host: 127.0.0.1, port: 636, timeuot: 3s}\n"
    )
    [problem] = problems_of(path)
    assert (problem.line, problem.column) == (5, 41)
    assert problem.message == (
        "unknown option 'timeuot' for check type 'tcp' (did you mean 'timeout'?)"
    )


def test_a_check_type_rule_is_applied_to_the_loaded_values(tmp_path: Path) -> None:
    # The tcp type's own validate(): warn above crit is a mistake only across two options.
    path = tmp_path / "dc.yaml"
    path.write_text(
        "datacenter: dc1\n"
        "integration_points:\n"
        "  - name: ldap\n"
        "    type: tcp\n"
        "    check:\n"
        "      host: 127.0.0.1\n"
        "      port: 636\n"
        "      warn: 3s\n"
        "      crit: 2s\n"
    )
    [problem] = problems_of(path)
    assert (problem.line, problem.column, problem.message) == (
        8,
        7,
        "warn must not be longer than crit",
    )


def test_vars_are_substituted_before_the_option_is_loaded(tmp_path: Path) -> None:
    # "{{ port }}" is text until substituted; the port check then sees 70000.
    path = tmp_path / "dc.yaml"
    path.write_text(
        "datacenter: dc1\n"
        "vars: {port: 70000}\n"
        "integration_points:\n"
        "  - name: ldap\n"
        "    type: tcp\n"
        "    check: {host: 127.0.0.1, port: '{{ port }}'}\n"
    )
    [problem] = problems_of(path)
    assert (problem.line, problem.column) == (6, 36)
    assert problem.message == "port: port must be 1-65535, got 70000"


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "gone.yaml")
    assert problem.message.startswith("cannot read the manifest: ")


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("datacenter: m\xfcnchen\n".encode("latin-1"))
    [problem] = problems_of(path)
    assert problem.message.startswith("not UTF-8 text")


# --------------------------------------------------------------------------- good manifests


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_manifest_loads(path: Path) -> None:
    manifest = load(path)
    assert manifest.points
    assert manifest.path == path


def test_minimal_manifest_gets_the_sensu_defaults() -> None:
    manifest = load(HERE / "manifests" / "good" / "minimal.yaml")
    assert manifest.datacenter == "lab1"
    assert manifest.description is None
    assert manifest.points == (
        IntegrationPoint(
            name="ldap",
            type="tcp",
            options={"host": "127.0.0.1", "port": 636},
            sensu=SensuSettings(),
            line=4,
        ),
    )


def test_full_manifest_values_are_canonical_and_merged() -> None:
    manifest = load(HERE / "manifests" / "good" / "full.yaml")
    assert manifest.datacenter == "fra-2_b"
    assert manifest.description == "Frankfurt b, second site"
    primary, replica, blocked = manifest.points

    assert primary.name == "ldap.primary"
    assert primary.owner == "identity"
    assert primary.description == "LDAPS on fra2.example.net:636"
    assert primary.docs == "https://wiki.example.net/fra2/ldap"
    assert primary.options == {
        "timeout": 5.0,
        "host": "ldap.fra2.example.net",
        "port": 636,
        "send": r"VERSION 1.10\r\n",  # the var was quoted, so it stays 1.10
        "expect": "^OK 0636",
    }
    # Point overrides win key by key; the rest comes from the top-level block.
    assert primary.sensu == SensuSettings(
        interval=50,
        timeout=45,
        handlers=(),
        occurrences=3,
        refresh=3600,
        ttl=300,
        subscribers=("mdd-fra2",),
    )

    assert replica.depends_on == ("ldap.primary",)
    assert replica.options["port"] == 636  # '0636' quoted: the text, read as a port
    assert replica.options["warn"] == 0.5
    # <<: *fast merges the first point's sensu block; own keys override it.
    assert replica.sensu.interval == 60
    assert replica.sensu.handlers == ()
    assert replica.sensu.ttl == 600
    assert replica.sensu.subscribers == ("roundrobin:mdd-fra2",)

    assert blocked.depends_on == ("ldap.primary", "LDAP_replica")
    assert blocked.sensu.interval == 120
    assert blocked.sensu.handlers == ("default", "pagerduty:platform")
    assert blocked.options["timeout"] == 44.0
    assert [p.line for p in manifest.points] == [19, 33, 43]


def test_bundled_example_is_found_and_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MDD_MANIFESTS", raising=False)
    path = find_manifest("ams1")
    assert is_bundled(path)
    assert path.read_bytes() == resources.files("mdd").joinpath("examples/ams1.yaml").read_bytes()
    manifest = load(path)
    assert manifest.datacenter == "ams1"
    types = {p.type for p in manifest.points}
    assert types >= {"dns", "ntp", "ldap", "smtp", "postgres", "redis", "amqp", "proxy"}
    ldap = next(p for p in manifest.points if p.name == "ldap")
    assert ldap.options["url"] == "ldaps://ldap.ams1.example.net:636"
    assert ldap.options["password"] == ("file", "/etc/sensu/mdd/ldap.pw")
    assert ldap.depends_on == ("resolver-ns1",)
    assert ldap.sensu.interval == 60
    assert ldap.sensu.handlers == ("default",)
    artifacts = next(p for p in manifest.points if p.name == "artifact-repo")
    assert artifacts.sensu.interval == 30


# --------------------------------------------------------------------------- declarations


def test_manifest_keys_are_declared_once_with_help() -> None:
    for options in (TOP_LEVEL_KEYS, POINT_KEYS, SENSU_KEYS):
        assert all(isinstance(opt, Option) and opt.help for opt in options)
        assert len({opt.name for opt in options}) == len(options)
    assert [o.name for o in TOP_LEVEL_KEYS] == [
        "extends",
        "datacenter",
        "description",
        "vars",
        "sensu",
        "integration_points",
        "remove",
    ]
    assert {o.name for o in POINT_KEYS} == {
        "name",
        "type",
        "owner",
        "description",
        "docs",
        "check",
        "sensu",
        "depends_on",
        "for_each",
    }
    assert {o.name for o in TOP_LEVEL_KEYS if o.required} == {"datacenter", "integration_points"}
    assert {o.name for o in POINT_KEYS if o.required} == {"name", "type", "check"}


def test_sensu_keys_are_the_model_fields() -> None:
    fields = [f.name for f in dataclasses.fields(SensuSettings)]
    assert sorted(o.name for o in SENSU_KEYS) == sorted(fields)


def test_point_type_accepts_exactly_the_registered_check_types() -> None:
    kind = next(o for o in POINT_KEYS if o.name == "type").kind
    for name in CHECK_TYPES:
        assert kind.load(name) == name
    with pytest.raises(ValueError, match=f"known types: {CHECK_TYPE_LIST}$"):
        kind.load("no-such-type")


# --------------------------------------------------------------------------- problems


def test_problem_prints_as_file_line_column_message() -> None:
    problem = Problem("manifests/ams1.yaml", 13, 5, "unknown key 'x'")
    assert str(problem) == "manifests/ams1.yaml:13:5: unknown key 'x'"


def test_manifest_error_sorts_by_position_and_drops_repeats() -> None:
    a = Problem("f.yaml", 9, 1, "late")
    b = Problem("f.yaml", 2, 7, "early")
    c = Problem("f.yaml", 2, 3, "earliest")
    error = ManifestError([a, b, c, b])
    assert error.problems == [c, b, a]
    assert str(error) == "f.yaml:2:3: earliest (and 2 more)"


# --------------------------------------------------------------------------- the YAML loader


def test_loader_keeps_positions_of_keys_values_and_items() -> None:
    text = "a: 1\nb:\n  - x\n  - {c: 'it''s {{ v }}'}\n"
    root, span = yamlload.load(text)
    assert (span.line, span.column) == (1, 1)
    assert root == {"a": 1, "b": ["x", {"c": "it's {{ v }}"}]}
    assert (root.key_spans["b"].line, root.key_spans["b"].column) == (2, 1)
    items = root["b"]
    assert [(s.line, s.column) for s in items.item_spans] == [(3, 5), (4, 5)]
    inner = items[1]
    value_span = inner.value_spans["c"]
    assert (value_span.line, value_span.column, value_span.style) == (4, 9, "'")
    # The column of "{{" is found in the source text, past the '' escape.
    assert value_span.column_of("{{", 0) == (4, 9 + len("'it''s "))


def test_loader_records_duplicate_keys_but_not_merged_ones() -> None:
    root, _ = yamlload.load("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n  y: 4\n  y: 5\n")
    assert root["m"] == {"x": 3, "y": 5}
    [(key, first, again)] = root["m"].duplicates
    assert (key, first.line, again.line) == ("y", 5, 6)


@pytest.mark.parametrize(
    ("text", "value", "trap"),
    [
        ("0636", 414, "octal number 414"),
        ("1:30", 90, "base-60 (sexagesimal) number 90"),
        ("0x1F", 31, "the number 31"),
        ("1_000", 1000, "the number 1000"),
        ("2024-05-01", None, "as a date"),
        ("636", 636, None),
        ("'0636'", "0636", None),
        ("-5", -5, None),
        ("1.5", 1.5, None),
    ],
)
def test_loader_flags_yaml11_numbers_a_human_reads_otherwise(
    text: str, value: object, trap: str | None
) -> None:
    root, _ = yamlload.load(f"v: {text}\n")
    if value is not None:
        assert root["v"] == value
    found = root.value_spans["v"].trap
    if trap is None:
        assert found is None
    else:
        assert found is not None and trap in found


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("a: [1, 2\n", (2, 1), "expected ',' or ']'"),
        ("a: b: c\n", (1, 5), "mapping values are not allowed here"),
        ("a:\n\tb: 1\n", (2, 1), "tab characters"),
        ("a: 1\n---\nb: 2\n", (2, 1), "a manifest is one YAML document"),
        ("a: *nowhere\n", (1, 4), "undefined alias"),
        ("a: 1\nb: \x07\n", (2, 4), "not YAML text"),
    ],
)
def test_loader_reports_syntax_errors_with_position(
    text: str, where: tuple[int, int], words: str
) -> None:
    with pytest.raises(yamlload.YamlSyntaxError) as info:
        yamlload.load(text)
    assert (info.value.line, info.value.column) == where
    assert words in info.value.message


# --------------------------------------------------------------------------- finding manifests


def write(path: Path, datacenter: str = "dc1") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"datacenter: {datacenter}\nintegration_points:\n"
        "  - {name: a, type: tcp, check: {host: 127.0.0.1, port: 1}}\n"
    )
    return path


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without manifests/, and no $MDD_MANIFESTS."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("MDD_MANIFESTS", raising=False)
    return cwd


def test_find_in_manifests_dir(tmp_path: Path, elsewhere: Path) -> None:
    path = write(tmp_path / "m" / "dc1.yml")
    assert find_manifest("dc1", tmp_path / "m") == path
    assert find_manifest("dc1", str(tmp_path / "m")) == path


def test_explicit_manifests_dir_does_not_fall_back(tmp_path: Path, elsewhere: Path) -> None:
    (tmp_path / "m").mkdir()
    with pytest.raises(LocateError) as info:
        find_manifest("ams1", tmp_path / "m")
    assert f"{tmp_path / 'm'}/ (--manifests)" in str(info.value)
    assert "bundled" not in str(info.value)


def test_env_then_dot_manifests_then_bundled(
    tmp_path: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = write(elsewhere / "manifests" / "dc1.yaml")
    assert find_manifest("dc1") == Path("manifests/dc1.yaml")
    assert Path("manifests/dc1.yaml").resolve() == local.resolve()

    from_env = write(tmp_path / "env" / "dc1.yaml")
    monkeypatch.setenv("MDD_MANIFESTS", str(tmp_path / "env"))
    assert find_manifest("dc1") == from_env
    assert not is_bundled(from_env)


@pytest.mark.parametrize("env_folder", ["env", "typo"])
def test_a_set_mdd_manifests_is_final(
    tmp_path: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch, env_folder: str
) -> None:
    # A stale copy in ./manifests must never stand in for the one $MDD_MANIFESTS names.
    write(tmp_path / "env" / "dc1.yaml")
    write(elsewhere / "manifests" / "dc2.yaml", "dc2")
    monkeypatch.setenv("MDD_MANIFESTS", str(tmp_path / env_folder))
    with pytest.raises(LocateError) as info:
        find_manifest("dc2")
    missing = "" if env_folder == "env" else "; no such folder"
    assert str(info.value) == (
        f"no manifest for 'dc2': looked for dc2.yaml or dc2.yml in "
        f"{tmp_path / env_folder}/ ($MDD_MANIFESTS{missing})"
        + ("; did you mean 'dc1'? (datacenters there: dc1)" if env_folder == "env" else "")
        + " ($MDD_MANIFESTS is set: no other folder is searched)"
    )


@pytest.mark.parametrize("setup", ["env", "env-missing", "dot-manifests"])
def test_bundled_examples_only_when_no_manifests_folder_is_set_up(
    tmp_path: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch, setup: str
) -> None:
    # A real datacenter may be called ams1 too: once the user has manifests somewhere,
    # `mdd generate ams1` must never quietly turn the bundled example into checks.
    assert is_bundled(find_manifest("ams1"))
    if setup == "env":
        write(tmp_path / "env" / "fra1.yaml", "fra1")
        monkeypatch.setenv("MDD_MANIFESTS", str(tmp_path / "env"))
    elif setup == "env-missing":
        monkeypatch.setenv("MDD_MANIFESTS", str(tmp_path / "typo"))
    else:
        write(elsewhere / "manifests" / "fra1.yaml", "fra1")
    with pytest.raises(LocateError) as info:
        find_manifest("ams1")
    message = str(info.value)
    assert message.startswith("no manifest for 'ams1': looked for ams1.yaml or ams1.yml in ")
    assert message.endswith(
        "($MDD_MANIFESTS is set: no other folder is searched)"
        if setup.startswith("env")
        else "(the bundled examples are used only without $MDD_MANIFESTS and ./manifests)"
    )
    if setup == "env-missing":
        assert f"{tmp_path / 'typo'}/ ($MDD_MANIFESTS; no such folder)" in message


def test_a_file_path_is_used_as_it_is(tmp_path: Path, elsewhere: Path) -> None:
    path = write(tmp_path / "some" / "where.yaml")
    assert find_manifest(str(path)) == path
    with pytest.raises(LocateError, match="does not exist"):
        find_manifest(str(tmp_path / "nope.yaml"))
    with pytest.raises(LocateError, match="is a folder"):
        find_manifest(str(tmp_path / "some") + "/")


def test_not_found_says_where_it_looked(elsewhere: Path) -> None:
    with pytest.raises(LocateError) as info:
        find_manifest("zz9")
    message = str(info.value)
    assert message.startswith("no manifest for 'zz9': looked for zz9.yaml or zz9.yml in ")
    assert "$MDD_MANIFESTS (not set)" in message
    assert "manifests/ (the default; no such folder)" in message
    assert "the bundled examples (ams1, fra1, nyc1)" in message


def test_both_yaml_and_yml_is_ambiguous(tmp_path: Path, elsewhere: Path) -> None:
    write(tmp_path / "m" / "dc1.yaml")
    write(tmp_path / "m" / "dc1.yml")
    with pytest.raises(LocateError, match="keep one"):
        find_manifest("dc1", tmp_path / "m")
