"""Every file mdd writes is written all or nothing: an interrupted run, a full file system
or an unwritable output leaves the previous file intact, with one clear line on stderr.

Covers ``mdd generate -o`` (checks.json), the only file mdd writes today; commands added
later (state files, reports, init) write through the same ``mdd.core.output.write_atomically``
and need a case here each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import server_missing

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

MDD = str(Path(sys.executable).parent / "mdd")
PREVIOUS = '{"checks": {}}\n'


def big_manifest(folder: Path, points: int = 300) -> Path:
    path = folder / "big.yaml"
    path.write_text(
        "datacenter: big\nintegration_points:\n"
        + "".join(
            f"  - {{name: p{i}, type: tcp, owner: team-{i}, description: 'point number {i} "
            f"of the big datacenter', check: {{host: h{i}.example.net, port: {1 + i}}}}}\n"
            for i in range(points)
        )
    )
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def assert_clean_failure(
    proc: subprocess.CompletedProcess[str], needle: str, status: int = 2
) -> None:
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert needle in proc.stderr, proc.stderr


# --------------------------------------------------------------------------- signals

# Runs mdd in-process and sends the signal to itself at the exact moment the new file is
# written but not yet renamed into place (from inside the fsync of the temporary file).
_SIGNAL_MID_WRITE = """
import os, signal, sys
from mdd import cli
real = os.fsync
signum = getattr(signal, sys.argv[1])
def fsync(fd):
    os.kill(os.getpid(), signum)
    real(fd)
os.fsync = fsync
sys.argv = ["mdd", *sys.argv[2:]]
cli.main()
"""


@pytest.mark.parametrize(
    ("signame", "message"),
    [("SIGTERM", "mdd: interrupted by SIGTERM"), ("SIGINT", "mdd: interrupted by SIGINT")],
)
def test_a_signal_in_the_middle_of_writing_keeps_the_previous_file(
    tmp_path: Path, signame: str, message: str
) -> None:
    out = tmp_path / "checks.json"
    out.write_text(PREVIOUS)
    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_MID_WRITE, signame, "generate",
         str(big_manifest(tmp_path)), "-o", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert_clean_failure(proc, message, status=130)
    assert out.read_text() == PREVIOUS
    assert leftovers(tmp_path) == []


def test_sigterm_at_any_moment_leaves_the_old_or_the_whole_new_file(tmp_path: Path) -> None:
    """Real signals at 12 moments of a run: the file is never half-written."""
    manifest = big_manifest(tmp_path)
    out = tmp_path / "checks.json"
    complete = subprocess.run(
        [MDD, "generate", str(manifest)], capture_output=True, text=True, timeout=60
    ).stdout
    outcomes = set()
    for attempt in range(12):
        out.write_text(PREVIOUS)
        proc = subprocess.Popen(
            [MDD, "generate", str(manifest), "-o", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(0.05 * attempt)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert out.read_text() in (PREVIOUS, complete)
        if proc.returncode > 0:  # our handler ran: it said so, without a traceback
            assert "Traceback" not in err, err
        outcomes.add("new" if out.read_text() == complete else "old")
        assert leftovers(tmp_path) == [] or proc.returncode < 0  # killed before the handler
    assert "old" in outcomes  # at least one signal landed before the rename


# --------------------------------------------------------------------------- full file system


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, mounted for this test (needs root, as in CI)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        server_missing("a small file system (mounting a tmpfs needs root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        server_missing(f"a small file system (mount -t tmpfs failed: {done.stderr.strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_file_system_keeps_the_previous_file(tmp_path: Path, small_fs: Path) -> None:
    out = small_fs / "checks.json"
    out.write_text(PREVIOUS)
    proc = subprocess.run(
        [MDD, "generate", str(big_manifest(tmp_path)), "-o", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert_clean_failure(proc, "No space left on device; nothing written")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert out.read_text() == PREVIOUS
    assert leftovers(small_fs) == []
    # And it is the output's size that did not fit: a small manifest is written fine.
    small = big_manifest(tmp_path, points=2)
    done = subprocess.run([MDD, "generate", str(small), "-o", str(out)], capture_output=True)
    assert done.returncode == 0 and json.loads(out.read_text())["checks"]


# --------------------------------------------------------------------------- bad outputs


def test_stdout_onto_a_full_device_is_one_line(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [MDD, "generate", str(big_manifest(tmp_path, 3))],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    assert_clean_failure(proc, "mdd: cannot write to standard output: No space left on device")
    assert len(proc.stderr.strip().splitlines()) == 1
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [MDD, "validate", str(big_manifest(tmp_path, 3))],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    assert_clean_failure(proc, "cannot write to standard output")


def test_output_onto_a_symlink_loop_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    proc = subprocess.run(
        [MDD, "generate", str(big_manifest(tmp_path, 3)), "-o", str(tmp_path / "a")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert_clean_failure(proc, "Too many levels of symbolic links; nothing written")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("target", ["/dev/null/x.json", "/proc/version"])
def test_output_that_cannot_be_a_file_is_one_line(tmp_path: Path, target: str) -> None:
    proc = subprocess.run(
        [MDD, "generate", str(big_manifest(tmp_path, 3)), "-o", target],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert_clean_failure(proc, "nothing written")
    assert len(proc.stderr.strip().splitlines()) == 1
