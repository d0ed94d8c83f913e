"""`kpi validate`: the data-quality report, its issues as values, and its exit codes.

The month is conftest.py's tiny month, with rows appended to make each warning fire once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from collector_kpi.cli import app
from tests.conftest import TINY_SCHEME, write_scheme

SCHEME = TINY_SCHEME

EXTRA_CASES = (
    "a5,A,Ann,T1,2025-03-01,1000,0,0,,,M1\n"  # row 14: another case of A
    "c6,C,Cy,T1,2025-03-01,1000,1500,0,,,M1\n"  # row 15: C also in T1; recovered > overdue
    "c7,C,Cy,T2,2025-04-02,1000,0,0,,,M1\n"  # row 16: assigned after the month
)
EXTRA_CONTACTS = (
    "k12,zz,A,call,2025-03-20 10:00:00,connected,60,false,,,2099-01-01 00:00:00\n"  # row 13: no case zz; future
    "k13,a1,A,call,2025-03-21 10:00:00,connected,60,false,,,2025-03-21 11:00:00\n"  # row 14: a call of A
    "k14,b1,B,sms,2025-03-22 09:00:00,sent,,,,,\n"  # row 15
)
# Rows whose key another row holds.
REPEATED_CASE = "a1,A,Ann,T1,2025-03-01,1000,0,0,,,M1\n"  # row 14: a1 again for A
REPEATED_CONTACT = "k01,b1,B,sms,2025-03-22 09:00:00,sent,,,,,\n"  # row 13: contact_id k01 again
REPEATED_REVIEW = "A,2025-03,70,70,70,0\n"  # row 5: a second March review of A


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def validate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["validate", "-m", "2025-03", *args])
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def report(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = validate(*args, "--format", "json")
    assert code in (0, 1), err
    return code, json.loads(out)


def by_type(issues: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for issue in issues:
        out.setdefault(issue["type"], []).append(issue)
    return out


@pytest.fixture
def scheme(tiny: Path) -> Path:
    return write_scheme(tiny, SCHEME)


def test_warnings_alone_exit_0_and_are_values(tiny: Path, scheme: Path) -> None:
    month = tiny / "2025-03"
    append(month / "cases.csv", EXTRA_CASES)
    append(month / "contacts.csv", EXTRA_CONTACTS)
    code, data = report("-c", str(scheme))
    assert code == 0
    assert data["month"] == "2025-03" and data["valid"] is True
    cases, contacts = str(month / "cases.csv"), str(month / "contacts.csv")
    issues = by_type(data["issues"])
    assert all(issue["severity"] == "warning" for issue in data["issues"])

    def only(slug: str) -> dict[str, Any]:
        assert len(issues[slug]) == 1, issues[slug]
        issue = issues[slug][0]
        del issue["severity"]
        return issue

    assert only("contact-without-case") == {
        "type": "contact-without-case",
        "message": "1 row(s): contacts for cases not in the cases table",
        "table": "contacts",
        "file": contacts,
        "column": "case_id",
        "rows": [13],
        "count": 1,
    }
    assert not [slug for slug in issues if slug.startswith("duplicate-")]
    assert only("recovered-exceeds-overdue") == {
        "type": "recovered-exceeds-overdue",
        "message": "1 row(s): recovered_amount is larger than overdue_amount",
        "table": "cases",
        "file": cases,
        "column": "recovered_amount",
        "rows": [15],
        "count": 1,
    }
    assert only("assigned-after-month") == {
        "type": "assigned-after-month",
        "message": "1 row(s): assigned_date is after the month",
        "table": "cases",
        "file": cases,
        "column": "assigned_date",
        "rows": [16],
        "count": 1,
    }
    # b3 of the tiny month is settled on 2025-04-02
    assert only("settled-after-month")["rows"] == [8]
    assert only("future-date") == {
        "type": "future-date",
        "message": "1 row(s): dates in the future",
        "table": "contacts",
        "file": contacts,
        "column": None,
        "rows": [13],
        "count": 1,
    }
    # C holds c1..c5 and c7 in T2 and c6 in T1: all seven rows are listed, the first five as examples
    assert only("collector-in-several-teams") == {
        "type": "collector-in-several-teams",
        "message": "7 row(s): collectors in several teams (each team counts its own case rows; the collector is "
        "shown under the roster's team, else the one holding most of their cases)",
        "table": "cases",
        "file": cases,
        "column": "team_id",
        "rows": [9, 10, 11, 12, 13],
        "count": 7,
    }
    # the tiny month's February contact and February review are skipped, not rejected
    # each named by its file and row: k11 of 27 February (line 12), A's review of 2025-02 (line 4)
    skipped = sorted((i["table"], i["file"], i["rows"], i["count"]) for i in issues["other-month"])
    assert skipped == [("contacts", contacts, [12], 1), ("reviews", str(month / "reviews.csv"), [4], 1)]
    tables = {t["table"]: t for t in data["tables"]}
    assert tables["cases"] == {
        "table": "cases",
        "files": [cases],
        "read": 15,
        "used": 15,
        "rejected": 0,
        "other_month": 0,
        "blank": 0,
        "duplicates": 0,
        "lines": 15,
        "rejected_by_reason": {},
        "cells_rejected": 0,
        "cells_rejected_by_column": {},
        "cells_rejected_by_reason": {},
    }
    assert (tables["contacts"]["read"], tables["contacts"]["other_month"]) == (13, 1)


def test_ids_in_another_letter_case_and_ids_with_several_names_are_warned_about(tiny: Path, scheme: Path) -> None:
    append(
        tiny / "2025-03" / "cases.csv", "a5,A,Anne,T1,2025-03-01,1000,0,0,,,M1\nb4,b,Bo,T1,2025-03-01,1000,0,0,,,M1\n"
    )
    code, data = report("-c", str(scheme))
    assert code == 0
    issues = by_type(data["issues"])
    # B: rows 6, 7, 8; b: row 15
    assert [(i["column"], i["rows"], i["count"]) for i in issues["id-letter-case"]] == [
        ("collector_id", [6, 7, 8, 15], 4)
    ]
    # A: Ann on rows 2–5, Anne on row 14
    names = issues["collector-several-names"]
    assert [(i["column"], i["rows"], i["count"]) for i in names] == [("collector_name", [2, 3, 4, 5, 14], 5)]
    assert names[0]["message"] == (
        "5 row(s): a collector id written with several names (one collector, shown under one of them)"
    )


def test_warnings_table_says_usable(tiny: Path, scheme: Path) -> None:
    append(tiny / "2025-03" / "cases.csv", EXTRA_CASES)
    code, out, _ = validate("-c", str(scheme))
    assert code == 0
    assert "collector-in-several-teams" in out
    assert out.rstrip().endswith("usable, with warnings")


def test_a_report_to_a_pipe_is_not_padded(tiny: Path, scheme: Path) -> None:
    """Written to a file or a pipe, each line is as long as its text, not the console's width."""
    append(tiny / "2025-03" / "contacts.csv", EXTRA_CONTACTS)
    code, out, err = validate("-c", str(scheme))
    assert code == 0, err
    assert out.splitlines(), out
    assert max(len(line) for line in out.splitlines()) < 300


def test_a_repeated_row_key_is_an_error_naming_both_rows(tiny: Path, scheme: Path) -> None:
    month = tiny / "2025-03"
    append(month / "cases.csv", REPEATED_CASE)
    append(month / "contacts.csv", REPEATED_CONTACT)
    append(month / "reviews.csv", REPEATED_REVIEW)
    code, data = report("-c", str(scheme))
    assert code == 1 and data["valid"] is False
    issues = by_type(data["issues"])
    cases, contacts, reviews = (str(month / f"{name}.csv") for name in ("cases", "contacts", "reviews"))
    assert issues["duplicate-case-row"] == [
        {
            "type": "duplicate-case-row",
            "message": f"cases: the same case_id + collector_id (case_id a1, collector_id A) is in {cases} row 2 "
            f"and {cases} row 14; a row must count once: fix the export, or set inputs.cases.duplicates "
            "to first or last",
            "severity": "error",
            "table": "cases",
            "file": cases,
            "column": "case_id",
            "rows": [2, 14],
            "count": 2,
        }
    ]
    assert issues["duplicate-contact-id"][0]["rows"] == [2, 13]
    assert f"{contacts} row 2 and {contacts} row 13" in issues["duplicate-contact-id"][0]["message"]
    # the February review of A is another month's: rows 2 and 5 are March's
    assert issues["duplicate-review-row"][0]["rows"] == [2, 5]
    assert f"{reviews} row 2 and {reviews} row 5" in issues["duplicate-review-row"][0]["message"]
    tables = {t["table"]: t for t in data["tables"]}
    assert (tables["cases"]["read"], tables["cases"]["used"], tables["cases"]["duplicates"]) == (13, 13, 0)


def test_a_duplicates_policy_drops_and_counts_the_rows(tiny: Path) -> None:
    scheme = write_scheme(tiny, SCHEME)
    scheme.write_text(
        scheme.read_text().replace('"{month}/cases.csv"}', '"{month}/cases.csv", duplicates: last}'), encoding="utf-8"
    )
    cases = tiny / "2025-03" / "cases.csv"
    append(cases, REPEATED_CASE)
    code, data = report("-c", str(scheme))
    assert code == 0, data
    tables = {t["table"]: t for t in data["tables"]}
    # 13 rows read: the 12 used and row 2, dropped as row 14 holds its key (last is kept)
    assert (tables["cases"]["read"], tables["cases"]["used"], tables["cases"]["duplicates"]) == (13, 12, 1)
    (dropped,) = by_type(data["issues"])["duplicate-rows-dropped"]
    assert (dropped["severity"], dropped["file"], dropped["rows"], dropped["count"]) == ("warning", str(cases), [2], 1)
    assert f"{cases} row 14, which is kept" in dropped["message"]


def test_rejected_rows_exit_1_with_the_report_first(tiny: Path, scheme: Path) -> None:
    cases = tiny / "2025-03" / "cases.csv"
    text = cases.read_text().replace("a3,A,Ann,T1,2025-03-05", "a3,A,Ann,T1,5 March")
    cases.write_text(text.replace("c2,C,Cy,T2,2025-03-01,1000,0", "c2,C,Cy,T2,2025-03-01,1000,-5"))
    code, out, err = validate("-c", str(scheme))
    assert code == 1, err
    assert out.index("rows per table") < out.index("Problems") < out.index("errors found: rows or cells were rejected")
    assert "bad-date" in out and "negative-value" in out and "cells rejected" in out

    code, data = report("-c", str(scheme))
    assert code == 1 and data["valid"] is False
    errors = [i for i in data["issues"] if i["severity"] == "error"]
    # a negative recovered_amount rejects its row; a bad assigned_date only its cell
    assert errors == [
        {
            "type": "negative-value",
            "message": "1 row(s) rejected: recovered_amount: negative (row 10: '-5')",
            "severity": "error",
            "table": "cases",
            "file": str(cases),
            "column": "recovered_amount",
            "rows": [10],
            "count": 1,
        },
        {
            "type": "bad-date",
            # the format this column is written in, not every one the reader knows
            "message": "1 cell(s) rejected: assigned_date: not a date (row 4: '5 March'; expected a date written "
            "%Y-%m-%d, the format of this column's first rows in this file (set "
            "inputs.cases.formats.assigned_date to read another))",
            "severity": "error",
            "table": "cases",
            "file": str(cases),
            "column": "assigned_date",
            "rows": [4],
            "count": 1,
        },
    ]
    stats = next(t for t in data["tables"] if t["table"] == "cases")
    assert (stats["read"], stats["used"], stats["rejected"], stats["cells_rejected"]) == (12, 11, 1, 1)
    assert stats["rejected_by_reason"] == {"recovered_amount: negative": 1}
    assert stats["cells_rejected_by_column"] == {"assigned_date": 1}
    assert stats["cells_rejected_by_reason"] == {"assigned_date: not a date": 1}


def test_a_log_before_its_contact_is_a_rejected_cell(tiny: Path, scheme: Path) -> None:
    """k03 logged a day before its call: not a timely follow-up (nor a late one); the contact is used."""
    contacts = tiny / "2025-03" / "contacts.csv"
    contacts.write_text(contacts.read_text().replace(",70,2025-03-05 16:00:00", ",70,2025-03-03 16:00:00"))
    code, data = report("-c", str(scheme))
    assert code == 1
    [issue] = [i for i in data["issues"] if i["severity"] == "error"]
    where = (issue["type"], issue["column"], issue["rows"], issue["file"])
    assert where == ("date-order", "logged_at", [4], str(contacts))
    assert issue["message"].startswith("1 cell(s) rejected: logged_at: before contacted_at")
    stats = next(t for t in data["tables"] if t["table"] == "contacts")
    assert (stats["read"], stats["used"], stats["rejected"], stats["cells_rejected"]) == (10, 10, 0, 1)


def test_examples_are_capped_but_the_count_is_not(tiny: Path, scheme: Path) -> None:
    contacts = tiny / "2025-03" / "contacts.csv"
    contacts.write_text(contacts.read_text().replace(",call,", ",phone,"))
    code, data = report("-c", str(scheme))
    assert code == 1
    [issue] = [i for i in data["issues"] if i["type"] == "unknown-channel"]
    # k01 k02 k03 k07 k08 k10 are March calls (rows 2 3 4 8 9 11); k11 (row 12) is February's
    assert issue["count"] == 6 and issue["rows"] == [2, 3, 4, 8, 9]
    _, out, _ = validate("-c", str(scheme))
    assert "2, 3, 4, 8, 9 …" in out


def rejected_in_summary(summary: str) -> dict[str, int]:
    """`2025-03: cases 12 read, 12 used, 0 rejected, 1 cell(s) rejected (…); …` → {table: rows + cells rejected}."""
    found = re.finditer(r"(\w+) [\d,]+ read, [\d,]+ used, ([\d,]+) rejected(?:[^;]*?, ([\d,]+) cell)?", summary)
    return {m[1]: int(m[2]) + int(m[3] or 0) for m in found}


@pytest.mark.parametrize(
    ("table", "old", "new", "slug", "column", "score_reads_it"),
    [
        ("contacts", "120,true,500,90", "120,perhaps,500,90", "bad-boolean", "ptp", False),
        ("contacts", "300,false,,70", "300,false,,170", "out-of-range", "qa_score", False),
        ("contacts", "k06,a4,A,visit,2025-03-07 09:00:00,completed", "k06,a4,A,visit,2025-03-07 09:00:00,connected",
         "outcome-channel-mismatch", "outcome", True),
        ("cases", "2025-03-10,2025-03-05,M1", "2025-02-10,2025-03-05,M1", "date-order", "settled_date", False),
        ("cases", "1000,600,400", "1000,600,lots", "not-a-number", "waived_amount", False),
        ("reviews", "B,2025-03,75,70,60,1", "B,2025-03,75,70,60,-1", "negative-value", "violations", False),
        ("roster", "D,Di,T2,1000,true", "D,Di,T2,1000,yes please", "bad-boolean", "active", True),
    ],
)  # fmt: skip
def test_validate_checks_every_column_the_files_carry(
    tiny: Path, scheme: Path, table: str, old: str, new: str, slug: str, column: str, score_reads_it: bool
) -> None:
    """Validate checks every column the files carry; score only those the scheme needs."""
    path = tiny / "2025-03" / f"{table}.csv"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    code, data = report("-c", str(scheme))
    assert code == 1
    errors = [i for i in data["issues"] if i["severity"] == "error"]
    assert [(i["type"], i["table"], i["column"], i["count"]) for i in errors] == [(slug, table, column, 1)]
    result = CliRunner().invoke(app, ["score", "-m", "2025-03", "-c", str(scheme), "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    assert rejected_in_summary(result.stderr).get(table, 0) == (1 if score_reads_it else 0)


def test_validate_without_optional_columns(tiny: Path, scheme: Path) -> None:
    """A bare export (no settled_date, first_payment_date, logged_at) is checked, not crashed on."""
    month = tiny / "2025-03"
    (month / "cases.csv").write_text(
        "case_id,collector_id,team_id,assigned_date,overdue_amount,recovered_amount\na1,A,T1,2025-03-01,100,50\n"
    )
    (month / "contacts.csv").write_text(
        "case_id,collector_id,channel,contacted_at,outcome\na1,A,call,2025-03-02 10:00:00,connected\n"
    )
    code, data = report("-c", str(scheme))
    assert code == 0
    issues = {i["type"]: i for i in data["issues"]}
    assert set(issues) == {"other-month", "collector-without-cases"}  # the tiny month's February review
    # B's March review, while only A holds a case now: a typo, or a collector not ranked
    assert (issues["collector-without-cases"]["table"], issues["collector-without-cases"]["rows"]) == ("reviews", [3])


def test_contacts_only_scheme_skips_the_case_checks(tmp_path: Path) -> None:
    (tmp_path / "calls.csv").write_text(
        "case_id,collector_id,channel,contacted_at,outcome\nx1,A,call,2025-03-02 10:00:00,connected\n"
    )
    scheme = tmp_path / "s.yaml"
    scheme.write_text(
        "inputs: {contacts: {path: calls.csv}}\nmissing: zero\n"
        "metrics: {call_connect_rate: {weight: 100, score: {method: percentile}}}\ngrades: [{grade: A, min: 0}]\n"
    )
    code, data = report("-c", str(scheme))
    assert code == 0
    assert [t["table"] for t in data["tables"]] == ["contacts"]
    assert data["issues"] == []
    code, out, _ = validate("-c", str(scheme))
    assert code == 0 and "No problems found." in out


def test_validate_writes_rejects(tiny: Path, scheme: Path) -> None:
    contacts = tiny / "2025-03" / "contacts.csv"
    contacts.write_text(contacts.read_text().replace("k05,a3,A,sms,2025-03-06 09:00:00,failed", "k05,a3,A,sms,,failed"))
    target = tiny / "rejects.csv"
    code, _, err = validate("-c", str(scheme), "--rejects", str(target))
    assert code == 1
    assert f"wrote 1 rejected row(s) to {target}" in err
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 2
    header = lines[0].split(",")
    assert header[:7] == ["table", "source_file", "row", "rejected", "column", "reason", "value"]
    row = dict(zip(header, lines[1].split(","), strict=True))
    assert row["table"] == "contacts" and row["source_file"] == str(contacts) and row["row"] == "6"
    assert row["reason"] == "contacted_at: missing value" and row["case_id"] == "a3" and row["contacted_at"] == ""
    assert (row["rejected"], row["column"]) == ("row", "contacted_at")
