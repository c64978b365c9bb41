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
import socket
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    root: Path  # holds all of it; mode 0755, so the agent's user can reach the venv
    build_log: str  # what `python -m build` printed


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


def _usable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can reach and run ``path`` (o+x all the way)."""
    real = path.resolve()
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [real, *real.parents])


def agent_python() -> str:
    """The interpreter of the agent's venv: this one, when another user can run it.

    An interpreter under /root (pyenv) is not: the agent's venv then uses the system's
    python3, as a Debian or Ubuntu agent would.
    """
    if _usable_by_others(Path(sys.executable)):
        return sys.executable
    system = Path("/usr/bin/python3")
    assert system.exists(), f"{sys.executable} is private and there is no {system}"
    return str(system)


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    # Not under pytest's tmp_path (mode 0700): the agent's user must reach the venv.
    root = Path(tempfile.mkdtemp(prefix="mdd-packaging-"))
    root.chmod(0o755)
    try:
        source = root / "source"
        shutil.copytree(REPO, source, ignore=_NOT_SOURCE)
        dist = root / "dist"
        proc = _run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)], root
        )
        _check(proc, "python -m build --wheel")
        wheels = sorted(dist.glob("mdd_sensu-*.whl"))
        assert len(wheels) == 1, f"expected one mdd_sensu wheel in {dist}, found {wheels}"

        venv = root / "venv"
        _check(_run([agent_python(), "-m", "venv", str(venv)], root), "python -m venv")
        _check(
            _run([str(venv / "bin" / "python"), "-m", "pip", "install", str(wheels[0])], root),
            "pip install <wheel>",
        )
        cwd = root / "empty"
        cwd.mkdir()
        yield Installed(wheels[0], venv / "bin", cwd, root, proc.stdout + proc.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)


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
    assert {"mdd/living/__init__.py", "mdd/living/html.py"} <= names

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


def _pyproject() -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10: tomli, the same parser (a test dependency there)
        import tomli as tomllib

    with (REPO / "pyproject.toml").open("rb") as f:
        project: dict[str, Any] = tomllib.load(f)
    return project


def _scripts() -> dict[str, str]:
    scripts: dict[str, str] = _pyproject()["project"]["scripts"]
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
        if name == "check-mdd-batch":  # batch mode's runner (docs/batch.md), not a check type
            assert target == "mdd.batch.main:main"
            assert "batch" not in CHECK_TYPES
        elif name.startswith("check-mdd-"):
            check_type = name.removeprefix("check-mdd-")
            assert check_type in CHECK_TYPES, (
                f"[project.scripts] {name} = {target!r}, but checks/registry.py has no check "
                f"type {check_type!r}"
            )
        else:
            assert not target.startswith("mdd.checks."), (
                f"[project.scripts] {name} runs a check but is not named check-mdd-<type>"
            )


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        [name] = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return zf.read(name).decode("utf-8")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_is_mdd_sensu_with_its_license(installed: Installed) -> None:
    metadata = _metadata(installed.wheel)
    assert "\nName: mdd-sensu\n" in metadata, metadata[:300]
    assert "\nLicense-Expression: Apache-2.0\n" in metadata, metadata[:600]
    with zipfile.ZipFile(installed.wheel) as zf:
        [license_file] = [n for n in zf.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert zf.read(license_file) == (REPO / "LICENSE").read_bytes()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_build_prints_no_backend_warning(installed: Installed) -> None:
    for warning in ("BuildBackendWarning", "is absent from the packages configuration"):
        assert warning not in installed.build_log, installed.build_log


def test_license_file_is_the_apache_license_that_pyproject_declares() -> None:
    assert _pyproject()["project"]["license"] == "Apache-2.0"
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a stub


def test_pyproject_names_the_distribution_mdd_sensu() -> None:
    project = _pyproject()["project"]
    assert project["name"] == "mdd-sensu"  # `mdd` on PyPI is another project
    assert project["scripts"]["mdd"] == "mdd._entry:run"  # which runs mdd.cli:main


# --------------------------------------------------------------------------- as on an agent

AGENT_USER = "mdd-test-agent"  # made (once) when the tests run as root
AGENT_PATH = "/usr/bin:/bin"  # what a Sensu client's environment may well be


@dataclass
class Agent:
    uid: int | None  # None: run as ourselves (not root)
    gid: int | None


@pytest.fixture(scope="module")
def agent() -> Agent:
    """A non-root user to run the checks as the Sensu client's `sensu` user would."""
    if os.geteuid() != 0:
        return Agent(None, None)
    import pwd
    import time

    for _ in range(20):  # useradd can find /etc/passwd locked by a parallel run
        try:
            entry = pwd.getpwnam(AGENT_USER)
            return Agent(entry.pw_uid, entry.pw_gid)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    "--user-group",
                    AGENT_USER,
                ],
                capture_output=True,
                check=False,
                timeout=60,
            )
            time.sleep(0.2)
    pytest.fail(f"cannot create the user {AGENT_USER} (useradd)")


def as_agent(agent: Agent, command: str) -> subprocess.CompletedProcess[str]:
    """``command`` as the Sensu client runs it: /bin/sh -c, an empty environment, cwd /."""
    extra: dict[str, Any] = {}
    if agent.uid is not None:
        extra = {"user": agent.uid, "group": agent.gid, "extra_groups": []}
    return subprocess.run(
        ["/usr/bin/env", "-i", f"PATH={AGENT_PATH}", "/bin/sh", "-c", command],
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        **extra,
    )


def _agent_file(agent: Agent, path: Path, text: str, mode: int, own: bool) -> str:
    """A file on the "agent": owned by the agent's user (``own``) or not, with ``mode``."""
    path.write_text(text, encoding="utf-8")
    if own and agent.uid is not None:
        os.chown(path, agent.uid, agent.gid or 0)
    path.chmod(mode)
    return str(path)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bare_command_names_are_not_found_by_the_agent(installed: Installed, agent: Agent) -> None:
    """Why the prefix exists: the venv's bin/ is not on the client's PATH."""
    assert as_agent(agent, "id -u").stdout.strip() != "0"  # really not root
    assert as_agent(agent, "env").stdout == f"PATH={AGENT_PATH}\nPWD=/\n"  # (sh sets PWD)
    proc = as_agent(agent, f"{command_name('tcp')} --help")
    assert proc.returncode == 127, proc.stdout
    proc = as_agent(agent, f"{shlex.quote(str(installed.bin / command_name('tcp')))} --help")
    assert proc.returncode == 0, proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_generated_commands_run_as_the_agent_user(
    installed: Installed, agent: Agent, ca: Any, closed_port: int
) -> None:
    """Wheel -> fresh venv -> `mdd generate --command-prefix` -> every command, as Sensu runs it."""
    from tests.checks.http_servers import serve, server_context
    from tests.conftest import accepting, server_missing

    files = installed.root / "agent-files"
    files.mkdir()
    files.chmod(0o755)
    ca_file = files / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ca_file.chmod(0o644)
    token = _agent_file(agent, files / "token", "Bearer agent-s3cret\n", 0o400, own=True)
    private = _agent_file(
        agent, files / "private", "Bearer nope\n", 0o600 if agent.uid else 0, own=False
    )

    with socket.socket() as probe:  # the Redis server of this kind of machine (.ci/services)
        probe.settimeout(2)
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            server_missing("Redis on 127.0.0.1:6379")

    def banner(conn: Any) -> None:
        conn.sendall(b"* OK ready\r\n")

    with (
        serve(context=server_context(ca, "127.0.0.1")) as web,
        accepting(banner, threaded=True) as open_port,
    ):
        web.expected_auth = "Bearer agent-s3cret"
        url = f"https://127.0.0.1:{web.port}"
        manifests = installed.root / "manifests"
        manifests.mkdir()
        (manifests / "agent1.yaml").write_text(
            f"""\
datacenter: agent1
sensu: {{interval: 1m, timeout: 30s}}
integration_points:
  - name: health
    type: http
    check: {{url: "{url}/health", ca_file: {ca_file}, json: {{status: UP}}, timeout: 5s}}
  - name: api-auth
    type: http
    check:
      url: {url}/auth
      ca_file: {ca_file}
      secret_headers: {{Authorization: {token}}}
      timeout: 5s
  - name: api-auth-unreadable
    type: http
    check:
      url: {url}/auth
      ca_file: {ca_file}
      secret_headers: {{Authorization: {private}}}
      timeout: 5s
  - name: web-cert
    type: tls
    check: {{host: 127.0.0.1, port: {web.port}, ca_file: {ca_file}, timeout: 5s}}
  - name: imap-banner
    type: tcp
    check: {{host: 127.0.0.1, port: {open_port}, expect: '^\\* OK', timeout: 5s}}
  - name: redis
    type: tcp
    check: {{host: 127.0.0.1, port: 6379, send: 'PING\\r\\n', expect: '^\\+PONG', timeout: 5s}}
  - name: db-port
    type: tcp
    check: {{host: 127.0.0.1, port: {closed_port}, timeout: 2s}}
  - name: mgmt-blocked
    type: tcp
    check: {{host: 127.0.0.1, port: {closed_port}, state: closed, timeout: 2s}}
""",
            encoding="utf-8",
        )
        output = installed.root / "checks.json"
        _check(
            _run(
                [
                    str(installed.bin / "mdd"),
                    "generate",
                    "agent1",
                    "--manifests",
                    str(manifests),
                    "--command-prefix",
                    str(installed.bin),
                    "-o",
                    str(output),
                ],
                installed.cwd,
                timeout=60,
            ),
            "mdd generate --command-prefix",
        )
        checks = json.loads(output.read_text(encoding="utf-8"))["checks"]
        expected = {
            "mdd_agent1_health": (0, "HttpCheck OK: health: "),
            "mdd_agent1_api-auth": (0, "HttpCheck OK: api-auth: "),
            "mdd_agent1_api-auth-unreadable": (3, "HttpCheck UNKNOWN: api-auth-unreadable: "),
            "mdd_agent1_web-cert": (0, "TlsCheck OK: web-cert: "),
            "mdd_agent1_imap-banner": (0, "TcpCheck OK: imap-banner: "),
            "mdd_agent1_redis": (0, "TcpCheck OK: redis: "),
            "mdd_agent1_db-port": (2, "TcpCheck CRITICAL: db-port: "),
            "mdd_agent1_mgmt-blocked": (0, "TcpCheck OK: mgmt-blocked: "),
        }
        assert list(checks) == list(expected)
        wrong = []
        for name, check in checks.items():
            program = shlex.split(check["command"])[0]
            assert program == str(installed.bin / program.rsplit("/", 1)[-1]), check["command"]
            proc = as_agent(agent, check["command"])
            code, start = expected[name]
            lines = proc.stdout.splitlines()
            if proc.returncode != code or len(lines) != 1 or not lines[0].startswith(start):
                wrong.append(f"{name}: exit {proc.returncode}: {proc.stdout!r}")
        assert not wrong, "\n".join(wrong)
        assert "agent-s3cret" not in output.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_installed_mdd_writes_sensu_go_and_builds_the_asset(installed: Installed) -> None:
    import tarfile

    proc = _run(
        [str(installed.bin / "mdd"), "generate", "ams1", "--format", "sensu-go"], installed.cwd
    )
    _check(proc, "mdd generate ams1 --format sensu-go")
    assert proc.stdout == (REPO / "tests" / "golden" / "ams1-sensu-go.yaml").read_text()
    out = installed.cwd.parent / "asset"
    proc = _run([str(installed.bin / "mdd"), "asset", "build", "-o", str(out)], installed.cwd)
    _check(proc, "mdd asset build")
    (archive,) = out.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {f"bin/{command_name(t)}" for t in CHECK_TYPES} <= names
    assert "lib/sensu_plugin/check.py" in names and "lib/mdd/checks/_base.py" in names
