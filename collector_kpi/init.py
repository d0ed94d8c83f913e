"""`kpi init`: a first scheme proposed from a folder of exports.

Each file's header and first rows are read with the same code as a scored month (encodings,
separators, date formats); the table a file holds is guessed from its headers (and name);
its headers are mapped onto the canonical columns by a dictionary of common Chinese and
English spellings, then by likeness (difflib). Sure mappings are written as they are,
doubtful ones as comments to check. The coded columns (channel, outcome, yes/no) get a
``values:`` map from the distinct values found; the metrics are the default scheme's that
the mapped columns allow, their weights rescaled to 100.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .errors import InputError
from .metrics import COMPONENTS, METRICS
from .scheme import TABLES, InputSpec
from .sources import (
    ALL_OUTCOMES,
    CANONICAL,
    FALSE_WORDS,
    FORMAT_SAMPLE,
    OUTCOMES,
    REQUIRED_VALUES,
    TRUE_WORDS,
    ColumnType,
    detect_encoding,
    detect_formats,
    distinct_values,
    expand_path,
    sample_rows,
)

__all__ = [
    "FileProposal",
    "Match",
    "Proposal",
    "allowed_metrics",
    "guess_table",
    "match_headers",
    "propose",
    "what_is_missing",
]

# Common spellings of each canonical column, Chinese and English (the id itself counts too).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "case_id": ("案件编号", "案件号", "案件id", "合同号", "合同编号", "借据号", "case no", "case number", "loan id"),
    "contact_id": ("催记编号", "记录编号", "催记id", "contact no"),
    "collector_id": ("催收员工号", "催收员编号", "催收员id", "员工工号", "员工编号", "工号", "坐席工号", "agent id"),
    "collector_name": ("催收员姓名", "催收员", "员工姓名", "坐席姓名", "姓名", "agent name", "name"),
    "team_id": ("组别", "团队", "小组", "组名", "团队编号", "组别编号", "team", "group"),
    "month": ("月份", "考核月份", "账期", "period"),
    "assigned_date": ("分案日期", "委案日期", "分配日期", "入催日期", "assign date"),
    "overdue_amount": ("委案金额", "逾期金额", "欠款金额", "应还金额", "overdue", "debt amount", "amount due"),
    "recovered_amount": ("回款金额", "还款金额", "实收金额", "回收金额", "repaid amount", "collected amount"),
    "waived_amount": ("减免金额", "减免", "waiver"),
    "settled_date": ("结清日期", "结案日期", "settle date", "closed date"),
    "first_payment_date": ("首次还款日期", "首还日期", "首次回款日期"),
    "dpd_bucket": ("账龄", "逾期阶段", "逾期分组", "bucket", "dpd"),
    "product": ("产品", "产品类型", "product type"),
    "channel": ("渠道", "联系方式", "催收方式", "催收渠道"),
    "contacted_at": ("拨打时间", "联系时间", "催收时间", "外呼时间", "呼叫时间", "contact time", "call time"),
    "outcome": ("结果", "联系结果", "通话结果", "催收结果", "是否接通", "result"),
    "duration_s": ("通话时长", "通话秒数", "时长", "duration", "talk time"),
    "ptp": ("承诺还款", "是否承诺还款", "是否承诺", "promise to pay"),
    "ptp_amount": ("承诺金额", "承诺还款金额", "promised amount"),
    "qa_score": ("质检分", "质检得分", "质检分数", "qa"),
    "logged_at": ("记录时间", "录入时间", "登记时间", "log time"),
    "call_quality": ("通话质量", "通话质量评分"),
    "knowledge": ("知识储备", "业务知识"),
    "teamwork": ("团队协作", "团队合作"),
    "violations": ("违规次数", "违规", "违规数"),
    "target_amount": ("目标金额", "回款目标", "目标", "target"),
    "active": ("在职", "是否在职", "在职状态", "is active"),
}
# A date and a time of day in two columns: joined into contacted_at (datetime_parts).
DATE_PARTS = ("日期", "拨打日期", "联系日期", "催收日期", "date", "call date", "contact date")
TIME_PARTS = ("时间", "时刻", "拨打时刻", "time", "clock")

# Values of the coded columns, as Chinese exports write them.
CODE_WORDS: dict[str, dict[str, str]] = {
    "channel": {
        "电话": "call", "外呼": "call", "呼叫": "call", "通话": "call", "phone": "call",
        "短信": "sms", "text": "sms",
        "上门": "visit", "外访": "visit", "家访": "visit", "field": "visit",
    },
    "outcome": {
        "接通": "connected", "已接通": "connected", "未接": "no_answer", "未接通": "no_answer",
        "无人接听": "no_answer", "占线": "busy", "忙线": "busy", "关机": "unreachable", "停机": "unreachable",
        "空号": "unreachable", "无法接通": "unreachable", "拒接": "refused", "挂断": "refused",
        "已发送": "sent", "发送成功": "sent", "已送达": "delivered", "送达": "delivered",
        "已回复": "replied", "回复": "replied", "发送失败": "failed", "失败": "failed",
        "计划": "planned", "计划上门": "planned", "已上门": "completed", "完成": "completed",
        "未找到": "not_found", "未见到": "not_found", "取消": "cancelled", "已取消": "cancelled",
    },
    "product": {"信用卡": "credit_card", "网贷": "online_loan"},
}  # fmt: skip
# Yes and no as a roster or a call log writes them, beyond the words the reader knows.
YES_NO_WORDS = {"在职": True, "离职": False, "已离职": False, "已承诺": True, "未承诺": False}
CANONICAL_CODES = {"channel": tuple(OUTCOMES), "outcome": ALL_OUTCOMES}
FILE_HINTS = {
    "cases": ("案件", "委案", "case"),
    "contacts": ("催记", "通话", "外呼", "contact", "call"),
    "reviews": ("考核", "评分", "review"),
    "roster": ("花名册", "人员", "员工", "roster", "staff"),
}
CONFIDENT = 0.85  # likeness from which a fuzzy match is written as sure
DOUBTFUL = 0.6  # below this, no match is proposed
ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S")  # the reader's first guesses: not worth writing
_MONTH = re.compile(r"(20[0-9]{2}-(?:0[1-9]|1[0-2]))")

# The default scheme's metrics (configs/default.yaml): weight, scoring rule, Chinese name.
DEFAULT_METRICS: dict[str, tuple[float, str]] = {
    "case_count": (10, "{method: percentile}"),
    "recovery_rate": (20, "{method: range, floor: 0.05, ceiling: 0.40}"),
    "target_attainment": (10, "{method: target, target: 1.0, cap: 1.2}"),
    "team_recovery_rate": (5, "{method: percentile}"),
    "call_quality": (10, "{method: range, floor: 60, ceiling: 95}"),
    "handling_days": (5, "{method: range, floor: 60, ceiling: 10}"),
    "on_time_rate": (5, "{method: range, floor: 0.3, ceiling: 0.9}"),
    "call_connect_rate": (10, "{method: range, floor: 0.15, ceiling: 0.50}"),
    "sms_reply_rate": (5, "{method: range, floor: 0.02, ceiling: 0.25}"),
    "visit_rate": (5, "{method: range, floor: 0.3, ceiling: 0.9}"),
    "settlement_rate": (15, "{method: range, floor: 0.05, ceiling: 0.40}"),
}


def _norm(header: str) -> str:
    """A header compared without case, spaces, underscores, dashes or brackets."""
    return re.sub(r"[\s_\-()（）\[\]【】\u3000\ufeff]+", "", header).lower()


def _spellings(column: str) -> set[str]:
    return {_norm(column), *(_norm(s) for s in SPELLINGS.get(column, ()))}


@dataclass(frozen=True)
class Match:
    """One source header and the canonical column proposed for it (None: not mapped)."""

    source: str
    column: str | None
    likeness: float = 0.0
    known: bool = False  # the id itself or a spelling in the dictionary

    @property
    def sure(self) -> bool:
        return self.column is not None and (self.known or self.likeness >= CONFIDENT)


def _likeness(header: str, column: str) -> float:
    name = _norm(header)
    return max(difflib.SequenceMatcher(None, name, s).ratio() for s in _spellings(column))


def match_headers(headers: list[str], table: str) -> tuple[list[Match], dict[str, tuple[str, str]]]:
    """Each header's canonical column of ``table`` (known spellings first, then by likeness,
    each column used once), and the date and time columns to join into ``contacted_at``."""
    columns = list(CANONICAL[table])
    chosen: dict[str, Match] = {}
    taken: set[str] = set()
    for header in headers:
        known = [c for c in columns if _norm(header) in _spellings(c) and c not in taken]
        if known:
            chosen[header] = Match(header, known[0], 1.0, True)
            taken.add(known[0])
    parts: dict[str, tuple[str, str]] = {}
    if table == "contacts" and "contacted_at" not in taken:
        rest = [h for h in headers if h not in chosen]
        day = [h for h in rest if _norm(h) in {_norm(s) for s in DATE_PARTS}]
        clock = [h for h in rest if _norm(h) in {_norm(s) for s in TIME_PARTS}]
        if day and clock:
            parts["contacted_at"] = (day[0], clock[0])
            taken.add("contacted_at")
    used = {h for pair in parts.values() for h in pair}
    pairs = sorted(
        (
            (_likeness(h, c), h, c)
            for h in headers
            if h not in chosen and h not in used
            for c in columns
            if c not in taken
        ),
        key=lambda pair: -pair[0],
    )
    for likeness, header, column in pairs:
        if likeness >= DOUBTFUL and header not in chosen and column not in taken:
            chosen[header] = Match(header, column, round(likeness, 2))
            taken.add(column)
    return [chosen.get(h, Match(h, None)) for h in headers if h not in used], parts


def guess_table(headers: list[str], name: str) -> str | None:
    """The table whose columns the headers name most (the file's name breaks ties)."""
    best: tuple[float, str] | None = None
    for table in TABLES:
        matches, parts = match_headers(headers, table)
        found = sum(1 for m in matches if m.known) + len(parts)
        if not found:
            continue
        hint = 0.5 if any(word in name.lower() for word in FILE_HINTS[table]) else 0.0
        weight = found + hint + found / len(CANONICAL[table]) / 10
        if best is None or weight > best[0]:
            best = (weight, table)
    return None if best is None else best[1]


@dataclass
class FileProposal:
    """What ``kpi init`` makes of one file."""

    path: str
    table: str
    matches: list[Match]
    encoding: str | None = None
    separator: str | None = None
    datetime_parts: dict[str, tuple[str, str]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str | bool]] = field(default_factory=dict)
    unknown_values: dict[str, list[str]] = field(default_factory=dict)

    def mapped(self) -> dict[str, str]:
        """Source header → canonical column, the sure mappings only."""
        return {m.source: m.column for m in self.matches if m.column and m.sure}

    def columns(self) -> set[str]:
        return set(self.mapped().values()) | set(self.datetime_parts)


@dataclass
class Proposal:
    """A first scheme: the files by table, the ones left aside, the metrics and weights."""

    folder: str
    month: str | None
    files: dict[str, FileProposal]
    set_aside: list[tuple[str, str]]  # (file, why)
    metrics: dict[str, float]


def _separator(path: str, encoding: str) -> str:
    """The field separator of a text file: the candidate its header line holds most of."""
    with open(path, "rb") as handle:
        first = handle.readline(1 << 16).decode(encoding, errors="replace")
    counts = {sep: first.count(sep) for sep in (",", "\t", ";", "|")}
    return max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


def _read(path: str) -> InputSpec:
    """How to read one file: a text file's encoding and separator (Parquet, xlsx: as they are)."""
    if path.lower().endswith((".csv", ".tsv", ".txt")):
        encoding = detect_encoding(path)
        return InputSpec(encoding=encoding, separator=_separator(path, encoding))
    return InputSpec()


def _code_map(column: str, kind: ColumnType, found: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    """The ``values:`` map of a coded column from its distinct values, and the ones not known."""
    mapping: dict[str, str | bool] = {}
    unknown: list[str] = []
    yes_no = all(v.lower() in TRUE_WORDS + FALSE_WORDS for v in found)
    for value in found:
        lowered = value.lower()
        if kind == "bool" or (column == "outcome" and yes_no):
            if lowered in ("true", "false"):
                continue
            truth = lowered in TRUE_WORDS
            if column == "outcome":  # 是否接通: yes is a connected call, no an unanswered one
                mapping[value] = "connected" if truth else "no_answer"
            elif lowered in TRUE_WORDS + FALSE_WORDS:
                mapping[value] = truth
            elif value in YES_NO_WORDS:
                mapping[value] = YES_NO_WORDS[value]
            else:
                unknown.append(value)
        elif lowered in CANONICAL_CODES.get(column, ()) or (column == "product" and value not in CODE_WORDS[column]):
            continue
        elif value in CODE_WORDS[column]:
            mapping[value] = CODE_WORDS[column][value]
        else:
            unknown.append(value)
    return mapping, unknown


def _propose_file(path: str, table: str, headers: list[str], spec: InputSpec) -> FileProposal:
    matches, parts = match_headers(headers, table)
    encoding = None if spec.encoding == "auto" else spec.encoding
    proposal = FileProposal(path, table, matches, encoding, spec.separator, parts)
    kinds = CANONICAL[table]
    rename = proposal.mapped()
    sample = sample_rows(path, spec, FORMAT_SAMPLE, table)
    joined = [
        (sample[day].cast(pl.String) + " " + sample[clock].cast(pl.String)).alias(column)
        for column, (day, clock) in parts.items()
    ]
    canonical = sample.select([*(sample[s].alias(c) for s, c in rename.items()), *joined])
    dated = {c: kinds[c] for c in canonical.columns if kinds[c] in ("date", "datetime")}
    for column, found in detect_formats(canonical, dated, InputSpec()).items():
        if len(found) == 1 and found[0] in ISO_FORMATS:
            continue
        if len(found) == 1 and "%" in found[0]:
            proposal.formats[column] = found[0]
    coded = {s: c for s, c in rename.items() if kinds[c] in ("channel", "outcome", "bool") or c == "product"}
    distinct = distinct_values(path, spec, list(coded), table) if coded else {}
    for source, column in coded.items():
        mapping, unknown = _code_map(column, kinds[column], distinct[source])
        if mapping:
            proposal.values[column] = mapping
        if unknown:
            proposal.unknown_values[column] = unknown
    return proposal


def _usable(files: dict[str, FileProposal]) -> dict[str, set[str]]:
    """The canonical columns of each table that can be read (tables missing a required one: none)."""
    out: dict[str, set[str]] = {}
    for table, proposal in files.items():
        columns = proposal.columns()
        if set(REQUIRED_VALUES[table]) <= columns:
            out[table] = columns | {"contacted"}  # cases learn from the contacts whether a case was reached
    return out


def what_is_missing(files: dict[str, FileProposal]) -> list[str]:
    """Per table, why it cannot be read: no file, or the required columns not (surely) mapped."""
    out: list[str] = []
    for table in TABLES:
        found = files.get(table)
        if found is None:
            out.append(f"{table}: no file")
            continue
        lacking = [c for c in REQUIRED_VALUES[table] if c not in found.columns()]
        if lacking:
            out.append(f"{table} ({Path(found.path).name}): no sure column for {', '.join(lacking)}")
    return out


def allowed_metrics(files: dict[str, FileProposal]) -> dict[str, float]:
    """The default metrics the mapped columns allow, weights rescaled to add up to 100."""
    usable = _usable(files)
    chosen: dict[str, float] = {}
    for metric_id, (weight, _) in DEFAULT_METRICS.items():
        needs = [COMPONENTS[name] for name in METRICS[metric_id].components]
        if all(
            c.table in usable
            and set(c.columns) <= usable[c.table]
            and all(t in usable for t in c.also_needs)
            and ("contacted" not in c.columns or "contacts" in usable)
            for c in needs
        ):
            chosen[metric_id] = weight
    total = sum(chosen.values())
    if not chosen:
        return {}
    scaled = {m: round(w * 100 / total, 2) for m, w in chosen.items()}
    heaviest = max(scaled, key=lambda m: scaled[m])
    scaled[heaviest] = round(scaled[heaviest] + 100 - sum(scaled.values()), 2)
    return scaled


def propose(folder: str | Path) -> Proposal:
    """Read the exports in ``folder`` (headers and first rows) and propose a scheme."""
    files = expand_path(str(folder), "kpi init")
    found: dict[str, FileProposal] = {}
    aside: list[tuple[str, str]] = []
    for path in files:
        spec = _read(path)
        try:
            headers = sample_rows(path, spec, 0).columns
        except InputError as exc:
            aside.append((path, exc.message))
            continue
        table = guess_table(headers, Path(path).name)
        if table is None:
            aside.append((path, "no header looks like a column of cases, contacts, reviews or a roster"))
        elif table in found:
            aside.append((path, f"also looks like {table}, read from {Path(found[table].path).name}"))
        else:
            found[table] = _propose_file(path, table, headers, spec)
    if not found:
        raise InputError(f"kpi init: no file in {folder} looks like an export of cases, contacts, reviews or a roster")
    months = _MONTH.findall(str(Path(folder).resolve()))
    return Proposal(str(folder), months[-1] if months else None, found, aside, allowed_metrics(found))
