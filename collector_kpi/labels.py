"""Chinese and English labels for the renderers: column headers, metric names, words.

``--lang zh|en`` picks one; without it :func:`default_lang` reads the locale (``LC_ALL``,
then ``LC_MESSAGES``, then ``LANG``: a value starting with ``zh`` gives Chinese). Data stays
as it is: ids, names, grades and reasons are shown as the input and the scheme give them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from .metrics import METRICS

__all__ = [
    "LANGS",
    "Lang",
    "column_label",
    "default_lang",
    "metric_name",
    "movement_label",
    "other_lang",
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
    "other_month": ("other month", "其他月份"),
    "members": ("members", "人"),
    "none_ranked": ("No collector is ranked.", "没有参与排名的催收员。"),
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
