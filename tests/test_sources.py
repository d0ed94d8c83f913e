"""Real exports: encodings, compression, separators, Parquet, xlsx, mappings and formats.

Every variant writes conftest.py's tiny month in another shape and must score to the same
numbers as the canonical CSV. Names are Chinese so that an encoding mistake would show.
"""

from __future__ import annotations

import codecs
import gzip
import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from collector_kpi import load_month, load_scheme, score
from collector_kpi.checks import describe_reject
from collector_kpi.cli import app
from collector_kpi.errors import InputError
from collector_kpi.scheme import InputSpec
from collector_kpi.scoring import Scorecard
from collector_kpi.sources import TableData, normal_id, read_table, utf16_without_bom
from tests.conftest import CASES, CONTACTS, GRADES, REVIEWS, ROSTER, TINY_SCHEME

ROOT = Path(__file__).parent.parent
NAMES = {"Ann": "安娜", "Bo": "博文", "Cy": "慈云", "Di": "蒂娜"}

# Two metrics, and the team level: the small scheme of the CLI tests.
TWO = TINY_SCHEME

# Reads every column of cases and contacts, the reviews and the roster.
FULL = """\
name: full
missing: reweight
eligibility: {min_cases: 3}
metrics:
  recovery_rate: {weight: 10, score: {method: range, floor: 0.1, ceiling: 0.5}}
  settlement_rate: {weight: 10, score: {method: percentile}}
  handling_days: {weight: 10, score: {method: range, floor: 60, ceiling: 10}}
  cycle_days: {weight: 5, score: {method: range, floor: 30, ceiling: 5}}
  waiver_rate: {weight: 5, score: {method: band, low: 0.1, high: 0.3, falloff: 0.2}}
  call_connect_rate: {weight: 10, score: {method: percentile}}
  sms_reply_rate: {weight: 5, score: {method: range, floor: 0, ceiling: 1}}
  visit_rate: {weight: 5, score: {method: range, floor: 0, ceiling: 1}}
  ptp_rate: {weight: 10, score: {method: band, low: 0.3, high: 0.6, falloff: 0.3}}
  call_quality: {weight: 10, score: {method: range, floor: 50, ceiling: 100}}
  contact_coverage: {weight: 5, score: {method: target, target: 1}}
  followup_timeliness: {weight: 5, score: {method: target, target: 0.8}}
  target_attainment: {weight: 10, score: {method: target, target: 1, cap: 1.2}}
gates:
  - {metric: violations, above: 0, action: cap_grade, grade: C}
"""


def named(text: str) -> str:
    for latin, chinese in NAMES.items():
        text = text.replace(f",{latin},", f",{chinese},")
    return text


BASE = {"cases": named(CASES), "contacts": CONTACTS, "reviews": REVIEWS, "roster": named(ROSTER)}


def write_scheme(root: Path, inputs: dict[str, dict[str, Any]], body: str, name: str = "scheme.yaml") -> Path:
    """A scheme of ``body`` reading ``inputs``; the reviews and roster are the canonical CSVs."""
    every = {"reviews": {"path": "reviews.csv"}, "roster": {"path": "roster.csv"}, **inputs}
    path = root / name
    text = yaml.safe_dump({"inputs": every}, allow_unicode=True, sort_keys=False) + body + GRADES
    path.write_text(text, encoding="utf-8")
    return path


def write_base(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for table, text in BASE.items():
        (root / f"{table}.csv").write_text(text, encoding="utf-8")


def run(scheme_path: Path) -> Scorecard:
    scheme = load_scheme(scheme_path)
    return score(scheme, load_month(scheme, "2025-03"))


def csv_card(scheme_path: Path, *args: str) -> bytes:
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme_path), "-f", "csv", *args])
    assert result.exit_code == 0, result.stderr
    assert " 0 rejected" in result.stderr and "Traceback" not in result.stderr
    return result.stdout_bytes


def assert_same_card(got: Scorecard, want: Scorecard) -> None:
    """Every column of both levels equal, the scores to the last bit."""
    for level in ("collector", "team"):
        a, b = got.table(level), want.table(level)
        assert a.equals(b), (level, a, b)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("base")
    write_base(root)
    inputs = {"cases": {"path": "cases.csv"}, "contacts": {"path": "contacts.csv"}}
    return {
        "full": run(write_scheme(root, inputs, FULL, "full.yaml")),
        "full_csv": csv_card(write_scheme(root, inputs, FULL, "full.yaml")),
        "two": csv_card(write_scheme(root, inputs, TWO, "two.yaml")),
    }


def test_base_reads_the_tiny_month(base: dict[str, Any]) -> None:
    card: Scorecard = base["full"]
    rows = {r["collector_id"]: r for r in card.table("collector").iter_rows(named=True)}
    assert rows["A"]["collector_name"] == "安娜" and rows["D"]["collector_name"] == "蒂娜"
    assert rows["A"]["recovery_rate"] == pytest.approx(0.62)
    assert rows["A"]["cycle_days"] == pytest.approx(28 / 3)
    assert rows["A"]["followup_timeliness"] == pytest.approx(3 / 5)
    assert rows["B"]["call_quality"] == 75  # no sampled call: the review's rating
    assert rows["B"]["grade"] == "C" and rows["B"]["gates"]  # one violation caps the grade
    assert card.stats["cases"].used == 12 and card.stats["contacts"].used == 10


def test_ids_are_matched_after_nfkc_without_zero_width_characters() -> None:
    ids = pl.Series(["C1", " C1 ", "C1\u200b", "\ufeffC1", "Ｃ1", "C\u200c1\u2060", "C1\u3000", "\u200dＣ１ "])
    others = pl.Series(["c1", "\u200b", "\ufeff ", "", None, "案1", "ｶ"], dtype=pl.String)
    got = pl.DataFrame({"id": pl.concat([ids, others])}).select(normal_id(pl.col("id"))).to_series().to_list()
    # letter case is kept (c1 is warned about, not merged); half-width katakana is NFKC's full-width
    assert got == ["C1"] * 8 + ["c1", None, None, None, None, "案1", "カ"]


# --- one variant per way an export arrives -------------------------------------------


def _encoded(text: str, encoding: str, bom: bytes = b"", gz: bool = False) -> bytes:
    data = bom + text.encode(encoding)
    return gzip.compress(data, mtime=0) if gz else data


def _both(root: Path, suffix: str, transform: Callable[[str], bytes], **spec: Any) -> dict[str, dict[str, Any]]:
    """Write cases and contacts through ``transform``; the inputs block reading them."""
    inputs = {}
    for table in ("cases", "contacts"):
        (root / f"{table}{suffix}").write_bytes(transform(BASE[table]))
        inputs[table] = {"path": f"{table}{suffix}", **spec}
    return inputs


def _frame(table: str, typed: bool = False) -> pl.DataFrame:
    return pl.read_csv(io.StringIO(BASE[table]), infer_schema=typed, try_parse_dates=typed)


def v_utf8_bom(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: _encoded(t, "utf-8", codecs.BOM_UTF8))


def v_gbk_detected(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: _encoded(t, "gbk"))


def v_gbk_declared(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: _encoded(t, "gbk"), encoding="gbk")


def v_gb18030_declared(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: _encoded(t, "gb18030"), encoding="gb18030")


def v_gzip(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv.gz", lambda t: _encoded(t, "utf-8", gz=True))


def v_gzip_gbk(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv.gz", lambda t: _encoded(t, "gbk", gz=True))


def v_tsv(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".tsv", lambda t: t.replace(",", "\t").encode())


def v_tab_declared(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: t.replace(",", "\t").encode(), separator="\\t")


def v_semicolon(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: t.replace(",", ";").encode(), separator=";")


def v_crlf(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: t.replace("\n", "\r\n").encode("gbk"))


def v_utf16_unicode_text(root: Path) -> dict[str, dict[str, Any]]:
    # Excel's "Unicode text": UTF-16 little-endian with a BOM, tab-separated, CRLF, .txt
    return _both(root, ".txt", lambda t: _encoded(t.replace(",", "\t").replace("\n", "\r\n"), "utf-16-le", b"\xff\xfe"))


def v_cr_only(root: Path) -> dict[str, dict[str, Any]]:
    # Excel for Mac's "CSV": lines ended by a bare carriage return
    return _both(root, ".csv", lambda t: t.replace("\n", "\r").encode())


def v_cr_only_gbk(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: t.replace("\n", "\r").encode("gbk"))


def v_utf16_without_bom(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: t.encode("utf-16-le"))


def v_utf16_big_endian_without_bom_cr_only(root: Path) -> dict[str, dict[str, Any]]:
    return _both(root, ".csv", lambda t: t.replace("\n", "\r").encode("utf-16-be"))


def v_parquet_text(root: Path) -> dict[str, dict[str, Any]]:
    for table in ("cases", "contacts"):
        _frame(table).write_parquet(root / f"{table}.parquet")
    return {t: {"path": f"{t}.parquet"} for t in ("cases", "contacts")}


def v_parquet_typed(root: Path) -> dict[str, dict[str, Any]]:
    cases, contacts = _frame("cases", typed=True), _frame("contacts", typed=True)
    assert cases["assigned_date"].dtype == pl.Date and contacts["contacted_at"].dtype == pl.Datetime("us")
    assert contacts["ptp"].dtype == pl.Boolean and cases["overdue_amount"].dtype == pl.Int64
    cases.write_parquet(root / "cases.parquet")
    contacts.write_parquet(root / "contacts.parquet")
    return {t: {"path": f"{t}.parquet"} for t in ("cases", "contacts")}


def v_hive_parquet(root: Path) -> dict[str, dict[str, Any]]:
    """Folders month=YYYY-MM/; a February partition of other cases must not count."""
    cases = _frame("cases", typed=True)
    for month, frame in (("2025-03", cases), ("2025-02", cases.with_columns(pl.col("overdue_amount") * 7))):
        (root / "cases" / f"month={month}").mkdir(parents=True)
        frame.write_parquet(root / "cases" / f"month={month}" / "part-0.parquet")
    contacts = _frame("contacts", typed=True)
    for month in ("2025-02", "2025-03"):
        part = contacts.filter(pl.col("contacted_at").dt.strftime("%Y-%m") == month)
        (root / "contacts" / f"month={month}").mkdir(parents=True)
        part.write_parquet(root / "contacts" / f"month={month}" / "part-0.parquet")
    return {"cases": {"path": "cases"}, "contacts": {"path": "contacts"}}


def v_xlsx_text(root: Path) -> dict[str, dict[str, Any]]:
    for table in ("cases", "contacts"):
        _frame(table).write_excel(root / f"{table}.xlsx")
    return {t: {"path": f"{t}.xlsx"} for t in ("cases", "contacts")}


def v_xlsx_typed(root: Path) -> dict[str, dict[str, Any]]:
    # number, date and datetime cells, as Excel itself stores them
    for table in ("cases", "contacts"):
        _frame(table, typed=True).write_excel(root / f"{table}.xlsx")
    return {t: {"path": f"{t}.xlsx"} for t in ("cases", "contacts")}


def v_xlsx_named_sheet(root: Path) -> dict[str, dict[str, Any]]:
    import xlsxwriter

    inputs = {}
    for table, sheet in (("cases", "案件"), ("contacts", "催记")):
        with xlsxwriter.Workbook(root / f"{table}.xlsx") as book:
            pl.DataFrame({"说明": ["导出说明 — not the data"]}).write_excel(book, worksheet="说明")
            _frame(table, typed=True).write_excel(book, worksheet=sheet)
        inputs[table] = {"path": f"{table}.xlsx", "sheet": sheet}
    return inputs


def v_glob_split(root: Path) -> dict[str, dict[str, Any]]:
    for table in ("cases", "contacts"):
        header, *rows = BASE[table].splitlines(keepends=True)
        (root / f"{table}_2.csv").write_text(header + "".join(rows[::2]), encoding="utf-8")
        (root / f"{table}_1.csv").write_text(header + "".join(rows[1::2]), encoding="utf-8")
    return {t: {"path": f"{t}_*.csv"} for t in ("cases", "contacts")}


def v_directory(root: Path) -> dict[str, dict[str, Any]]:
    for table in ("cases", "contacts"):
        header, *rows = BASE[table].splitlines(keepends=True)
        (root / table / "week1").mkdir(parents=True)
        (root / table / "week1" / "a.csv").write_text(header + "".join(rows[:5]), encoding="gbk")
        (root / table / "b.csv.gz").write_bytes(_encoded(header + "".join(rows[5:]), "utf-8", gz=True))
        (root / table / "README.md").write_text("not data")
    return {t: {"path": t} for t in ("cases", "contacts")}


def _odd_ids(table: str) -> pl.DataFrame:
    """The table's ids as exports mangle them: full-width, with a zero-width character or a
    byte-order mark inside (each is the canonical id once normalised)."""
    odd = {"A": "Ａ", "B": "B\u200b", "T1": "\ufeffT1", "a1": "ａ1", "c1": "c\u200d1", "b2": "b2\u2060"}
    frame = _frame(table)
    return frame.with_columns(pl.col(c).replace(odd) for c in ("case_id", "collector_id", "team_id") if c in frame)


def _odd_ids_as(root: Path, kind: str) -> dict[str, dict[str, Any]]:
    for table in ("cases", "contacts"):
        frame = _odd_ids(table)
        write = {"csv": frame.write_csv, "parquet": frame.write_parquet, "xlsx": frame.write_excel}[kind]
        write(root / f"{table}.{kind}")
    return {t: {"path": f"{t}.{kind}"} for t in ("cases", "contacts")}


def v_csv_odd_ids(root: Path) -> dict[str, dict[str, Any]]:
    return _odd_ids_as(root, "csv")


def v_parquet_odd_ids(root: Path) -> dict[str, dict[str, Any]]:
    return _odd_ids_as(root, "parquet")


def v_xlsx_odd_ids(root: Path) -> dict[str, dict[str, Any]]:
    return _odd_ids_as(root, "xlsx")


VARIANTS = {
    name.removeprefix("v_"): func for name, func in globals().items() if name.startswith("v_") and callable(func)
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_format_reads_the_same_numbers(variant: str, tmp_path: Path, base: dict[str, Any]) -> None:
    write_base(tmp_path)
    for table in ("cases", "contacts"):
        (tmp_path / f"{table}.csv").unlink()
    inputs = VARIANTS[variant](tmp_path)
    card = run(write_scheme(tmp_path, inputs, FULL, "full.yaml"))
    assert_same_card(card, base["full"])
    assert card.stats["cases"].used == 12 and card.stats["contacts"].used == 10
    assert card.rejects.height == 0
    assert csv_card(write_scheme(tmp_path, inputs, FULL, "full.yaml")) == base["full_csv"]
    assert csv_card(write_scheme(tmp_path, inputs, TWO, "two.yaml")) == base["two"]


def test_utf16_without_a_byte_order_mark_is_told_by_its_nul_bytes() -> None:
    text = BASE["cases"].replace("安娜", "一一")  # 一 is 00 4E: a NUL byte in the other half
    assert utf16_without_bom(text.encode("utf-16-le")) == "utf-16-le"
    assert utf16_without_bom(text.encode("utf-16-be")) == "utf-16-be"
    # no NUL in UTF-8 or GBK text; binary data is not text of any encoding
    for other in (text.encode("utf-8"), text.encode("gbk"), b"\x00\x01\x02\x03" * 8, b"a\x00"):
        assert utf16_without_bom(other) is None


def test_gb18030_beyond_gbk_is_detected(tmp_path: Path) -> None:
    """A name only GB18030 can encode (CJK extension A): detected without a declaration."""
    text = BASE["cases"].replace("慈云", "慈㐀")
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    (tmp_path / "cases.csv").write_bytes(text.encode("gb18030"))
    (tmp_path / "utf8.csv").write_text(text, encoding="utf-8")
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    write_base(tmp_path / "unused")
    for table in ("reviews", "roster"):
        shutil.copy(tmp_path / "unused" / f"{table}.csv", tmp_path / f"{table}.csv")
    detected = run(write_scheme(tmp_path, {"cases": {"path": "cases.csv"}, "contacts": {"path": "contacts.csv"}}, FULL))
    reference = run(write_scheme(tmp_path, {"cases": {"path": "utf8.csv"}, "contacts": {"path": "contacts.csv"}}, FULL))
    assert_same_card(detected, reference)
    assert "慈㐀" in detected.table("collector")["collector_name"].to_list()


def test_gbk_after_a_mib_of_ascii_is_detected(tmp_path: Path) -> None:
    """Detection samples the whole file, not only its first MiB."""
    write_base(tmp_path)
    filler = [
        "".join(f"f{i:05d}{part},E,,T3,2025-03-01,100,0,0,,,M1\n" for i in range(n))
        for part, n in (("a", 30_000), ("b", 5_000))
    ]
    text = CASES + filler[0] + "z1,E,易安,T3,2025-03-01,100,0,0,,,M1\n" + filler[1]
    assert len(text.encode("gbk")) > (1 << 20) + 100_000 and text.encode("gbk")[: 1 << 20].isascii()
    (tmp_path / "cases.csv").write_bytes(text.encode("gbk"))
    inputs = {"cases": {"path": "cases.csv"}, "contacts": {"path": "contacts.csv"}}
    card = run(write_scheme(tmp_path, inputs, TWO))
    assert card.stats["cases"].used == 35_013
    assert card.table("collector").filter(pl.col("collector_id") == "E")["collector_name"].to_list() == ["易安"]
    declared = write_scheme(tmp_path, {**inputs, "cases": {"path": "cases.csv", "encoding": "utf-8"}}, TWO, "u.yaml")
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(declared)])
    assert result.exit_code == 2
    assert f"cases: {tmp_path / 'cases.csv'}: not valid utf-8 text at byte" in result.stderr


# --- mapping: headers, values, constants, formats --------------------------------------

ZH_CASES = {
    "case_id": "案件编号",
    "collector_id": "催收员工号",
    "collector_name": "催收员姓名",
    "team_id": "组别",
    "assigned_date": "分案日期",
    "overdue_amount": "委案金额",
    "recovered_amount": "回款金额",
    "waived_amount": "减免金额",
    "settled_date": "结清日期",
    "first_payment_date": "首次还款日期",
    "dpd_bucket": "账龄",
}
ZH_CONTACTS = {
    "contact_id": "记录编号",
    "case_id": "案件编号",
    "collector_id": "催收员工号",
    "channel": "渠道",
    "outcome": "结果",
    "duration_s": "通话时长",
    "ptp": "承诺还款",
    "ptp_amount": "承诺金额",
    "qa_score": "质检分",
    "logged_at": "记录时间",
}
CHANNELS = {"call": "电话", "sms": "短信", "visit": "上门"}
OUTCOMES = {
    "connected": "接通",
    "no_answer": "未接",
    "busy": "占线",
    "unreachable": "关机",
    "replied": "已回复",
    "failed": "发送失败",
    "completed": "已上门",
    "planned": "计划",
}


def _invert(mapping: dict[str, str]) -> dict[str, str]:
    return {v: k for k, v in mapping.items()}


def _strftime(column: str, fmt: str) -> pl.Expr:
    return pl.col(column).str.to_date("%Y-%m-%d").dt.strftime(fmt)


def zh_export(root: Path, ptp: tuple[str, str] = ("是", "否")) -> dict[str, dict[str, Any]]:
    """The tiny month as a Chinese system exports it: GBK, Chinese headers and values,
    dates as 2025/3/5 and 250310, money as ￥1,000.00, the contact time in two columns."""
    cases = _frame("cases").with_columns(
        pl.col("assigned_date").str.to_date("%Y-%m-%d").map_elements(lambda d: f"{d.year}/{d.month}/{d.day}"),
        _strftime("settled_date", "%y%m%d"),
        _strftime("first_payment_date", "%Y%m%d"),
        *[
            pl.format("￥{}", pl.col(c).cast(pl.Float64).map_elements(lambda v: f"{v:,.2f}", return_dtype=pl.String))
            for c in ("overdue_amount", "recovered_amount", "waived_amount")
        ],
    )
    contacts = _frame("contacts").with_columns(
        pl.col("channel").replace(CHANNELS),
        pl.col("outcome").replace(OUTCOMES),
        pl.col("ptp").replace({"true": ptp[0], "false": ptp[1]}),
        pl.col("contacted_at").str.slice(2, 8).str.replace_all("-", "").alias("日期"),  # 250302
        pl.col("contacted_at").str.slice(11).str.strip_chars_start("0").alias("时间"),  # 10:00:00 → 10:00:00, 09 → 9
    )
    contacts = contacts.drop("contacted_at")
    cases.rename(ZH_CASES).write_csv(root / "案件.csv")
    (root / "案件.csv").write_bytes((root / "案件.csv").read_text(encoding="utf-8").encode("gbk"))
    text = contacts.rename(ZH_CONTACTS).write_csv(separator="\t")
    (root / "催记.txt").write_bytes(text.replace("\n", "\r\n").encode("gbk"))
    return {
        "cases": {
            "path": "案件.csv",
            "columns": _invert(ZH_CASES),
            "formats": {"assigned_date": "%Y/%m/%d", "settled_date": "%y%m%d"},
        },
        "contacts": {
            "path": "催记.txt",
            "encoding": "gbk",
            "columns": _invert(ZH_CONTACTS),
            "values": {
                "channel": _invert(CHANNELS),
                "outcome": _invert(OUTCOMES),
                "ptp": {ptp[0]: True, ptp[1]: False},
            },
            "datetime_parts": {"contacted_at": ["日期", "时间"]},
            "formats": {"contacted_at": "%y%m%d %H:%M:%S"},
        },
    }


def test_a_chinese_export_maps_onto_the_same_numbers(tmp_path: Path, base: dict[str, Any]) -> None:
    write_base(tmp_path)
    inputs = zh_export(tmp_path)
    head = (tmp_path / "催记.txt").read_bytes().decode("gbk").splitlines()[1].split("\t")
    assert head[3] == "电话" and head[-2:] == ["250302", "10:00:00"]
    assert "2025/2/20" in (tmp_path / "案件.csv").read_bytes().decode("gbk")
    card = run(write_scheme(tmp_path, inputs, FULL))
    assert_same_card(card, base["full"])
    assert card.rejects.height == 0


@pytest.mark.parametrize(
    ("spellings", "mapped"),
    [(("是", "否"), True), (("Y", "N"), False), (("1", "0"), False), (("1", "0"), True), (("yes", "no"), False),
     (("TRUE", "FALSE"), False), (("已承诺", "未承诺"), False), (("有", "无"), False), (("P", "-"), True)],
)  # fmt: skip
def test_boolean_spellings(tmp_path: Path, base: dict[str, Any], spellings: tuple[str, str], mapped: bool) -> None:
    """是/否, Y/N, 1/0 … are read as booleans; other spellings through a value map."""
    write_base(tmp_path)
    inputs = zh_export(tmp_path, ptp=spellings)
    if not mapped:
        del inputs["contacts"]["values"]["ptp"]
    card = run(write_scheme(tmp_path, inputs, FULL))
    assert_same_card(card, base["full"])
    ptp = {r["collector_id"]: r["ptp_rate"] for r in card.table("collector").iter_rows(named=True)}
    assert ptp["A"] == pytest.approx(1 / 2) and ptp["B"] == 1.0


def test_roster_active_value_map_and_constant(tmp_path: Path) -> None:
    """在职 是/否 through a value map; a constant team for a roster that has no team column."""
    write_base(tmp_path)
    (tmp_path / "花名册.csv").write_text("工号,姓名,在职\nA,安娜,是\nB,博文,否\nC,慈云,是\n", encoding="gbk")
    inputs = {
        "cases": {"path": "cases.csv"},
        "contacts": {"path": "contacts.csv"},
        "roster": {
            "path": "花名册.csv",
            "columns": {"工号": "collector_id", "姓名": "collector_name", "在职": "active"},
            "values": {"active": {"是": True, "否": False}},
            "constants": {"team_id": "T1"},
        },
    }
    card = run(write_scheme(tmp_path, inputs, TWO))
    rows = {r["collector_id"]: r for r in card.table("collector").iter_rows(named=True)}
    assert rows["B"]["eligible"] is False and rows["B"]["ineligible_reason"] == "inactive on the roster"
    assert rows["A"]["rank"] == 1 and rows["C"]["rank"] == 2
    assert {r["team_id"] for r in rows.values()} == {"T1"}  # the roster's team wins over the cases'


def test_value_map_on_numeric_codes(tmp_path: Path, base: dict[str, Any]) -> None:
    """A Parquet export storing the channel as a number code (1 call, 2 sms, 3 visit)."""
    write_base(tmp_path)
    codes = {"call": 1, "sms": 2, "visit": 3}
    contacts = _frame("contacts", typed=True).with_columns(
        pl.col("channel").replace_strict(codes, return_dtype=pl.Int64)
    )
    contacts.write_parquet(tmp_path / "contacts.parquet")
    spec = {"path": "contacts.parquet", "values": {"channel": {str(v): k for k, v in codes.items()}}}
    card = run(write_scheme(tmp_path, {"cases": {"path": "cases.csv"}, "contacts": spec}, FULL))
    assert_same_card(card, base["full"])


@pytest.mark.parametrize(
    ("fmt", "declared"),
    [("%y%m%d", True), ("%Y/%m/%d", False), ("%Y/%-m/%-d", True), ("%Y%m%d", False), ("%Y.%m.%d", False),
     ("%d.%m.%Y", True), ("%m/%d/%Y", True), ("%Y-%m-%d 00:00:00", False)],
)  # fmt: skip
def test_date_formats(tmp_path: Path, base: dict[str, Any], fmt: str, declared: bool) -> None:
    """Dates written in ``fmt``: recognised by default, or read with `formats`."""
    write_base(tmp_path)
    dates = ("assigned_date", "settled_date", "first_payment_date")
    cases = _frame("cases")
    written = cases.with_columns(
        pl.col(c).str.to_date("%Y-%m-%d").map_elements(lambda d: d.strftime(fmt), return_dtype=pl.String) for c in dates
    )
    assert written["assigned_date"][0] != cases["assigned_date"][0] or fmt == "%Y-%m-%d"
    written.write_csv(tmp_path / "cases.csv")
    read_as = fmt.replace("%-m", "%m").replace("%-d", "%d")  # strptime reads unpadded numbers
    spec: dict[str, Any] = {"path": "cases.csv"}
    if declared:
        spec["formats"] = dict.fromkeys(dates, read_as)
    card = run(write_scheme(tmp_path, {"cases": spec, "contacts": {"path": "contacts.csv"}}, FULL))
    assert_same_card(card, base["full"])
    assert card.rejects.height == 0


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (
            None,
            "a date written %Y-%m-%d, the format of this column's first rows in this file "
            "(set inputs.cases.formats.assigned_date to read another)",
        ),
        ("%Y-%m-%d", "a date written %Y-%m-%d, as set in inputs.cases.formats.assigned_date"),
    ],
)
def test_a_rejected_date_names_the_formats_its_column_is_read_with(
    tmp_path: Path, declared: str | None, expected: str
) -> None:
    write_base(tmp_path)
    # the formats are those of the first 2,000 rows: the row written another way comes after
    header, *rows = BASE["cases"].replace("a3,A,安娜,T1,2025-03-05", "a3,A,安娜,T1,2025/03/05").splitlines()
    filler = [f"z{i},Z,Zed,T3,2025-03-01,100,0,0,,,M1" for i in range(2000)]
    (tmp_path / "cases.csv").write_text("\n".join([header, *filler, *rows]) + "\n", encoding="utf-8")
    spec: dict[str, Any] = {"path": "cases.csv"}
    if declared:
        spec["formats"] = {"assigned_date": declared}
    card = run(write_scheme(tmp_path, {"cases": spec, "contacts": {"path": "contacts.csv"}}, FULL))
    message = describe_reject(card.cell_rejects.row(0, named=True))  # the cell alone is rejected
    # %Y/%m/%d is a format the reader knows, but not one this column is written in
    assert message.endswith(f"row 2004: assigned_date: not a date (value '2025/03/05'; expected {expected})")
    assert "%Y/%m/%d" not in message.partition("expected")[2]


def test_month_column_forms(tmp_path: Path) -> None:
    """A month column as YYYY-MM, as a date, or as the number 202503 selects the month's rows."""
    write_base(tmp_path)
    cases = _frame("cases", typed=True)
    other = cases.with_columns(pl.col("case_id") + "-feb")
    for name, march, february in (
        ("text", pl.lit("2025-03"), pl.lit("2025-02")),
        ("date", pl.lit("2025-03-01").str.to_date(), pl.lit("2025-02-01").str.to_date()),
        ("number", pl.lit(202503), pl.lit(202502)),
    ):
        frame = pl.concat([cases.with_columns(month=march), other.with_columns(month=february)])
        frame.write_parquet(tmp_path / f"cases-{name}.parquet")
        inputs = {"cases": {"path": f"cases-{name}.parquet"}, "contacts": {"path": "contacts.csv"}}
        card = run(write_scheme(tmp_path, inputs, TWO))
        stats = card.stats["cases"]
        assert (stats.read, stats.used, stats.other_month) == (12, 12, 12), name


def test_blank_month_cell_is_rejected_not_counted_in_every_month(tmp_path: Path) -> None:
    """In a file with a month column, a row without one belongs to no month: rejected."""
    write_base(tmp_path)
    cases = _frame("cases", typed=True).with_columns(month=pl.lit("2025-03"))
    cases = cases.with_columns(month=pl.when(pl.col("case_id") == "a1").then(None).otherwise(pl.col("month")))
    cases.write_parquet(tmp_path / "cases-month.parquet")
    inputs = {"cases": {"path": "cases-month.parquet"}, "contacts": {"path": "contacts.csv"}}
    card = run(write_scheme(tmp_path, inputs, TWO))
    stats = card.stats["cases"]
    assert (stats.read, stats.used, stats.rejected) == (12, 11, 1)
    assert card.rejects["_reject"].to_list() == ["month: missing value"]


# --- the shipped Chinese scheme -------------------------------------------------------------


def _cli_csv(config: str, level: str) -> bytes:
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", config, "--level", level, "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


@pytest.mark.parametrize("level", ["collector", "team"])
def test_zh_export_scores_like_the_canonical_sample(level: str) -> None:
    """The GBK export with Chinese headers and values gives the canonical scorecard, byte for byte."""
    zh = _cli_csv(str(ROOT / "configs" / "zh-export.yaml"), level)
    canonical = _cli_csv(str(ROOT / "configs" / "default.yaml"), level)
    key = "collector_id" if level == "collector" else "team_id"
    ranking = pl.read_csv(io.BytesIO(canonical), infer_schema=False)[key].to_list()
    assert pl.read_csv(io.BytesIO(zh), infer_schema=False)[key].to_list() == ranking  # the same ranking
    assert len(ranking) == (30 if level == "collector" else 4)
    assert zh == canonical


def test_zh_export_accounts_for_every_row() -> None:
    scheme = load_scheme(ROOT / "configs" / "zh-export.yaml")
    card = score(scheme, load_month(scheme, "2025-03"))
    reference = load_scheme(ROOT / "configs" / "default.yaml")
    canonical = score(reference, load_month(reference, "2025-03"))
    for table in ("cases", "contacts", "reviews", "roster"):
        zh, ca = card.stats[table], canonical.stats[table]
        assert (zh.read, zh.used, zh.rejected, zh.other_month) == (ca.read, ca.used, ca.rejected, ca.other_month)
        assert zh.read == zh.used + zh.rejected


# --- a call-centre log and nothing else -------------------------------------------------------

CALL_LOG = (
    "通话日期\t开始时间\t坐席工号\t案件号\t通话结果\t是否承诺\t小结时间\n"
    "250302\t9:05:00\tA01\tx1\t接通\t是\t2025-03-02 09:30:00\n"  # connected, ptp, logged in 25 min
    "250302\t9:15:30\tA01\tx2\t未接\t否\t2025-03-03 10:00:00\n"  # no answer, logged in 24 h 44 min (late)
    "250303\t14:00:00\tA01\tx3\t接通\t否\t2025-03-03 14:05:00\n"  # connected, no ptp, on time
    "250331\t23:59:59\tA01\tx4\t接通\t是\t\n"  # connected, ptp, never logged
    "250303\t8:00:00\tB02\ty1\t接通\t否\t2025-03-03 08:01:00\n"  # connected, no ptp, on time
    "250304\t8:00:00\tB02\ty2\t拒接\t否\t2025-03-04 08:01:00\n"  # refused, on time
    "250305\t8:00:00\tB02\ty2\t关机\t否\t2025-03-06 09:00:00\n"  # unreachable, 25 h: late
    "250228\t9:00:00\tB02\ty1\t接通\t是\t2025-02-28 09:01:00\n"  # February: skipped
    "250401\t0:00:00\tA01\tx1\t接通\t是\t2025-04-01 00:01:00\n"  # April: skipped
)

CALL_SCHEME = """\
name: 呼叫中心 call centre
inputs:
  contacts:
    path: "calls-{month}.tsv"
    columns: {坐席工号: collector_id, 案件号: case_id, 通话结果: outcome, 是否承诺: ptp, 小结时间: logged_at}
    constants: {channel: call}
    datetime_parts: {contacted_at: [通话日期, 开始时间]}
    formats: {contacted_at: "%y%m%d %H:%M:%S"}
    values:
      outcome: {接通: connected, 未接: no_answer, 拒接: refused, 关机: unreachable}
params: {followup_hours: 24}
missing: zero
metrics:
  call_connect_rate: {weight: 40, score: {method: range, floor: 0.2, ceiling: 0.8}}
  ptp_rate: {weight: 30, score: {method: target, target: 0.5}}
  followup_timeliness: {weight: 30, score: {method: percentile}}
grades:
  - {grade: A, min: 60}
  - {grade: B, min: 0}
"""


def test_contacts_only_scheme_scores_a_call_centre_log(tmp_path: Path) -> None:
    (tmp_path / "calls-2025-03.tsv").write_text(CALL_LOG, encoding="utf-8")
    scheme = tmp_path / "calls.yaml"
    scheme.write_text(CALL_SCHEME, encoding="utf-8")
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == "2025-03: contacts 7 read, 7 used, 0 rejected (2 of other months skipped)"
    import json

    rows = {r["collector_id"]: r for r in json.loads(result.stdout)}
    a, b = rows["A01"], rows["B02"]
    # A01: 4 calls, 3 connected; 2 of the 3 connected promised; 2 of 3 logged within 24 h
    assert a["call_connect_rate"] == pytest.approx(3 / 4)
    assert a["ptp_rate"] == pytest.approx(2 / 3)
    assert a["followup_timeliness"] == pytest.approx(2 / 3)
    # B02: 3 calls, 1 connected, no promise; 2 of 3 logged within 24 h
    assert b["call_connect_rate"] == pytest.approx(1 / 3)
    assert b["ptp_rate"] == 0
    assert b["followup_timeliness"] == pytest.approx(2 / 3)
    # points: range 0.2 → 0.8; target 0.5 (capped at 1); percentile of 2 peers, ties half
    assert a["call_connect_rate_score"] == pytest.approx((0.75 - 0.2) / 0.6 * 100)
    assert b["call_connect_rate_score"] == pytest.approx((1 / 3 - 0.2) / 0.6 * 100)
    assert a["ptp_rate_score"] == 100 and b["ptp_rate_score"] == 0
    assert a["followup_timeliness_score"] == b["followup_timeliness_score"] == 50
    assert a["score"] == pytest.approx(0.4 * (0.55 / 0.6 * 100) + 0.3 * 100 + 0.3 * 50)
    assert b["score"] == pytest.approx(0.4 * ((1 / 3 - 0.2) / 0.6 * 100) + 0.3 * 50)
    assert (a["rank"], b["rank"]) == (1, 2)
    assert a["team_id"] is None and a["collector_name"] is None


def test_nan_and_infinite_numbers_are_rejected_not_a_crash(tmp_path: Path) -> None:
    """A float column in Parquet can hold NaN or infinity, an integer one more cents than
    64 bits hold: such an amount or score is rejected as not a number, like unreadable
    text, instead of failing the run or turning into nothing."""
    month = tmp_path / "2025-03"
    month.mkdir()
    cases = pl.read_csv(io.StringIO(CASES), infer_schema=False)
    overdue = [1000.0, float("nan"), float("inf"), 1e30] + [1000.0] * (cases.height - 4)
    recovered = [0] * 5 + [10**18] + [0] * (cases.height - 6)  # too many cents for 64 bits
    cases = cases.with_columns(pl.Series("overdue_amount", overdue), pl.Series("recovered_amount", recovered))
    cases.write_parquet(month / "cases.parquet")
    contacts = pl.read_csv(io.StringIO(CONTACTS), infer_schema=False)
    # (one score read: a column whose every value given is rejected stops the run)
    qa = [float("nan"), 80.0] + [None] * (contacts.height - 2)
    contacts.with_columns(pl.Series("qa_score", qa, dtype=pl.Float64)).write_parquet(month / "contacts.parquet")
    scheme = tmp_path / "scheme.yaml"
    scheme.write_text(
        "inputs:\n  cases: {path: '{month}/cases.parquet'}\n  contacts: {path: '{month}/contacts.parquet'}\n"
        + TINY_SCHEME.replace("call_connect_rate", "call_quality")
        + GRADES,
        encoding="utf-8",
    )
    loaded = load_scheme(scheme)
    card = score(loaded, load_month(loaded, "2025-03"))
    assert card.stats["cases"].rejected_by_reason == {
        "overdue_amount: not a number": 3,
        "recovered_amount: not a number": 1,
    }
    assert card.stats["contacts"].cells_by_reason == {"qa_score: not a number": 1}  # its cell alone


@pytest.mark.parametrize("targets", [3, 100])
def test_value_maps_give_what_replace_gives(targets: int) -> None:
    """The streaming value map (an Enum of the keys, a test per target) and, for very
    many targets, ``replace``: both as ``replace`` would map, unknown values kept."""
    from collector_kpi.sources import _mapped

    table = {f"k{i}": f"t{i % targets}" for i in range(150)} | {"t1": "k1"}  # a target is also a key
    words = pl.DataFrame({"a": [*table, "other", "", None, "t2"]})
    got = words.select(_mapped(pl.col("a"), table)).to_series()
    assert got.to_list() == words.select(pl.col("a").replace(table)).to_series().to_list()


def test_month_cells_as_exports_write_them() -> None:
    """YYYY-MM, Excel dates with or without a time, 2025年4月; a month set in formats wins."""
    from collector_kpi.scheme import InputSpec
    from collector_kpi.sources import _parse

    written = ["2025-04", "2025/04", "202504", "2025-04-01", "2025/4/1", "2025/4/1 0:00", "2025-04-01 00:00:00"]
    written += ["2025年4月", " 2025-04 "]
    frame = pl.DataFrame({"v": [*written, "April", "2025-13"]})
    months = frame.select(_parse("v", "month", pl.String(), InputSpec())).to_series().to_list()
    assert months == ["2025-04"] * len(written) + [None, None]
    declared = InputSpec(formats={"month": "%d.%m.%Y"})
    assert (
        frame.with_columns(v=pl.lit("01.04.2025")).select(_parse("v", "month", pl.String(), declared)).item(0, 0)
        == "2025-04"
    )


def test_many_small_files_score_as_one_file_with_their_own_row_numbers(tmp_path: Path, base: dict[str, Any]) -> None:
    """Three hundred small files: read in batches of one header, every row counted once and
    named by its own file and row."""
    from collector_kpi.scheme import InputSpec
    from collector_kpi.sources import file_batches

    write_base(tmp_path)
    header, *rows = BASE["cases"].splitlines()
    folder = tmp_path / "cases"
    folder.mkdir()
    # the 12 rows of the month, each in a file of its own among 288 files of a blank row (a
    # note in a column not read, and nothing in the others)
    header += ",note"
    blank = "," * header.count(",")
    for i in range(300):
        row = rows[i // 25] + "," if i % 25 == 0 else f"{blank}{i}"
        (folder / f"part{i:03d}.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    # one file with a rejected row on its line 3, one with Windows line ends (a batch of its own)
    bad = "bad,A,安娜,T1,2025-03-01,-1,1,0,,,M1,"
    (folder / "part150b.csv").write_text(f"{header}\n{blank}\n{bad}\n", encoding="utf-8")
    (folder / "part151b.csv").write_bytes(f"{header}\r\n{blank}\r\n".encode())
    paths = sorted(str(p) for p in folder.iterdir())
    groups = file_batches(paths, InputSpec(), "cases")
    assert [len(group) for group in groups] == [153, 1, 148]  # part151b.csv alone
    card = run(write_scheme(tmp_path, {"cases": {"path": "cases"}, "contacts": {"path": "contacts.csv"}}, FULL))
    assert (card.stats["cases"].read, card.stats["cases"].used, card.stats["cases"].blank) == (13, 12, 290)
    assert card.rejects.select("_file", "_row").rows() == [(str(folder / "part150b.csv"), 3)]
    assert_same_card(card, base["full"])


def _scored_or_error(root: Path, inputs: dict[str, dict[str, Any]]) -> str:
    """The one-line error of scoring the tiny month with these inputs."""
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(write_scheme(root, inputs, TWO))])
    assert result.exit_code == 2, result.stdout
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    return result.stderr


def test_a_header_repeated_in_an_xlsx_export_is_an_error(tmp_path: Path) -> None:
    """fastexcel names a repeated header `collector_id_1`: it is the header given twice."""
    import xlsxwriter

    write_base(tmp_path)
    lines = [line.split(",") for line in CASES.splitlines()]
    lines[0][2] = "collector_id"  # collector_name's column
    book = xlsxwriter.Workbook(tmp_path / "cases.xlsx")
    sheet = book.add_worksheet()
    for number, cells in enumerate(lines):
        sheet.write_row(number, 0, cells)
    book.close()
    inputs = {"cases": {"path": "cases.xlsx"}, "contacts": {"path": "contacts.csv"}}
    assert "cases.xlsx: the header 'collector_id' is given twice (columns 2 and 3)" in _scored_or_error(
        tmp_path, inputs
    )


def test_two_headers_read_as_one_column_name_both(tmp_path: Path) -> None:
    write_base(tmp_path)
    # A header mapped onto collector_id while the file also holds collector_id itself.
    inputs = {
        "cases": {"path": "cases.csv", "columns": {"collector_name": "collector_id"}},
        "contacts": {"path": "contacts.csv"},
    }
    assert "headers 'collector_id' (column 2) and 'collector_name' (column 3) are both read as collector_id" in (
        _scored_or_error(tmp_path, inputs)
    )
    # A header written with spaces around it and again without: the same header twice.
    text = CASES.replace("case_id,collector_id,collector_name,", "case_id,collector_id, collector_id ,", 1)
    (tmp_path / "spaced.csv").write_text(text, encoding="utf-8")
    inputs = {"cases": {"path": "spaced.csv"}, "contacts": {"path": "contacts.csv"}}
    assert "the header 'collector_id' is given twice (columns 2 and 3)" in _scored_or_error(tmp_path, inputs)


def test_a_repeated_header_no_metric_reads_is_left_alone(tmp_path: Path) -> None:
    write_base(tmp_path)
    lines = [line.split(",") for line in named(CASES).splitlines()]
    lines = [
        [row[0], *(["remark", "remark"] if number == 0 else ["x", "y"]), *row[1:]] for number, row in enumerate(lines)
    ]
    (tmp_path / "remarks.csv").write_text("\n".join(",".join(row) for row in lines) + "\n", encoding="utf-8")
    inputs = {"cases": {"path": "remarks.csv"}, "contacts": {"path": "contacts.csv"}}
    plain = {"cases": {"path": "cases.csv"}, "contacts": {"path": "contacts.csv"}}
    assert csv_card(write_scheme(tmp_path, inputs, TWO)) == csv_card(write_scheme(tmp_path, plain, TWO, "plain.yaml"))


def test_formats_only_for_dates_and_constants_only_finite(tmp_path: Path) -> None:
    write_base(tmp_path)
    contacts = {"path": "contacts.csv"}
    spec = {"path": "cases.csv", "formats": {"recovered_amount": "%Y"}}
    message = _scored_or_error(tmp_path, {"cases": spec, "contacts": contacts})
    assert message.startswith(f"Error: {tmp_path / 'scheme.yaml'}:")
    assert ": inputs.cases.formats.recovered_amount: recovered_amount is not a date or datetime" in message
    assert "cases dates are month, assigned_date, settled_date, first_payment_date" in message
    spec = {"path": "cases.csv", "constants": {"waived_amount": "-Infinity"}}
    message = _scored_or_error(tmp_path, {"cases": spec, "contacts": contacts})
    assert message.endswith(": inputs.cases.constants.waived_amount: '-Infinity' is not a finite number\n")
    # The same text is a fine constant for a text column (a team called INF).
    roster = {"path": "roster.csv", "constants": {"team_id": "INF"}}
    cases = {"path": "cases.csv", "constants": {"team_id": "INF"}}
    card = run(write_scheme(tmp_path, {"cases": cases, "contacts": contacts, "roster": roster}, TWO))
    assert set(card.table("team")["team_id"].to_list()) == {"INF"}


def test_a_code_mapped_to_null_is_a_missing_value(tmp_path: Path) -> None:
    """`values: {channel: {未知: null}}`: the contact has no channel (its cell rejected as
    such), and a collector_id mapped to null invents no collector "None"."""
    write_base(tmp_path)
    (tmp_path / "contacts.csv").write_text(CONTACTS.replace("k10,c1,C,call", "k10,c1,C,未知"), encoding="utf-8")
    (tmp_path / "cases.csv").write_text(named(CASES).replace("b3,B,", "b3,-,"), encoding="utf-8")
    inputs = {
        "cases": {"path": "cases.csv", "values": {"collector_id": {"-": None}}},
        "contacts": {"path": "contacts.csv", "values": {"channel": {"未知": None}}},
    }
    card = run(write_scheme(tmp_path, inputs, TWO))
    assert card.stats["contacts"].rejected_by_reason == {}
    assert card.stats["contacts"].cells_by_reason == {"channel: missing value": 1}
    assert card.stats["cases"].rejected_by_reason == {"collector_id: missing value": 1}
    assert "None" not in card.table("collector")["collector_id"].to_list()
    assert card.rejects["_reject"].to_list() == ["collector_id: missing value"]
    assert card.cell_rejects["_reject"].to_list() == ["channel: missing value"]


# --- what call-centre logs write: durations, missing markers, fallbacks, composite ids ---


def _read(tmp_path: Path, table: str, text: str, spec: dict[str, Any], columns: list[str]) -> pl.DataFrame:
    """One CSV read as ``table`` with ``spec``: the full reading of each row with the
    reasons of its rejected row and cells; the fast reading must agree wherever it holds."""
    path = tmp_path / f"{table}.csv"
    path.write_text(text, encoding="utf-8")
    data: TableData = read_table(table, [str(path)], InputSpec(**spec), columns, {})
    full = data.frame.with_columns(
        data.reason().alias("row_reason"), *[data.cell_reason(c).alias(f"why_{c}") for c in data.cell_columns]
    ).collect()
    fast = data.fast_frame().collect()
    agree = [c for c in columns if c != "collector_id"]
    held = fast["_fast"]
    assert fast.filter(held).select(agree).equals(full.filter(held).select(agree))
    return full


def test_durations_in_each_format_are_whole_seconds(tmp_path: Path) -> None:
    cases = {
        "H:MM:SS": ["0:02:05", "1:00:00", "12:30:01", " 0:00:07 ", "2:05", "0:2:05", "0:02:65", "125", "-0:00:05"],
        "M:SS": ["2:05", "75:00", "0:59", " 0:07 ", "0:02:05", "2:5", "1:60", "125", "2.05"],
        "H.MM.SS": ["0.02.05", "1.00.00", "12.30.01", " 0.00.07 ", "0:02:05", "0.2.05", "0.02.65", "125", "2.05"],
    }
    seconds = [125, 3600, 45001, 7, None, None, None, None, None]
    seconds_of = {"M:SS": [125, 4500, 59, 7, None, None, None, None, None]}
    for fmt, written in cases.items():
        text = "case_id,collector_id,channel,contacted_at,outcome,duration_s\n" + "".join(
            f'c{i},A,call,2025-03-02 10:00:00,connected,"{value}"\n' for i, value in enumerate(written)
        )
        spec = {"formats": {"duration_s": fmt}}
        got = _read(tmp_path, "contacts", text, spec, ["case_id", "collector_id", "duration_s"])
        assert got["duration_s"].to_list() == seconds_of.get(fmt, seconds), fmt
        assert got["_ok"].all()  # a bad duration costs its cell, not the contact
        why = got["why_duration_s"].to_list()
        assert why == [None] * 4 + [f"duration_s: not a duration in {fmt}"] * 5, fmt


def test_durations_without_a_format_are_plain_seconds(tmp_path: Path) -> None:
    text = "case_id,collector_id,duration_s\nc1,A,125\nc2,A, 60 \nc3,A,0:02:05\nc4,A,\n"
    got = _read(tmp_path, "contacts", text, {}, ["case_id", "collector_id", "duration_s"])
    assert got["duration_s"].to_list() == [125, 60, None, None]
    assert got["why_duration_s"].to_list() == [None, None, "duration_s: not a whole number", None]


def test_a_duration_format_must_be_one_of_the_three(tmp_path: Path) -> None:
    text = "case_id,collector_id,duration_s,ptp_amount\nc1,A,125,10\n"
    with pytest.raises(InputError, match=r"formats.duration_s: 'HH:MM' is not a duration format; use one of H:MM:SS"):
        _read(tmp_path, "contacts", text, {"formats": {"duration_s": "HH:MM"}}, ["case_id", "duration_s"])
    with pytest.raises(InputError, match=r"ptp_amount is not a date or datetime column.*duration_s, takes H:MM:SS"):
        _read(tmp_path, "contacts", text, {"formats": {"ptp_amount": "H:MM:SS"}}, ["case_id", "ptp_amount"])


def test_missing_markers_are_missing_values_of_their_column_only(tmp_path: Path) -> None:
    text = (
        "case_id,collector_id,日期,q_start,talk\n"
        "c1,A,2025-03-02,0:00:00,0:00:00\n"  # never queued: no time, not midnight
        "c2,A,2025-03-02, 0:00:00 ,0:01:00\n"
        "c3,A,2025-03-02,09:15:00,n/a\n"
        "c4,A,2025-03-02,00:00:00,0:00:00\n"  # another text than the marker: midnight
    )
    spec = {
        "columns": {"talk": "duration_s"},
        "datetime_parts": {"contacted_at": ["日期", "q_start"]},
        "formats": {"duration_s": "H:MM:SS"},
        # one by its header, one by the canonical column it is read as, a single marker unlisted
        "missing_values": {"q_start": ["0:00:00"], "duration_s": "n/a"},
    }
    got = _read(tmp_path, "contacts", text, spec, ["case_id", "collector_id", "contacted_at", "duration_s"])
    assert got["contacted_at"].cast(pl.String).to_list() == [
        None,
        None,
        "2025-03-02 09:15:00.000000",
        "2025-03-02 00:00:00.000000",
    ]
    assert got["row_reason"].to_list() == ["contacted_at: missing value"] * 2 + [None, None]
    assert got["duration_s"].to_list() == [0, 60, None, 0]  # the marker of q_start is a duration here
    assert got["why_duration_s"].to_list() == [None] * 4
    with pytest.raises(InputError, match=r"missing_values.q_strat: no such header in the file.*did you mean 'q_start'"):
        _read(tmp_path, "contacts", text, {**spec, "missing_values": {"q_strat": ["0:00:00"]}}, ["case_id"])


def test_a_datetime_part_falls_back_to_the_next_column(tmp_path: Path) -> None:
    text = (
        "case_id,collector_id,date,q_start,vru_entry\n"
        "c1,A,2025-03-02,10:00:05,09:59:47\n"  # queued: its queue time
        "c2,A,2025-03-02,0:00:00,09:59:47\n"  # never queued: when it entered the menu
        "c3,A,2025-03-02,,08:00:00\n"
        "c4,A,2025-03-02,0:00:00,\n"  # neither: missing, its row rejected
    )
    spec = {
        "datetime_parts": {"contacted_at": ["date", ["q_start", "vru_entry"]]},
        "missing_values": {"q_start": ["0:00:00"]},
    }
    got = _read(tmp_path, "contacts", text, spec, ["case_id", "collector_id", "contacted_at"])
    assert got["contacted_at"].dt.strftime("%d %H:%M:%S").to_list() == [
        "02 10:00:05",
        "02 09:59:47",
        "02 08:00:00",
        None,
    ]
    assert got["row_reason"].to_list() == [None, None, None, "contacted_at: missing value"]
    spec["datetime_parts"] = {"contacted_at": ["date", ["q_start", "vru_exit"]]}
    with pytest.raises(InputError, match=r"missing column 'vru_exit' \(inputs.contacts.datetime_parts.contacted_at"):
        _read(tmp_path, "contacts", text, spec, ["case_id", "contacted_at"])
    spec["datetime_parts"] = {"contacted_at": ["date", []]}
    with pytest.raises(InputError, match=r"inputs.contacts.datetime_parts.contacted_at: a part lists no column"):
        _read(tmp_path, "contacts", text, spec, ["case_id", "contacted_at"])


def test_a_composite_id_joins_its_headers(tmp_path: Path) -> None:
    text = (
        "vru_line,call_id,case_id,collector_id\n"
        "AA0101,33116,c1,A\n"
        "AA0102,33116,c1,A\n"  # the same call_id on another line: another contact
        " AA0102 ,33117,c2,A\n"
        ",33118,c3,A\n"  # a part missing: no id
    )
    spec = {"columns": {"contact_id": ["vru_line", "call_id"]}}
    got = _read(tmp_path, "contacts", text, spec, ["contact_id", "case_id", "collector_id"])
    assert got["contact_id"].to_list() == ["AA0101|33116", "AA0102|33116", "AA0102|33117", None]
    assert got["row_reason"].to_list() == [None] * 4  # contact_id is optional
    # A required id with a part missing rejects its row.
    spec = {"columns": {"case_id": ["vru_line", "call_id"]}}
    no_case = "\n".join(line.rpartition(",")[0].rpartition(",")[0] + ",A" for line in text.splitlines())
    no_case = no_case.replace("call_id,A", "call_id,collector_id", 1) + "\n"
    got = _read(tmp_path, "contacts", no_case, spec, ["case_id", "collector_id"])
    assert got["case_id"].to_list() == ["AA0101|33116", "AA0102|33116", "AA0102|33117", None]
    assert got["row_reason"].to_list() == [None] * 3 + ["case_id: missing value"]
    with pytest.raises(InputError, match=r"the header 'case_id' and inputs.contacts.columns.case_id are both read"):
        _read(tmp_path, "contacts", text, spec, ["case_id"])
    with pytest.raises(InputError, match=r"missing column 'line' \(inputs.contacts.columns.contact_id joins it"):
        _read(tmp_path, "contacts", text, {"columns": {"contact_id": ["line", "call_id"]}}, ["contact_id"])
    with pytest.raises(InputError, match=r"columns.duration_s: a list of headers joins two or more distinct columns"):
        _read(tmp_path, "contacts", text, {"columns": {"duration_s": ["vru_line", "call_id"]}}, ["case_id"])
    with pytest.raises(InputError, match=r"columns.contact_id: a list of headers joins two or more"):
        _read(tmp_path, "contacts", text, {"columns": {"contact_id": ["call_id"]}}, ["case_id"])


def test_the_optional_balance_direction_and_team_columns(tmp_path: Path) -> None:
    cases = (
        "case_id,collector_id,team_id,opening_balance,closing_balance,closing_bucket\n"
        'a1,A,T1,"1,000.50",0,M0\n'
        "a2,A,T1,2000,abc, M2 \n"
        "a3,A,T1,-5,,\n"
    )
    columns = ["case_id", "collector_id", "team_id", "opening_balance", "closing_balance", "closing_bucket"]
    got = _read(tmp_path, "cases", cases, {}, columns)
    assert got["opening_balance"].to_list() == [100050, 200000, -500]  # in cents
    assert got["closing_balance"].to_list() == [0, None, None]
    assert got["closing_bucket"].to_list() == ["M0", "M2", None]
    assert got["why_closing_balance"].to_list() == [None, "closing_balance: not a number", None]
    assert got["why_opening_balance"].to_list() == [None, None, "opening_balance: negative"]
    assert got["_ok"].all()
    contacts = (
        "case_id,collector_id,channel,contacted_at,outcome,direction,team_id\n"
        "a1,A,call,2025-03-02 10:00:00,abandoned,Inbound,T1\n"
        "a1,A,call,2025-03-02 11:00:00,connected,outbound, T2 \n"
        "a1,A,call,2025-03-02 12:00:00,connected,呼入,\n"
        "a1,A,sms,2025-03-02 13:00:00,abandoned,sideways,T1\n"
        "a1,A,call,2025-03-02 14:00:00,busy,,T1\n"
    )
    columns = ["case_id", "collector_id", "channel", "outcome", "direction", "team_id"]
    got = _read(tmp_path, "contacts", contacts, {"values": {"direction": {"呼入": "inbound"}}}, columns)
    assert got["direction"].to_list() == ["inbound", "outbound", "inbound", "sideways", None]
    assert got["why_direction"].to_list() == [None, None, None, "direction: not inbound/outbound", None]
    assert got["team_id"].to_list() == ["T1", "T2", None, "T1", "T1"]
    # abandoned is a call's outcome, not an sms's
    assert got["why_outcome"].to_list() == [None, None, None, "outcome: not an outcome of this channel", None]


def test_a_duration_stored_as_one_is_its_whole_seconds(tmp_path: Path) -> None:
    from datetime import time, timedelta

    ids = {"case_id": ["c1", "c2", "c3"], "collector_id": ["A", "A", "A"]}
    durations = [timedelta(seconds=125), timedelta(hours=1, seconds=1), timedelta(seconds=1.5)]
    pl.DataFrame({**ids, "duration_s": durations}).write_parquet(tmp_path / "durations.parquet")
    times = [time(0, 2, 5), time(1, 0, 1), time(0, 0, 0, 500000)]  # a time cell: as long as past midnight
    pl.DataFrame({**ids, "talk": times}).write_parquet(tmp_path / "times.parquet")
    for name, spec in (("durations", {}), ("times", {"columns": {"talk": "duration_s"}})):
        path = str(tmp_path / f"{name}.parquet")
        data = read_table("contacts", [path], InputSpec(**spec), ["duration_s"], {})
        got = data.frame.with_columns(data.cell_reason("duration_s").alias("why")).collect()
        assert got["duration_s"].to_list() == [125, 3601, None], name  # 1.5 s is no whole number of seconds
        assert got["why"].to_list() == [None, None, "duration_s: not a whole number"], name


def test_one_file_reached_by_two_names_is_read_once(tmp_path: Path) -> None:
    import os

    from collector_kpi.sources import resolve_paths

    folder = tmp_path / "2025-03"
    folder.mkdir()
    cases = folder / "cases.csv"
    cases.write_text(CASES, encoding="utf-8")
    (tmp_path / "latest").symlink_to("2025-03")  # a `latest` link to the month's folder
    os.link(cases, folder / "cases-hard.csv")  # a hard link: one file, two names
    (folder / "other.csv").write_text(CASES.replace("a1,", "z1,"), encoding="utf-8")
    scheme = load_scheme(_scheme_file(tmp_path))
    glob = tmp_path / "2025-03" / ".." / "latest" / "*.csv"
    given = [str(cases), str(tmp_path / "latest" / "cases.csv"), str(glob)]
    # each file under the first name it is reached by
    assert resolve_paths(scheme, "cases", ["2025-03"], given) == [str(cases), str(glob.parent / "other.csv")]
    # a `**` glob through the folder and through the link to it: four names, one file (the first name sorted)
    assert resolve_paths(scheme, "cases", ["2025-03"], str(tmp_path / "**" / "cases*.csv")) == [
        str(folder / "cases-hard.csv")
    ]


def _scheme_file(root: Path) -> Path:
    path = root / "scheme.yaml"
    path.write_text(TINY_SCHEME + GRADES, encoding="utf-8")
    return path
