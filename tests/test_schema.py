"""`mdd schema`: the JSON Schema agrees with `mdd validate` wherever it can express the rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from mdd.cli import main
from mdd.core.problems import ManifestError
from mdd.manifest import load
from mdd.manifest.schema import SCHEMA_FILE, schema, schema_text

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).parent
EXAMPLES = sorted((REPO / "mdd" / "examples").rglob("*.yaml"))
GOOD = sorted((HERE / "manifests" / "good").glob("*.yaml"))
BAD = sorted((HERE / "manifests" / "bad").glob("*.yaml"))

# Bad fixtures the schema accepts, and why it cannot reject them: each rule here needs more
# than the shape of one file's values. The test fails when a file listed here is rejected
# after all (so the list stays honest) or when an unlisted bad file is accepted.
SCHEMA_CANNOT_EXPRESS = {
    "check-timeout-too-long": "a rule across keys (check timeout vs the Sensu timeout, "
    "inherited from the top-level sensu block)",
    "cross-option-rule": "a check type's validate() rule across options",
    "smtp-both-tls": "a check type's validate() rule across options (starttls, implicit_tls)",
    "dependency-cycle": "a rule across points (the dependency graph)",
    "self-dependency": "a rule across keys of a point (depends_on naming the point itself)",
    "duplicate-point-name": "a rule across points (unique names)",
    "unknown-dependency": "a rule across points (depends_on names another point)",
    "ttl-not-longer": "a rule across keys (ttl vs interval)",
    "undefined-var": "what a {{ var }} resolves to (vars may come from a base)",
    "var-expression": "the text inside {{ }} (a var name only)",
    "duplicate-key": "a key written twice: a YAML parser keeps the last, the schema sees one",
    "yaml11-octal": "YAML 1.1 readings (0636 is 414): the schema sees the number",
    "yaml11-sexagesimal": "YAML 1.1 readings (1:30 is 90): the schema sees the number",
    "missing-datacenter": "a file without datacenter is a base manifest to the schema",
    "command-mistakes": "rules on the program, the first word of command only (one word; an "
    "absolute path or a bare name): the schema gives every word of the list the same shape",
    "url-query-secrets": "which query parameters carry a secret: names compared case-folded "
    "after percent-decoding (%74oken is token), and in docs too, which a pattern cannot mirror",
}
# Bad fixtures that are not YAML at all: any YAML parser (and so the editor) rejects them.
NOT_YAML = {
    "var-unquoted-block",
    "var-unquoted-flow",
    "var-unquoted-list-item",
    "yaml-syntax",
    "yaml-tab-indent",
    "yaml-tab-separator",
    "yaml-tag",
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    document = json.loads((REPO / SCHEMA_FILE).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def errors(validator: jsonschema.Draft202012Validator, path: Path) -> list[str]:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [error.message for error in validator.iter_errors(data)]


def test_shipped_schema_is_current() -> None:
    assert (REPO / SCHEMA_FILE).read_text(encoding="utf-8") == schema_text(), (
        "mdd/manifest.schema.json is stale: run `.venv/bin/python -m mdd.reference`"
    )


def test_schema_command_prints_the_shipped_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == schema()
    assert json.loads(result.output)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", EXAMPLES + GOOD, ids=lambda p: p.stem)
def test_examples_and_good_manifests_are_valid(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    assert errors(validator, path) == []


@pytest.mark.parametrize("path", [p for p in EXAMPLES if "base" not in p.parts], ids=str)
def test_examples_name_the_schema_for_editors(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../manifest.schema.json"
    assert (path.parent / "../manifest.schema.json").resolve() == (REPO / SCHEMA_FILE)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_schema_and_validate_agree_on_bad_manifests(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    with pytest.raises(ManifestError):
        load(path)
    if path.stem in NOT_YAML:
        with pytest.raises(yaml.YAMLError):
            yaml.safe_load(path.read_text(encoding="utf-8"))
        return
    found = errors(validator, path)
    if path.stem in SCHEMA_CANNOT_EXPRESS:
        assert found == [], f"the schema rejects {path.name} after all: drop it from the list"
    else:
        assert found, f"the schema accepts {path.name}, which mdd validate rejects"


def test_every_listed_fixture_exists() -> None:
    stems = {p.stem for p in BAD}
    assert set(SCHEMA_CANNOT_EXPRESS) <= stems
    assert stems >= NOT_YAML


@pytest.mark.parametrize(
    ("check", "mistake"),
    [
        ({"host": "ldap.example.net", "port": 636, "timeuot": "3s"}, "unknown option"),
        ({"host": "ldap.example.net", "port": "ldaps"}, "wrong type"),
        ({"host": "ldap.example.net", "port": 636, "state": "shut"}, "not a choice"),
        ({"host": "ldap.example.net", "port": 636, "timeout": True}, "wrong type"),
        ({"port": 636}, "missing required option"),
    ],
)
def test_bad_options_are_rejected(
    validator: jsonschema.Draft202012Validator, check: dict[str, Any], mistake: str
) -> None:
    manifest = {
        "datacenter": "dc1",
        "integration_points": [{"name": "ldap", "type": "tcp", "check": check}],
    }
    assert list(validator.iter_errors(manifest)), mistake


def test_a_templated_value_is_accepted(validator: jsonschema.Draft202012Validator) -> None:
    manifest = {
        "datacenter": "dc1",
        "vars": {"port": 636},
        "integration_points": [
            {"name": "ldap", "type": "tcp", "check": {"host": "h", "port": "{{ port }}"}}
        ],
    }
    assert list(validator.iter_errors(manifest)) == []


@pytest.mark.parametrize(
    ("check", "valid"),
    [
        ({"password": {"client": "mdd.ldap_pw"}}, True),
        ({"password": {"file": "/etc/sensu/mdd/ldap.pw"}, "ca_file": "{{ certs }}/ca.pem"}, True),
        ({"password": {"file": "ldap.pw"}}, "the secret's file is not an absolute path"),
        ({"ca_file": "certs/ca.pem"}, "'certs/ca.pem' is a relative path"),
        ({"filter": "objectClass=person"}, "is not an LDAP filter"),
        ({"url": "https://ldap.example.net"}, "is not an ldap:// or ldaps:// URL"),
    ],
)
def test_schema_and_validate_agree_on_agent_paths_and_secrets(
    validator: jsonschema.Draft202012Validator,
    tmp_path: Path,
    check: dict[str, Any],
    valid: bool | str,
) -> None:
    options = {
        "url": "ldaps://ldap.example.net:636",
        "bind_dn": "cn=svc,dc=ex",
        "password": {"env": "MDD_LDAP_PW"},
        **check,
    }
    manifest = {
        "datacenter": "dc1",
        "vars": {"certs": "/etc/ssl/ldap"},
        "integration_points": [{"name": "ldap", "type": "ldap", "check": options}],
    }
    path = tmp_path / "dc1.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    assert (list(validator.iter_errors(manifest)) == []) is (valid is True)
    if valid is True:
        load(path)
    else:
        with pytest.raises(ManifestError) as raised:
            load(path)
        assert [valid in p.message for p in raised.value.problems] == [True]
