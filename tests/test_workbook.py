"""The xlsx workbook round-trips: polars reads back the numbers ``--format csv`` gives."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from functools import cache
from pathlib import Path

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
    back = pl.read_excel(path, sheet_name="collectors", infer_schema_length=None)
    assert back.columns[:3] == ["排名", "催收员编号", "姓名"]
    assert "回款率 得分" in back.columns and "名次变动" in back.columns
    assert len(set(back.columns)) == len(back.columns)
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
