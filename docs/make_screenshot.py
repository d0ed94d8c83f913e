"""Regenerate docs/report.png, the README's picture of the HTML report, from the current code.

Writes the sample month's report (``kpi report --month 2025-03 --compare previous``, English
labels) to a temporary folder and photographs it with headless Chromium at 1280 × 1700, with
the network shut off (the report needs none). Run from the repository root: ``make docs``.
Needs Debian's ``chromium`` and a CJK font (``apt-get install -y chromium fonts-wqy-microhei``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "report.png"
BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
WINDOW = "1280,1700"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def find_browser() -> str | None:
    """Debian's chromium, or a chromium on the PATH; None when there is none."""
    for candidate in BROWSERS:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def browser() -> str:
    found = find_browser()
    if found is None:
        sys.exit("chromium not found: apt-get install -y chromium fonts-wqy-microhei")
    return found


def main(target: Path = TARGET) -> None:
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report.html"
        report = ["report", "--month", "2025-03", "--compare", "previous", "--lang", "en", "--output", str(page)]
        subprocess.run([sys.executable, "-m", "collector_kpi", *report], cwd=ROOT, check=True)
        shot = Path(folder) / "report.png"
        command = [
            browser(),
            *FLAGS,
            f"--user-data-dir={Path(folder) / 'profile'}",
            f"--screenshot={shot}",
            f"--window-size={WINDOW}",
            page.as_uri(),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=180)
        shutil.copyfile(shot, target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
