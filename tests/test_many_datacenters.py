"""render, diff, init --from and types on the bundled example datacenters (ams1, fra1, nyc1)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mdd.checks.registry import CHECK_TYPES
from mdd.cli import main
from mdd.core.model import IntegrationPoint
from mdd.living.describe import describe_values
from mdd.manifest import load
from mdd.manifest.locate import bundled_dir
from mdd.manifest.render import render

EXAMPLES = bundled_dir()
assert EXAMPLES is not None
DATACENTERS = ("ams1", "fra1", "nyc1")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def comparable(point: IntegrationPoint) -> IntegrationPoint:
    return dataclasses.replace(point, line=0)


@pytest.fixture
def manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the examples as the user's ./manifests folder."""
    folder = tmp_path / "manifests"
    shutil.copytree(EXAMPLES, folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MDD_MANIFESTS", raising=False)
    return folder


# --------------------------------------------------------------------------- render


@pytest.mark.parametrize("datacenter", DATACENTERS)
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_render_is_a_manifest_that_loads_to_the_same_points(
    tmp_path: Path, datacenter: str, fmt: str
) -> None:
    code, out, _ = run("render", datacenter, "--format", fmt)
    assert code == 0
    data = yaml.safe_load(out) if fmt == "yaml" else json.loads(out)
    assert "extends" not in data and "vars" not in data and "{{" not in out
    again = tmp_path / f"{datacenter}.yaml"
    again.write_text(out)
    original = load(EXAMPLES / f"{datacenter}.yaml")
    rendered = load(again)
    assert [comparable(p) for p in rendered.points] == [comparable(p) for p in original.points]
    assert rendered.description == original.description


def test_render_shows_what_the_layers_resolve_to() -> None:
    code, out, _ = run("render", "fra1")
    assert code == 0
    names = [p["name"] for p in yaml.safe_load(out)["integration_points"]]
    assert "mgmt-blocked" not in names  # removed by fra1
    assert {"resolver-ns1", "resolver-ns2", "resolver-ns3"} <= set(names)
    assert "warn_days: 30" in out and "host: vault.fra1.example.net" in out


def test_render_of_a_bad_manifest_prints_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "dc1.yaml"
    bad.write_text("extends: nowhere.yaml\ndatacenter: dc1\n")
    code, out, err = run("render", str(bad))
    assert code == 2 and out == ""
    assert f"{bad}:1:10: extends: there is no file" in err


# --------------------------------------------------------------------------- diff


def test_diff_lists_missing_points_and_differing_options() -> None:
    code, out, _ = run("diff", "ams1", "fra1")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "ams1 vs fra1: 5 only in ams1, 2 only in fra1, 11 differ, 1 the same"
    assert "  - mgmt-blocked (tcp, netops)" in lines
    assert "  - payments-vip (http, netops)" in lines
    assert "  + resolver-ns3 (dns, dns)" in lines
    assert "  + billing-db (mysql, dba)" in lines
    at = lines.index("~ vault-cert")
    assert lines[at + 1 : at + 7] == [
        "    check.host:",
        "      ams1  vault.ams1.example.net",
        "      fra1  vault.fra1.example.net",
        "    check.warn_days:",
        "      ams1  21",
        "      fra1  30",
    ]


def test_diff_can_hide_what_the_vars_explain() -> None:
    code, out, _ = run("diff", "ams1", "fra1", "--ignore-vars")
    assert code == 1
    assert out.splitlines()[0] == (
        "ams1 vs fra1: 5 only in ams1, 2 only in fra1, 2 differ, 10 the same"
    )
    assert "check.host" not in out and "~ vault-cert" in out
    assert "      fra1  (not set): the default, 60s" in out  # artifact-repo's interval
    code, out, _ = run("diff", "ams1", "nyc1", "--ignore-vars", "--format", "json")
    changes = {(c["point"], c["key"]): (c["left"], c["right"]) for c in json.loads(out)["changes"]}
    assert changes[("smtp-relay", "check.host")] == ("smtp.{{ domain }}", "smtp.us.example.net")
    assert ("vault-cert", "check.host") not in changes


def test_diff_as_json() -> None:
    code, out, _ = run("diff", "ams1", "nyc1", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["equal"] is False
    assert data["only_right"] == ["trading-gw", "trading-gw-cert"]
    changes = {(c["point"], c["key"]): (c["left"], c["right"]) for c in data["changes"]}
    assert changes[("ldap", "check.url")] == (
        "ldaps://ldap.ams1.example.net:636",
        "ldaps://ldap.nyc1.example.net:3269",
    )
    assert changes[("smtp-relay", "check.host")] == ("smtp.ams1.example.net", "smtp.us.example.net")
    assert changes[("smtp-relay", "check.port")] == (25, 587)
    assert changes[("ldap", "sensu.handlers")] == (["default"], ["default", "pagerduty"])


def test_diff_of_equal_datacenters_exits_0(tmp_path: Path) -> None:
    copy = tmp_path / "ams1.yaml"
    copy.write_text(run("render", "ams1")[1])
    code, out, _ = run("diff", "ams1", str(copy))
    assert code == 0
    assert out.endswith("ams1 and ams1 monitor the same integration points, the same way\n")


def test_diff_with_a_broken_manifest_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("datacenter: x\n")
    code, out, err = run("diff", "ams1", str(bad))
    assert code == 2 and out == "" and "missing required key 'integration_points'" in err


# --------------------------------------------------------------------------- init --from


def test_init_derives_a_datacenter_that_validates(manifests: Path) -> None:
    code, out, err = run("init", "lon1", "--from", "ams1", "--set", "domain=lon1.example.net")
    assert code == 0, err
    target = manifests / "lon1.yaml"
    assert out.splitlines()[0] == "manifests/lon1.yaml: datacenter lon1, derived from ams1"
    data = yaml.safe_load(target.read_text())
    assert data["extends"] == "base/eu.yaml"
    assert data["datacenter"] == "lon1" and data["vars"] == {"domain": "lon1.example.net"}
    manifest = load(target, "lon1")
    ams1 = load(manifests / "ams1.yaml")
    assert [p.name for p in manifest.points] == [p.name for p in ams1.points]
    assert all("ams1" not in p.options.get("host", "") for p in manifest.points)
    code, out, _ = run("validate", "lon1")
    assert code == 0 and "datacenter lon1: 17 integration points" in out


def test_init_never_overwrites_and_writes_nothing_on_error(manifests: Path) -> None:
    before = (manifests / "fra1.yaml").read_bytes()
    code, _, err = run("init", "fra1", "--from", "ams1", "--set", "domain=x")
    assert code == 2 and "already exists: mdd init never overwrites a manifest" in err
    assert (manifests / "fra1.yaml").read_bytes() == before
    code, _, err = run("init", "lon1", "--from", "ams1", "--set", "no-such=1")
    assert code == 2 and "--set 'no-such=1'" in err
    code, _, err = run("init", "Lon 1", "--from", "ams1")
    assert code == 2 and "cannot name a datacenter" in err
    code, _, err = run("init", "lon1", "--from", "ams1", "--set", "domain=a:::b")
    assert code == 2 and "nothing written" in err and "':::' is not allowed" in err
    assert "lon1.yaml:" in err  # the problem names the new file, not a temporary one
    assert sorted(p.name for p in manifests.iterdir() if p.name.startswith(("lon1", ".l"))) == []


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--all", "-o", "manifests/ams1.yaml"),
        ("report", "ams1", "--format", "json", "-o", "manifests/ams1.yaml"),
        ("report", "--all", "-o", ".mdd/ams1.json"),
        ("report", "--all", "--format", "json", "-o", ".mdd/other.json"),
        ("todo", "-o", "manifests/ams1.yaml"),
        ("todo", "fra1", "--format", "json", "-o", ".mdd/fra1.json"),
        (
            "verify",
            "--all",
            "--only",
            "nothing-here",
            "--format",
            "json",
            "-o",
            "manifests/fra1.yaml",
        ),
        (
            "status",
            "--all",
            "--sensu-api",
            "http://127.0.0.1:9",
            "--format",
            "json",
            "-o",
            "manifests/nyc1.yaml",
        ),
        ("status", "--all", "--sensu-api", "http://127.0.0.1:9", "-o", ".mdd/nyc1.json"),
    ],  # fmt: skip
)
def test_commands_over_many_datacenters_never_write_over_a_manifest_or_state(
    manifests: Path, args: tuple[str, ...]
) -> None:
    """``-o`` of the commands that read several datacenters is refused, as for one, when it
    names a manifest, a file of the manifests folder or of the state folder; nothing is run
    (verify's filter would stop it later, with another message) and nothing written."""
    states = manifests.parent / ".mdd"
    states.mkdir()
    for datacenter in DATACENTERS:
        (states / f"{datacenter}.json").write_text('{"kept": true}')
    before = {p: p.read_bytes() for p in [*manifests.rglob("*"), *states.iterdir()] if p.is_file()}
    code, out, err = run(*args)
    target = args[-1]
    assert code == 2 and out == "", (code, out, err)
    assert err.startswith("mdd: -o ") and err.endswith("; nothing written\n"), err
    assert f"-o {target} is " in err, err
    after = {p: p.read_bytes() for p in [*manifests.rglob("*"), *states.iterdir()] if p.is_file()}
    assert after == before


THEIRS = b"datacenter: lon1  # written by someone else while mdd init was running\n"


def _appearing_meanwhile(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """Create ``target`` between init's existence check and its final step: right after
    the new text is validated (``_validate`` runs between the two)."""
    import mdd.manifest.create

    validate = mdd.manifest.create._validate

    def validate_then_create(*args: object) -> None:
        validate(*args)  # type: ignore[arg-type]
        target.write_bytes(THEIRS)

    monkeypatch.setattr(mdd.manifest.create, "_validate", validate_then_create)


def test_init_never_overwrites_a_file_created_after_its_check(
    manifests: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = manifests / "lon1.yaml"
    _appearing_meanwhile(monkeypatch, target)
    code, out, err = run("init", "lon1", "--from", "ams1", "--set", "domain=lon1.example.net")
    assert code == 2 and out == "", (code, out, err)
    assert err == (
        "mdd: manifests/lon1.yaml already exists: mdd init never overwrites a manifest; "
        "nothing written\n"
    )
    assert target.read_bytes() == THEIRS
    assert sorted(p.name for p in manifests.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("errno_name", ["EPERM", "EOPNOTSUPP"])
def test_init_without_hard_links_still_never_overwrites(
    manifests: Path, monkeypatch: pytest.MonkeyPatch, errno_name: str
) -> None:
    """On a file system that cannot link (os.link fails as it does on FAT or in some
    sandboxes), the name is claimed with O_EXCL instead: still written whole, still never
    over a file that appeared meanwhile."""
    import errno

    def no_link(*args: object, **kwargs: object) -> None:
        raise OSError(getattr(errno, errno_name), "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    code, _, err = run("init", "lon1", "--from", "ams1", "--set", "domain=lon1.example.net")
    assert code == 0, err
    load(manifests / "lon1.yaml", "lon1")  # whole and valid
    target = manifests / "lon2.yaml"
    _appearing_meanwhile(monkeypatch, target)
    code, _, err = run("init", "lon2", "--from", "ams1", "--set", "domain=lon2.example.net")
    assert code == 2 and "already exists: mdd init never overwrites a manifest" in err, err
    assert target.read_bytes() == THEIRS
    assert sorted(p.name for p in manifests.iterdir() if p.name.startswith(".")) == []


def test_init_into_another_folder_keeps_base_paths_inside_it(
    manifests: Path, tmp_path: Path
) -> None:
    """A manifest extends only bases in its own folder tree (issue 18), and is derived only
    from a manifest there: a new manifest beside its source in a subfolder reaches its bases
    below it; one in a folder that the source is not under is refused, nothing written."""
    sub = manifests / "sub"
    sub.mkdir()
    shutil.copytree(manifests / "base", sub / "base")
    shutil.copy(manifests / "ams1.yaml", sub / "ams1.yaml")
    code, _, err = run(
        "init", "lon1", "--from", str(sub / "ams1.yaml"), "--set", "domain=l.example.net",
        "-o", str(sub / "lon1.yaml"),
    )  # fmt: skip
    assert code == 0, err
    data = yaml.safe_load((sub / "lon1.yaml").read_text())
    assert data["extends"] == "base/eu.yaml"
    assert len(load(sub / "lon1.yaml").points) == 17
    other = tmp_path / "elsewhere" / "dcs"
    other.mkdir(parents=True)
    code, _, err = run(
        "init", "lon1", "--from", "ams1", "--set", "domain=l.example.net", "-o",
        str(other / "lon1.yaml"),
    )  # fmt: skip
    assert code == 2
    assert "--from manifests/ams1.yaml is outside the folder of the new manifest" in err, err
    assert err.rstrip().endswith("nothing written")
    assert list(other.iterdir()) == []


def test_init_from_a_manifest_without_bases_copies_its_points(tmp_path: Path) -> None:
    source = tmp_path / "dc1.yaml"
    shutil.copy(Path(__file__).parent / "manifests" / "good" / "full.yaml", source)
    old = load(source)
    code, out, err = run("init", "dc2", "--from", str(source), "--set", "site=c")
    assert code == 0, err
    new = load(tmp_path / "dc2.yaml", "dc2")
    assert "extends" not in yaml.safe_load((tmp_path / "dc2.yaml").read_text())
    assert [comparable(p) for p in new.points] == [comparable(p) for p in old.points]
    assert "keeps the value of" in out  # its own vars, copied: say so


def test_init_from_a_bundled_example_asks_where_to_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MDD_MANIFESTS", raising=False)
    code, _, err = run("init", "lon1", "--from", "ams1")
    assert code == 2 and "-o FILE or --manifests DIR" in err


# --------------------------------------------------------------------------- types


def test_types_lists_every_type_and_checks_is_an_alias() -> None:
    code, out, _ = run("types")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == sorted(CHECK_TYPES)
    assert run("checks") == (0, out, "")
    assert run("types", "show", "http")[1] == run("checks", "show", "http")[1]
    code, _, err = run("types", "show", "htp")
    assert code == 2 and "unknown check type 'htp'" in err


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_every_type_is_described_in_words_with_its_values(check_type: str) -> None:
    """The generic path: every option the example sets shows up in the sentence."""
    module = CHECK_TYPES[check_type]
    declared = {opt.name: opt for opt in module.OPTIONS}
    options = {name: declared[name].load(value) for name, value in module.EXAMPLE.items()}
    words = describe_values(check_type, options)
    assert words.endswith(".") and "\n" not in words
    for name, value in options.items():
        opt = declared[name]
        if value == opt.default or isinstance(value, bool):
            continue
        items = value if (opt.multiple or opt.pairs) else [value]
        for item in items:
            assert opt.kind.text(item).split(":")[0] in words, (name, words)


def test_a_check_type_without_phrasing_reads_from_its_declaration() -> None:
    words = describe_values("tcp", {"host": "h", "port": 1, "send": "PING", "expect": "PONG"})
    assert words == (
        "accepts TCP connections on h port 1, after sending \u201cPING\u201d, answering to "
        "match /PONG/, within 10s."
    )
    module = CHECK_TYPES["tls"]
    assert describe_values("tls", dict(module.EXAMPLE)).startswith("serves a certificate chain")
    words = describe_values("ntp", {"servers": ["ntp1"], "warn": 0.05, "crit": 0.2})
    assert words.endswith(
        "from ntp1, WARNING when a server's reply takes over 50ms, CRITICAL over 200ms, within 10s."
    )


def test_rendered_yaml_is_stable() -> None:
    manifest = load(EXAMPLES / "ams1.yaml")
    assert render(manifest) == render(manifest)


def test_the_generic_words_read_well_for_a_type_declared_elsewhere() -> None:
    """A dns-like type, declared with the option names of the check library's contract."""
    from mdd.checks.api import ADDRESS, BOOLEAN, DURATION, STRING, Option, choice
    from mdd.living.describe import describe_declared

    declaration = (
        Option("query", STRING, "The name.", required=True),
        Option("record", choice("A", "AAAA", "MX"), "Record type.", default="A"),
        Option("servers", ADDRESS, "Resolvers.", multiple=True),
        Option("answers", STRING, "Exact answers.", multiple=True),
        Option("authoritative", BOOLEAN, "Must be authoritative.", default=False),
        Option("warn_offset", DURATION, "Offset band."),
        Option("command", STRING, "argv words", multiple=True),
        Option("timeout", DURATION, "Give up.", default=10.0),
    )
    values = {
        "query": "www.ams1.example.net",
        "servers": ["10.1.0.2", "10.1.0.3"],
        "answers": ["10.1.0.53", "10.1.0.54"],
        "authoritative": True,
        "warn_offset": 0.1,
        "command": ["/usr/lib/nagios/plugins/check_x", "-H", "h"],
        "timeout": 1.0,
    }
    words = describe_declared(
        "dns", "A resolver answers the expected records.", declaration, values
    )
    assert words == (
        "dns: A resolver answers the expected records, querying \u201cwww.ams1.example.net\u201d, "
        "from 10.1.0.2 and 10.1.0.3, answering exactly 10.1.0.53 and 10.1.0.54, with an "
        "authoritative answer, WARNING when offset is over 100ms, running "
        "\u201c/usr/lib/nagios/plugins/check_x -H h\u201d, within 1s."
    )
