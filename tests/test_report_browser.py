"""The HTML report in a real browser: headless Chromium loads it offline with its charts.

Needs Debian's ``chromium`` (and a CJK font such as ``fonts-wqy-microhei`` for the
screenshot to show the Chinese names); skipped with the reason when it is not installed.

No request may leave the machine: Chromium runs with every host name mapped to "not found"
(so nothing could leave even if the page asked) and writes a net log, in which the test
looks for any request the *page* made (Chromium's own background requests, which the
resolver rule also stops, are told apart by their initiator). A positive control — a page
with an external style sheet and image — proves the check sees such requests.

The report is also printed to PDF (every scorecard column must be on the page: read back
with ``pdftotext`` from poppler-utils, skipped with the reason without it) and laid out at
a phone's width, 390 px, where no text may be drawn smaller than 10 px.

The README's screenshot is drawn by ``make docs`` (docs/make_screenshot.py, whose browser
flags these checks share); ``REPORT_SCREENSHOT=docs/report.png pytest tests/test_report_browser.py``
also keeps the screenshot of the test.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from collector_kpi import load_month, load_scheme, score
from collector_kpi.report import render_html
from collector_kpi.scoring import Scorecard

ROOT = Path(__file__).resolve().parents[1]


def _screenshot_script() -> Any:
    """docs/make_screenshot.py (`make docs`), which holds the browser's flags for both."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_screenshot", ROOT / "docs" / "make_screenshot.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


SCRIPT = _screenshot_script()
CANDIDATES: tuple[str, ...] = SCRIPT.BROWSERS
FLAGS: tuple[str, ...] = (*SCRIPT.FLAGS, "--net-log-capture-mode=Default")


def chromium() -> str:
    found = SCRIPT.find_browser()
    if found:
        return str(found)
    pytest.skip(
        "chromium not installed: `apt-get install -y chromium fonts-wqy-microhei` to run the browser check "
        f"(looked for {', '.join(CANDIDATES)} and chromium on PATH)"
    )


@cache
def sample(month: str) -> Scorecard:
    scheme = load_scheme(ROOT / "configs" / "default.yaml")
    return score(scheme, load_month(scheme, month))


def run(browser: str, page: Path, tmp: Path, name: str, *extra: str) -> tuple[str, list[str]]:
    """Load ``page``; return Chromium's stdout and the URLs the page itself requested."""
    netlog = tmp / f"{name}.netlog.json"
    profile = tmp / f"{name}.profile"
    command = [
        browser,
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--log-net-log={netlog}",
        *extra,
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, page_requests(netlog)


def page_requests(netlog: Path) -> list[str]:
    """URLs of network requests a page started (not Chromium's own background traffic)."""
    raw = netlog.read_text(encoding="utf-8")
    try:
        log: dict[str, Any] = json.loads(raw)
    except json.JSONDecodeError:  # a log cut short still lists its events
        log = json.loads(raw.rstrip().rstrip(",") + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls: list[str] = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start or "url" not in params:
            continue
        from_page = params.get("initiator") != "not an origin" or "file://" in str(params.get("network_isolation_key"))
        if from_page:
            urls.append(params["url"])
    return urls


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """March against February with Chinese labels."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(sample("2025-03"), sample("2025-02"), lang="zh"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report_en(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same with English labels (the names stay Chinese): the README's screenshot."""
    path = tmp_path_factory.mktemp("report") / "report-en.html"
    path.write_text(render_html(sample("2025-03"), sample("2025-02"), lang="en"), encoding="utf-8")
    return path


def test_the_check_sees_external_requests(tmp_path: Path) -> None:
    browser = chromium()
    page = tmp_path / "external.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<link rel="stylesheet" href="https://cdn.example.com/x.css"></head>'
        '<body><img src="http://example.invalid/x.png">hi</body></html>',
        encoding="utf-8",
    )
    _, requests = run(browser, page, tmp_path, "control", "--dump-dom")
    assert "https://cdn.example.com/x.css" in requests
    assert "http://example.invalid/x.png" in requests


def test_report_loads_offline_with_its_charts(report: Path, tmp_path: Path) -> None:
    browser = chromium()
    dom, requests = run(browser, report, tmp_path, "dom", "--dump-dom")
    assert requests == []
    card = sample("2025-03")
    people = card.table().filter(pl.col("rank").is_not_null())
    # the parsed page, as the browser built it
    assert "<title>" in dom and "催收员考核报告" in dom
    assert dom.count("<svg") == 6
    assert dom.count('class="rank-bar"') == people.height
    assert dom.count('class="team-bar"') == 4
    assert dom.count('class="hm-cell"') == people.height * len(card.scheme.metrics)
    assert dom.count('class="move-bar"') > 0
    assert "C001 李娜" in dom and "回款率" in dom
    assert not re.search(r"\s(?:src|href|srcset|action|poster)\s*=", dom)
    assert "http://" not in dom and "https://" not in dom


def test_report_screenshot(report_en: Path, tmp_path: Path) -> None:
    browser = chromium()
    shot = tmp_path / "report.png"
    _, requests = run(browser, report_en, tmp_path, "shot", f"--screenshot={shot}", "--window-size=1280,1700")
    assert requests == []
    assert png_size(shot) == (1280, 1700)
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few KB
    keep = os.environ.get("REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_make_docs_draws_the_readme_picture(tmp_path: Path) -> None:
    """`make docs` (docs/make_screenshot.py) draws the README's picture from the current code."""
    chromium()
    shot = tmp_path / "report.png"
    SCRIPT.main(shot)
    assert png_size(shot) == png_size(ROOT / "docs" / "report.png") == (1280, 1700)
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few KB
    assert "![The HTML report for the sample month](docs/report.png)" in (ROOT / "README.md").read_text("utf-8")
    assert "docs/make_screenshot.py" in (ROOT / "Makefile").read_text("utf-8")


def pdftotext() -> str:
    found = shutil.which("pdftotext")
    if found is None:
        pytest.skip("pdftotext not installed: `apt-get install -y poppler-utils` to check the printed report")
    return found


def scorecard_headers(page: str) -> list[str]:
    """The text of every column header of the scorecard table (a label and, in small, the other language's)."""
    section = page[page.index('<section id="scorecard">') :]
    head = section[section.index("<thead>") : section.index("</thead>")]
    texts: list[str] = []
    for cell in re.findall(r"<th[^>]*>(.*?)</th>", head):
        texts += [html.unescape(re.sub(r"<[^>]+>", "", part)) for part in cell.split("<small>")]
    return [t for t in texts if t]


def squeeze(value: str) -> str:
    return re.sub(r"\s+", "", value)


@pytest.mark.parametrize("fixture", ["report", "report_en"])
def test_printed_report_has_every_scorecard_column(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    browser, reader = chromium(), pdftotext()
    page: Path = request.getfixturevalue(fixture)
    pdf = tmp_path / "report.pdf"
    _, requests = run(browser, page, tmp_path, "pdf", f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert requests == []
    done = subprocess.run([reader, "-raw", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True)
    printed = squeeze(done.stdout)
    headers = scorecard_headers(page.read_text(encoding="utf-8"))
    assert len(headers) >= 2 * 11 + 8  # rank … note, and each metric in both languages
    missing = [h for h in headers if squeeze(h) not in printed]
    assert missing == [], f"cut off the printed page: {missing}"


MEASURE = """<script>
(function () {
  var least = Infinity, where = "";
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    var node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || el.closest("title, script, style")) continue;
    var size = parseFloat(getComputedStyle(el).fontSize);
    var svg = el.closest("svg");
    if (svg) { var m = svg.getScreenCTM(); size *= Math.hypot(m.a, m.b); }
    if (size < least) { least = size; where = el.tagName + ": " + node.textContent.trim().slice(0, 40); }
  }
  parent.postMessage({least: least, where: where, width: document.documentElement.scrollWidth,
                      viewport: innerWidth}, "*");
})();
</script>"""
# NOTE: headless Chromium opens no window narrower than 500 px; a 390 px frame is a phone's
# viewport (media queries and layout follow the frame), and the page inside reports back.
PHONE = """<!DOCTYPE html><html><body><script>
addEventListener("message", function (e) { document.body.setAttribute("data-measured", JSON.stringify(e.data)); });
</script><iframe src="measured.html" style="width:390px;height:844px;border:0"></iframe></body></html>"""


def test_phone_width_text_is_never_below_10px(report: Path, tmp_path: Path) -> None:
    browser = chromium()
    (tmp_path / "measured.html").write_text(
        report.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8"
    )
    phone = tmp_path / "phone.html"
    phone.write_text(PHONE, encoding="utf-8")
    dom, requests = run(browser, phone, tmp_path, "phone", "--dump-dom", "--virtual-time-budget=5000")
    assert requests == []
    found = json.loads(html.unescape(re.search(r'data-measured="([^"]*)"', dom).group(1)))  # type: ignore[union-attr]
    assert found["viewport"] == 390
    assert found["least"] >= 10.0, found["where"]
    # the charts scroll sideways in their boxes; the page itself fits the phone
    assert found["width"] <= 390
