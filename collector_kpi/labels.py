"""Chinese and English labels for the renderers: column headers, metric names, words.

``--lang zh|en`` picks one; without it :func:`default_lang` reads the locale (``LC_ALL``,
then ``LC_MESSAGES``, then ``LANG``: a value starting with ``zh`` gives Chinese). Data stays
as it is: ids, names, grades and reasons are shown as the input and the scheme give them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from .metrics import METRICS

__all__ = [
    "LANGS",
    "Lang",
    "column_label",
    "default_lang",
    "issue_text",
    "metric_name",
    "metric_short",
    "movement_label",
    "note_text",
    "other_lang",
    "reject_text",
    "resolve_lang",
    "text",
]

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

# key: (English, 中文)
WORDS: dict[str, tuple[str, str]] = {
    # output-contract columns
    "rank": ("Rank", "排名"),
    "collector_id": ("Collector ID", "催收员编号"),
    "collector_name": ("Name", "姓名"),
    "collector": ("Collector", "催收员"),
    "team_id": ("Team", "团队"),
    "team": ("Team", "团队"),
    "member_count": ("Members", "人数"),
    "score": ("Score", "得分"),
    "grade": ("Grade", "等级"),
    "eligible": ("Eligible", "参与排名"),
    "ineligible_reason": ("Not ranked because", "未排名原因"),
    "gates": ("Gates", "触发规则"),
    "bonus": ("Bonus", "奖金"),
    "note": ("Note", "备注"),
    "points": ("points", "得分"),
    # comparison columns
    "previous_score": ("Previous score", "上期得分"),
    "previous_rank": ("Previous rank", "上期排名"),
    "was_rank": ("previous rank", "上期排名"),
    "score_change": ("Δ score", "得分变化"),
    "rank_change": ("Rank change", "排名变化"),
    "movement": ("Movement", "名次变动"),
    "value": ("Value", "数值"),
    "previous_value": ("Previous value", "上期数值"),
    "value_change": ("Δ value", "数值变化"),
    "previous_points": ("Previous points", "上期得分"),
    "points_change": ("Δ score", "得分变化"),
    # movement words
    "new": ("new", "新进"),
    "left": ("left", "已离开"),
    # scheme sheet / report words
    "metric": ("Metric", "指标"),
    "metric_zh": ("中文", "中文"),
    "metric_en": ("Name", "英文名"),
    "weight": ("Weight", "权重"),
    "better": ("Better", "方向"),
    "method": ("Method", "计分方法"),
    "parameters": ("Parameters", "参数"),
    "floor_value": ("Floor value", "全场数值"),
    "higher": ("higher", "越高越好"),
    "lower": ("lower", "越低越好"),
    "key": ("Key", "项目"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    # report
    "report_title": ("Collector scorecard", "催收员考核报告"),
    "scheme": ("Scheme", "考核方案"),
    "month": ("Month", "月份"),
    "compared_with": ("compared with", "对比"),
    "generated": ("Generated", "生成时间"),
    "headline": ("Headline figures", "总体概况"),
    "collectors_ranked": ("Collectors ranked", "参与排名人数"),
    "teams_ranked": ("Teams ranked", "参与排名团队"),
    "mean_score": ("Mean score (ranked)", "平均得分(参与排名)"),
    "floor_recovery_rate": ("Floor recovery rate", "全场回款率"),
    "floor_recovered": ("Recovered (floor)", "全场回收金额"),
    "floor_values": ("Floor values", "全场指标"),
    "grade_distribution": ("Grade distribution (ranked collectors)", "等级分布(参与排名)"),
    "not_ranked": ("not ranked", "未排名"),
    "ranking": ("Ranking", "排名"),
    "ranking_note": ("Score by collector, bar colour by grade", "按催收员的总分,颜色表示等级"),
    "previous_marker": ("previous month's score", "上期得分"),
    "teams": ("Teams", "团队对比"),
    "team_note": ("Team score (pooled team metrics)", "团队得分（团队合并指标）"),
    "team_note_mean": ("Team score (mean of the eligible members' scores)", "团队得分（参评成员得分的平均）"),
    "movement_title": ("Rank movement", "名次变动"),
    "moved_up": ("moved up", "上升"),
    "moved_down": ("moved down", "下降"),
    "unchanged": ("unchanged", "不变"),
    "no_previous": ("No previous month to compare with.", "没有可对比的上期数据。"),
    "heatmap": ("Metric scores", "指标得分热力图"),
    "heatmap_note": ("Points 0–100 per metric and collector", "每位催收员各项指标得分(0–100)"),
    "scorecard": ("Scorecard", "考核明细"),
    "team_scorecard": ("Team scorecard", "团队考核明细"),
    "rows": ("Rows", "数据行"),
    "read": ("read", "读取"),
    "used": ("used", "使用"),
    "rejected": ("rejected", "拒绝"),
    "cells_rejected": ("cells rejected", "单元格拒绝"),
    "other_month": ("other month", "其他月份"),
    "members": ("members", "人"),
    "none_ranked": ("No collector is ranked.", "没有参与排名的催收员。"),
    # the terminal scorecard
    "rank_short": ("#", "#"),
    "id_short": ("ID", "编号"),
    "members_short": ("Size", "人数"),
    "was_short": ("Was", "上期"),
    "change_short": ("Δ", "变化"),
    "movement_short": ("Move", "变动"),
    "collectors": ("collectors", "催收员"),
    "teams_level": ("teams", "团队"),
    "vs": ("vs", "对比"),
    "gate_fired": ("gate", "触发规则"),
    # explain
    "x_team": ("team", "团队"),
    "x_score": ("score", "得分"),
    "x_grade": ("grade", "等级"),
    "x_band": ("band", "区间"),
    "x_rank_of": ("rank {rank} of {of}", "排名 {rank}/{of}"),
    "x_not_ranked": ("not ranked", "未排名"),
    "x_not_eligible": ("not eligible", "不参与排名"),
    "x_gate_fired": ("gate fired", "触发规则"),
    "x_gate": ("gate", "规则"),
    "x_gate_zero_score": ("score set to 0", "得分归零"),
    "x_gate_cap_grade": ("grade capped at {grade}", "等级最高为 {grade}"),
    "x_gate_ineligible": ("not ranked", "不参与排名"),
    "x_gate_none": ("flagged only", "仅标记"),
    "x_gate_no_bonus": (", no bonus", ", 无奖金"),
    "x_bonus": ("bonus", "奖金"),
    "x_no_denominator": ("nothing to divide by", "分母为零"),
    "x_fair": ("fair", "公平值"),
    "x_raw": ("raw", "原始"),
    "x_source_team": ("team", "团队"),
    "x_source_reviews": ("reviews", "主管评分"),
    "x_range": ("range", "区间"),
    "x_target": ("target", "目标"),
    "x_cap": ("cap", "上限"),
    "x_band_method": ("band", "区间带"),
    "x_percentile": ("percentile", "百分位"),
    "x_metric": ("metric", "指标"),
    "x_value": ("value", "数值"),
    "x_method": ("method", "计分方法"),
    "x_weight": ("weight", "权重"),
    "x_points": ("points", "积分"),
    "x_floor": ("floor", "全场"),
    "x_rank": ("rank", "排名"),
    "x_levers": ("levers", "提升空间"),
    "x_levers_none": (
        "levers: none — at or above the median on every weighted metric",
        "提升空间: 无 — 每项加权指标都已不低于中位数",
    ),
    "x_levers_head": (
        "levers (one metric at a time, to the median of the peers):",
        "提升空间(每次只动一项指标, 提升到同伴的中位数):",
    ),
    "x_points_gain": ("points", "分"),
    "team mates' median": ("team mates' median", "队友中位数"),
    "all collectors' median": ("all collectors' median", "全体催收员中位数"),
    "all teams' median": ("all teams' median", "全部团队中位数"),
    "x_team_mean_levers": (
        "the team's score is the mean of its eligible members' scores (each metric's points the mean of "
        "theirs): their own levers move it, see kpi explain MEMBER",
        "团队得分是参与排名成员得分的平均(每项指标的积分也是成员积分的平均): 成员自己的提升空间会带动它, "
        "见 kpi explain 成员编号",
    ),
    "x_zero_score_levers": (
        "the gate {rule} sets the score to 0: no other metric moves it while the gate fires",
        "规则 {rule} 使得分归零: 规则生效期间, 其他指标都不会改变得分",
    ),
    "x_against": ("against {period}", "对比 {period}"),
    "x_before": ("before", "上期"),
    "x_now": ("now", "本期"),
    "x_change": ("change", "变化"),
    "x_score_change": ("Δ score", "得分变化"),
    # validate
    "v_rows_per_table": ("{month}: rows per table", "{month}: 各表行数"),
    "v_table": ("table", "表"),
    "v_read": ("read", "读取"),
    "v_used": ("used", "使用"),
    "v_rejected": ("rejected", "拒绝"),
    "v_other_months": ("other months", "其他月份"),
    "v_files": ("files", "文件"),
    "v_no_problems": ("No problems found.", "没有发现问题。"),
    "v_problems": ("Problems", "问题"),
    "v_severity": ("severity", "级别"),
    "v_type": ("type", "类型"),
    "v_column": ("column", "列"),
    "v_rows": ("rows", "行号"),
    "v_message": ("message", "说明"),
    "v_file": ("file", "文件"),
    "error": ("error", "错误"),
    "warning": ("warning", "警告"),
    "v_errors_found": ("errors found: rows or cells were rejected", "发现错误: 有行或单元格被拒绝"),
    "v_errors_repeated": ("errors found: a row key is repeated", "发现错误: 有重复的行键"),
    "v_cells_rejected": ("cells rejected", "拒绝的单元格"),
    "v_usable": ("usable, with warnings", "可以使用, 但有警告"),
    # the summary on stderr
    "accounting": (
        "{table} {read} read, {used} used, {rejected} rejected",
        "{table} 读取 {read} 行, 使用 {used} 行, 拒绝 {rejected} 行",
    ),
    "skipped_other_months": ("{other_month} of other months", "其他月份 {other_month} 行"),
    "skipped_blank": ("{blank} blank", "空行 {blank} 行"),
    "skipped": ("({what} skipped)", "(已跳过{what})"),
    "and": (" and ", "、"),
    "rejected_warning": (
        "warning: {count} row(s) of {month} rejected and left out of every score (first: {first}); {where}, "
        "or stop on them with --strict",
        "警告: {month} 有 {count} 行被拒绝, 不计入任何得分(第一行: {first}); {where}, 或用 --strict 遇到即停止",
    ),
    "cells_warning": (
        "warning: {count} cell(s) of {month} rejected, each row left out of the metrics that read its column and "
        "counted in the others (first: {first}); {where}, or stop on them with --strict",
        "警告: {month} 有 {count} 个单元格被拒绝, 该行不计入读取该列的指标, 其他指标照常计入(第一个: {first}); "
        "{where}, 或用 --strict 遇到即停止",
    ),
    "duplicates_dropped": (", {count} duplicate(s) dropped", ", 丢弃重复行 {count} 行"),
    "cells_accounting": (", {count} cell(s) rejected ({columns})", ", 拒绝 {count} 个单元格({columns})"),
    "metrics_not_shown": (
        "{count} metric(s) not shown: {names}; --wide shows all, --columns {picks} picks",
        "另有 {count} 项指标未显示: {names}; --wide 显示全部, --columns {picks} 选择要显示的指标",
    ),
    # workbook and HTML report: money, fairness, scheme sheet, headline changes
    "yuan": ("¥", "¥"),
    "provisional": ("Provisional", "暂定"),
    "provisional_note": (
        "provisional: too little volume for a firm value",
        "暂定：业务量不足，数值仅供参考",
    ),
    "fair_value": ("fair", "公平值"),
    "raw_value": ("raw", "原始值"),
    "fairness_note": (
        "Fair values (case-mix adjusted or shrunk) are scored; the raw value is shown below each.",
        "按公平值（案件结构调整或可信度收缩）计分；原始值列于其下。",
    ),
    "change_vs": ("vs", "较"),
    "period": ("Period", "期间"),
    "total_bonus": ("Bonus (total)", "奖金合计"),
    "method_range": ("range", "区间"),
    "method_percentile": ("percentile", "百分位"),
    "method_target": ("target", "目标"),
    "method_band": ("band", "区间带"),
    "param_floor": ("floor", "下限"),
    "param_ceiling": ("ceiling", "上限"),
    "param_target": ("target", "目标"),
    "param_cap": ("cap", "封顶"),
    "param_low": ("low", "下沿"),
    "param_high": ("high", "上沿"),
    "param_falloff": ("falloff", "衰减"),
    "value_label": ("Value", "值"),
    "expected": ("expected", "预期值"),
    "oe_ratio": ("O/E", "实际/预期"),
    "credibility": ("credibility Z", "可信度 Z"),
}

# Short headers of the metric columns on a terminal: a rate reads as "37.5%" in five cells,
# so its header should not take twenty.
SHORT: dict[str, tuple[str, str]] = {
    "case_count": ("Cases", "案件量"),
    "recovered_amount": ("Recov.", "回收额"),
    "target_attainment": ("Target", "目标"),
    "recovery_rate": ("Rec.%", "回款率"),
    "settlement_rate": ("Settle", "结清率"),
    "settled_amount_rate": ("Set.amt", "结清额"),
    "success_rate": ("Success", "成功率"),
    "team_recovery_rate": ("Team%", "团队回收"),
    "call_connect_rate": ("Connect", "接通率"),
    "sms_reply_rate": ("SMS", "短信"),
    "visit_rate": ("Visit", "上门"),
    "call_quality": ("QA", "质检"),
    "handling_days": ("Days", "时效"),
    "on_time_rate": ("OnTime", "期内"),
    "cycle_days": ("Cycle", "周期"),
    "waiver_rate": ("Waiver", "减免"),
    "ptp_rate": ("PTP", "承诺"),
    "contact_coverage": ("Reach", "触达"),
    "followup_timeliness": ("Follow", "跟进"),
    "knowledge": ("Know", "知识"),
    "teamwork": ("Teamw.", "协作"),
    "violations": ("Viol.", "违规"),
}


def default_lang(environ: Mapping[str, str] | None = None) -> Lang:
    """``zh`` when the locale is Chinese (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else ``en``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def resolve_lang(value: str | None, environ: Mapping[str, str] | None = None) -> Lang:
    """A ``--lang`` value (``zh``, ``en``, ``zh_CN.UTF-8`` …) or, when ``None``/empty, the locale's."""
    if not value:
        return default_lang(environ)
    lowered = value.strip().lower()
    if lowered.startswith("zh"):
        return "zh"
    if lowered.startswith("en"):
        return "en"
    raise ValueError(f"unknown language {value!r}: expected 'zh' or 'en'")


def other_lang(lang: Lang) -> Lang:
    return "en" if lang == "zh" else "zh"


def text(key: str, lang: Lang) -> str:
    """The word or phrase ``key`` in ``lang``; an unknown key is returned as it is."""
    pair = WORDS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "zh" else pair[0]


def metric_name(metric_id: str, lang: Lang) -> str:
    """回款率 / Recovery rate; an id not in the catalog is returned as it is."""
    metric = METRICS.get(metric_id)
    if metric is None:
        return metric_id
    return metric.zh if lang == "zh" else metric.en


def metric_short(metric_id: str, lang: Lang) -> str:
    """A metric's header on a terminal: 回款率 / Rec.%; an id not listed is returned as it is."""
    pair = SHORT.get(metric_id)
    if pair is None:
        return metric_id
    return pair[1] if lang == "zh" else pair[0]


def column_label(column: str, lang: Lang) -> str:
    """A header for an output-contract column: ``recovery_rate_score`` → ``回款率 得分``."""
    if column in METRICS:
        return metric_name(column, lang)
    if column.endswith("_score") and column[: -len("_score")] in METRICS:
        return f"{metric_name(column[: -len('_score')], lang)} {text('points', lang)}"
    return text(column, lang)


def movement_label(movement: str | None, lang: Lang) -> str:
    """``new`` → 新进 and ``left`` → 已离开 in Chinese; arrows and ``=`` read the same in both."""
    if movement is None:
        return "—"
    if movement in ("new", "left"):
        return text(movement, lang)
    return movement


# The tool's own sentences in Chinese. The library writes them in English (they are data
# too: the `ineligible_reason` column, an issue's `message` in JSON); the renderers show
# them in the reader's language through these patterns. A sentence no pattern knows is
# shown as it is.
_NOTES_ZH: tuple[tuple[str, str], ...] = (
    (r"inactive on the roster", "花名册上已停用"),
    (r"no cases in the month", "本月没有案件"),
    (r"no contacts in the month", "本月没有催收记录"),
    (r"no metric has a value", "没有任何指标有数值"),
    (r"no eligible member", "没有参与排名的成员"),
    (r"(\d+) cases < min_cases (\d+)", r"案件 \1 件 < min_cases \2"),
    (r"(\d+) contacts < min_contacts (\d+)", r"催收记录 \1 条 < min_contacts \2"),
    (r"provisional: volume below min_volume", "暂定: 数量低于 min_volume"),
    (r"gate: (.+)", r"触发规则: \1"),
)

# What a rejected value was (the label after "column: " in a reject reason).
REJECT_LABELS_ZH: dict[str, str] = {
    "missing value": "缺少数值",
    "not a number": "不是数字",
    "not a whole number": "不是整数",
    "not a date": "不是日期",
    "not a date and time": "不是日期时间",
    "not a month": "不是月份",
    "not yes/no": "不是 是/否",
    "negative": "为负数",
    "outside 0–100": "超出 0–100",
    "unknown channel": "未知渠道",
    "unknown outcome": "未知结果",
    "not an outcome of this channel": "不是该渠道的结果",
    "before assigned_date": "早于 assigned_date",
}

# A warning issue's sentence, by its slug.
WARNINGS_ZH: dict[str, str] = {
    "contact-without-case": "{count} 行: 催收记录对应的案件不在案件表中",
    "duplicate-case-row": "{count} 行: 同一案件对同一催收员出现多次",
    "collector-without-cases": "{count} 行: 催收员编号在案件表中没有案件(输入错误? 这样的催收员会列出, 但不参与排名)",
    "duplicate-contact-id": "{count} 行: 同一 contact_id 出现多次(每行都算一次尝试)",
    "duplicate-review-row": "{count} 行: 同一催收员本月有多条评分(取平均)",
    "recovered-exceeds-overdue": "{count} 行: recovered_amount 大于 overdue_amount",
    "assigned-after-month": "{count} 行: assigned_date 晚于本月",
    "settled-after-month": "{count} 行: settled_date 晚于本月(不算结清)",
    "future-date": "{count} 行: 日期在未来",
    "logged-before-contact": "{count} 行: logged_at 早于 contacted_at",
    "collector-in-several-teams": "{count} 行: 催收员属于多个团队(按持有案件最多的团队计分)",
    "other-month": "{count} 行不在所选月份内, 已跳过",
    "blank-rows": "{count} 个空行(读取的各列都为空), 已跳过",
}

_EXPECTED_ZH: tuple[tuple[str, str], ...] = (
    (
        r"; expected a date like (.+) \(a time after it is allowed\) or the format set in ([^\s)]+)",
        r"; 应为日期, 如 \1(后面可以带时间), 或 \2 中设定的格式",
    ),
    (r"; expected e\.g\. (.+) or the format set in ([^\s)]+)", r"; 应为如 \1 的日期时间, 或 \2 中设定的格式"),
    (r"; expected a number such as (\S+)", r"; 应为数字, 如 \1"),
)


def _reject_reason_zh(reason: str) -> str:
    """`overdue_amount: not a number (row 4: 'x'; expected …)` in Chinese."""
    import re

    column, _, rest = reason.partition(": ")
    label, paren, shown = rest.partition(" (")
    label_zh = REJECT_LABELS_ZH.get(label, label)
    if not paren:
        return f"{column}: {label_zh}"
    shown = re.sub(r"^row ([\d,]+): ", r"第 \1 行: ", shown)
    shown = re.sub(r"^value ", "值 ", shown)
    for pattern, replacement in _EXPECTED_ZH:
        shown = re.sub(pattern, replacement, shown)
    return f"{column}: {label_zh} ({shown}"


def note_text(note: str, lang: Lang) -> str:
    """A scorecard note (``ineligible_reason``: reasons joined by "; ") in ``lang``."""
    import re

    if lang != "zh":
        return note
    parts = []
    for part in note.split("; "):
        for pattern, replacement in _NOTES_ZH:
            if re.fullmatch(pattern, part):
                part = re.sub(pattern, replacement, part)
                break
        parts.append(part)
    return "; ".join(parts)


def reject_text(described: str, lang: Lang) -> str:
    """`file row N: column: reason (value …)` (:func:`checks.describe_reject`) in ``lang``."""
    import re

    if lang != "zh":
        return described
    found = re.match(r"(.+?) row (\d+): (.+)$", described)
    if found is None:
        return described
    return f"{found.group(1)} 第 {found.group(2)} 行: {_reject_reason_zh(found.group(3))}"


def issue_text(issue: Any, lang: Lang) -> str:
    """A validation issue's message in ``lang`` (the English one is the issue's own)."""
    import re

    if lang != "zh":
        return str(issue.message)
    count = f"{issue.count:,}"
    if issue.type in WARNINGS_ZH:
        return WARNINGS_ZH[issue.type].format(count=count)
    found = re.match(r"([\d,]+) (row|cell)\(s\) rejected: (.+)$", issue.message)
    if found is not None:
        what = "行" if found.group(2) == "row" else "个单元格"
        return f"{found.group(1)} {what}被拒绝: {_reject_reason_zh(found.group(3))}"
    return str(issue.message)
