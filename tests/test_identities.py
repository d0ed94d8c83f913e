"""Warnings about ids: letter case, several names, several teams (see collector_kpi/identities.py).

The tiny month of conftest.py: cases rows 2–5 are A's (a1–a4, T1), 6–8 B's (T1), 9–13 C's
(T2); contacts rows 2–7 A's, 8–10 B's, 11–12 C's; roster rows 2–5 A, B, C (T2), D (T2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collector_kpi import load_month, load_scheme, score
from collector_kpi.scoring import Scorecard
from tests.conftest import TINY_SCHEME, write_scheme


def run(root: Path) -> Scorecard:
    scheme = load_scheme(write_scheme(root, TINY_SCHEME, grades=True, inputs=True))
    return score(scheme, load_month(scheme, "2025-03"))


def edit(root: Path, table: str, old: str, new: str) -> None:
    path = root / "2025-03" / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def warnings(card: Scorecard) -> list[dict[str, Any]]:
    return [issue.to_dict() for issue in card.warnings]


def test_the_tiny_month_has_no_warning(tiny: Path) -> None:
    assert run(tiny).warnings == []


def test_normalised_ids_are_one_id_without_a_warning(tiny: Path) -> None:
    edit(tiny, "cases", "b3,B,Bo,T1", "b3,Ｂ\u200b,Bo,\ufeffT1")
    edit(tiny, "roster", "C,Cy,T2", "Ｃ,Cy,Ｔ2")
    card = run(tiny)
    assert card.warnings == []
    assert sorted(card.collectors["collector_id"]) == ["A", "B", "C", "D"]


def test_ids_that_differ_only_in_letter_case_are_kept_apart_and_named(tiny: Path) -> None:
    edit(tiny, "cases", "b3,B,Bo", "b3,b,Bo")
    card = run(tiny)
    assert sorted(card.collectors["collector_id"]) == ["A", "B", "C", "D", "b"]
    cases, contacts, roster = (str(tiny / "2025-03" / f"{t}.csv") for t in ("cases", "contacts", "roster"))
    assert warnings(card) == [
        {
            "type": "id-letter-case",
            "message": "collector_id 'B' and 'b' differ only in letter case and are scored as 2 collectors "
            f"(B: {cases} rows 6, 7, {contacts} rows 8, 9, 10, {roster} row 3; b: {cases} row 8)",
            "severity": "warning",
            "table": None,
            "file": None,
            "column": "collector_id",
            "rows": [6, 7, 8, 9, 10, 3, 8],
            "count": 7,
        }
    ]


def test_team_ids_and_ids_of_other_tables_are_compared_too(tiny: Path) -> None:
    edit(tiny, "cases", "c5,C,Cy,T2", "c5,C,Cy,t2")
    edit(tiny, "contacts", "k05,a3,A,", "k05,a3,a,")
    card = run(tiny)
    found = {(w["type"], w["column"]): w for w in warnings(card)}
    contacts = tiny / "2025-03" / "contacts.csv"
    assert "'A' and 'a' differ only in letter case" in found["id-letter-case", "collector_id"]["message"]
    assert f"a: {contacts} row 6" in found["id-letter-case", "collector_id"]["message"]
    team = found["id-letter-case", "team_id"]
    assert team["message"].startswith("team_id 'T2' and 't2' differ only in letter case and are scored as 2 teams")
    assert team["count"] == 4 + 2 + 1  # T2: cases c1–c4 and the roster's C and D; t2: case c5
    # C's rows sit in T2 and t2: a team each
    assert ("collector-in-several-teams", "team_id") in found


def test_an_id_given_several_names_is_one_collector_with_a_warning(tiny: Path) -> None:
    edit(tiny, "cases", "a4,A,Ann", "a4,A,Anne")
    edit(tiny, "roster", "C,Cy,T2", "C,Cyrus,T2")
    card = run(tiny)
    names = dict(card.collectors.select("collector_id", "collector_name").iter_rows())
    assert names == {"A": "Ann", "B": "Bo", "C": "Cy", "D": "Di"}
    cases, roster = (str(tiny / "2025-03" / f"{t}.csv") for t in ("cases", "roster"))
    found = warnings(card)
    assert [(w["type"], w["column"], w["rows"], w["count"]) for w in found] == [
        ("collector-several-names", "collector_name", [2, 3, 4, 2, 5], 5),
        ("collector-several-names", "collector_name", [9, 10, 11, 12, 13, 4], 6),
    ]
    assert found[0]["message"] == (
        f"collector_id 'A' is given several names: 'Ann' ({cases} rows 2, 3, 4, {roster} row 2), "
        f"'Anne' ({cases} row 5); one collector, shown as 'Ann'"
    )
    assert found[1]["message"].startswith(f"collector_id 'C' is given several names: 'Cy' ({cases} rows 9, 10,")


def test_a_collector_in_several_teams_is_shown_under_the_roster_team(tiny: Path) -> None:
    edit(tiny, "cases", "a3,A,Ann,T1", "a3,A,Ann,T2")
    edit(tiny, "cases", "a4,A,Ann,T1", "a4,A,Ann,T2")
    edit(tiny, "roster", "A,Ann,T1", "A,Ann,T2")
    card = run(tiny)
    cases, roster = (str(tiny / "2025-03" / f"{t}.csv") for t in ("cases", "roster"))
    assert card.collectors.filter(collector_id="A")["team_id"].to_list() == ["T2"]
    assert warnings(card) == [
        {
            "type": "collector-in-several-teams",
            "message": f"collector_id 'A' has rows in several teams: T1 ({cases} rows 2, 3), "
            f"T2 ({cases} rows 4, 5, {roster} row 2); each team counts its own case rows, "
            "and A is shown once, under T2 (the roster's team)",
            "severity": "warning",
            "table": None,
            "file": None,
            "column": "team_id",
            "rows": [2, 3, 4, 5, 2],
            "count": 5,
        }
    ]


def test_without_a_roster_the_team_with_most_cases_is_shown_ties_by_team_id(tiny: Path) -> None:
    edit(tiny, "cases", "a3,A,Ann,T1", "a3,A,Ann,T2")
    edit(tiny, "cases", "a4,A,Ann,T1", "a4,A,Ann,T2")  # two cases in T1, two in T2
    edit(tiny, "cases", "c5,C,Cy,T2", "c5,C,Cy,T3")  # four in T2, one in T3
    text = "inputs:\n  cases: {path: '{month}/cases.csv'}\n  contacts: {path: '{month}/contacts.csv'}\n"
    scheme = load_scheme(write_scheme(tiny, text + TINY_SCHEME, inputs=False))
    card = score(scheme, load_month(scheme, "2025-03"))
    shown = dict(card.collectors.select("collector_id", "team_id").iter_rows())
    assert shown == {"A": "T1", "B": "T1", "C": "T2"}
    found = [w["message"] for w in warnings(card)]
    assert [m.split(":")[0] for m in found] == [f"collector_id '{c}' has rows in several teams" for c in "AC"]
    assert found[0].endswith("A is shown once, under T1 (a tie: the first team id)")
    assert found[1].endswith("C is shown once, under T2 (the team with most of their case rows)")
    teams = dict(card.teams.select("team_id", "case_rows").iter_rows())
    assert teams == {"T1": 2 + 3, "T2": 2 + 4, "T3": 1}


def test_the_warnings_read_in_chinese(tiny: Path) -> None:
    import re

    from collector_kpi.labels import identity_text

    edit(tiny, "cases", "c5,C,Cy,T2", "c5,C,Cy,t2")  # team ids in two cases, so C in two teams
    edit(tiny, "cases", "b3,B,Bo", "b3,b,Bo")  # collector ids in two cases
    edit(tiny, "cases", "a4,A,Ann", "a4,A,Anne")  # two names
    messages = [issue.message for issue in run(tiny).warnings]
    assert len(messages) == 4
    folder = str(tiny / "2025-03")
    assert all(folder in message for message in messages)
    for message in messages:
        zh = identity_text(message, "zh")
        assert identity_text(message, "en") == message
        left = re.sub(r"'[^']*'", "", zh.replace(folder + "/", ""))  # the quoted ids and names
        left = re.sub(r"\w+\.csv", "", left)  # the files
        assert set(re.findall(r"[A-Za-z]{3,}\w*", left)) <= {"collector_id", "team_id"}, zh
        assert "行" in zh
    zh = [identity_text(message, "zh") for message in messages]
    assert any("只有大小写不同, 按 2 名催收员计分" in text for text in zh)
    assert any("只有大小写不同, 按 2 个团队计分" in text for text in zh)
    assert any("写有多个姓名" in text and "显示为 'Ann'" in text for text in zh)
    assert any("属于多个团队" in text and text.endswith("在 T2 下(花名册上的团队)") for text in zh)  # C's roster team
