"""`mdd asset build`: a Sensu Go asset that runs the checks with nothing but a system python3.

The proof: the archive is unpacked into an empty folder and its ``bin/check-mdd-*`` run
under ``env -i`` with ``PATH`` = that ``bin/`` plus ``/usr/bin:/bin`` (as the Sensu Go agent
puts an asset's ``bin/`` on the check's PATH), so the interpreter is the system's
``/usr/bin/python3``, which has neither mdd nor sensu-plugin: everything else comes from the
asset. The checks run against real servers on loopback.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.checks.registry import CHECK_TYPES, command_name
from mdd.sensu import asset, go_rules

from .conftest import accepting, server_missing
from .test_generate import run_mdd

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

SYSTEM_PYTHON = Path("/usr/bin/python3")
URL = "https://assets.example.net/mdd/"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("asset")
    proc = run_mdd("asset", "build", "-o", str(folder), "--url", URL, cwd=folder)
    assert proc.returncode == 0, proc.stderr.decode()
    return folder


def archive_of(folder: Path) -> Path:
    (archive,) = folder.glob("*.tar.gz")
    return archive


@pytest.fixture(scope="module")
def unpacked(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive unpacked into an empty folder, as the agent unpacks it into its cache."""
    target = tmp_path_factory.mktemp("unpacked")
    assert list(target.iterdir()) == []
    with tarfile.open(archive_of(built)) as tar:
        if hasattr(tarfile, "data_filter"):  # 3.10.12+, 3.11.4+: refuse unsafe members
            tar.extractall(target, filter="data")
        else:  # pragma: no cover - older patch releases
            assert all(not m.name.startswith("/") and ".." not in m.name for m in tar)
            tar.extractall(target)
    return target


@pytest.fixture(scope="module")
def system_python() -> Path:
    if not SYSTEM_PYTHON.is_file():
        server_missing(f"a system Python 3 at {SYSTEM_PYTHON}")
    for module in ("mdd", "sensu_plugin"):
        found = subprocess.run(
            [str(SYSTEM_PYTHON), "-I", "-c", f"import {module}"],
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
        )
        if found.returncode == 0:  # the proof needs a Python that lacks them
            server_missing(f"a system Python 3 without {module} installed")
    return SYSTEM_PYTHON


def run_from_asset(folder: Path, command: str) -> tuple[int, str]:
    """``command`` under /bin/sh -c, with only the asset's bin/ and the system's PATH."""
    proc = subprocess.run(
        ["/usr/bin/env", "-i", f"PATH={folder / 'bin'}:/usr/bin:/bin", "/bin/sh", "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
    )
    return proc.returncode, proc.stdout.decode()


# --------------------------------------------------------------------------- it runs


def test_the_asset_interpreter_is_the_system_python(unpacked: Path, system_python: Path) -> None:
    code, output = run_from_asset(unpacked, "command -v python3; head -1 check-mdd-tcp || true")
    assert output.splitlines()[0] == str(system_python), output
    launcher = (unpacked / "bin" / "check-mdd-tcp").read_text()
    assert launcher.startswith("#!/usr/bin/env python3\n")


@pytest.fixture
def banner_port() -> Iterator[int]:
    with accepting(lambda conn: conn.sendall(b"220 relay ready\r\n")) as port:
        yield port


def test_tcp_check_from_the_asset_ok_and_critical(
    unpacked: Path, system_python: Path, banner_port: int, closed_port: int
) -> None:
    code, output = run_from_asset(
        unpacked,
        f"check-mdd-tcp --point relay --host 127.0.0.1 --port {banner_port} --expect '^220'",
    )
    assert code == 0 and output.startswith("TcpCheck OK: relay: 127.0.0.1:"), output
    code, output = run_from_asset(unpacked, f"check-mdd-tcp --host 127.0.0.1 --port {closed_port}")
    assert code == 2 and "refused the connection" in output, output


def test_http_check_from_the_asset(unpacked: Path, system_python: Path) -> None:
    def serve(conn: Any) -> None:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")

    with accepting(serve) as port:
        code, output = run_from_asset(
            unpacked, f"check-mdd-http --url http://127.0.0.1:{port}/health --contains OK"
        )
    assert code == 0 and output.startswith("HttpCheck OK: http://127.0.0.1:"), output
    assert len(output.strip().splitlines()) == 1


def test_the_batch_runner_runs_from_the_asset(
    unpacked: Path, system_python: Path, tmp_path: Path, banner_port: int
) -> None:
    """A runner check with runtime_assets finds check-mdd-batch (not exit 127) and runs its
    plan with nothing but the asset and the system's python3."""
    from tests.batch.sensu_agents import agent_api
    from tests.runner.helpers import mdd, tcp, write_manifest

    manifests = write_manifest(tmp_path, [tcp("relay", banner_port)], "lab1")
    plan = tmp_path / "lab1.plan"
    made = mdd(
        "generate", "lab1", "--manifests", str(manifests), "--batch", "--format", "sensu-go",
        "-o", str(tmp_path / "lab1.yaml"), cwd=tmp_path,
    )  # fmt: skip
    assert made.code == 0, made.err
    with agent_api() as (port, events):
        code, output = run_from_asset(
            unpacked,
            f"check-mdd-batch --plan {plan} --datacenter lab1 --agent-api 127.0.0.1:{port} "
            f"--state {tmp_path / 'state'}",
        )
    assert code == 0 and output.startswith("MddBatch OK: lab1: 1/1 green"), output
    assert [e["check"]["status"] for e in events] == [0]


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_every_launcher_imports_its_check(
    unpacked: Path, system_python: Path, check_type: str
) -> None:
    code, output = run_from_asset(unpacked, f"{command_name(check_type)} --no-such-flag")
    assert code == 3 and "UNKNOWN: bad arguments" in output, output
    assert "Traceback" not in output


# --------------------------------------------------------------------------- what it holds


def members(folder: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(archive_of(folder)) as tar:
        return tar.getmembers()


def test_layout_holds_launchers_checks_and_pure_python_libraries(built: Path) -> None:
    names = [m.name for m in members(built)]
    assert names == sorted(names)
    launchers = sorted(n for n in names if n.startswith("bin/") and n != "bin")
    assert launchers == sorted(
        [f"bin/{command_name(t)}" for t in CHECK_TYPES] + ["bin/check-mdd-batch"]
    )
    assert "lib/mdd/__init__.py" in names and "lib/mdd/checks/_base.py" in names
    assert "lib/sensu_plugin/check.py" in names
    # Only what checks use: no generator, no templates, no YAML or Jinja2.
    assert not any(
        n.startswith(("lib/mdd/manifest", "lib/mdd/cli", "lib/mdd/living", "lib/mdd/reference"))
        or n in ("lib/mdd/sensu/classic.py", "lib/mdd/sensu/go.py", "lib/mdd/sensu/asset.py")
        for n in names
    )
    assert not any(n.startswith(("lib/yaml/", "lib/jinja2/", "lib/click/")) for n in names)
    assert not any(n.endswith((".so", ".pyc", ".pyd")) for n in names)
    assert "lib/argparse.py" not in names  # would shadow the standard library
    for member in members(built):
        assert member.uid == 0 and member.gid == 0 and member.mtime == asset.MTIME
        expected = 0o755 if member.isdir() or member.name.startswith("bin/") else 0o644
        assert member.mode == expected, member.name


def test_the_same_sources_give_the_same_bytes(built: Path, tmp_path: Path) -> None:
    again = run_mdd("asset", "build", "-o", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 0, again.stderr.decode()
    first, second = archive_of(built).read_bytes(), archive_of(tmp_path).read_bytes()
    assert first == second
    assert first[:2] == b"\x1f\x8b" and first[4:8] == b"\0\0\0\0"  # gzip: no time stamp
    sha512 = hashlib.sha512(first).hexdigest()
    assert (tmp_path / f"{archive_of(tmp_path).name}.sha512").read_text() == (
        f"{sha512}  {archive_of(tmp_path).name}\n"
    )
    assert not (tmp_path / "mdd-checks-asset.yaml").exists()  # no --url, no resource
    assert b"no Asset resource written: give --url" in again.stdout


def test_asset_resource_is_valid_and_matches_the_archive(built: Path) -> None:
    (resource,) = go_rules.parse_stream((built / "mdd-checks-asset.yaml").read_text())
    assert go_rules.asset_failures(resource) == []
    assert resource["type"] == "Asset" and resource["metadata"]["name"] == "mdd-checks"
    assert resource["spec"]["metadata"] == resource["metadata"]
    (build,) = resource["spec"]["builds"]
    archive = archive_of(built)
    assert build["url"] == URL + archive.name
    assert build["sha512"] == hashlib.sha512(archive.read_bytes()).hexdigest()
    assert build["filters"] == ["entity.system.os == 'linux'"]


def test_runtime_assets_points_the_checks_at_the_asset(built: Path, tmp_path: Path) -> None:
    (resource,) = go_rules.parse_stream((built / "mdd-checks-asset.yaml").read_text())
    proc = run_mdd(
        "generate", "ams1", "--format", "sensu-go-json", "--runtime-assets", "mdd-checks",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    launchers = {m.name.removeprefix("bin/") for m in members(built) if m.name.startswith("bin/")}
    for check in go_rules.parse_stream(proc.stdout.decode()):
        if check["type"] != "CheckConfig":
            continue  # the mdd-alerting EventFilter
        assert check["spec"]["runtime_assets"] == [resource["metadata"]["name"]]
        assert check["spec"]["command"].split()[0] in launchers


def test_asset_resource_rules_catch_mistakes() -> None:
    good = asset.asset_resource("mdd-checks", "https://a.example.net/x.tar.gz", "0" * 128)
    assert go_rules.asset_failures(good) == []
    bad_sha = asset.asset_resource("mdd-checks", "https://a.example.net/x.tar.gz", "abc")
    assert "SHA-512 hash must be at least 128 characters" in go_rules.asset_failures(bad_sha)
    bad_url = asset.asset_resource("mdd-checks", "file:///x.tar.gz", "0" * 128)
    assert any("http://" in f for f in go_rules.asset_failures(bad_url))
    bad_name = asset.asset_resource("mdd checks", "https://a.example.net/x", "0" * 128)
    assert any("asset name" in f for f in go_rules.asset_failures(bad_name))


# --------------------------------------------------------------------------- what it refuses


def test_a_check_importing_compiled_code_is_refused() -> None:
    with pytest.raises(asset.AssetError, match=r"(?i)pyyaml .* holds compiled code"):
        asset.plan(extra_imports={"yaml"})


def test_a_check_importing_a_missing_library_is_refused() -> None:
    with pytest.raises(asset.AssetError, match="no installed distribution provides"):
        asset.plan(extra_imports={"no_such_library_anywhere"})


def test_lazy_imports_are_found(tmp_path: Path) -> None:
    module = tmp_path / "check_x.py"
    module.write_text(
        "import os\nfrom .x import y\n\ndef probe():\n    import ldap3.core\n"
        "    from pymysql import connect\n"
    )
    assert asset.check_imports([module]) == {"os", "ldap3", "pymysql"}


def test_imports_only_a_type_checker_reads_are_not_packed(tmp_path: Path) -> None:
    """``if TYPE_CHECKING:`` never runs on an agent (checks/_result.py imports
    typing_extensions there, which the artifact must not need); its ``else:`` runs."""
    module = tmp_path / "check_x.py"
    module.write_text(
        "import typing\nTYPE_CHECKING = False\nif TYPE_CHECKING:\n"
        "    from typing_extensions import dataclass_transform\nelse:\n    import json\n"
        "if typing.TYPE_CHECKING:\n    import ldap3\n"
        "def probe():\n    if TYPE_CHECKING:\n        import pymysql\n    import redis\n"
    )
    assert asset.check_imports([module]) == {"typing", "json", "redis"}


def test_bad_url_is_refused(tmp_path: Path) -> None:
    proc = run_mdd("asset", "build", "-o", str(tmp_path / "out"), "--url", "ftp://x/", cwd=tmp_path)
    assert proc.returncode == 2 and b"http:// or https://" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_build_report_names_what_was_left_out(built: Path, tmp_path: Path) -> None:
    proc = run_mdd("asset", "build", "-o", str(tmp_path), cwd=tmp_path)
    lines = proc.stdout.decode().splitlines()
    [libraries] = [line for line in lines if line.startswith("libraries: ")]
    assert "sensu_plugin " in libraries, lines
    plan = asset.plan()
    assert "sensu-plugin" in plan.distributions
    assert json.dumps(sorted(plan.commands)) == json.dumps(
        sorted([*(command_name(t) for t in CHECK_TYPES), "check-mdd-batch"])
    )
