"""`mdd validate`: every problem as file:line:col: message on stderr, exit 1; else a summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mdd.checks.registry import CHECK_TYPES
from mdd.cli import main

HERE = Path(__file__).parent
BAD = HERE / "manifests" / "bad"
GOOD = HERE / "manifests" / "good"
MDD = Path(sys.executable).parent / "mdd"


def expected(path: Path) -> list[str]:
    types = ", ".join(sorted(CHECK_TYPES))  # an expect line says {check_types} for the list
    return [
        f"{path}:{line.removeprefix('# expect: ')}".replace("{check_types}", types)
        for line in path.read_text().splitlines()
        if line.startswith("# expect: ")
    ]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without manifests/, and no $MDD_MANIFESTS."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MDD_MANIFESTS", raising=False)
    return tmp_path


def test_good_manifest_prints_one_summary_line(elsewhere: Path) -> None:
    path = GOOD / "full.yaml"
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{path}: datacenter fra-2_b: 3 integration points, 1 owning team, ok\n"
    )
    assert result.stderr == ""


def test_bad_manifest_lists_every_problem_and_exits_1(elsewhere: Path) -> None:
    path = BAD / "many-mistakes.yaml"
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[:-1] == expected(path)
    assert lines[-1] == f"mdd: {path}: {len(expected(path))} problems"


def test_each_manifest_is_reported_and_any_failure_fails(elsewhere: Path) -> None:
    good, bad = GOOD / "minimal.yaml", BAD / "bad-port.yaml"
    result = CliRunner().invoke(main, ["validate", str(good), str(bad), "nowhere"])
    assert result.exit_code == 2
    assert result.stdout == f"{good}: datacenter lab1: 1 integration point, 0 owning teams, ok\n"
    lines = result.stderr.splitlines()
    assert lines[:3] == expected(bad)
    assert lines[3] == f"mdd: {bad}: 3 problems"
    assert lines[4].startswith("mdd: no manifest for 'nowhere': looked for nowhere.yaml")
    assert len(lines) == 5


def test_name_is_looked_up_in_manifests_dir(tmp_path: Path, elsewhere: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "lab1.yaml").write_text((GOOD / "minimal.yaml").read_text())
    result = CliRunner().invoke(main, ["validate", "--manifests", str(folder), "lab1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{folder / 'lab1.yaml'}: datacenter lab1: ")
    assert result.stderr == ""


def test_bundled_example_is_announced_on_stderr_only(elsewhere: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "ams1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("datacenter ams1: 17 integration points, 9 owning teams, ok\n")
    [note] = result.stderr.splitlines()
    assert note.startswith("mdd: using the bundled example manifest ")
    assert "examples/ams1.yaml" in note


def test_generate_announces_the_bundled_example_on_stderr_only(elsewhere: Path) -> None:
    result = CliRunner().invoke(main, ["generate", "ams1"])
    assert result.exit_code == 0, result.output
    [note] = result.stderr.splitlines()
    assert note.startswith("mdd: using the bundled example manifest ")
    json.loads(result.stdout)  # stdout is the definitions and nothing else


def test_real_process_exit_codes_and_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MDD_MANIFESTS"}
    bad = BAD / "yaml-syntax.yaml"
    run = subprocess.run(
        [str(MDD), "validate", str(GOOD / "minimal.yaml"), str(bad), str(BAD / "empty-file.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stdout.endswith("datacenter lab1: 1 integration point, 0 owning teams, ok\n")
    assert expected(bad)[0] in run.stderr.splitlines()

    ok = subprocess.run(
        [str(MDD), "validate", str(GOOD / "full.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert (ok.returncode, ok.stderr) == (0, "")

    missing = subprocess.run(
        [str(MDD), "validate", "--manifests", str(tmp_path), "nowhere"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
    assert missing.stderr.startswith("mdd: no manifest for 'nowhere'")


def test_a_copied_manifest_asked_for_by_another_name_is_refused(elsewhere: Path) -> None:
    from mdd.manifest.locate import bundled_dir

    folder = elsewhere / "manifests"
    bundled = bundled_dir()
    assert bundled is not None
    shutil.copytree(bundled, folder)  # with the bases the examples extend
    (folder / "fra1.yaml").write_text((bundled / "ams1.yaml").read_text())
    for command in (["validate", "fra1"], ["generate", "fra1"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert (
            "manifests/fra1.yaml:5:13: this manifest is for datacenter 'ams1', but it was asked "
            "for as 'fra1'"
        ) in result.stderr
    # Named by its path, the file is taken as it is.
    result = CliRunner().invoke(main, ["validate", str(folder / "fra1.yaml")])
    assert result.exit_code == 0, result.output
