"""Values that once validated and then broke the generated file or every run of the check.

Each one now gets a manifest problem at its line, or is made to work, and ``validate``
(``load``) and ``generate`` (``render``) always agree on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdd.core.problems import ManifestError
from mdd.manifest import load
from mdd.sensu.classic import render

from .conftest import run_command


def manifest(tmp_path: Path, check_type: str, check: str, extra: str = "") -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(
        "datacenter: x\nintegration_points:\n"
        f"  - {{name: a, type: {check_type}, {extra}check: {{{check}}}}}\n",
        encoding="utf-8",
    )
    return path


def problems(path: Path) -> list[str]:
    """The problems ``validate`` reports; [] after checking that ``generate`` succeeds."""
    try:
        loaded = load(path)
    except ManifestError as exc:
        return [f"{p.line}:{p.column}: {p.message}" for p in exc.problems]
    render(loaded)
    return []


@pytest.mark.parametrize(
    ("check_type", "check", "extra", "expected"),
    [
        ("tcp", 'host: h, port: 1, send: "a\\0b"', "", "send: holds a NUL character"),
        ("tcp", 'host: "h\\0x", port: 1', "", "host: holds a NUL character"),
        ("tcp", "host: h, port: 1", 'owner: "x\\ud800", ', "owner: holds a lone surrogate \\ud800"),
        ("tcp", "host: h, port: 1", 'description: "\\udc00", ', "lone surrogate \\udc00"),
        ("http", 'url: "http://h/", json: {"a=b": 1}', "", "a json path cannot hold '='"),
        ("http", 'url: "http://h/", json: {":::name:::": 1}', "", "':::' is not allowed"),
        ("http", 'url: "http://h/", json: {a: {":::x:::": 1}}', "", "':::' is not allowed"),
        ("http", 'url: "http://h/", json: {a: "x\\ud800"}', "", "lone surrogate"),
        ("http", 'url: "http://h/", headers: {X-A: "€"}', "", "which an HTTP header cannot"),
        ("http", 'url: "http://h/", headers: {X-A: "a\\x1bb"}', "", "control character"),
        ("tls", "host: h, warn_days: " + "9" * 400, "", "a number of more than 100 digits"),
        ("tls", 'host: h, warn_days: "' + "9" * 400 + '"', "", "expected a whole number"),
        ("tls", 'host: h, warn_days: "' + "9" * 20 + '"', "", "is too large"),
        ("tls", "host: h, warn_days: 4000", "", "more than ten years"),
        ("tcp", "host: h, port: 1, timeout: 100000000", "", "at most 1 day"),
        ("tcp", "host: h, port: 1, timeout: 1.0e+300", "", "at most 1 day"),
        ("http", 'url: "http://127.0.0.1:0/"', "", "has port 0"),
        ("http", 'url: "http://h/", proxy: "http://p:0"', "", "has port 0"),
        ("tcp", 'host: "xn--a.\\u00e9\\u0301..com", port: 1', "", "not a valid internationalized"),
        ("http", 'url: "http://a\\u00e9..b/"', "", "not a valid internationalized"),
        ("http", 'url: "http://h/", connect_to: "\\u00e9..x:1"', "", "internationalized"),
    ],
)
def test_value_is_a_manifest_problem(
    tmp_path: Path, check_type: str, check: str, extra: str, expected: str
) -> None:
    found = problems(manifest(tmp_path, check_type, check, extra))
    assert any(expected in problem for problem in found), found
    assert all(problem.startswith("3:") for problem in found), found


def test_a_surrogate_pair_written_as_escapes_is_the_character(tmp_path: Path) -> None:
    """``"\\ud83d\\ude00"`` (JSON style) is the emoji: generate writes it, the check gets it."""
    path = manifest(tmp_path, "tcp", 'host: h, port: 1, send: "smile \\ud83d\\ude00"')
    assert problems(path) == []
    (point,) = load(path).points
    assert point.options["send"] == "smile \U0001f600"
    text = render(load(path))
    text.encode("utf-8")  # no lone surrogate anywhere in the file
    command = json.loads(text)["checks"]["mdd_x_a"]["command"]
    run = run_command(f"printf '%s' {command.split(' --send ', 1)[1]}")
    assert run.out == "smile \U0001f600"


def test_generated_file_never_holds_a_lone_surrogate(tmp_path: Path) -> None:
    good = Path(__file__).parent / "manifests" / "good" / "full.yaml"
    text = render(load(good))
    assert "\\ud8" not in text.lower() or "\\ud83d\\ude" in text.lower()
    json.loads(text)


@pytest.mark.parametrize(
    "value", ["1d", "86400", "24h"], ids=["1d", "86400s", "24h"]
)  # the limit itself is allowed
def test_a_timeout_of_a_day_is_allowed(tmp_path: Path, value: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "datacenter: x\nsensu: {timeout: 2d, interval: 3d}\nintegration_points:\n"
        f"  - {{name: a, type: tcp, check: {{host: h, port: 1, timeout: {value}}}}}\n"
    )
    assert problems(path) == []
