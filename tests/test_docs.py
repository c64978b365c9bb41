"""The reference docs are generated from the declarations, and the committed copies are current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mdd.checks._options import COMMON_OPTIONS
from mdd.checks.registry import CHECK_TYPES, command_name
from mdd.docgen import (
    CHECK_TYPES_DOC,
    check_type_text,
    example_yaml,
    generated_files,
    reference_markdown,
)

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("relative", sorted(generated_files()), ids=str)
def test_committed_docs_are_current(relative: Path) -> None:
    path = REPO / relative
    assert path.is_file(), f"{relative} is missing: run `.venv/bin/python -m mdd.docgen`"
    assert path.read_text(encoding="utf-8") == generated_files()[relative], (
        f"{relative} is stale (a docstring or an option declaration changed): "
        f"run `.venv/bin/python -m mdd.docgen` and commit the result"
    )


def test_check_types_reference_is_always_generated() -> None:
    assert CHECK_TYPES_DOC in generated_files()


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_reference_has_every_type_option_and_command(check_type: str) -> None:
    text = reference_markdown()
    assert f"\n## {check_type}\n" in text
    section = text.split(f"\n## {check_type}\n", 1)[1].split("\n## ", 1)[0]
    assert f"`{command_name(check_type)}`" in section
    for opt in CHECK_TYPES[check_type].OPTIONS:
        assert f"| `{opt.name}` |" in section, (
            f"option {opt.name} missing from the {check_type} table"
        )


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_show_text_has_summary_options_and_example(check_type: str) -> None:
    module = CHECK_TYPES[check_type]
    text = check_type_text(check_type)
    assert text.endswith("\n")
    assert command_name(check_type) in text
    assert " ".join(module.SUMMARY.split()) in " ".join(text.split())
    # A table row starts with its name at column 2; wrapped lines start further in.
    rows = {
        line.split()[0]
        for line in text.splitlines()
        if line.startswith("  ") and not line.startswith("   ")
    }
    for opt in module.OPTIONS:
        assert opt.name in rows, f"option {opt.name} has no row in `mdd checks show {check_type}`"
    for opt in COMMON_OPTIONS:
        assert opt.flag in text


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_example_is_the_declared_example(check_type: str) -> None:
    entry = yaml.safe_load(example_yaml(check_type))["integration_points"][0]
    assert entry["type"] == check_type
    assert entry["check"] == dict(CHECK_TYPES[check_type].EXAMPLE)


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_example_is_a_valid_manifest_entry(check_type: str, tmp_path: Path) -> None:
    from mdd import manifest

    path = tmp_path / "docs.yaml"
    path.write_text("datacenter: docs\n" + example_yaml(check_type), encoding="utf-8")
    try:
        loaded = manifest.load(path)
    except manifest.ManifestError as exc:
        problems = "\n".join(str(p) for p in exc.problems)
        pytest.fail(f"the documented example of {check_type} does not validate:\n{problems}")
    assert [p.type for p in loaded.points] == [check_type]


@pytest.mark.parametrize("check_type", sorted(CHECK_TYPES))
def test_mdd_checks_show_prints_the_generated_text(check_type: str) -> None:
    proc = subprocess.run(
        [str(BIN / "mdd"), "checks", "show", check_type],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == check_type_text(check_type)


def test_unknown_type_is_refused() -> None:
    with pytest.raises(KeyError, match="known types"):
        check_type_text("no-such-type")
