"""``mdd report``: the HTML page loaded in a real headless Chromium.

The states come from real ``mdd verify`` runs against loopback listeners: one point green,
one regressed (its server stopped), one pending, one blocked behind the pending one.
The screenshot is kept in build/artifacts/ (and the pytest tmp dir) for a human to look at.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import server_missing
from tests.runner.helpers import REPO, free_port, listener, mdd, tcp, write_manifest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        server_missing("chromium (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        server_missing("playwright (pip install playwright)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def verify(folder: Path) -> None:
    mdd("verify", "lab1", "--manifests", str(folder / "manifests"), "--no-color", cwd=folder)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    keep = listener(0)
    stops = listener(0)
    points = [
        tcp(
            "artifact-repo",
            keep.getsockname()[1],
            owner="build-infra",
            docs="https://wiki.example.net/ams1/artifacts",
            description="<b>not bold</b>",
        ),
        tcp("ldap", stops.getsockname()[1], owner="identity"),
        tcp("dns-resolvers", free_port(), owner="netops"),
        tcp("ldap-bind", keep.getsockname()[1], owner="identity", depends_on=["ldap"]),
        tcp("vault", keep.getsockname()[1], owner="security", depends_on=["dns-resolvers"]),
    ]
    write_manifest(tmp_path, points)
    verify(tmp_path)  # 3 green, dns-resolvers pending, vault blocked
    stops.close()
    verify(tmp_path)  # then ldap regressed, ldap-bind blocked behind it
    keep.close()
    out = tmp_path / "lab1.html"
    run = mdd(
        "report", "lab1", "--manifests", str(tmp_path / "manifests"), "-o", str(out), cwd=tmp_path
    )
    assert run.code == 0, run.err
    return out


def test_report_in_headless_chromium(report: Path, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith("file://") else None
        ),
    )
    page.goto(report.as_uri())
    rows = page.locator("tr.point")
    states = {
        rows.nth(i).get_attribute("data-point"): rows.nth(i).get_attribute("data-state")
        for i in range(rows.count())
    }
    assert states == {
        "artifact-repo": "green",
        "ldap": "regressed",
        "dns-resolvers": "pending",
        "ldap-bind": "blocked",
        "vault": "blocked",
    }
    assert page.locator("#summary").inner_text() == (
        "lab1: 1/5 integration points green (20%); 1 regressed, 1 pending, 2 blocked"
    )
    # grouped by owner, each point's reason, docs link and dependency chain
    owners = page.locator("h2.owner").evaluate_all("els => els.map(e => e.dataset.owner)")
    assert owners == ["build-infra", "identity", "netops", "security"]
    assert "refused the connection" in page.locator("#point-ldap .reason").inner_text()
    assert page.locator("#point-vault .reason").inner_text().startswith("blocked by dns-resolvers")
    assert page.locator("#point-artifact-repo a.docs").get_attribute("href") == (
        "https://wiki.example.net/ams1/artifacts"
    )
    assert page.locator("#point-artifact-repo b").count() == 0  # the description is escaped
    assert page.locator("#point-ldap-bind .dep").evaluate_all(
        "els => els.map(e => e.dataset.dep)"
    ) == ["ldap"]
    # the burn-up chart: an inline SVG whose green line went up, then down
    assert page.locator("svg#burn-up polyline.green-line").count() == 1
    dots = page.locator("svg#burn-up circle").evaluate_all(
        "els => els.map(e => [e.textContent, Number(e.getAttribute('cy'))])"
    )
    assert [label for label, _ in dots] == ["3/5", "1/5"]
    assert dots[0][1] < dots[1][1]  # 3 green is drawn higher than 1 green
    assert outside == []  # no external asset: works offline
    shot = tmp_path / "report-lab1.png"
    page.screenshot(path=str(shot), full_page=True)
    artifacts = REPO / "build" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, artifacts / shot.name)
    assert shot.stat().st_size > 10_000
    page.close()


def test_report_without_a_state_file(tmp_path: Path, browser: Any) -> None:
    write_manifest(tmp_path, [tcp("dns", free_port())])
    out = tmp_path / "r.html"
    run = mdd(
        "report", "lab1", "--manifests", str(tmp_path / "manifests"), "-o", str(out), cwd=tmp_path
    )
    assert run.code == 0 and "no state file" in run.err
    page = browser.new_page()
    page.goto(out.as_uri())
    assert page.locator("tr.point").get_attribute("data-state") == "pending"
    assert page.locator("#burn-up-empty").count() == 1
    # No state file was read: the page does not claim to come from one.
    assert ".mdd" not in page.locator("p.muted").first.inner_text()
    assert "Generated" in page.locator("p.muted").first.inner_text()
    page.close()


def test_type_column_and_burn_up_dates_are_readable(tmp_path: Path, browser: Any) -> None:
    port = free_port()
    postgres = {
        "name": "orders-db",
        "type": "postgres",
        "owner": "dba",
        "check": {"host": "127.0.0.1", "port": port, "user": "orders", "timeout": "1s"},
    }
    write_manifest(tmp_path, [postgres, tcp("dns", port)])
    verify(tmp_path)
    out = tmp_path / "r.html"
    run = mdd(
        "report", "lab1", "--manifests", str(tmp_path / "manifests"), "-o", str(out), cwd=tmp_path
    )
    assert run.code == 0, run.err
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(out.as_uri())
    # Each type name stays on one line inside its own cell, left of the reason.
    fits = page.locator("tr.point td:nth-child(3)").evaluate_all(
        """cells => cells.map(td => {
            const range = document.createRange();
            range.selectNodeContents(td);
            const text = range.getBoundingClientRect();
            const reason = td.nextElementSibling.getBoundingClientRect();
            const oneLine = range.getClientRects().length == 1;
            return [td.textContent, text.right <= reason.left && oneLine];
        })"""
    )
    assert fits == [["postgres", True], ["tcp", True]]
    labels = page.locator("svg#burn-up > text").evaluate_all("els => els.map(e => e.textContent)")
    dates = [label for label in labels if not label.isdigit()]
    assert len(dates) == 2, labels
    for label in dates:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", label), labels
    page.close()


def test_report_refuses_a_foreign_state_file(tmp_path: Path) -> None:
    write_manifest(tmp_path, [tcp("dns", free_port())])
    state = tmp_path / "s.json"
    state.write_text(
        json.dumps(
            {"format": "mdd-state", "version": 1, "datacenter": "fra1", "points": {}, "history": []}
        )
    )
    run = mdd(
        "report",
        "lab1",
        "--manifests",
        str(tmp_path / "manifests"),
        "--state",
        str(state),
        "-o",
        str(tmp_path / "r.html"),
        cwd=tmp_path,
    )
    assert run.code == 2 and "'fra1'" in run.err and not (tmp_path / "r.html").exists()


def test_dash_writes_the_page_to_standard_output(tmp_path: Path) -> None:
    """``-o -`` is standard output, as --help says, for one datacenter's page too (it used to
    write a file named ``-``)."""
    write_manifest(tmp_path, [tcp("ldap", free_port(), owner="identity")])
    verify(tmp_path)
    run = mdd("report", "lab1", "--manifests", str(tmp_path / "manifests"), "-o", "-", cwd=tmp_path)
    assert run.code == 0, run.err
    assert run.out.startswith("<!DOCTYPE html>") and "ldap" in run.out
    assert "written" not in run.err
    assert not (tmp_path / "-").exists()
