"""``sidtool report --format html``: the file written, its inputs and time, and the page in a real browser."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sidtool.html_report import render_html
from sidtool.provenance import InputFile, RunInfo
from sidtool.report import build
from sidtool.risk import assess
from tests.support.browser import Browser, chromium, png_size
from tests.support.cli_runner import REPO, run_sidtool
from tests.support.hostile_names import BREAKOUT, SCRIPT, hostile_directory

PERMISSIONS = "examples/corp-forest-pfdavadmin.txt"
FOREST = "examples/corp-forest.ldif"
EXAMPLE = (PERMISSIONS, "--directory", FOREST, "--format", "html")


def _write_example(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "report.html"
    result = run_sidtool("report", *EXAMPLE, "-q", "-o", str(out), *extra)
    assert result.returncode == 1, result.stderr  # the example forest has findings
    assert result.stdout == "" and "Traceback" not in result.stderr
    return out


@pytest.fixture(scope="module")
def example_page(tmp_path_factory) -> Path:
    return _write_example(tmp_path_factory.mktemp("html"))


def test_the_file_names_its_inputs_with_their_hashes_and_the_time_of_the_run(tmp_path):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    document = _write_example(tmp_path).read_text(encoding="utf-8")
    after = datetime.now(timezone.utc)
    inputs = document.split('<section id="inputs">', 1)[1]
    for name in (PERMISSIONS, FOREST):
        data = (REPO / name).read_bytes()
        assert re.search(
            rf"{re.escape(name)}</td><td[^>]*>{len(data)}</td><td[^>]*>{hashlib.sha256(data).hexdigest()}<", inputs
        )
    stamp = re.search(r"Run at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", inputs).group(1)
    assert before <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= after


def test_standard_output_gets_the_same_document_and_view_changes_nothing(tmp_path):
    written = _write_example(tmp_path).read_text(encoding="utf-8")
    for view in ("entries", "senders"):
        result = run_sidtool("report", *EXAMPLE, "-q", "--view", view)
        assert result.returncode == 1, result.stderr
        strip = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")  # the time of the run differs
        assert strip.sub("T", result.stdout) == strip.sub("T", written)


def test_html_is_a_report_format_only():
    result = run_sidtool("lookup", "S-1-5-32-555", "--format", "html")
    assert result.returncode == 2 and "invalid choice: 'html'" in result.stderr


def _chromium() -> str:
    """Chromium's path; the test skips with one line when it is missing, and fails in CI (.ci/run installs it)."""
    executable = chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install --no-install-recommends chromium)")
    return executable


def test_the_example_forest_opens_offline_in_chromium_with_everything_visible(example_page, tmp_path):
    executable = _chromium()
    with Browser(executable, width=1100, height=900) as browser:
        browser.open(example_page.as_uri())
        assert browser.errors() == []  # no console error, no exception, no CSP violation, no failed load
        assert browser.evaluate("document.documentElement.getAttribute('data-script')") == "ran"
        visible = browser.evaluate(_VISIBLE)
        assert visible == {name: True for name in visible} and len(visible) == len(_KEY_ELEMENTS)
        headings = browser.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
        assert headings[:3] == ["Verdict", "Conditions", "What to do"] and "Servers (3)" in headings
        assert browser.evaluate("document.querySelectorAll('figure.route svg').length") == 6
        assert browser.evaluate(_NETWORK) == []  # nothing was fetched: the page is its only resource
        # the script sorts: a click on "Risk" orders a folder's rows low to high
        order = browser.evaluate(
            "(() => { const t = document.querySelector('table.findings'); t.querySelector('th button').click();"
            " return Array.from(t.tBodies[0].rows).map(r => r.cells[0].textContent); })()"
        )
        assert order == sorted(order, key=["medium", "high"].index)
        # and filters: one word hides the findings and the folders without it
        shown = browser.evaluate(
            "(() => { const i = document.querySelector('input.filter'); i.value = 'kowalski';"
            " i.dispatchEvent(new Event('input'));"
            " return Array.from(document.querySelectorAll('#findings tr.filterable'))"
            ".filter(r => !r.hidden && r.offsetParent).length; })()"
        )
        assert shown == 1 + 3  # his own entry, and the three broad ones that name every sender
        screenshot = browser.screenshot()
        assert png_size(screenshot)[0] >= 1000 and png_size(screenshot)[1] > 2000
        (tmp_path / "report.png").write_bytes(screenshot)
    with Browser(executable, width=390, height=844) as phone:  # a phone: the page fits its width
        phone.open(example_page.as_uri())
        assert phone.errors() == []
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert phone.evaluate(_VISIBLE) == {name: True for name in _KEY_ELEMENTS}


def test_hostile_names_run_nothing_in_chromium(tmp_path):
    page = tmp_path / "hostile.html"
    run = RunInfo(datetime.now(timezone.utc), "0.1.0", (InputFile(f"{BREAKOUT}.ldif", "input", note=SCRIPT),))
    page.write_text("".join(render_html(build(assess(hostile_directory())), run)), encoding="utf-8")
    with Browser(_chromium()) as browser:
        browser.open(page.as_uri())
        assert browser.errors() == []
        methods = {event["method"] for event in browser.events}
        assert "Page.javascriptDialogOpening" not in methods  # no alert() ran
        counts = browser.evaluate(
            "[document.scripts.length, document.images.length, document.querySelectorAll('[onerror],[onmouseover]')"
            ".length, document.getElementsByTagName('script')[0].textContent.includes('alert')]"
        )
        assert counts == [1, 0, 0, False]
        shown = browser.evaluate("document.querySelector('#routes figcaption strong').textContent")
        assert shown == SCRIPT  # shown as text, whole


# What the issue asks to be visible: the verdict, actions, findings, routes and servers.
_KEY_ELEMENTS = {
    "verdict": "#verdict .first",
    "actions": "#actions ol.actions li",
    "findings": "#findings table.findings td.risk",
    "routes": "#routes figure.route svg rect",
    "servers": "#servers table td",
    "inputs": "#inputs table td",
}
_VISIBLE = (
    "(() => { const keys = "
    + repr(_KEY_ELEMENTS).replace("'", '"')
    + "; const out = {}; for (const [name, selector] of Object.entries(keys)) {"
    " const e = document.querySelector(selector); if (!e) { out[name] = 'missing'; continue; }"
    " const r = e.getBoundingClientRect(); const s = getComputedStyle(e);"
    " out[name] = r.width > 0 && r.height > 0 && s.visibility === 'visible' && s.display !== 'none'"
    " && Number(s.opacity) > 0; } return out; })()"
)
_NETWORK = "performance.getEntriesByType('resource').map(e => e.name)"
