"""A tiny month, small enough to compute every metric by hand.

Collectors A and B in team T1, C in team T2, D on the roster only (T2, no cases).
Month 2025-03, SLA 30 days, follow-up within 24 hours.

cases (overdue / recovered / waived, assigned → settled, first payment):
  A  a1 1000/ 500/  0  03-01 → —       pay 03-11 (10 d)
     a2 2000/2000/  0  02-20 → 03-10   pay 03-05 (13 d)   handling 18 d
     a3 1000/   0/  0  03-05 → —
     a4 1000/ 600/400  03-01 → 03-21   pay 03-06 (5 d)    handling 20 d
  B  b1 4000/1000/  0  03-01 → —       pay 03-31 (30 d)
     b2 2000/   0/2000 01-01 → 03-15                      handling 73 d
     b3 1000/   0/  0  03-01 → 04-02 (after the month: not settled)
  C  c1 1000/1000/  0  03-01 → 03-11   pay 03-11 (10 d)   handling 10 d
     c2..c5 1000/0/0   03-01
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

CASES = """\
case_id,collector_id,collector_name,team_id,assigned_date,overdue_amount,recovered_amount,waived_amount,settled_date,first_payment_date,dpd_bucket
a1,A,Ann,T1,2025-03-01,1000,500,0,,2025-03-11,M1
a2,A,Ann,T1,2025-02-20,2000,2000,0,2025-03-10,2025-03-05,M1
a3,A,Ann,T1,2025-03-05,1000,0,0,,,M4+
a4,A,Ann,T1,2025-03-01,1000,600,400,2025-03-21,2025-03-06,M1
b1,B,Bo,T1,2025-03-01,4000,1000,0,,2025-03-31,M4+
b2,B,Bo,T1,2025-01-01,2000,0,2000,2025-03-15,,M4+
b3,B,Bo,T1,2025-03-01,1000,0,0,2025-04-02,,M1
c1,C,Cy,T2,2025-03-01,1000,1000,0,2025-03-11,2025-03-11,M1
c2,C,Cy,T2,2025-03-01,1000,0,0,,,M1
c3,C,Cy,T2,2025-03-01,1000,0,0,,,M1
c4,C,Cy,T2,2025-03-01,1000,0,0,,,M1
c5,C,Cy,T2,2025-03-01,1000,0,0,,,M1
"""

CONTACTS = """\
contact_id,case_id,collector_id,channel,contacted_at,outcome,duration_s,ptp,ptp_amount,qa_score,logged_at
k01,a1,A,call,2025-03-02 10:00:00,connected,120,true,500,90,2025-03-02 11:00:00
k02,a1,A,call,2025-03-03 10:00:00,no_answer,0,false,,,2025-03-03 12:00:00
k03,a2,A,call,2025-03-04 10:00:00,connected,300,false,,70,2025-03-05 16:00:00
k04,a1,A,sms,2025-03-05 09:00:00,replied,,,,,
k05,a3,A,sms,2025-03-06 09:00:00,failed,,,,,2025-03-06 09:00:00
k06,a4,A,visit,2025-03-07 09:00:00,completed,,,,,2025-03-08 10:00:00
k07,b1,B,call,2025-03-02 10:00:00,busy,0,false,,,2025-03-02 11:00:00
k08,b1,B,call,2025-03-09 10:00:00,connected,60,true,1000,,2025-03-09 11:00:00
k09,b2,B,visit,2025-03-10 09:00:00,planned,,,,,2025-03-10 10:00:00
k10,c1,C,call,2025-03-03 10:00:00,unreachable,0,false,,,
k11,c1,C,call,2025-02-27 10:00:00,connected,60,false,,,2025-02-27 10:10:00
"""

REVIEWS = """\
collector_id,month,call_quality,knowledge,teamwork,violations
A,2025-03,60,80,90,0
B,2025-03,75,70,60,1
A,2025-02,10,10,10,5
"""

ROSTER = """\
collector_id,collector_name,team_id,target_amount,active
A,Ann,T1,5000,true
B,Bo,T1,2000,true
C,Cy,T2,1000,true
D,Di,T2,1000,true
"""

INPUTS = """\
inputs:
  cases: {path: "{month}/cases.csv"}
  contacts: {path: "{month}/contacts.csv"}
  reviews: {path: "{month}/reviews.csv"}
  roster: {path: "{month}/roster.csv"}
"""

# A two-metric scheme for the tiny month, shared by the CLI-level tests.
TINY_SCHEME = """\
name: tiny
missing: reweight
eligibility: {min_cases: 3}
metrics:
  recovery_rate: {weight: 60, score: {method: range, floor: 0.1, ceiling: 0.5}}
  call_connect_rate: {weight: 40, score: {method: percentile}}
"""

GRADES = """\
grades:
  - {grade: A, min: 80}
  - {grade: B, min: 50}
  - {grade: C, min: 20}
  - {grade: D, min: 0}
"""


def write_month(root: Path, month: str = "2025-03") -> Path:
    folder = root / month
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("cases", CASES), ("contacts", CONTACTS), ("reviews", REVIEWS), ("roster", ROSTER)):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def write_scheme(root: Path, body: str, name: str = "scheme.yaml", inputs: bool = True, grades: bool = True) -> Path:
    """A scheme file in ``root`` made of the shared inputs/grades and ``body``."""
    text = (INPUTS if inputs else "") + textwrap.dedent(body) + (GRADES if grades else "")
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A folder holding the tiny 2025-03 month; schemes written there find it."""
    write_month(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Labels and the summary follow the locale: the tests read English ones whatever the
    machine's locale is (a test of Chinese output asks for it)."""
    monkeypatch.setenv("LANG", "C.UTF-8")
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
