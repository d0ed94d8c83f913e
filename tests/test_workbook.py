"""The xlsx workbook round-trips: polars reads back the numbers ``--format csv`` gives."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from collector_kpi import load_month, load_scheme, score
from collector_kpi.compare import compare
from collector_kpi.errors import OutputError
from collector_kpi.render import to_csv
from collector_kpi.scoring import Scorecard
from collector_kpi.workbook import manifest_frame, scheme_frame, sheet_name, write_xlsx, xlsx_bytes

pytest.importorskip("xlsxwriter")
pytest.importorskip("fastexcel")

ROOT = Path(__file__).resolve().parents[1]


@cache
def sample(month: str) -> Scorecard:
    scheme = load_scheme(ROOT / "configs" / "default.yaml")
    return score(scheme, load_month(scheme, month))


def numeric(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(c for c, dtype in frame.schema.items() if dtype.is_numeric())


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    card = sample("2025-03")
    path = tmp_path_factory.mktemp("xlsx") / "card.xlsx"
    manifest = {
        "month": "2025-03",
        "scheme": card.scheme.name,
        "inputs": ["cases.csv", "contacts.parquet"],
        "rows": 3016,
    }
    tables = {"collector": card.table("collector"), "team": card.table("team")}
    write_xlsx(path, tables, card.scheme, floor=card.floor, manifest=manifest)
    return path


def test_sheets(workbook: Path) -> None:
    with zipfile.ZipFile(workbook) as archive:
        book = archive.read("xl/workbook.xml").decode()
    names = [n for n in ("collectors", "teams", "scheme", "manifest") if f'name="{n}"' in book]
    assert names == ["collectors", "teams", "scheme", "manifest"]


@pytest.mark.parametrize("level", ["collector", "team"])
def test_round_trip_equals_the_table_to_the_last_bit(workbook: Path, level: str) -> None:
    expected = sample("2025-03").table(level)
    back = pl.read_excel(workbook, sheet_name=sheet_name(level), infer_schema_length=None)
    assert back.columns == expected.columns
    assert_frame_equal(back, expected, check_dtypes=False, check_exact=True)


@pytest.mark.parametrize("level", ["collector", "team"])
def test_round_trip_equals_the_csv_output(workbook: Path, level: str) -> None:
    from_csv = pl.read_csv(io.BytesIO(to_csv(sample("2025-03").table(level))))
    back = pl.read_excel(workbook, sheet_name=sheet_name(level), infer_schema_length=None)
    assert numeric(from_csv).width >= 20
    assert_frame_equal(
        numeric(back).select(numeric(from_csv).columns), numeric(from_csv), check_dtypes=False, check_exact=True
    )


def test_formats_frozen_header_colour_scale_and_no_formulas(workbook: Path) -> None:
    with zipfile.ZipFile(workbook) as archive:
        styles = archive.read("xl/styles.xml").decode()
        sheets = [archive.read(f"xl/worksheets/sheet{i}.xml").decode() for i in range(1, 5)]
    assert 'formatCode="0.0%"' in styles  # rates
    assert 'formatCode="#,##0"' in styles  # counts (case_count)
    assert 'state="frozen"' in sheets[0] and 'ySplit="1"' in sheets[0]
    assert "<conditionalFormatting" in sheets[0] and 'type="colorScale"' in sheets[0]
    assert "<cols>" in sheets[0]  # autofit widths
    assert all("<f>" not in sheet for sheet in sheets)


def test_money_gets_thousands_separators(tmp_path: Path) -> None:
    table = pl.DataFrame({"rank": [1], "collector_id": ["C1"], "recovered_amount": [1234567.891], "score": [50.0]})
    path = tmp_path / "money.xlsx"
    write_xlsx(path, {"collector": table})
    with zipfile.ZipFile(path) as archive:
        assert 'formatCode="#,##0.00"' in archive.read("xl/styles.xml").decode()
    assert pl.read_excel(path, sheet_name="collectors")["recovered_amount"].to_list() == [1234567.891]


def test_scheme_and_manifest_sheets(workbook: Path) -> None:
    card = sample("2025-03")
    rows = pl.read_excel(workbook, sheet_name="scheme")
    assert rows["metric"].to_list() == list(card.scheme.metrics)
    assert rows["weight"].sum() == 100
    recovery = rows.filter(pl.col("metric") == "recovery_rate").row(0, named=True)
    assert recovery["中文"] == "回款率"
    assert recovery["method"] == "range" and recovery["parameters"] == "floor=0.05, ceiling=0.4"
    # the floor values are computed numbers, exactly the scorecard's
    assert dict(zip(rows["metric"], rows["floor_value"], strict=True)) == {
        m: card.floor[m] for m in card.scheme.metrics
    }
    manifest = pl.read_excel(workbook, sheet_name="manifest")
    assert dict(zip(manifest["key"], manifest["value"], strict=True)) == {
        "month": "2025-03",
        "scheme": card.scheme.name,
        "inputs": '["cases.csv", "contacts.parquet"]',
        "rows": "3016",
    }


def test_compare_columns_and_labels(tmp_path: Path) -> None:
    table = compare(sample("2025-02").table(), sample("2025-03").table())  # has a "left" row
    path = tmp_path / "zh.xlsx"
    write_xlsx(path, {"collector": table}, lang="zh")
    back = pl.read_excel(path, sheet_name="催收员", infer_schema_length=None)
    assert back.columns[:3] == ["排名", "催收员编号", "姓名"]
    assert "回款率 得分" in back.columns and "名次变动" in back.columns
    assert len(set(back.columns)) == len(back.columns)
    assert "是" in set(back["参与排名"]) <= {"是", "否", None}  # yes/no in words, not TRUE/FALSE
    words = pl.col("参与排名").replace_strict({"是": True, "否": False}, default=None, return_dtype=pl.Boolean)
    back = back.with_columns(words)
    assert_frame_equal(back.rename(dict(zip(back.columns, table.columns, strict=True))), table, check_dtypes=False)
    assert back["名次变动"].to_list()[-1] == "left"


def test_formula_like_text_stays_text(tmp_path: Path) -> None:
    card = sample("2025-03")
    collectors = card.collectors.with_columns(
        collector_name=pl.when(pl.col("collector_id") == "C001")
        .then(pl.lit('=HYPERLINK("x")'))
        .otherwise("collector_name")
    )
    path = tmp_path / "f.xlsx"
    write_xlsx(path, {"collector": dataclasses.replace(card, collectors=collectors).table()})
    with zipfile.ZipFile(path) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    assert pl.read_excel(path, sheet_name="collectors")["collector_name"][0] == '=HYPERLINK("x")'


def test_never_over_an_input(tmp_path: Path) -> None:
    path = tmp_path / "input.csv"
    path.write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputError, match="refusing to overwrite"):
        write_xlsx(path, {"collector": sample("2025-03").table()}, protected=[str(path)])
    assert path.read_text(encoding="utf-8") == "keep me"


def test_bytes_and_helpers() -> None:
    card = sample("2025-03")
    payload = xlsx_bytes({"team": card.table("team")}, card.scheme)
    assert payload[:2] == b"PK"
    assert scheme_frame(card.scheme).height == len(card.scheme.metrics)
    assert scheme_frame(card.scheme)["floor_value"].null_count() == len(card.scheme.metrics)
    assert manifest_frame({"a": None, "b": True, "c": {"x": 1}})["value"].to_list() == ["", "true", '{"x": 1}']
    assert sheet_name("collector") == "collectors" and sheet_name("a/b:c" * 10) == ("a_b_c" * 10)[:31]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The March workbook with Chinese and with English labels."""
    card = sample("2025-03")
    tables = {"collector": card.table("collector"), "team": card.table("team")}
    out = {}
    for lang in ("zh", "en"):
        path = tmp_path_factory.mktemp("xlsx") / f"card-{lang}.xlsx"
        write_xlsx(path, tables, card.scheme, floor=card.floor, manifest={"month": "2025-03"}, lang=lang)  # type: ignore[arg-type]
        out[lang] = path
    return out


def cells_by_header(sheet: Any) -> dict[str, list[Any]]:
    """Header → the cells below it (openpyxl cells: value and number_format)."""
    columns = list(sheet.iter_cols())
    return {str(column[0].value): list(column[1:]) for column in columns}


def test_hr_formats_read_back_with_openpyxl(labelled: dict[str, Path]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    card = sample("2025-03")
    people = card.table("collector")
    book = openpyxl.load_workbook(labelled["zh"])
    assert book.sheetnames == ["催收员", "团队", "考核方案", "审计清单"]  # sheets named in the language too
    sheet = book["催收员"]
    cells = cells_by_header(sheet)
    assert list(cells)[:4] == ["排名", "催收员编号", "姓名", "团队"]
    assert {c.number_format for c in cells["奖金"]} == {'"¥"#,##0.00'}  # money, with ¥ in Chinese
    assert [c.value for c in cells["奖金"]] == people["bonus"].to_list()  # the numbers stay numbers
    assert {c.number_format for c in cells["回款率"]} == {"0.0%"}
    assert {c.number_format for c in cells["得分"]} == {"0.0"}
    assert {c.number_format for c in cells["回款率 得分"]} == {"0.0"}
    assert [c.value for c in cells["参与排名"]] == [{True: "是", False: "否"}[v] for v in people["eligible"]]
    assert sheet.freeze_panes == "D2"  # below the header, right of id and name
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, people.width).column_letter}{people.height + 1}"
    teams = book["团队"]
    assert teams.freeze_panes == "C2" and teams.auto_filter.ref is not None

    english = openpyxl.load_workbook(labelled["en"])["collectors"]
    en_cells = cells_by_header(english)
    assert {c.number_format for c in en_cells["Bonus"]} == {"#,##0.00"}
    assert [c.value for c in en_cells["Eligible"]] == [{True: "yes", False: "no"}[v] for v in people["eligible"]]


def test_widths_follow_the_text_shown(labelled: dict[str, Path]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    sheet = openpyxl.load_workbook(labelled["en"])["collectors"]
    widths = {str(col[0].value): sheet.column_dimensions[col[0].column_letter].width for col in sheet.iter_cols()}
    bonus = sample("2025-03").table("collector")["bonus"].drop_nulls()
    # the widest bonus as shown, e.g. "11,489.80", plus a margin of 2; not the 16 digits of the float
    assert widths["Bonus"] == pytest.approx(max(len(f"{v:,.2f}") for v in bonus) + 2, abs=1)
    assert widths["Recovery rate"] < 16


def test_scheme_sheet_in_chinese(labelled: dict[str, Path]) -> None:
    scheme = pl.read_excel(labelled["zh"], sheet_name="考核方案")
    assert scheme.columns[:4] == ["指标", "中文", "英文名", "权重"]
    recovery = scheme.filter(pl.col("指标") == "recovery_rate").row(0, named=True)
    assert recovery["方向"] == "越高越好"
    assert recovery["计分方法"] == "区间"
    assert recovery["参数"] == "下限=0.05, 上限=0.4"
    assert recovery["全场数值"] == sample("2025-03").floor["recovery_rate"]
    manifest = pl.read_excel(labelled["zh"], sheet_name="审计清单")
    assert manifest.columns == ["项目", "数值"]
    assert manifest["项目"].to_list() == ["月份"]  # the key month, in words
