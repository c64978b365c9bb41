"""Every install command of README.md, docs/guide.md and docs/sensu.md is one of the forms
tested here, and each form works as written.

mdd is not on PyPI yet: the forms install from a clone (``pip install .``), from a wheel
built from it, and from the agent artifact (``mdd asset build``, unpacked with ``tar``).
``test_every_form_works_as_written`` runs each documented line literally in a copy of the
source tree (``/opt`` is moved under a temporary folder: tests do not write to ``/opt``),
then runs a check from the unpacked artifact the way sensu-client runs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", REPO / "docs" / "guide.md", REPO / "docs" / "sensu.md"]
INSTALLS = re.compile(r"pip install|pipx|tar -x|python3? -m build|apt-get install|\.ci/")

CLONE = "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/mdd generate ams1"
WHEEL_BUILD = (
    "python3 -m venv .venv && .venv/bin/pip install build && .venv/bin/python -m build --wheel"
)
WHEEL_INSTALL = "python3 -m venv /opt/mdd && /opt/mdd/bin/pip install dist/mdd_sensu-*.whl"
ARTIFACT_BUILD = "mdd asset build -o dist/"
ARTIFACT_BUILD_GO = "mdd asset build -o dist/ --url https://assets.example.net/mdd/"
ARTIFACT_UNPACK = "mkdir -p /opt/mdd-checks && tar -xzf dist/mdd-checks-*.tar.gz -C /opt/mdd-checks"
ARTIFACT_UNPACK_COPIED = (
    "mkdir -p /opt/mdd-checks && tar -xzf mdd-checks-*.tar.gz -C /opt/mdd-checks"
)
TEST_COMMAND = "bash .ci/run"  # .ci/run, tested by CI itself, calls .ci/setup

TESTED = {
    CLONE,
    WHEEL_BUILD,
    WHEEL_INSTALL,
    ARTIFACT_BUILD,
    ARTIFACT_BUILD_GO,
    ARTIFACT_UNPACK,
    ARTIFACT_UNPACK_COPIED,
    TEST_COMMAND,
}


def documented_commands(path: Path) -> list[str]:
    """The command lines of the console/sh code blocks of ``path``, prompts removed."""
    commands: list[str] = []
    for block in re.findall(r"```(?:console|sh|bash)\n(.*?)```", path.read_text(), re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith(("$ ", "# ")):
                line = line[2:]
            commands.append(line)
    return commands


def install_commands(path: Path) -> list[str]:
    return [c for c in documented_commands(path) if INSTALLS.search(c) or c.startswith("mdd asset")]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_install_command_is_a_tested_form(path: Path) -> None:
    found = install_commands(path)
    assert found, path  # each document says how to install
    untested = [c for c in found if c not in TESTED]
    assert not untested, f"{path.name}: install commands no test runs: {untested}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_no_document_installs_from_pypi(path: Path) -> None:
    text = path.read_text()
    assert not re.search(r"pip install (--upgrade )?mdd(-sensu)?\b(?![-_.])", text), path.name
    assert "pipx install" not in text


def test_the_readme_says_mdd_is_not_on_pypi_yet_and_its_name() -> None:
    text = " ".join((REPO / "README.md").read_text().split())
    assert "mdd is **not on PyPI yet**; it will be published as **`mdd-sensu`**" in text
    assert TEST_COMMAND in documented_commands(REPO / "README.md")


def _run(command: str, cwd: Path, root: Path, path: str) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MDD_MANIFESTS")
    }
    env["PATH"] = path
    literal = command.replace("/opt/", f"{root}/opt/")
    proc = subprocess.run(
        ["/bin/sh", "-c", literal],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_form_works_as_written() -> None:
    root = Path(tempfile.mkdtemp(prefix="mdd-install-docs-"))
    try:
        source = root / "clone"
        shutil.copytree(
            REPO,
            source,
            ignore=shutil.ignore_patterns(
                ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
            ),
        )
        dev_bin = str(Path(sys.executable).parent)
        system_path = ":".join(p for p in os.environ["PATH"].split(":") if p and p != dev_bin)
        # From a clone.
        out = _run(CLONE, source, root, system_path)
        assert '"mdd_ams1_dns"' in out or "mdd_ams1_" in out
        # A wheel built from it, installed into a venv of its own.
        _run(WHEEL_BUILD, source, root, system_path)
        _run(WHEEL_INSTALL, source, root, system_path)
        assert (root / "opt" / "mdd" / "bin" / "check-mdd-tcp").is_file()
        # The agent artifact, with the mdd of the clone's venv; both unpack lines.
        with_mdd = f"{source / '.venv' / 'bin'}:{system_path}"
        _run(ARTIFACT_BUILD_GO, source, root, with_mdd)
        assert (source / "dist" / "mdd-checks-asset.yaml").is_file()
        _run(ARTIFACT_BUILD, source, root, with_mdd)
        _run(ARTIFACT_UNPACK, source, root, with_mdd)
        shutil.rmtree(root / "opt" / "mdd-checks")
        _run(ARTIFACT_UNPACK_COPIED, source / "dist", root, with_mdd)
        prefix = root / "opt" / "mdd-checks" / "bin"
        generated = json.loads(
            _run("mdd generate ams1 --command-prefix /opt/mdd-checks/bin", source, root, with_mdd)
        )
        for definition in generated["checks"].values():
            assert definition["command"].startswith(f"{prefix}/check-mdd-"), definition
        # A check as sensu-client runs it: /bin/sh -c, an empty environment.
        check = subprocess.run(
            ["/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "/bin/sh", "-c", "check-mdd-tcp --help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert check.returncode != 0  # not on the PATH: only the prefix finds it
        check = subprocess.run(
            ["/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "/bin/sh", "-c",
             f"{prefix}/check-mdd-tcp --host 127.0.0.1 --port 1 --timeout 2s"],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
        assert check.returncode == 2, check.stdout + check.stderr
        assert check.stdout.startswith("TcpCheck CRITICAL: 127.0.0.1:1 refused the connection")
    finally:
        shutil.rmtree(root, ignore_errors=True)
