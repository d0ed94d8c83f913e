"""`kpi init`: a first scheme proposed from a folder of exports."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from collector_kpi import load_month, load_scheme, score
from collector_kpi.cli import app
from collector_kpi.init import guess_table, match_headers, propose
from collector_kpi.init_scheme import write_scheme
from collector_kpi.render import to_csv
from collector_kpi.scheme import parse_scheme
from tests.conftest import CASES

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_chinese_exports_score_as_the_hand_written_scheme(tmp_path: Path) -> None:
    target = tmp_path / "kpi.yaml"
    code, _, err = invoke("init", str(ROOT / "sample_data" / "zh" / "2025-03"), "--output", str(target))
    assert code == 0, err
    assert "next: kpi validate --month 2025-03" in err
    code, proposed, err = invoke("score", "-m", "2025-03", "-c", str(target), "-f", "csv")
    assert code == 0, err
    code, by_hand, _ = invoke("score", "-m", "2025-03", "-c", str(ROOT / "configs" / "zh-export.yaml"), "-f", "csv")
    assert code == 0
    assert proposed.encode() == by_hand.encode()
    code, out, err = invoke("validate", "-m", "2025-03", "-c", str(target))
    assert code == 0, out + err
    # what the hand-written scheme says about these files, found without being told
    text = target.read_text(encoding="utf-8")
    assert "contacted_at: [日期, 时间]" in text and 'separator: "\\t"' in text
    assert 'contacted_at: "%Y%m%d %H:%M:%S"' in text and 'assigned_date: "%Y/%m/%d"' in text
    assert "path: ../sample_data/zh/{month}/案件.csv" not in text  # relative to the scheme's own folder
    scheme = load_scheme(target)
    assert scheme.inputs.contacts.values["outcome"]["接通"] == "connected"
    assert scheme.inputs.roster.values["active"] == {"否": False, "是": True}


def test_canonical_exports_map_every_header_to_itself(tmp_path: Path) -> None:
    proposal = propose(ROOT / "sample_data" / "2025-03")
    assert sorted(proposal.files) == ["cases", "contacts", "reviews", "roster"]
    for found in proposal.files.values():
        assert all(m.source == m.column and m.known for m in found.matches), found.path
        assert found.values == {} and found.formats == {} and found.datetime_parts == {}
    assert proposal.month == "2025-03" and proposal.set_aside == []
    # and the scheme written from it scores as the default scheme
    target = tmp_path / "kpi.yaml"
    write_scheme(ROOT / "sample_data" / "2025-03", target)
    proposed, default = load_scheme(target), load_scheme(ROOT / "configs" / "default.yaml")
    assert to_csv(score(proposed, load_month(proposed, "2025-03")).table()) == to_csv(
        score(default, load_month(default, "2025-03")).table()
    )


def test_the_rest_of_the_scheme_is_the_default_one(tmp_path: Path) -> None:
    target = tmp_path / "kpi.yaml"
    write_scheme(ROOT / "sample_data" / "2025-03", target)
    proposed = parse_scheme(target.read_text(encoding="utf-8"))
    default = parse_scheme((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))
    skip = {"name", "inputs"}
    assert proposed.model_dump(exclude=skip) == default.model_dump(exclude=skip)


def test_never_overwrites_a_file(tmp_path: Path) -> None:
    target = tmp_path / "kpi.yaml"
    target.write_text("mine", encoding="utf-8")
    code, _, err = invoke("init", str(ROOT / "sample_data" / "2025-03"), "-o", str(target))
    assert code == 2
    assert err.startswith("Error: ") and str(target) in err and "never overwrites" in err
    assert target.read_text(encoding="utf-8") == "mine"


def test_headers_known_guessed_and_unknown() -> None:
    matches, parts = match_headers(["案件编号", "催收员的工号", "收回金额", "备注"], "cases")
    found = {m.source: (m.column, m.sure) for m in matches}
    assert found == {
        "案件编号": ("case_id", True),  # in the dictionary
        "催收员的工号": ("collector_id", True),  # 10/11 alike 催收员工号: sure
        "收回金额": ("recovered_amount", False),  # 6/8 alike 回收金额: to check
        "备注": (None, False),
    }
    assert parts == {}


def test_date_and_time_columns_are_joined() -> None:
    matches, parts = match_headers(["案件编号", "日期", "时间", "渠道"], "contacts")
    assert parts == {"contacted_at": ("日期", "时间")}
    assert [m.source for m in matches] == ["案件编号", "渠道"]


def test_the_table_is_guessed_from_the_headers() -> None:
    assert guess_table(["催收员工号", "催收员姓名", "组别", "目标金额", "在职"], "a.csv") == "roster"
    assert guess_table(["催收员工号", "通话质量", "违规次数"], "b.csv") == "reviews"
    assert guess_table(["case_id", "collector_id", "team_id", "overdue_amount"], "export.csv") == "cases"
    assert guess_table(["案件编号", "渠道", "结果", "拨打时间"], "roster.csv") == "contacts"
    assert guess_table(["备注", "说明"], "cases.csv") is None


def test_a_folder_of_cases_alone(tmp_path: Path) -> None:
    """Only the metrics of the cases, the default weights 10, 20, 5, 5, 5, 15 (= 60) made 100."""
    folder = tmp_path / "2025-03"
    folder.mkdir()
    (folder / "导出.csv").write_text(CASES, encoding="utf-8")
    (folder / "说明.csv").write_text("备注,说明\nx,y\n", encoding="utf-8")
    target = tmp_path / "kpi.yaml"
    proposal = write_scheme(folder, target)
    assert proposal.metrics == {
        "case_count": 16.67,  # 10 · 100 / 60
        "recovery_rate": 33.34,  # 33.33 and the 0.01 the rounding lost, on the heaviest
        "team_recovery_rate": 8.33,
        "handling_days": 8.33,
        "on_time_rate": 8.33,
        "settlement_rate": 25.0,
    }
    assert [Path(f).name for f, _ in proposal.set_aside] == ["说明.csv"]
    text = target.read_text(encoding="utf-8")
    assert 'path: "{month}/导出.csv"' in text  # beside the scheme, the month's folder templated
    assert "gates:" not in text  # no reviews, no violations
    card = score(load_scheme(target), load_month(load_scheme(target), "2025-03"))
    assert card.table().height == 3


def test_coded_values_from_the_whole_file(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    rows = ["案件编号,催收员工号,渠道,拨打时间,是否接通"]
    rows += [f"a{i},A,电话,2025-03-0{1 + i % 9} 10:00:00,{'是' if i % 2 else '否'}" for i in range(3000)]
    rows.append("a9,A,飞鸽,2025-03-09 10:00:00,是")  # far below the rows sampled for formats
    (folder / "calls.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "staff.csv").write_text("工号,在职状态\nA,在职\nB,离职\n", encoding="utf-8")
    proposal = propose(folder)
    assert proposal.files["roster"].values == {"active": {"在职": True, "离职": False}}
    found = proposal.files["contacts"]
    assert found.values == {"channel": {"电话": "call"}, "outcome": {"否": "no_answer", "是": "connected"}}
    assert found.unknown_values == {"channel": ["飞鸽"]}
    target = tmp_path / "kpi.yaml"
    write_scheme(folder, target)
    text = target.read_text(encoding="utf-8")
    assert "# 飞鸽: ?   # check: an unknown code; map it to one of call, sms, visit" in text
    assert yaml.safe_load(text)["inputs"]["contacts"]["values"]["channel"] == {"电话": "call"}


def test_a_folder_that_allows_no_metric_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "calls.csv").write_text("案件号,工号,方式,拨打时间,结果\nA1,C1,电话,2025-03-01 09:00:00,接通\n")
    target = tmp_path / "kpi.yaml"
    code, _, err = invoke("init", str(tmp_path), "-o", str(target))
    assert code == 2 and not target.exists()
    # 方式 is only 0.67 alike 联系方式: a guess, so the contacts have no sure channel
    assert "cases: no file" in err and "contacts (calls.csv): no sure column for channel" in err
