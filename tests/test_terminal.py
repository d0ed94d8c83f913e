"""What a terminal shows: the scorecard that fits, footnotes, the hidden metrics named;
explain, metrics and validate wrapping instead of cutting; Chinese all the way.

The snapshots under tests/snapshots/ are the text a terminal of that width shows for the
sample month. A change of layout shows in review as a change of those files; to accept
one, run the tests with ``KPI_UPDATE_SNAPSHOTS=1`` and look at the diff.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from collector_kpi import api
from collector_kpi.cli import app
from collector_kpi.explain import explain
from collector_kpi.labels import fair_note_text, issue_text, k_reason_text, note_text, reject_text, resolve_lang
from collector_kpi.metrics import CATALOG, METRICS
from collector_kpi.render import explain_table
from collector_kpi.scoring import Scorecard
from collector_kpi.sources import CANONICAL
from collector_kpi.terminal import card_view, catalog_table, compact_value, note_mark, validation_view

ROOT = Path(__file__).parent.parent
DEFAULT = ROOT / "configs" / "default.yaml"
SNAPSHOTS = Path(__file__).parent / "snapshots"
TABLES = ("cases", "contacts", "reviews", "roster")


@pytest.fixture(scope="module")
def card() -> Scorecard:
    scheme = api.load_scheme(DEFAULT)
    return api.score(scheme, api.load_month(scheme, "2025-03"))


def shown(renderables: list[Any], width: int) -> str:
    """The text a terminal ``width`` cells wide shows, without trailing blanks."""
    from rich.cells import cell_len
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    for renderable in renderables:
        console.print(renderable)
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    too_wide = [line for line in lines if cell_len(line) > width]
    assert not too_wide, too_wide
    return "\n".join(lines) + "\n"


def assert_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("KPI_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with KPI_UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed: KPI_UPDATE_SNAPSHOTS=1 accepts it"


def card_text(card: Scorecard, width: int, lang: str = "en") -> str:
    title = f"{card.scheme.name} · {card.month}"
    view = card_view(card.table("collector"), "collector", list(card.scheme.metrics), title, lang, width)  # type: ignore[arg-type]
    return shown(view.renderables(lang), width)  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [80, 120, 200])
def test_scorecard_snapshot(card: Scorecard, width: int) -> None:
    assert_snapshot(f"score-{width}", card_text(card, width))


def test_explain_snapshot(card: Scorecard) -> None:
    assert_snapshot("explain-80", shown([explain_table(explain(card, "C003"))], 80))


def test_metrics_snapshot() -> None:
    rows = [
        {"id": m.id, "zh": m.zh, "en": m.en, "definition": m.definition, "better": m.better or "scheme decides"}
        | {"needs": "+".join(m.tables)}
        for m in CATALOG
    ]
    assert_snapshot("metrics-80", shown([catalog_table(rows)], 80))


@pytest.fixture
def bad_month(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The sample month with one impossible date, read through relative paths."""
    shutil.copytree(ROOT / "sample_data" / "2025-03", tmp_path / "2025-03")
    cases = tmp_path / "2025-03" / "cases.csv"
    lines = cases.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[2].split(",")
    fields[lines[0].split(",").index("assigned_date")] = "2025-02-30"
    lines[2] = ",".join(fields)
    cases.write_text("".join(lines), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    files = {"cases": "cases.csv", "contacts": "contacts.parquet", "reviews": "reviews.csv", "roster": "roster.csv"}
    return {table: [f"2025-03/{name}"] for table, name in files.items()}


def test_validate_snapshot(bad_month: dict[str, Any]) -> None:
    report = api.validate(api.load_scheme(DEFAULT), "2025-03", bad_month)
    assert not report.valid  # the impossible date is rejected
    assert_snapshot("validate-80", shown(validation_view(report), 80))


def test_narrow_card_keeps_lead_and_names_hidden_metrics(card: Scorecard) -> None:
    metric_ids = list(card.scheme.metrics)
    view = card_view(card.table("collector"), "collector", metric_ids, "card", "en", 80)
    headers = [column.header for column in view.table.columns]
    assert headers[:7] == ["#", "ID", "Name", "Team", "Score", "Grade", "Bonus"]
    assert 0 < len(headers) - 7 < len(metric_ids)  # some metrics fit, not all
    assert view.hidden == metric_ids[len(headers) - 7 :]
    text = card_text(card, 80)
    assert f"{len(view.hidden)} metric(s) not shown: {', '.join(view.hidden)}; --wide shows all" in " ".join(
        text.split("\n")
    )


def test_wide_enough_card_hides_nothing(card: Scorecard) -> None:
    assert card_view(card.table("collector"), "collector", list(card.scheme.metrics), "t", "en", None).hidden == []
    assert "not shown" not in card_text(card, 200)


def test_notes_are_footnotes(card: Scorecard) -> None:
    text = card_text(card, 80)
    # C012 holds no case: its rank cell carries a mark, the note is under the table.
    row = next(line for line in text.splitlines() if " C012 " in line)
    mark = row.split()[0].removeprefix("—")
    assert mark and f"\n{mark} no cases in the month" in text
    assert "Note" not in text


def test_note_marks() -> None:
    assert [note_mark(n) for n in (1, 2, 10)] == ["¹", "²", "¹⁰"]


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("recovery_rate", 0.2481, "24.8%"),
        ("recovered_amount", 398_342.04, "398.3k"),
        ("recovered_amount", 1_607_883.81, "1.61M"),
        ("recovered_amount", 9_999.4, "9,999"),
        ("handling_days", 12.34, "12.3"),
        ("case_count", 1234, "1,234"),
        ("recovery_rate", None, "—"),
    ],
)
def test_compact_value(metric: str, value: Any, expected: str) -> None:
    assert compact_value(metric, value) == expected


def test_columns_picks_metrics() -> None:
    args = ["score", "-m", "2025-03", "-c", str(DEFAULT), "--columns", "visit_rate,recovery_rate"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[1].split()
    assert header[-2:] == ["Visit", "Rec.%"]


def test_columns_unknown_metric_is_an_error() -> None:
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(DEFAULT), "--columns", "recovery"])
    assert result.exit_code == 2
    assert "--columns: recovery is not a metric of this scheme" in result.stderr


def test_jsonl_one_object_per_row() -> None:
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(DEFAULT), "-f", "jsonl"])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    whole = json.loads(CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(DEFAULT), "-f", "json"]).stdout)
    assert rows == whole and len(rows) == 30


def test_note_text_zh() -> None:
    note = "inactive on the roster; 8 cases < min_cases 20; gate: 违规 > 0"
    assert note_text(note, "zh") == "花名册上已停用; 案件 8 件 < min_cases 20; 触发规则: 违规 > 0"
    assert note_text(note, "en") == note


def test_fair_note_text_zh_knows_every_wording() -> None:
    import polars as pl

    from collector_kpi.fairness import WORDINGS, explanation

    frame = pl.DataFrame(
        {"observed": [12.0, 3.0], "expected": [10.0, 0.0], "oe_ratio": [1.2, None], "credibility": [0.6, 0.2]}
    ).with_columns(provisional=pl.Series([False, True]))
    for metric_id, wording in WORDINGS.items():
        for prior in ("the company average", "your team's average"):
            words = frame.select(explanation(wording, prior=prior, provisional=True))["explanation"].to_list()
            zh = [fair_note_text(note, "zh") for note in words]
            assert [english_words(note, set()) for note in zh] == [[], []], (metric_id, zh)
            assert "12" in zh[0] and "(×1.20)" in zh[0] and "60 %" in zh[0] and "40 %" in zh[0]
            assert "暂定" in zh[1] and "暂定" not in zh[0]
            assert fair_note_text(words[0], "en") == words[0]


def test_k_reason_text_zh() -> None:
    reasons = {
        "K = 50 is set in the scheme": "K = 50, 由方案设定",
        "K = auto could not be estimated (only 3 collectors have an expected value; Bühlmann–Straub needs 5), "
        "so K = 0.25 × the median expected value = 1,234: the median collector's own result counts 80 %": (
            "K = auto 无法估计(只有 3 名催收员有预期值; Bühlmann–Straub 方法需要 5 名), "
            "所以 K = 0.25 × 预期值的中位数 = 1,234: 中位催收员本人的结果占 80 %"
        ),
    }
    assert {reason: k_reason_text(reason, "zh") for reason in reasons} == reasons
    assert k_reason_text("K = 50 is set in the scheme", "en") == "K = 50 is set in the scheme"


def test_reject_text_zh() -> None:
    described = "a.csv row 4: overdue_amount: not a number (value 'x'; expected a number such as 1234.56)"
    assert reject_text(described, "zh") == "a.csv 第 4 行: overdue_amount: 不是数字 (值 'x'; 应为数字, 如 1234.56)"


def test_issue_text_zh(bad_month: dict[str, Any]) -> None:
    report = api.validate(api.load_scheme(DEFAULT), "2025-03", bad_month)
    error = next(issue for issue in report.issues if issue.severity == "error")
    expected = "1 个单元格被拒绝: assigned_date: 不是日期 (第 3 行: '2025-02-30'; 应为日期"
    assert issue_text(error, "zh").startswith(expected)
    assert issue_text(error, "en") == error.message


@pytest.mark.parametrize(("environ", "lang"), [({"LANG": "C"}, "en"), ({"LC_ALL": "POSIX"}, "en"), ({}, "en")])
def test_c_locale_is_english(environ: dict[str, str], lang: str) -> None:
    assert resolve_lang(None, environ) == lang


def test_c_locale_headers_are_english_labels() -> None:
    env = {"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""}
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(DEFAULT)], env=env)
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[1].split()
    assert header[:7] == ["#", "ID", "Name", "Team", "Score", "Grade", "Bonus"]
    assert not set(header) & set(METRICS)  # short labels, not ids


def test_scheme_lang_is_the_default(tmp_path: Path) -> None:
    scheme = tmp_path / "zh.yaml"
    text = DEFAULT.read_text(encoding="utf-8").replace("../sample_data", str(ROOT / "sample_data"))
    scheme.write_text(text + "\nlang: zh\n", encoding="utf-8")
    env = {"LANG": "en_US.UTF-8", "LC_ALL": ""}
    out = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme)], env=env).stdout
    assert "得分" in out.splitlines()[1]
    out = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme), "--lang", "en"], env=env).stdout
    assert "Score" in out.splitlines()[1]


# ------------------------------------------------------------------ Chinese all the way

UNITS = {"pp"}


def english_words(text: str, allowed: set[str]) -> list[str]:
    """Words of three letters or more that are not an id, a path, an option or a unit."""
    text = re.sub(r"\S*/\S*", " ", text)  # paths, and fractions like 21/27
    text = re.sub(r"--[\w-]+|\[[\w-]+\]", " ", text)  # options, issue slugs
    text = re.sub(r"%[A-Za-z]", " ", text)  # date formats: %Y-%m-%d
    words = re.findall(r"[A-Za-z][\w.]*", text)
    return [w for w in words if w.strip(".") not in allowed and re.search(r"[A-Za-z]{3,}", w)]


def allowed_words(card: Scorecard) -> set[str]:
    words = set(METRICS) | set(TABLES) | {c for table in CANONICAL.values() for c in table} | UNITS
    words |= {"kpi", "explain", "min_cases", "min_contacts", "min_volume", "inputs.cases.formats"}
    words |= {f"inputs.{table}.formats.{column}" for table, columns in CANONICAL.items() for column in columns}
    words |= set(re.findall(r"\w+", card.scheme.name))  # data: the scheme's own name …
    for gate in card.scheme.gates:  # … and the reasons it gives its gates
        words |= set(re.findall(r"\w+", gate.describe()))
    return words


def test_zh_outputs_have_no_english_words(card: Scorecard, bad_month: dict[str, Any]) -> None:
    allowed = allowed_words(card)
    env = {"LANG": "zh_CN.UTF-8", "LC_ALL": ""}
    scheme = str(DEFAULT)
    outputs = {}
    for name, args in {
        "score": ["score", "-m", "2025-03", "-c", scheme],
        "score team": ["score", "-m", "2025-03", "-c", scheme, "--level", "team"],
        "score compared": ["score", "-m", "2025-03", "-c", scheme, "--compare", "previous"],
        "explain": ["explain", "C003", "-m", "2025-03", "-c", scheme],
        "explain ineligible": ["explain", "C030", "-m", "2025-03", "-c", scheme],
        "explain compared": ["explain", "C003", "-m", "2025-03", "-c", scheme, "--compare", "previous"],
        "validate": [
            "validate",
            "-m",
            "2025-03",
            "-c",
            scheme,
            *(part for table, paths in bad_month.items() for part in (f"--{table}", paths[0])),
        ],
    }.items():
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == (1 if name == "validate" else 0), result.stderr
        outputs[name] = result.stdout + result.stderr
    narrow = card_text(card, 80, "zh")
    assert "另有" in narrow  # the hidden-metrics line, in Chinese
    outputs["narrow card"] = narrow
    found = {name: english_words(text, allowed) for name, text in outputs.items()}
    assert found == {name: [] for name in outputs}


class VisibleText(HTMLParser):
    """The text a reader of a page sees: text nodes and tooltips, not tags, styles or scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.hidden += 1
        self.parts += [value for name, value in attrs if name in ("title", "alt", "aria-label") and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def page_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return "\n".join(parser.parts)


def workbook_text(path: Path) -> dict[str, str]:
    """Every sheet's string cells, by sheet name, the sheet's name first. Two columns are
    left out: the scheme sheet's English names (a column of English names by design, beside
    the Chinese ones) and the manifest's values (the audit record, JSON as in its file)."""
    import openpyxl

    out = {}
    for sheet in openpyxl.load_workbook(path).worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        skip = {rows[0].index(header) for header in ("英文名", "数值") if header in rows[0]}
        cells = [cell for row in rows for i, cell in enumerate(row) if isinstance(cell, str) and i not in skip]
        out[sheet.title] = "\n".join([sheet.title, *cells])
    return out


def fair_scheme(tmp_path: Path) -> Path:
    """The default scheme with case-mix and shrunk fair values (money and count rates)."""
    text = DEFAULT.read_text(encoding="utf-8").replace("../sample_data", str(ROOT / "sample_data"))
    for metric, extra in {
        "recovery_rate": "adjust: {segments: [dpd_bucket]}\n    shrink: {k: auto, min_volume: 300000}",
        "call_connect_rate": "shrink: {k: 50, toward: team, min_volume: 100}",
    }.items():
        text, found = re.subn(rf"(\n  {metric}:[^\n]*\n    weight: [^\n]*\n)", rf"\1    {extra}\n", text)
        assert found == 1, metric
    path = tmp_path / "fair.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_zh_report_and_workbook_have_no_english_words(card: Scorecard, tmp_path: Path) -> None:
    from collector_kpi.scheme import Params
    from collector_kpi.sources import ALL_OUTCOMES, OUTCOMES

    allowed = allowed_words(card) | set(ALL_OUTCOMES) | set(OUTCOMES)  # the data's codes …
    allowed |= {f"params.{name}" for name in Params.model_fields} | {f"{t}.{c}" for t in TABLES for c in CANONICAL[t]}
    allowed |= {"auto", "Bühlmann", "Straub"}  # … the scheme's K = auto and the method's name
    env = {"LANG": "zh_CN.UTF-8", "LC_ALL": ""}
    scheme = str(fair_scheme(tmp_path))
    outputs: dict[str, str] = {}
    for name, args in {
        "report": ["report", "-m", "2025-03", "-c", scheme, "--compare", "previous", "-o", str(tmp_path / "r.html")],
        "xlsx": ["score", "-m", "2025-03", "-c", scheme, "--compare", "previous", "-o", str(tmp_path / "c.xlsx")],
        "csv": ["score", "-m", "2025-03", "-c", scheme, "-o", str(tmp_path / "c.csv")],
        "explain fair": ["explain", "C003", "-m", "2025-03", "-c", scheme],
        "explain fair markdown": ["explain", "C030", "-m", "2025-03", "-c", scheme, "--format", "markdown"],
        "markdown": ["score", "-m", "2025-03", "-c", scheme, "--format", "markdown"],
        "metrics": ["metrics"],
        "metrics markdown": ["metrics", "--format", "markdown"],
    }.items():
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 0, result.stderr
        outputs[name] = result.stdout + result.stderr
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    outputs["report page"] = page_text(page)
    assert "回款率" in outputs["report page"] and "<td" not in outputs["report page"]
    for sheet, cells in workbook_text(tmp_path / "c.xlsx").items():
        outputs[f"sheet {sheet}"] = cells
    assert len(outputs) == 8 + 1 + 4  # four sheets
    assert "可信度收缩" in outputs["report"] and "本人回收" in outputs["explain fair"]  # the fair scores' words
    assert "已写入" in outputs["xlsx"]
    c_locale = {"LANG": "C", "LC_ALL": ""}
    assert "指标目录" in CliRunner().invoke(app, ["metrics", "--lang", "zh"], env=c_locale).stdout
    assert "Metric catalog" in CliRunner().invoke(app, ["metrics"], env=c_locale).stdout
    # the tool's own name and version in the report's footer
    found = {name: english_words(text.replace("collector-kpi", ""), allowed) for name, text in outputs.items()}
    assert found == {name: [] for name in outputs}


def test_english_word_finder_finds_english() -> None:
    assert english_words("得分 score · 排名 9/27 --wide recovery_rate", {"recovery_rate"}) == ["score"]
