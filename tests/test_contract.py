"""The generator and every check agree on each option, through the real command line.

For every registered check type, the command `mdd generate` writes (for the type's EXAMPLE,
and for samples that give every option, built from its OPTIONS declarations) is split as
/bin/sh splits it and parsed by the check's own parser (``_argv.parse_known``, the path
a check run takes, held to the argparse parser ``add_arguments(COMMON_OPTIONS + OPTIONS)``
builds). Each option must come back as exactly the canonical value the manifest loader
made of it (``Option.load``); an option left out must come back as its default.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mdd.checks.api import BOOLEAN, COMMON_OPTIONS, Kind, Option, add_arguments, parse_known
from mdd.checks.registry import CHECK_TYPES, command_name
from mdd.core.model import IntegrationPoint, Manifest
from mdd.sensu.classic import render

POINT = "contract-point"

# Manifest-style values for each kind of option: two per kind, as awkward as the kind allows
# (shell syntax, a leading "-", quotes, line breaks), so that every text() and parse() pair is
# held to a round trip.
SAMPLES: dict[str, tuple[Any, Any]] = {
    "string": ('it\'s "$(x)" `y` ; a | b > c\nline two', "--help"),
    "argv word": ("--", "\\--"),
    "escaped text": ('PING\\r\\n it\'s "$(x)" ; a | b\nline two\x01', "-\\x00\\\\"),
    "percent": ("20%", 5),
    "host": ("db-1.ams1.example.net", "[2001:db8::1]"),
    "port": (5432, "443"),
    "integer": (7, "-3"),
    "count": (3, 0),
    "pings": (3, 100),
    "days": (30, 3650),
    "duration": ("1m30s", "570ms"),
    "regex": (r"^-ERR (\d+) [\"'] .*$", "(?i)ok|ready"),
    "status": ("200-299", 404),
    "url": ("https://db.example.net:8443/health?a=1&b=$(x)#top", "http://127.0.0.1/"),
    "proxy": ("http://proxy.example.net:3128", "proxy:3128"),
    "address": ("10.0.0.1:443", "[2001:db8::1]:8443"),
    "path": ("/etc/ssl/my ca's.pem", "/srv/-weird.pem"),
    "text": (r"PING it's \r\n $(x)", r"--\x00 \\ `y`"),
    "headers": ({"X-Test": "a b; $(c) 'd'", "Accept": "*/*"}, {"X-Empty": ""}),
    "secret files": (
        {"Authorization": "/etc/mdd/token"},
        {"X-Api-Key": {"env": "MDD_KEY"}, "X-Token": {"file": "/run/key file"}},
    ),
    "secret": ({"file": "/etc/sensu/mdd/db's pw $(x)"}, {"env": "MDD_DB_PASSWORD"}),
    "json": (
        {"status": "UP", "checks.db.count": 3, "items.0.tags": ["a", {"b": None}]},
        {"ready": True, "ratio": 0.25, "name": 'it\'s = "x"'},
    ),
    "absolute path": ("/etc/ssl/my ca's.pem", "/-weird.pem"),
    "ldap url": ("ldaps://ldap.example.net:636", "ldap://[2001:db8::1]:389"),
    "dn": ('cn=it\'s "$(x)",ou=svc,dc=example,dc=net', "uid=-x,dc=example"),
    "filter": ("(&(cn=$(x))(sn=a b;c))", "(uid=-x)"),
    "mail address": ("alerts@ams1.example.net", "-x$(y)@example.net"),
    "mechanism": ("PLAIN", "CRAM-MD5"),
}


def choices(kind: Kind) -> list[str]:
    """The values of a ``choice(...)`` kind, as its doc lists them ("one of a, b")."""
    assert kind.doc.startswith("one of "), f"cannot read the values of kind {kind.name!r}"
    values = kind.doc.removeprefix("one of ").split(", ")
    for value in values:
        assert kind.load(value) == value
    return values


def sample(opt: Option, which: int) -> Any:
    """A manifest value for ``opt``, differing from its default where the kind allows."""
    if opt.kind is BOOLEAN:
        return (which == 0) != bool(opt.default)
    if opt.kind.name == "choice":
        values = [v for v in choices(opt.kind) if v != opt.default] or choices(opt.kind)
        return values[which % len(values)]
    if opt.kind.name not in SAMPLES:
        pytest.fail(f"option {opt.name!r}: no sample for kind {opt.kind.name!r}; add to SAMPLES")
    value = SAMPLES[opt.kind.name][which]
    if opt.multiple:
        return [SAMPLES[opt.kind.name][which], SAMPLES[opt.kind.name][1 - which]]
    return value


def canonical(check_type: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
    options = {opt.name: opt for opt in CHECK_TYPES[check_type].OPTIONS}
    return {name: options[name].load(value) for name, value in manifest.items()}


def generated_command(check_type: str, values: Mapping[str, Any]) -> str:
    """The command of the Sensu definition `mdd generate` writes for one point."""
    point = IntegrationPoint(POINT, check_type, dict(values))
    manifest = Manifest(Path("/manifests/dc1.yaml"), "dc1", None, (point,))
    command: str = json.loads(render(manifest))["checks"][f"mdd_dc1_{POINT}"]["command"]
    return command


class ParseError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # raise instead of exiting the test run
        raise ParseError(message)


def parse_back(check_type: str, command: str) -> argparse.Namespace:
    """The options the check reads from ``command``: by the direct path a check run takes
    (``parse_known``), which must accept every generated command and agree with argparse."""
    argv = shlex.split(command)
    assert argv[0] == command_name(check_type)
    parser = Parser(prog=argv[0])
    options = COMMON_OPTIONS + CHECK_TYPES[check_type].OPTIONS
    add_arguments(parser, options)
    parsed = parser.parse_args(argv[1:])
    direct = parse_known(options, argv[1:])
    assert direct is not None, f"{check_type}: {command!r} did not take the direct path"
    assert vars(direct) == vars(parsed), f"{check_type}: the two parsers differ on {command!r}"
    return direct


def assert_round_trip(check_type: str, values: Mapping[str, Any]) -> None:
    command = generated_command(check_type, values)
    try:
        parsed = parse_back(check_type, command)
    except ParseError as exc:
        pytest.fail(f"{check_type}: the check cannot parse {command!r}: {exc}")
    assert parsed.point == POINT
    for opt in CHECK_TYPES[check_type].OPTIONS:
        got = getattr(parsed, opt.name)
        if got is None and (opt.multiple or opt.pairs):
            got = opt.default  # a repeated flag left out: the check applies the default
        expected = values.get(opt.name, opt.default)
        assert got == expected, (
            f"{check_type} option {opt.name!r}: the manifest's {expected!r} came back from "
            f"{command!r} as {got!r}"
        )


TYPES = sorted(CHECK_TYPES)


@pytest.mark.parametrize("check_type", TYPES)
def test_example_parses_back(check_type: str) -> None:
    module = CHECK_TYPES[check_type]
    values = canonical(check_type, module.EXAMPLE)
    assert module.validate(values) == [], f"{check_type}: its EXAMPLE breaks its own rules"
    assert_round_trip(check_type, values)


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("check_type", TYPES)
def test_every_option_parses_back(check_type: str, which: int) -> None:
    options = CHECK_TYPES[check_type].OPTIONS
    values = canonical(check_type, {opt.name: sample(opt, which) for opt in options})
    assert set(values) == {opt.name for opt in options}
    assert_round_trip(check_type, values)


@pytest.mark.parametrize("check_type", TYPES)
def test_required_options_alone_parse_back(check_type: str) -> None:
    options = CHECK_TYPES[check_type].OPTIONS
    values = canonical(check_type, {opt.name: sample(opt, 0) for opt in options if opt.required})
    assert_round_trip(check_type, values)


@pytest.mark.parametrize("check_type", TYPES)
def test_options_given_their_default_are_left_out(check_type: str) -> None:
    """A value equal to the default writes no flag, and the check still gets that value."""
    options = [o for o in CHECK_TYPES[check_type].OPTIONS if o.default is not None]
    required = {o.name: sample(o, 0) for o in CHECK_TYPES[check_type].OPTIONS if o.required}
    values = {**canonical(check_type, required), **{o.name: o.default for o in options}}
    command = generated_command(check_type, values)
    for opt in options:
        assert opt.flag not in shlex.split(command), command
    assert_round_trip(check_type, values)


def test_every_kind_in_use_has_samples() -> None:
    kinds = {
        opt.kind.name
        for module in CHECK_TYPES.values()
        for opt in module.OPTIONS
        if opt.kind is not BOOLEAN and opt.kind.name != "choice"
    }
    assert kinds <= set(SAMPLES), f"kinds without samples: {sorted(kinds - set(SAMPLES))}"
