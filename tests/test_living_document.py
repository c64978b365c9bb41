"""`mdd docs`: the living document, in Markdown and in HTML (checked in headless Chromium)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mdd.cli import main
from mdd.living import document, read_state
from mdd.living.describe import describe
from mdd.living.state import StateError
from mdd.manifest import load
from mdd.manifest.locate import bundled_dir

EXAMPLES = bundled_dir()
assert EXAMPLES is not None
ARTIFACTS = Path(os.environ.get("MDD_ARTIFACTS", Path(__file__).parent / "artifacts"))
CHROMIUM = Path("/usr/bin/chromium")


def _entry(state: str, first_green: str | None, last_change: str, reason: str) -> dict[str, Any]:
    return {
        "state": state,
        "first_green": first_green,
        "last_change": last_change,
        "blocked_by": ["resolver-ns1"] if state == "blocked" else [],
        "last_result": {"status": 0 if state == "green" else 2, "reason": reason,
                        "checked_at": last_change, "duration": 0.01},
    }  # fmt: skip


STATE = {  # the format of mdd.runner.states.StateFile, as `mdd verify` writes it
    "format": "mdd-state",
    "version": 1,
    "datacenter": "ams1",
    "created": "2026-12-02T09:00:00Z",
    "updated": "2026-12-02T11:00:00Z",
    "points": {
        "artifact-repo": _entry("green", "2026-12-02T10:04:31Z", "2026-12-02T10:04:31Z", "OK"),
        "vault-cert": _entry(
            "regressed",
            "2026-12-02T10:00:00Z",
            "2026-12-02T11:00:00Z",
            "vault.ams1.example.net:8200: certificate has expired",
        ),
        "resolver-ns1": _entry("pending", None, "2026-12-02T09:00:00Z", "refused"),
        "payments-vip": _entry("blocked", None, "2026-12-02T09:00:00Z", "blocked by resolver-ns1"),
        "unknown-point": _entry("green", "2026-12-02T09:00:00Z", "2026-12-02T09:00:00Z", "OK"),
    },
    "history": [],
}


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "ams1.json"
    path.write_text(json.dumps(STATE))
    return path


def test_markdown_has_every_point_grouped_by_owner_and_the_graph() -> None:
    manifest = load(EXAMPLES / "ams1.yaml")
    text = document(manifest, "md")
    owners = re.findall(r"^## (.+)$", text, re.M)
    assert owners == [
        "Dependencies", "Teams", "access", "build-infra", "dba", "dns", "identity",
        "messaging", "netops", "security", "storage",
    ]  # fmt: skip
    for point in manifest.points:
        section = text.split(f"### {point.name}\n", 1)[1].split("\n### ", 1)[0]
        assert point.description is not None and point.description in section
        # The words as Markdown escapes them (mdd.living.markdown): \_ \* \> ...
        assert re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", describe(point)) in section
        assert f"`mdd_ams1_{point.name}` runs `check-mdd-{point.type}`" in section
        if point.docs:
            assert f"<{point.docs}>" in section
    mermaid = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert "p_resolver_ns1 --> p_payments_db" in mermaid
    assert "p_payments_db --> p_payments_vip" in mermaid
    assert "p_egress_proxy --> p_egress_paste_denied" in mermaid
    edges = sum(len(p.depends_on) for p in manifest.points)
    assert mermaid.count(" --> ") == edges == 11
    assert "State:" not in text  # no state file: no state column


def test_markdown_with_state(state_file: Path) -> None:
    result = CliRunner().invoke(main, ["docs", "ams1", "--state", str(state_file)])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "1 of 17 green (5%)" in text  # rounded down, as verify and report
    repo = text.split("### artifact-repo\n", 1)[1]
    assert "- **State:** 🟢 green since 2026-12-02 10:04 UTC" in repo
    vault = text.split("### vault-cert\n", 1)[1]
    assert (
        "🔴 regressed (first green 2026-12-02 10:00 UTC), last change 2026-12-02 11:00 UTC" in vault
    )
    assert "- **Reason:** vault.ams1.example.net:8200: certificate has expired" in vault
    payments = text.split("### payments-vip\n", 1)[1]
    assert "⚪ blocked" in payments
    assert "🟠 pending" in text.split("### resolver-ns1\n", 1)[1]
    assert "not run yet" in text.split("### ldap\n", 1)[1]
    assert "classDef regressed" in text and "class p_vault_cert regressed" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "the state file is not valid JSON"),
        ("[1, 2]", 'is not an mdd state file (no "format": "mdd-state")'),
        ('{"points": {}}', 'is not an mdd state file (no "format": "mdd-state")'),
        ('{"format": "mdd-state", "version": 9}', "of version 9"),
        (
            '{"format": "mdd-state", "version": 1, "datacenter": "fra1", "points": {}, '
            '"history": []}',
            "holds the state of datacenter 'fra1', not 'ams1'",
        ),
        (
            '{"format": "mdd-state", "version": 1, "datacenter": "ams1", "points": 3, '
            '"history": []}',
            "is a damaged mdd state file",
        ),
        (None, "does not exist: run `mdd verify ams1` first"),
    ],
)
def test_a_bad_state_file_is_a_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "state.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(StateError, match=re.escape(message)):
        read_state(path, "ams1")
    result = CliRunner().invoke(main, ["docs", "ams1", "--state", str(path)])
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr
    assert content is None or path.read_text() == content  # never rewritten


def test_a_fifo_as_state_file_is_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    os.mkfifo(path)
    with pytest.raises(StateError, match="is not a file"):
        read_state(path, "ams1")


def test_docs_writes_a_file_atomically(tmp_path: Path) -> None:
    out = tmp_path / "ams1.md"
    result = CliRunner().invoke(main, ["docs", "ams1", "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text() == document(load(EXAMPLES / "ams1.yaml"), "md")


def test_no_secret_reference_value_leaks(tmp_path: Path) -> None:
    dc = tmp_path / "dc1.yaml"
    dc.write_text(
        "datacenter: dc1\nintegration_points:\n  - name: api\n    type: http\n"
        "    check:\n      url: https://api.example.net/\n"
        "      secret_headers: {Authorization: /etc/sensu/mdd/api-token}\n"
    )
    text = document(load(dc), "html")
    assert "sending headers read from Authorization=/etc/sensu/mdd/api-token" in text


# --------------------------------------------------------------------------- HTML in Chromium


def _browser() -> Any:
    from tests.conftest import server_missing

    if not CHROMIUM.is_file():
        server_missing("chromium (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # a test extra: .ci/run installs it
        server_missing("playwright (pip install -e '.[test]')")
    return sync_playwright()


@pytest.mark.timeout(120)
def test_html_document_in_headless_chromium(tmp_path: Path, state_file: Path) -> None:
    page_file = tmp_path / "ams1.html"
    result = CliRunner().invoke(
        main, ["docs", "ams1", "--format", "html", "--state", str(state_file), "-o", str(page_file)]
    )
    assert result.exit_code == 0, result.stderr
    html = page_file.read_text()
    assert not re.search(r"""(src|href)=["']https?://(?!wiki\.example\.net)""", html)
    assert "<script" not in html and "<link" not in html
    manifest = load(EXAMPLES / "ams1.yaml")
    requests: list[str] = []
    with _browser() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            assert page.title() == "ams1: integration points"
            points = page.eval_on_selector_all(
                "section.point",
                "els => els.map(e => [e.dataset.point, e.dataset.owner, e.dataset.state,"
                " e.querySelector('.checked').textContent])",
            )
            assert [p[0] for p in points] == sorted(
                (p.name for p in manifest.points), key=lambda n: (
                    next(q.owner for q in manifest.points if q.name == n),
                    [q.name for q in manifest.points].index(n),
                ),
            )  # fmt: skip
            by_name = {p[0]: p for p in points}
            assert by_name["artifact-repo"][2] == "green"
            assert by_name["vault-cert"][2] == "regressed"
            assert by_name["ldap"][2] == ""
            for point in manifest.points:
                assert by_name[point.name][1] == point.owner
                assert by_name[point.name][3] == describe(point)
            teams = page.eval_on_selector_all(
                "section.team", "els => els.map(e => e.dataset.owner)"
            )
            assert teams == sorted({p.owner for p in manifest.points if p.owner})
            # The graph: one node per point, one edge per dependency, drawn on the page.
            nodes = page.eval_on_selector_all(
                "svg.graph g.node", "els => els.map(e => [e.dataset.point, e.dataset.state])"
            )
            assert sorted(n[0] for n in nodes) == sorted(p.name for p in manifest.points)
            edges = page.eval_on_selector_all(
                "svg.graph path.edge", "els => els.map(e => [e.dataset.from, e.dataset.to])"
            )
            assert sorted(map(tuple, edges)) == sorted(
                (d, p.name) for p in manifest.points for d in p.depends_on
            )
            assert ("payments-db", "payments-vip") in map(tuple, edges)
            box = page.locator("svg.graph").bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100
            fill = page.eval_on_selector(
                'g.node[data-point="vault-cert"] rect', "e => getComputedStyle(e).fill"
            )
            assert fill == "rgb(251, 213, 213)"  # regressed
            state = page.locator("#point-vault-cert .state").inner_text()
            assert state.startswith("regressed")
            page.click('svg.graph a[href="#point-payments-vip"]')
            assert page.evaluate("location.hash") == "#point-payments-vip"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "living-document-ams1.png"), full_page=True)
        finally:
            browser.close()
    assert all(url.startswith(("file://", "about:")) for url in requests), requests
    assert (ARTIFACTS / "living-document-ams1.png").stat().st_size > 10_000


def test_the_html_template_writes_every_text_through_printable() -> None:
    """templates/living.html.j2: each ``{{ }}`` is a text through ``printable`` (control
    characters as escapes, quotes escaped as the page always wrote them), an anchor (a slug),
    a count, or markup made here (the graph, the macros)."""
    template = Path(__file__).resolve().parents[1] / "templates" / "living.html.j2"
    expressions = re.findall(r"\{\{(.*?)\}\}", template.read_text(encoding="utf-8"), re.S)
    made_here = {"graph", "links(p.entry.point.depends_on)", "links(p.entry.needed_by)", "point(p)"}
    unfiltered = [
        e.strip()
        for e in expressions
        if not e.strip().endswith(("|printable", "|anchor", "|length"))
        and e.strip() not in made_here
    ]
    assert expressions and not unfiltered, unfiltered
