"""Layered manifests (extends, remove) and for_each: merged first, errors where written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from mdd.core.model import Manifest
from mdd.core.problems import ManifestError
from mdd.manifest import load


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load(path)
    return [str(p) for p in info.value.problems]


def point(manifest: Manifest, name: str):  # type: ignore[no-untyped-def]
    return next(p for p in manifest.points if p.name == name)


GLOBAL = """
    vars: {domain: example.net, port: 636}
    sensu: {interval: 1m, timeout: 30s, handlers: [default]}
    integration_points:
      - name: web
        type: http
        owner: web-team
        check:
          url: "https://www.{{ domain }}/health"
          json: {status: UP, db: {state: ok}}
          headers: {Accept: application/json}
      - name: ldap
        type: tcp
        owner: identity
        check: {host: "ldap.{{ domain }}", port: "{{ port }}"}
      - name: mgmt
        type: tcp
        check: {host: "mgmt.{{ domain }}", port: 22, state: closed, timeout: 3s}
"""


@pytest.fixture
def layered(tmp_path: Path) -> Path:
    write(tmp_path, "base/global.yaml", GLOBAL)
    write(
        tmp_path,
        "base/eu.yaml",
        """
        extends: global.yaml
        vars: {region: eu}
        sensu: {occurrences: 2}
        integration_points:
          - name: smtp
            type: tls
            owner: mail
            check: {host: "smtp.{{ region }}.{{ domain }}", port: 25, starttls: smtp}
        """,
    )
    return write(
        tmp_path,
        "dc1.yaml",
        """
        extends: base/eu.yaml
        datacenter: dc1
        vars: {domain: dc1.example.net}
        sensu: {interval: 30s}
        remove: [mgmt]
        integration_points:
          - name: web
            check:
              json: {db: {replicas: 2}}
              timeout: 5s
            sensu: {handlers: [pager]}
          - name: ldap
            owner: identity-eu
          - name: extra
            type: tcp
            check: {host: "x.{{ domain }}", port: 1}
        """,
    )


def test_layers_merge_by_the_documented_precedence(layered: Path) -> None:
    manifest = load(layered, "dc1")
    assert [p.name for p in manifest.points] == ["web", "ldap", "smtp", "extra"]
    web = point(manifest, "web")
    assert web.options["url"] == "https://www.dc1.example.net/health"  # the dc's var wins
    assert dict(web.options["json"]) == {"status": "UP", "db": {"state": "ok", "replicas": 2}}
    assert web.options["headers"] == [("Accept", "application/json")]
    assert web.options["timeout"] == 5.0
    assert web.owner == "web-team"  # inherited key kept
    assert web.sensu.interval == 30 and web.sensu.timeout == 30  # sensu key by key
    assert web.sensu.handlers == ("pager",) and web.sensu.occurrences == 2
    ldap = point(manifest, "ldap")
    assert ldap.owner == "identity-eu" and ldap.options == {
        "host": "ldap.dc1.example.net",
        "port": 636,
    }
    assert ldap.sensu.handlers == ("default",)
    assert point(manifest, "smtp").options["host"] == "smtp.eu.dc1.example.net"


def test_a_mistake_in_a_base_points_at_the_base(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        "base.yaml",
        """
        integration_points:
          - name: ldap
            type: tcp
            check: {host: "ldap.{{ domian }}", port: 99999}
        """,
    )
    dc = write(tmp_path, "dc1.yaml", "extends: base.yaml\ndatacenter: dc1\nvars: {domain: x}\n")
    assert problems(dc) == [
        f"{base}:4:25: undefined var 'domian' (did you mean 'domain'?); vars defines: domain",
        f"{base}:4:46: port: port must be 1-65535, got 99999",
    ]


def test_an_override_problem_points_at_the_overriding_file(layered: Path) -> None:
    text = layered.read_text().replace(
        "owner: identity-eu", "owner: identity-eu\n    check: {port: 0}"
    )
    layered.write_text(text)
    [problem] = problems(layered)
    assert problem.startswith(f"{layered}:")
    assert problem.endswith("port: port must be 1-65535, got 0")


def test_extends_cycle_missing_base_and_datacenter_in_base(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    b = write(tmp_path, "b.yaml", "extends: [a.yaml, nowhere.yaml]\ndatacenter: b\n")
    dc = write(
        tmp_path,
        "dc1.yaml",
        "extends: a.yaml\ndatacenter: dc1\nintegration_points:\n"
        "  - {name: p, type: tcp, check: {host: a, port: 1}}\n",
    )
    found = problems(dc)
    assert f"{b}:1:11: extends: " in found[0] and "is a cycle" in found[0]
    assert found[1] == (
        f"{b}:1:19: extends: there is no file {tmp_path / 'nowhere.yaml'}: a base is found "
        f"relative to the folder of the file that extends it"
    )
    assert found[2].startswith(f"{b}:2:1: a base cannot set datacenter")


def test_conflicting_sibling_bases_are_errors_unless_the_child_decides(tmp_path: Path) -> None:
    write(
        tmp_path,
        "one.yaml",
        "vars: {zone: a}\nintegration_points:\n"
        "  - {name: p, type: tcp, check: {host: a, port: 1}}\n",
    )
    two = write(
        tmp_path,
        "two.yaml",
        "vars: {zone: b}\nintegration_points:\n"
        "  - {name: p, type: tcp, check: {host: b, port: 1}}\n",
    )
    dc = write(tmp_path, "dc1.yaml", "extends: [one.yaml, two.yaml]\ndatacenter: dc1\n")
    found = problems(dc)
    assert found[0].startswith(f"{two}:1:14: conflicting definitions: var 'zone' is 'b' here")
    assert found[1].startswith(
        f"{two}:3:12: conflicting definitions: integration point 'p' is defined here and at "
        f"{tmp_path / 'one.yaml'}:3"
    )
    dc.write_text("extends: [one.yaml, two.yaml]\ndatacenter: dc1\nvars: {zone: c}\n")
    assert len(problems(dc)) == 1  # the var is decided; the point is still defined twice


def test_a_base_reached_twice_is_one_definition(tmp_path: Path) -> None:
    write(
        tmp_path,
        "global.yaml",
        "integration_points:\n  - {name: p, type: tcp, check: {host: a, port: 1}}\n",
    )
    write(
        tmp_path,
        "eu.yaml",
        "extends: global.yaml\nintegration_points:\n  - {name: p, check: {port: 2}}\n",
    )
    write(tmp_path, "pay.yaml", "extends: global.yaml\n")
    dc = write(tmp_path, "dc1.yaml", "extends: [global.yaml, eu.yaml, pay.yaml]\ndatacenter: dc1\n")
    [only] = load(dc).points
    assert only.options == {"host": "a", "port": 2}


def test_remove_drops_an_inherited_point_and_names_unknown_ones(layered: Path) -> None:
    assert "mgmt" not in [p.name for p in load(layered).points]
    layered.write_text(layered.read_text().replace("remove: [mgmt]", "remove: [mgnt]"))
    [problem] = problems(layered)
    assert problem == (
        f"{layered}:5:10: remove: no base defines an integration point named 'mgnt' (did you "
        f"mean 'mgmt'?); inherited: ldap, mgmt, smtp, web"
    )


def test_changing_the_type_replaces_the_check(layered: Path) -> None:
    layered.write_text(
        layered.read_text().replace(
            "    owner: identity-eu",
            "    owner: identity-eu\n    type: tls\n    check: {host: ldap}",
        )
    )
    ldap = point(load(layered), "ldap")
    assert ldap.type == "tls" and ldap.options == {"host": "ldap"}


# --------------------------------------------------------------------------- for_each


def test_for_each_expands_one_written_point_into_several(tmp_path: Path) -> None:
    dc = write(
        tmp_path,
        "dc1.yaml",
        """
        datacenter: dc1
        vars: {domain: example.net}
        integration_points:
          - name: "ns-{{ item }}"
            for_each: [a, b]
            type: tcp
            description: "resolver {{ item }}.{{ domain }}"
            check: {host: "{{ item }}.{{ domain }}", port: 53}
          - name: "web-{{ item.name }}"
            for_each:
              - {name: x, port: 8080}
              - {name: y, port: 8081}
            type: tcp
            depends_on: [ns-a]
            check: {host: web, port: "{{ item.port }}"}
        """,
    )
    manifest = load(dc)
    assert [p.name for p in manifest.points] == ["ns-a", "ns-b", "web-x", "web-y"]
    assert point(manifest, "ns-b").options == {"host": "b.example.net", "port": 53}
    assert point(manifest, "ns-b").description == "resolver b.example.net"
    assert point(manifest, "web-y").options["port"] == 8081
    assert point(manifest, "web-y").depends_on == ("ns-a",)


def test_for_each_mistakes_point_at_the_written_point(tmp_path: Path) -> None:
    dc = write(
        tmp_path,
        "dc1.yaml",
        """
        datacenter: dc1
        integration_points:
          - name: "ns-{{ item }}"
            for_each: [a, b, a]
            type: tcp
            check: {host: "{{ item }}", port: 53}
          - name: ntp
            for_each: [x, y]
            type: tcp
            check: {host: "{{ item }}", port: 123}
          - name: "web-{{ item }}"
            for_each: web
            type: tcp
            check: {host: w, port: 1}
          - name: "db-{{ item.nme }}"
            for_each: [{name: p}]
            type: tcp
            check: {host: w, port: 1}
          - name: ns-b
            type: tcp
            check: {host: b, port: 53}
        """,
    )
    assert problems(dc) == [
        f"{dc}:4:22: for_each: this item gives the point name 'ns-a' again (as the item at "
        f"line 4, column 16 does)",
        f"{dc}:7:11: name: a point with for_each needs {{{{ item }}}} in its name, so that each "
        f'expanded point has its own name: write name: "ntp-{{{{ item }}}}"',
        f"{dc}:12:15: for_each: expected a list of the items to expand into, got string 'web'",
        f"{dc}:15:11: for_each: the for_each item has no key 'nme'; its keys: name",
        f"{dc}:19:11: duplicate integration point name 'ns-b': the first is at line 3, column "
        f"11 (Sensu would keep only one of the two checks)",
    ]


def test_a_datacenter_overrides_an_inherited_loop(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """
        integration_points:
          - name: "ns-{{ item }}"
            for_each: [a, b]
            type: tcp
            check: {host: "{{ item }}", port: 53}
        """,
    )
    dc = write(
        tmp_path,
        "dc1.yaml",
        """
        extends: base.yaml
        datacenter: dc1
        integration_points:
          - name: "ns-{{ item }}"
            for_each: [a, b, c]
            check: {timeout: 2s}
        """,
    )
    manifest = load(dc)
    assert [p.name for p in manifest.points] == ["ns-a", "ns-b", "ns-c"]
    assert point(manifest, "ns-c").options == {"host": "c", "port": 53, "timeout": 2.0}


def test_item_outside_for_each_says_where_it_is_defined(tmp_path: Path) -> None:
    dc = write(
        tmp_path,
        "dc1.yaml",
        """
        datacenter: dc1
        integration_points:
          - name: ns
            type: tcp
            check: {host: "{{ item }}", port: "{{ item.port }}"}
        """,
    )
    assert problems(dc) == [
        f"{dc}:5:20: {{{{ item }}}} is only defined in a point with for_each: add for_each: "
        f"[...] to this point, or use a var",
        f"{dc}:5:40: {{{{ item.port }}}} is only defined in a point with for_each: add "
        f"for_each: [...] to this point, or use a var",
    ]


def test_overriding_a_point_no_base_defines_says_so(layered: Path) -> None:
    layered.write_text(layered.read_text().replace("  - name: ldap\n", "  - name: ldpa\n"))
    found = problems(layered)
    assert found == [
        f"{layered}:12:5: integration point 'ldpa' has no 'type' or 'check': every point "
        f"needs a name, a check type and the check's options",
        f"{layered}:12:11: no base defines an integration point named 'ldpa' to override "
        f"(did you mean 'ldap'?); a new point needs its own type and check",
    ]


def test_the_for_each_example_of_the_reference_is_valid(tmp_path: Path) -> None:
    from mdd.manifest import loops

    [example] = re.findall(r"```yaml\n(.*?)```", loops.__doc__ or "", re.S)
    dc = tmp_path / "dc1.yaml"
    dc.write_text("datacenter: dc1\nvars: {domain: example.net}\n" + example)
    names = [p.name for p in load(dc).points]
    assert names == ["resolver-10.1.0.2", "resolver-10.1.0.3", "web-a", "web-b"]


def test_the_layers_example_of_the_reference_is_valid(tmp_path: Path) -> None:
    from mdd.manifest import layers

    [example] = re.findall(r"```yaml\n(.*?)```", layers.__doc__ or "", re.S)
    write(tmp_path, "manifests/base/global.yaml", GLOBAL)
    write(
        tmp_path,
        "manifests/base/eu.yaml",
        "extends: global.yaml\nintegration_points:\n"
        "  - name: artifact-repo\n    type: http\n    check: {url: 'https://a.{{ domain }}/'}\n"
        "  - name: mgmt-blocked\n    type: tcp\n    check: {host: m, port: 22, state: closed}\n",
    )
    dc = tmp_path / "manifests" / "ams1.yaml"
    dc.write_text(example)
    names = [p.name for p in load(dc).points]
    assert names == ["web", "ldap", "mgmt", "artifact-repo", "payments-vip"]


def test_a_base_that_is_not_yaml_or_not_a_mapping(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.yaml", "integration_points: [\n")
    listed = write(tmp_path, "list.yaml", "- a\n- b\n")
    dupes = write(tmp_path, "dupes.yaml", "vars: {a: 1}\nvars: {b: 2}\n")
    dc = write(
        tmp_path,
        "dc1.yaml",
        "extends: [broken.yaml, list.yaml, dupes.yaml]\ndatacenter: dc1\n"
        "integration_points:\n  - {name: p, type: tcp, check: {host: a, port: 1}}\n",
    )
    found = problems(dc)
    assert found[0].startswith(f"{broken}:2:1: YAML syntax error")
    assert found[1].startswith(f"{dupes}:2:1: duplicate key 'vars'")
    assert found[2] == (
        f"{listed}:1:1: a base manifest is a mapping (vars, sensu, integration_points...), got "
        f"a list"
    )
