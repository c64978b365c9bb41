"""mdd as a user gets it: a wheel, installed into a fresh virtualenv, run from an empty folder.

The source tree maps ``checks/`` to ``mdd.checks`` and ``templates/`` to ``mdd.templates``
(pyproject.toml); only a real wheel shows that the mapping, the package data and the console
scripts survive packaging. These tests build one and install it with its dependencies from
the package index: they are slow (marked ``slow``), and they run in CI all the same.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mdd.checks.registry import CHECK_TYPES, command_name

REPO = Path(__file__).resolve().parent.parent

# What the wheel is built from: the working tree less what is never part of a release.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache"
)


@dataclass
class Installed:
    wheel: Path
    bin: Path  # the fresh venv's bin/
    cwd: Path  # an empty folder: no manifests/, no source tree


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env=_clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _clean_env() -> dict[str, str]:
    """The environment of a user who never saw the source tree or the dev venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MDD_MANIFESTS")
    }
    dev_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and p != dev_bin
    )
    return env


def _check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    assert proc.returncode == 0, (
        f"{what} failed with exit {proc.returncode}\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCE)
    dist = root / "dist"
    _check(
        _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)], root),
        "python -m build --wheel",
    )
    wheels = sorted(dist.glob("mdd-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {dist}, found {wheels}"

    venv = root / "venv"
    _check(_run([sys.executable, "-m", "venv", str(venv)], root), "python -m venv")
    _check(
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", str(wheels[0])], root),
        "pip install <wheel>",
    )
    cwd = root / "empty"
    cwd.mkdir()
    yield Installed(wheels[0], venv / "bin", cwd)


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_holds_checks_templates_and_examples(installed: Installed) -> None:
    names = _wheel_names(installed.wheel)

    checks = {f"mdd/checks/{p.name}" for p in (REPO / "checks").glob("*.py")}
    missing = sorted(checks - names)
    assert not missing, f"check modules missing from the wheel: {missing}"

    templates = {f"mdd/templates/{p.name}" for p in (REPO / "templates").glob("*.j2")}
    assert templates, "templates/ holds no *.j2 template"
    missing = sorted(templates - names)
    assert not missing, f"templates missing from the wheel: {missing}"

    examples = {
        f"mdd/{p.relative_to(REPO / 'mdd').as_posix()}"
        for p in (REPO / "mdd" / "examples").rglob("*.yaml")
    }
    assert "mdd/examples/ams1.yaml" in examples and "mdd/examples/base/eu.yaml" in examples
    missing = sorted(examples - names)
    assert not missing, f"examples missing from the wheel: {missing}"
    assert "mdd/manifest.schema.json" in names
    assert {"mdd/docs/__init__.py", "mdd/docs/html.py"} <= names

    # The mapping must not also install checks/ or templates/ as top-level packages.
    stray = sorted(n for n in names if n.split("/")[0] in ("checks", "templates", "tests"))
    assert not stray, f"files outside the mdd package: {stray}"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_installed_mdd_is_the_wheel_not_the_source(installed: Installed) -> None:
    proc = _run(
        [
            str(installed.bin / "python"),
            "-c",
            "import mdd.checks.check_tcp as m; print(m.__file__)",
        ],
        installed.cwd,
    )
    _check(proc, "import mdd.checks.check_tcp")
    location = Path(proc.stdout.strip())
    assert "site-packages" in location.parts, location
    assert not location.is_relative_to(REPO), location


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_installed_mdd_generates_the_bundled_example(installed: Installed) -> None:
    proc = _run([str(installed.bin / "mdd"), "generate", "ams1"], installed.cwd, timeout=60)
    _check(proc, "mdd generate ams1")
    definitions = json.loads(proc.stdout)
    assert "checks" in definitions, f"no 'checks' key in: {proc.stdout[:500]}"
    assert definitions["checks"], "no check definitions generated for ams1"

    # Every generated command names a console script that the wheel installed.
    for name, check in definitions["checks"].items():
        if "command" in check:
            program = shlex.split(check["command"])[0]
            assert (installed.bin / program).is_file(), f"{name}: {program} is not installed"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_installed_tcp_check_reports_a_closed_port(installed: Installed, closed_port: int) -> None:
    proc = _run(
        [
            str(installed.bin / "check-mdd-tcp"),
            "--host",
            "127.0.0.1",
            "--port",
            str(closed_port),
            "--timeout",
            "2s",
        ],
        installed.cwd,
        timeout=30,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, f"exit {proc.returncode}: {output}"
    assert output.startswith("TcpCheck CRITICAL:"), output
    assert f"127.0.0.1:{closed_port}" in output, output


def _scripts() -> dict[str, str]:
    import tomllib  # Python 3.11+: the tests need it; mdd itself runs on 3.10

    with (REPO / "pyproject.toml").open("rb") as f:
        scripts: dict[str, str] = tomllib.load(f)["project"]["scripts"]
    return scripts


def test_every_check_type_has_its_console_script() -> None:
    scripts = _scripts()
    for check_type in CHECK_TYPES:
        name = command_name(check_type)
        assert name in scripts, f"[project.scripts] has no {name} (check type {check_type!r})"
        assert scripts[name] == f"mdd.checks.check_{check_type}:main", (
            f"[project.scripts] {name} = {scripts[name]!r}, expected "
            f"'mdd.checks.check_{check_type}:main'"
        )


def test_every_check_console_script_has_its_check_type() -> None:
    for name, target in _scripts().items():
        if name.startswith("check-mdd-"):
            check_type = name.removeprefix("check-mdd-")
            assert check_type in CHECK_TYPES, (
                f"[project.scripts] {name} = {target!r}, but checks/registry.py has no check "
                f"type {check_type!r}"
            )
        else:
            assert not target.startswith("mdd.checks."), (
                f"[project.scripts] {name} runs a check but is not named check-mdd-<type>"
            )
