"""The fleet: ``verify --all``, ``status --all``, ``report --all``, ``mdd todo``, lead times,
the critical path and the "done done" gate.

State is built by real ``mdd verify --all`` runs against loopback listeners (the example
datacenters' points as tcp checks, tests/runner/fleet_lab.py), "minutes apart" through the
``MDD_NOW`` test hook: points turn green at known times, ams1's and fra1's ldap regress,
ams1's comes back (a flap), payments-vip waits behind payments-db behind resolver-ns1.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.runner.fleet_demo import bring_up
from tests.runner.fleet_lab import T0, Lab, at, example_points
from tests.runner.helpers import BIN, REPO
from tests.runner.test_report import browser  # noqa: F401  (the headless Chromium fixture)

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

SCHEMA = json.loads((REPO / "docs" / "schema" / "mdd-fleet.schema.json").read_text())
NOW = 240  # minutes after T0 when the commands below look


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("fleet")
    built = Lab(folder, {dc: example_points(dc) for dc in ("ams1", "fra1", "nyc1")})
    bring_up(built)
    yield built
    built.close()


def to_go(text: str) -> int:
    """Whole minutes left of the soak, rounded up (the clock runs on by a second or so
    between ``MDD_NOW`` and the run's own clock)."""
    match = re.search(r"; (?:(\d+)m)?(?:(\d+)s)? to go", text)
    assert match, text
    seconds = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    return -(-seconds // 60)


def rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}


def test_fleet_board_text(lab: Lab) -> None:
    run = lab.mdd("verify", "--all", "--no-color", "--tz", "UTC", minutes=NOW)
    assert run.code == 1, run.err  # fra1 and nyc1 are not done
    table = rows(run.out)
    assert table["ams1"][1:3] == ["17/17", "100%"]
    assert table["fra1"][1:7] == ["11/14", "78%", "1", "2", "0", "0"]  # ldap regressed
    assert table["nyc1"][1:7] == ["12/14", "85%", "0", "2", "0", "0"]
    # the oldest pending point and since when (fra1's billing-db: blocked until 08:30)
    assert "billing-db (dba) 3h30m, since 2026-12-01 08:30" in run.out
    # then by owner, across datacenters
    assert table["dba"][1:3] == ["2/3", "66%"] and "ams1:2/2 fra1:0/1" in run.out
    assert table["identity"][3] == "1"  # fra1's ldap regressed
    # the burn-up of ams1 ends full
    assert table["ams1"][7].endswith("█")
    assert "times in UTC" in run.out.splitlines()[0]


def test_fleet_board_json_matches_schema(lab: Lab) -> None:
    run = lab.mdd("verify", "--all", "--format", "json", "--no-color", minutes=NOW)
    data = json.loads(run.out)
    jsonschema.validate(data, SCHEMA)
    by_dc = {d["datacenter"]: d for d in data["datacenters"]}
    assert set(by_dc) == {"ams1", "fra1", "nyc1"}
    assert by_dc["fra1"]["summary"]["regressed"] == 1
    assert by_dc["fra1"]["oldest_pending"]["point"] == "billing-db"
    assert by_dc["fra1"]["oldest_pending"]["waiting"] == pytest.approx(210 * 60, abs=30)
    assert data["summary"]["total"] == 45 and data["summary"]["green"] == 40
    owners = {o["owner"]: o for o in data["owners"]}
    assert owners["trading"]["datacenters"] == {"nyc1": {**owners["trading"]["summary"]}}
    # the board's text goes to standard error when the document is on standard output
    assert "DATACENTER" in run.err


def test_fleet_board_junit_and_tap(lab: Lab) -> None:
    run = lab.mdd("verify", "--all", "--format", "junit", "--no-color", minutes=NOW)
    root = ET.fromstring(run.out)
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"mdd.ams1", "mdd.fra1", "mdd.nyc1"}
    assert suites["mdd.fra1"].get("failures") == "3"
    assert root.get("tests") == "45" and root.get("failures") == "5"
    failure = suites["mdd.fra1"].find("testcase[@name='ldap']/failure")
    assert failure is not None and failure.get("type") == "regressed"
    tap = lab.mdd("verify", "--all", "--format", "tap", "--no-color", minutes=NOW)
    lines = tap.out.splitlines()
    assert lines[:2] == ["TAP version 13", "1..45"]
    assert sum(1 for line in lines if line.startswith("ok ")) == 40
    assert any(line.startswith("not ok ") and "fra1/ldap (regressed)" in line for line in lines)


def test_named_datacenters_and_usage(lab: Lab) -> None:
    run = lab.mdd("verify", "--all", "ams1", "nyc1", "--no-color", minutes=NOW)
    assert "ams1" in rows(run.out) and "nyc1" in rows(run.out) and "fra1" not in rows(run.out)
    assert lab.mdd("verify", "ams1", "fra1", minutes=NOW).code == 2
    bad = lab.mdd("verify", "--all", "--tz", "Mars/Olympus", minutes=NOW)
    assert bad.code == 2 and "is not a time zone" in bad.err


def test_tz_shows_one_zone(lab: Lab) -> None:
    run = lab.mdd("verify", "--all", "--no-color", "--tz", "Europe/Amsterdam", minutes=NOW)
    assert "since 2026-12-01 09:30" in run.out  # 08:30 UTC
    data = json.loads(
        lab.mdd("report", "--all", "--format", "json", "-o", "-", "--tz", "+02:00", minutes=NOW).out
    )
    assert data["generated"] == "2026-12-01T14:00:00+02:00"
    assert data["datacenters"][0]["lead_times"]["started"] == "2026-12-01T10:00:00+02:00"


def test_lead_times_and_critical_path(lab: Lab) -> None:
    run = lab.mdd("report", "ams1", "--format", "json", "-o", "-", "--tz", "UTC", minutes=NOW)
    data = json.loads(run.out)
    jsonschema.validate(data, SCHEMA)
    lead = data["datacenters"][0]["lead_times"]
    # known answer: first run 08:00, the last first green (payments-vip) at 11:20
    assert lead["started"] == "2026-12-01T08:00:00Z"
    assert lead["last_first_green"] == "2026-12-01T11:20:00Z"
    assert lead["bring_up"] == 200 * 60 and lead["complete"] is True
    path = lead["critical_path"]
    assert [link["point"] for link in path["links"]] == [
        "resolver-ns1",
        "payments-db",
        "payments-vip",
    ]
    assert path["owners"] == ["dns", "dba", "netops"]
    assert [link["gated_for"] for link in path["links"]] == [30 * 60, 120 * 60, 50 * 60]
    assert path["links"][0]["released"] == 11  # everything behind resolver-ns1
    points = {p["point"]: p for p in lead["points"]}
    assert points["ldap"]["lead"] == 90 * 60  # its flap does not change its first green
    assert points["payments-vip"]["lead"] == 200 * 60
    teams = {t["owner"]: t for t in lead["teams"]}
    assert teams["dba"] == {
        "owner": "dba",
        "points": 2,
        "done": 2,
        "median": 150 * 60,
        "longest": 150 * 60,
        "longest_point": "payments-db",
    }
    assert teams["netops"]["longest_point"] == "payments-vip"
    assert teams["netops"]["median"] == 90 * 60  # 30, 90, 90, 90, 200 minutes
    # a bring-up under way: the chain not green yet, the one to fix first on top
    nyc1 = json.loads(lab.mdd("report", "nyc1", "--format", "json", "-o", "-", minutes=NOW).out)[
        "datacenters"
    ][0]["lead_times"]
    assert nyc1["complete"] is False and nyc1["bring_up"] == pytest.approx(NOW * 60, abs=60)
    assert nyc1["critical_path"]["complete"] is False
    assert all(link["first_green"] is None for link in nyc1["critical_path"]["links"])


def test_todo_markdown_csv_json(lab: Lab) -> None:
    md = lab.mdd("todo", "--owner", "dba", "--tz", "UTC", minutes=NOW)
    assert md.code == 0, md.err
    assert "## dba (1 point)" in md.out and "### fra1" in md.out
    assert "**billing-db** (tcp) pending, waiting 3h30m (since 2026-12-01 08:30)" in md.out
    assert "docs: <https://wiki.example.net/fra1/billing>" in md.out
    assert "security" not in md.out
    every = lab.mdd("todo", minutes=NOW)
    headings = [line for line in every.out.splitlines() if line.startswith("## ")]
    assert headings == [
        "## dba (1 point)",
        "## identity (1 point)",
        "## security (2 points)",
        "## trading (1 point)",
    ]
    first = lab.mdd("todo", "--format", "csv", "--tz", "UTC", minutes=NOW)
    table = list(csv.DictReader(io.StringIO(first.out)))
    keys = [row["key"] for row in table]
    assert len(keys) == len(set(keys)) == 5
    by_key = {row["key"]: row for row in table}
    ldap = by_key["mdd-fra1-ldap"]
    assert ldap["state"] == "regressed" and ldap["owner"] == "identity"
    assert "refused the connection" in ldap["reason"]
    assert ldap["waiting_since"] == "2026-12-01T11:30:00Z"
    gw = by_key["mdd-nyc1-trading-gw-cert"]
    assert gw["datacenter"] == "nyc1" and gw["point"] == "trading-gw-cert"
    # a later export of the same points: the same keys, so a re-import updates
    again = lab.mdd("todo", "--format", "csv", minutes=NOW + 60)
    assert [row["key"] for row in csv.DictReader(io.StringIO(again.out))] == keys
    data = json.loads(lab.mdd("todo", "--owner", "trading", "--format", "json", minutes=NOW).out)
    assert [item["key"] for item in data["items"]] == ["mdd-nyc1-trading-gw-cert"]
    assert data["items"][0]["waiting"] == pytest.approx(90 * 60, abs=60)
    unknown = lab.mdd("todo", "--owner", "dbas", minutes=NOW)
    assert unknown.code == 2 and "did you mean 'dba'" in unknown.err


def test_todo_blocks(tmp_path: Path) -> None:
    lab = Lab(
        tmp_path,
        {
            "lab1": [
                {"name": "dns", "owner": "dns"},
                {"name": "db", "owner": "dba", "depends_on": ["dns"]},
                {"name": "vip", "owner": "netops", "depends_on": ["db"]},
            ]
        },
    )
    lab.mdd("verify", "--all", minutes=0)
    data = json.loads(lab.mdd("todo", "--format", "json", minutes=5).out)
    blocks = {item["point"]: item["blocks"] for item in data["items"]}
    assert blocks == {"db": ["vip"], "dns": ["db", "vip"], "vip": []}


def test_stable_gate_restarted_by_a_flap(tmp_path: Path) -> None:
    lab = Lab(tmp_path, {"lab1": [{"name": "a"}, {"name": "b"}]})
    lab.deliver("lab1", "a", "b")
    try:

        def gate(minutes: float) -> Any:
            return lab.mdd(
                "verify", "lab1", "--stable", "10m", "--no-color", "--tz", "UTC", minutes=minutes
            )

        first = gate(0)
        assert first.code == 1 and "since 2026-12-01 08:00" in first.out
        assert to_go(first.out) == 10
        assert to_go(gate(4).out) == 6
        lab.take_away("lab1", "b")
        gone = gate(5)
        assert gone.code == 1 and "not all green (b)" in gone.out
        lab.deliver("lab1", "b")
        back = gate(6)
        assert back.code == 1
        assert "(b flapped, green again at 2026-12-01 08:06)" in back.out and to_go(back.out) == 10
        assert to_go(gate(12).out) == 4  # the soak runs from 08:06, not 08:00
        done = gate(16)
        assert done.code == 0, done.out
        assert re.search(r"stable: all green for 10m(0\ds)? since 2026-12-01 08:06", done.out)
        # --watch --stable when the soak is already over: exits 0 after one round
        watch = lab.mdd("verify", "lab1", "--watch", "--stable", "10m", "--no-color", minutes=20)
        assert watch.code == 0 and "stable: all green for 14m" in watch.out, watch.out
    finally:
        lab.close()


def test_watch_stable_names_the_flap_and_counts_down(tmp_path: Path) -> None:
    """A soak of 10 minutes that this test never waits for: it watches the rounds' lines,
    takes a point away during the soak, gives it back, and sees the soak restart."""
    lab = Lab(tmp_path, {"lab1": [{"name": "a"}, {"name": "b"}]})
    lab.deliver("lab1", "a", "b")
    proc = subprocess.Popen(
        [
            str(BIN / "mdd"),
            "verify",
            "lab1",
            "--manifests",
            str(tmp_path / "manifests"),
            "--watch",
            "--stable",
            "10m",
            "--interval",
            "0.2s",
            "--no-color",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": str(BIN), "MDD_NOW": at(0), "NO_COLOR": "1"},
    )
    assert proc.stdout is not None
    seen: list[str] = []

    def until(text: str) -> str:
        for line in proc.stdout:  # type: ignore[union-attr]
            seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} never came: {''.join(seen)}")

    try:
        assert "to go" in until("soak 10m: all green")
        lab.take_away("lab1", "b")
        restarted = until("soak restarted")
        assert "b flapped (green → regressed" in restarted
        lab.deliver("lab1", "b")
        until("soak 10m: all green")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()
        lab.close()
    assert proc.returncode != 0  # never stable: it was stopped


def test_fleet_report_in_headless_chromium(lab: Lab, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "fleet.html"
    run = lab.mdd("report", "--all", "-o", str(out), "--tz", "UTC", minutes=NOW)
    assert run.code == 0, run.err
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith("file://") else None)
    page.goto(out.as_uri())
    cards = page.locator("article.datacenter")
    found = {
        cards.nth(i).get_attribute("data-datacenter"): (
            cards.nth(i).get_attribute("data-green"),
            cards.nth(i).get_attribute("data-total"),
        )
        for i in range(cards.count())
    }
    assert found == {"ams1": ("17", "17"), "fra1": ("11", "14"), "nyc1": ("12", "14")}
    assert "billing-db" in page.locator("#dc-fra1 .oldest").inner_text()
    assert page.locator("#dc-ams1 svg.burn-up polyline").count() == 1
    owners = page.locator("tr.owner").evaluate_all("els => els.map(e => e.dataset.owner)")
    assert "dba" in owners and "trading" in owners
    path = page.locator("section.lead-times[data-datacenter='ams1'] .critical-path li")
    assert path.evaluate_all("els => els.map(e => e.dataset.point)") == [
        "resolver-ns1",
        "payments-db",
        "payments-vip",
    ]
    assert outside == []
    shot = tmp_path / "fleet.png"
    page.screenshot(path=str(shot), full_page=True)
    artifacts = REPO / "build" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, artifacts / shot.name)
    assert shot.stat().st_size > 10_000
    page.close()


def test_one_datacenter_report_shows_lead_times(lab: Lab, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "ams1.html"
    assert lab.mdd("report", "ams1", "-o", str(out), minutes=NOW).code == 0
    page = browser.new_page()
    page.goto(out.as_uri())
    links = page.locator(".critical-path li").evaluate_all("els => els.map(e => e.dataset.point)")
    assert links == ["resolver-ns1", "payments-db", "payments-vip"]
    assert "Bring-up took 3h20m" in page.locator(".bring-up").inner_text()
    page.close()


assert T0 % 60 == 0
