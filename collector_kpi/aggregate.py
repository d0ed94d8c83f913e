"""Load a month and reduce it to per-collector sums, accounting for every row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .duplicates import check_queries, settle
from .errors import InputError, Issue, NoDataError
from .metrics import COMPONENTS, METRICS, Params, component_exprs, components_for
from .scheme import Scheme
from .sources import (
    CANONICAL,
    MonthData,
    PathsArg,
    TableData,
    available_columns,
    month_filter,
    normal_id,
    period_bounds,
    period_months,
    read_table,
    resolve_paths,
)


def needed_components(scheme: Scheme) -> list[str]:
    """Components behind the scheme's metrics, plus what eligibility needs."""
    names = components_for(scheme.needed_metrics())
    extra = []
    # Money totals are always carried with the cases, for the bonus and the reconciliation.
    if any(COMPONENTS[n].table == "cases" for n in names) or scheme.eligibility.min_cases > 0:
        extra += ["recovered_cents", "overdue_cents"]
    if scheme.bonus is not None and scheme.bonus.commission is not None:
        extra.append("recovered_cents")
    if scheme.eligibility.min_cases > 0:
        extra.append("case_rows")
    if scheme.eligibility.min_contacts > 0:
        extra.append("contact_rows")
    return names + [n for n in dict.fromkeys(extra) if n not in names]


def _needed_columns(scheme: Scheme, components: list[str]) -> dict[str, dict[str, str]]:
    """For each table, its columns → the metric (or role) that needs them."""
    by_table: dict[str, dict[str, str]] = {"cases": {}, "contacts": {}, "reviews": {}, "roster": {}}
    for metric_id in scheme.needed_metrics():
        metric = METRICS[metric_id]
        for name in metric.components:
            component = COMPONENTS[name]
            for column in component.columns:
                if column == "contacted":
                    by_table["cases"].setdefault("case_id", metric_id)
                    by_table["contacts"].setdefault("case_id", metric_id)
                    by_table["contacts"].setdefault("collector_id", metric_id)
                    by_table["contacts"].setdefault("contacted_at", metric_id)
                    continue
                if column == "target_amount" and scheme.params.target_amount is not None:
                    continue
                by_table[component.table].setdefault(column, metric_id)
    for metric_id in scheme.fair_metrics():
        rule = scheme.metrics[metric_id]
        table = METRICS[metric_id].tables[0]
        role = f"metrics.{metric_id}.adjust"
        if rule.adjust is not None:
            for segment in rule.adjust.segments:
                by_table["cases"].setdefault(segment, role)
            if rule.adjust.expected_column:
                by_table["cases"].setdefault(rule.adjust.expected_column, role)
        if rule.adjust is None or not rule.adjust.segments:
            by_table[table].setdefault("case_id", f"metrics.{metric_id}.shrink")
    if "case_rows" in components:
        by_table["cases"].setdefault("collector_id", "case_count" if "case_count" in scheme.metrics else "eligibility")
    for name, role in (("recovered_cents", "the reconciliation"), ("overdue_cents", "the reconciliation")):
        if name in components:
            for column in COMPONENTS[name].columns:
                by_table["cases"].setdefault(column, role)
    if "contact_rows" in components:
        by_table["contacts"].setdefault("collector_id", "eligibility.min_contacts")
    return by_table


_KEYS = {
    "cases": {"collector_id": "every case metric", "team_id": "every case metric"},
    "contacts": {"collector_id": "every contact metric", "contacted_at": "selecting the month"},
    "reviews": {"collector_id": "every review metric"},
    "roster": {"collector_id": "the roster"},
}
_OPTIONAL = {
    "cases": ("collector_name", "month", "case_id"),
    "contacts": ("contact_id",),  # the contact log's row key, where it has one
    "reviews": ("month",),
    "roster": ("collector_name", "team_id", "active", "target_amount"),
}


def load_month(
    scheme: Scheme, month: str, paths: dict[str, PathsArg] | None = None, every_column: bool = False
) -> MonthData:
    """Locate and scan the tables the scheme needs for ``month`` (nothing is read yet).

    With ``every_column`` (for validation) every table that has a file is scanned with all
    the canonical columns it carries, not only those the metrics need.
    """
    paths = paths or {}
    months = period_months(month)
    start, end = period_bounds(months)
    components = needed_components(scheme)
    needed = _needed_columns(scheme, components)
    data = MonthData(month, start, end, months=months)
    for table in ("cases", "contacts", "reviews", "roster"):
        wanted = needed[table]
        given = paths.get(table) or scheme.inputs.get(table).path
        if not wanted and table != "roster" and not (every_column and given):
            continue  # only what the chosen metrics need is read
        files = resolve_paths(scheme, table, months, paths.get(table))
        if files is None:
            if table == "roster":
                continue
            if table == "reviews" and set(wanted) <= {"call_quality"} and needed["contacts"].get("qa_score"):
                continue  # call_quality falls back to reviews only where they exist
            metric = next(iter(wanted.values()))
            raise InputError(
                f"{table}: no file given, but {metric} needs it; "
                f"set inputs.{table}.path in the scheme or pass --{table}"
            )
        spec = scheme.inputs.get(table)
        data.keys.policies[table] = spec.duplicates
        if len(months) > 1 and not paths.get(table) and "{month}" in (spec.path or ""):
            data.keys.file_months[table] = _file_months(scheme, table, months, files)
        columns = dict(_KEYS[table])
        columns.update(wanted)
        if every_column:
            present = available_columns(table, files, spec)
            optional = [c for c in CANONICAL[table] if c not in columns and c in present]
        else:
            optional = [c for c in _OPTIONAL[table] if c not in columns]
            if "month" in optional or "case_id" in optional:
                # Read where every file carries them: a missing month or case id would be a
                # rejected row. (The case id is the cases' row key with the collector id.)
                present = available_columns(table, files, spec) if table in ("cases", "reviews") else set()
                optional = [c for c in optional if c not in ("month", "case_id") or c in present]
        ordered = list(columns) + optional
        data.tables[table] = read_table(table, files, spec, ordered, columns)
        if table == "roster":
            per_month = not paths.get("roster") and "{month}" in (spec.path or "")
            data.target_months = 1 if per_month else len(months)
    if not data.tables:
        raise InputError("no input table is needed or given")
    return data


def _file_months(scheme: Scheme, table: str, months: list[str], files: list[str]) -> dict[str, str]:
    """The month each file of a `{month}` path was read for (the first, if several)."""
    import os

    month_of: dict[str, str] = {}
    for month in months:
        for file in resolve_paths(scheme, table, [month], None) or []:
            month_of.setdefault(os.path.realpath(file), month)
    return {file: month_of.get(os.path.realpath(file), "") for file in files}


@dataclass
class TableStats:
    """How the rows of one table were accounted for."""

    table: str
    files: list[str]
    read: int = 0
    used: int = 0
    other_month: int = 0
    blank: int = 0  # rows with nothing in any column read: skipped, and said so
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    # Lines that go on with the record above them (a quoted value holding a line break).
    continued: int = 0
    # Cells rejected alone, in used rows (left out of the metrics that read their column).
    cells_by_column: dict[str, int] = field(default_factory=dict)
    cells_by_reason: dict[str, int] = field(default_factory=dict)
    # Per column with cells rejected alone: the used rows whose cell holds a value (parsed
    # and not rejected); none where a format set wrong rejects every cell given.
    valued_by_column: dict[str, int] = field(default_factory=dict)
    # The rows of the month dropped as another row holds their key (inputs.<table>.duplicates):
    # counted in ``read``, so read = used + rejected + duplicates.
    dropped: Issue | None = None

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    @property
    def records(self) -> int:
        """Every record of the files: of the month, of other months and blank."""
        return self.read + self.other_month + self.blank

    @property
    def lines(self) -> int:
        """The lines those records are written on (below the header)."""
        return self.records + self.continued

    @property
    def cells_rejected(self) -> int:
        return sum(self.cells_by_column.values())

    @property
    def duplicates(self) -> int:
        return self.dropped.count if self.dropped is not None else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "files": self.files,
            "read": self.read,
            "used": self.used,
            "rejected": self.rejected,
            "other_month": self.other_month,
            "blank": self.blank,
            "duplicates": self.duplicates,
            "lines": self.lines,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "cells_rejected": self.cells_rejected,
            "cells_rejected_by_column": dict(sorted(self.cells_by_column.items())),
            "cells_rejected_by_reason": dict(sorted(self.cells_by_reason.items())),
        }


@dataclass
class MonthSums:
    """Per-collector component sums, with the accounting of the rows behind them."""

    collectors: pl.DataFrame
    stats: dict[str, TableStats]
    rejects: pl.DataFrame
    components: list[str]
    input_totals: dict[str, int] = field(default_factory=dict)
    # Per fair metric: (collector, segment or case) cells of num / den (and expected).
    cells: dict[str, pl.DataFrame] = field(default_factory=dict)
    # The case components per (collector, the case rows' team_id): the team sums.
    team_cases: pl.DataFrame | None = None
    # Per table (cases, roster) and collector: the smallest and largest name and team of
    # their usable rows, to tell an id given several names or teams.
    people: pl.DataFrame | None = None
    # One line per rejected cell of a used row (as `rejects`, with the cell's reason).
    cell_rejects: pl.DataFrame = field(default_factory=pl.DataFrame)
    # Per cases file: its rows and money, used and rejected (see scoring.reconcile).
    file_totals: pl.DataFrame | None = None


def _in_month(data: MonthData, table: str, blank: bool = True) -> pl.Expr:
    """Whether a row is the month's; null for a blank row (``blank``: the frame has the
    ``_blank`` flag — the fast reading does not, and leaves its blank rows to the full one)."""
    condition = month_filter(table, data.tables[table].columns, data.months, data.start, data.end)
    condition = condition if condition is not None else pl.lit(True)
    return pl.when(~pl.col("_blank")).then(condition) if blank else condition


# Tables reduced through their fast reading first (see TableData.fast_frame): the large ones.
FAST_TABLES = ("contacts",)
# At most this many rows left by the fast reading are held in memory (else read again).
HELD_ROWS = 500_000


class _FieldsBeyondHeader(Exception):
    """A CSV line with more fields than the header stopped a read that parses every column."""


def month_sums(scheme: Scheme, data: MonthData) -> MonthSums:
    """Reduce the month to one row of component sums per collector (see ``_month_sums``)."""
    try:
        return _month_sums(scheme, data, by_sum=True)
    except _FieldsBeyondHeader:
        # An error, unless every such line is a blank row (",,,,,,"): counted one by one.
        return _month_sums(scheme, data, by_sum=False)


def _month_sums(scheme: Scheme, data: MonthData, by_sum: bool) -> MonthSums:
    """Reduce the month to one row of component sums per collector.

    First pass, one collect: per table a single group-by over every row by (collector,
    in the month, usable), which yields both the sums and the row accounting; the contact
    log is read in its fast reading, and the case rows its contacts cover come from the
    same collect (on the ids as read; kept only if every contact row was usable as read);
    plus the reconciliation totals and the CSV shape checks. Then, only where there are
    any: the contact rows the fast reading left to the full one (and the coverage again
    from the usable rows), and the list of rejected rows with their reasons.

    With ``by_sum``, the CSV files fit for it are checked for their lines' shape by the
    sum of ``_line_bytes`` (see ``sources._countable``), the others line by line.
    """
    components = needed_components(scheme)
    params = Params(data.start, data.end, scheme.params.sla_days, scheme.params.followup_hours)
    frames = {table: with_month(data, table) for table in data.tables}
    used = {table: frame.filter(pl.col("_in_month") & pl.col("_ok")) for table, frame in frames.items()}
    fast = {
        table: data.tables[table].fast_frame().with_columns(_in_month=_in_month(data, table, blank=False))
        for table in FAST_TABLES
        if table in frames
    }
    queries: dict[str, pl.LazyFrame] = {}
    coverage = "contacted_cases" in components and "cases" in used
    for table, frame in frames.items():
        rows, usable = (fast[table], "_fast") if table in fast else (frame, "_ok")
        queries[f"groups:{table}"] = _group_query(
            data, table, rows, components, params, usable, line_bytes=_by_sum(data, table, by_sum), packs=coverage
        )
    if "cases" in used and "recovered_cents" in components:
        # Totals straight from the rows, to reconcile against the scorecards' sums.
        queries["totals"] = _file_totals(frames["cases"])
    cases_for_cells = _cases_with_contacted(used, components) if "cases" in used else None
    apart: dict[str, pl.LazyFrame] = {}  # the cells that read the contact log
    for metric_id, query in _fair_cells(scheme, data, used, cases_for_cells, params).items():
        on_log = METRICS[metric_id].tables[0] in FAST_TABLES or "contacted_cases" in components
        (apart if on_log else queries)[f"cells:{metric_id}"] = query
    shapes = _shape_queries(data, by_sum)
    queries.update(shapes if len(shapes) <= SHAPE_QUERIES else {})
    # NOTE: the contact log is read once for both the sums and the coverage (polars shares
    # the read between them). CSV: −2.4 s of 11.6 at 20M rows, as the file is tokenised
    # once. Parquet: −0.36 s of 4.1, for +0.2 GB at 20M rows (+0.3 GB at 100M), as the
    # read outpaces the coverage join and some rows wait in memory.
    log: dict[str, pl.LazyFrame] = {}  # the contact log's queries, collected together
    if coverage and "groups:contacts" in queries:
        log["groups:contacts"] = queries.pop("groups:contacts")
    key_rows = {table: fast.get(table, frame) for table, frame in frames.items()}
    for name, query in check_queries(data, key_rows).items():
        # Each with its table's sums, whose read it shares.
        (log if f"groups:{name.split(':')[1]}" in log else queries)[name] = query
    # NOTE: the other tables' reads are shared between their queries (CSV cases at 1M rows:
    # −0.4 s of 1.9, as the file is tokenised once, not three times); not the contact
    # log's for the cells, as sharing held its rows in memory.
    results = dict(zip(queries, collect_all(list(queries.values()), data, share=True, by_sum=by_sum), strict=True))
    results.update(_collect_apart(shapes, data) if len(shapes) > SHAPE_QUERIES else {})
    codes = None  # the cases' collector ids, when the coverage's pairs can be packed
    uncoded = None  # the contact rows whose collector has no code, when the sums are by code
    if coverage:
        # In the same read as the sums; exact when every contact row of the month is
        # usable as read (checked below), else done again from the fully read rows.
        source = dict(used)
        codes = _pair_codes(results["groups:cases"])
        if "contacts" in fast:
            contacts = fast["contacts"]
            if codes is not None and "groups:contacts" in log:
                # NOTE: the collector's code is computed once, for the pair keys and for the
                # sums' group key (one integer with the row's two flags), which groups faster
                # than the text and two flags: 1.2% fewer instructions for the whole run.
                code = pl.col("collector_id").cast(codes, strict=False)
                # Read again only if there are any; filtered on the collector id alone, so
                # the other columns are read for those rows only (0.04 s at 20M rows).
                uncoded = contacts.filter(code.is_null())
                contacts = contacts.with_columns(_code=code)
                keyed = contacts.with_columns(_group=_group_code())
                lines = _by_sum(data, "contacts", by_sum)
                log["groups:contacts"] = _group_query(
                    data, "contacts", keyed, components, params, "_fast", lines, keys=["_group"]
                )
            source["contacts"] = contacts.filter(pl.col("_in_month"))
        log["coverage"] = _coverage_query(source, codes, coded=uncoded is not None)
    if log:
        results.update(zip(log, collect_all(list(log.values()), data, share=True, by_sum=by_sum), strict=True))
    errors, dropped = settle(data, results, key_rows, frames, fast)
    if errors:
        raise InputError(errors[0].message)
    if dropped:  # the month again, without the rows a policy dropped
        return _month_sums(scheme, data, by_sum)
    if uncoded is not None and codes is not None:
        coded = results["groups:contacts"]
        results["groups:contacts"] = _decode_groups(data, coded, uncoded, codes, components, params, by_sum)
    if apart:
        results.update(zip(apart, collect_all(list(apart.values()), data, by_sum=by_sum), strict=True))

    continued = _raise_shape_errors(data, results, by_sum)
    groups = {table: results[f"groups:{table}"].drop("_line_bytes", "_packs", strict=False) for table in frames}
    exact = True
    listed = dict(frames)  # where each table's rejected rows are listed from
    held: dict[str, pl.LazyFrame] = {}  # rows the fast reading left, read in full
    for table in fast:
        groups[table], rest, as_read, blank = _settle_fast(groups[table])
        exact = exact and rest == 0 and as_read
        left = data.tables[table].left
        if rest and left is not None:
            # Rows the fast reading left: read in full (only those rows), including the
            # month they belong to, which may differ from the fast reading's; held in
            # memory when they are few, as their rejected rows are listed from them too.
            left = left.with_columns(_in_month=_in_month(data, table))
            if rest <= HELD_ROWS:
                left = collect_all([left], data)[0].lazy()
            full = collect_all([_group_query(data, table, left, components, params)], data)[0]
            groups[table] = pl.concat([groups[table], full], how="vertical_relaxed")
            held[table] = left
            if not blank:  # then every rejected row is one of them
                listed[table] = left
    stats = {table: _stats_from_groups(data, table, groups[table]) for table in frames}
    for table, count in continued.items():
        stats[table].continued = count
    rejects = _rejected_rows(data, listed, stats)
    cell_rejects = _rejected_cells(data, listed, stats)
    for name, table_stats in stats.items():
        if table_stats.used == 0 and name != "roster":
            files = ", ".join(table_stats.files)
            detail = f" ({table_stats.other_month:,} rows belong to other months)" if table_stats.other_month else ""
            if table_stats.read:
                detail = f" (all {table_stats.read:,} rows were rejected: {_top_reason(table_stats)})"
            raise NoDataError(f"{name}: no rows for {data.month} in {files}{detail}")
        for column, count in table_stats.cells_by_column.items():
            reasons = [(r, n) for r, n in table_stats.cells_by_reason.items() if r.startswith(f"{column}: ")]
            unread = all(reason.removeprefix(f"{column}: ").startswith("not ") for reason, _ in reasons)
            if table_stats.valued_by_column.get(column, 0) == 0 and unread:
                # A whole column that could not be read (a format set wrong), blank cells
                # aside: its metrics would have no value. A value read but out of bounds
                # (a qa_score of 150) is that row's problem, not the column's.
                text = ", ".join(f"{reason} on {n:,} rows" for reason, n in sorted(reasons, key=lambda rn: -rn[1]))
                raise NoDataError(
                    f"{name}: no usable {column} for {data.month} in {', '.join(table_stats.files)} "
                    f"(all {count:,} cells{' with a value' if count < table_stats.used else ''} were rejected: {text})"
                )

    contacted = results.get("coverage")
    if coverage and not exact:
        # Again, from the usable rows only: the fast ones (ids stripped) and those read in full.
        source = dict(used)
        if "contacts" in fast:
            ids = [normal_id(pl.col("collector_id")), "case_id"]
            parts = [fast["contacts"].filter(pl.col("_in_month") & pl.col("_fast")).select(ids)]
            if "contacts" in held:
                parts.append(held["contacts"].filter(pl.col("_in_month") & pl.col("_ok")).select(ids))
            source["contacts"] = pl.concat(parts)
        contacted = collect_all([_coverage_query(source, codes)], data)[0]
    # Each component summed over the rows whose cells it reads are clean.
    clean = {
        table: _clean_sums(data.tables[table], frame, components) if table != "roster" else frame
        for table, frame in groups.items()
    }
    per_collector = _per_collector(clean, components, contacted)
    roster = _roster(data, groups["roster"], components) if "roster" in groups else None
    collectors = _combine(per_collector, roster, components, scheme, len(data.months))
    cells = {key.split(":", 1)[1]: frame for key, frame in results.items() if key.startswith("cells:")}
    input_totals: dict[str, int] = {}
    file_totals = results.get("totals")
    if file_totals is not None:
        used_totals = file_totals.select(
            pl.col("recovered_used").sum().alias("recovered_cents"),
            pl.col("overdue_used").sum().alias("overdue_cents"),
            pl.col("used_rows").sum().alias("case_rows"),
        )
        input_totals = used_totals.row(0, named=True)
    team_cases = _team_cases(clean["cases"], components, contacted) if "cases" in clean else None
    people = _people(groups)
    return MonthSums(
        collectors, stats, rejects, components, input_totals, cells, team_cases, people, cell_rejects, file_totals
    )


def _file_totals(cases: pl.LazyFrame) -> pl.LazyFrame:
    """Per file, its rows of the month and their money: in all, used and rejected (a
    rejected row whose amount is not read counts in `…_unread`, its money unknown)."""
    ok = pl.col("_ok")
    money: list[pl.Expr] = []
    for column, name in (("recovered_amount", "recovered"), ("overdue_amount", "overdue")):
        amount = pl.col(column)
        money += [
            amount.sum().alias(f"{name}_total"),
            amount.filter(ok).sum().alias(f"{name}_used"),
            amount.filter(~ok).sum().alias(f"{name}_rejected"),
            amount.is_null().sum().cast(pl.Int64).alias(f"{name}_unread"),
        ]
    rows = [pl.len().cast(pl.Int64).alias("rows"), ok.sum().cast(pl.Int64).alias("used_rows")]
    return cases.filter(pl.col("_in_month")).group_by("_file").agg(*rows, *money).sort("_file")


def with_month(data: MonthData, table: str) -> pl.LazyFrame:
    """A table's rows with ``_in_month``: true in the month, false in another, null blank."""
    return data.tables[table].frame.with_columns(_in_month=_in_month(data, table))


def _group_query(
    data: MonthData,
    table: str,
    frame: pl.LazyFrame,
    components: list[str],
    params: Params,
    usable: str = "_ok",
    line_bytes: bool = False,
    packs: bool = False,
    keys: list[str] | None = None,
) -> pl.LazyFrame:
    """One pass over every row: counts and component sums per (collector, month?, usable),
    or per ``keys`` that tell them, with the sum of ``_line_bytes`` that checks the CSV
    lines' shape if asked, and for the cases whether their ids pack into pair keys
    (``_packs``, see `_pair_codes`)."""
    columns = data.tables[table].columns
    # A fast row has no rejected cell; the others are told apart by the cells they reject.
    keys = keys or ["collector_id", "_in_month", usable, *(["_cells"] if usable == "_ok" else [])]
    aggs: list[pl.Expr] = [pl.len().alias("_rows")]
    aggs += _valued(data, table)
    if line_bytes:
        aggs.append(pl.col("_line_bytes").sum())
    if table == "cases":
        keys.insert(1, "team_id")
        if packs:
            size = pl.col("case_id").str.len_bytes()
            fits = (size <= 12) & (size == pl.col("case_id").str.len_chars())  # and ASCII
            aggs.append(fits.fill_null(True).all().alias("_packs"))
        if "collector_name" in columns:
            aggs += [pl.col("collector_name").min(), pl.col("collector_name").max().alias("_max_collector_name")]
        names = [c for c in components if COMPONENTS[c].table == "cases" and c != "contacted_cases"]
        aggs += component_exprs("cases", names, params)
    elif table == "roster":
        for column in ("collector_name", "team_id"):
            if column in columns:
                aggs += [pl.col(column).min(), pl.col(column).max().alias(f"_max_{column}")]
        if "active" in columns:
            aggs.append(pl.col("active").fill_null(True).all())
        if "target_amount" in columns:
            # A collector has one roster row a month (a repeated one stops the run or is
            # dropped, see duplicates.py): the sum adds the months of a period read month by
            # month, never two rows of one month. All targets missing is no target (null), not 0.
            target = pl.col("target_amount")
            aggs.append(pl.when(target.is_not_null().any()).then(target.sum()).alias("target_cents"))
    else:
        aggs += component_exprs(table, components, params)  # type: ignore[arg-type]
    return frame.group_by(keys).agg(aggs)


def _valued(data: MonthData, table: str) -> list[pl.Expr]:
    """Per column whose cells can be rejected alone: the rows it holds a value in (summed
    over the groups where that cell is not rejected, see `_stats_from_groups`)."""
    return [pl.col(c).is_not_null().sum().alias(f"_valued:{c}") for c in data.tables[table].cell_columns]


def _group_code() -> pl.Expr:
    """A contact row's collector code and its two flags (in the month, fast) in one integer
    (null where the collector has no code); `_decode_groups` takes it apart."""
    flags = pl.col("_in_month").cast(pl.UInt32) * 2 + pl.col("_fast").cast(pl.UInt32)
    return pl.col("_code").to_physical().cast(pl.UInt32) * 4 + flags


def _decode_groups(
    data: MonthData,
    groups: pl.DataFrame,
    uncoded: pl.LazyFrame,
    codes: pl.Enum,
    components: list[str],
    params: Params,
    by_sum: bool,
) -> pl.DataFrame:
    """The contact log's groups by `_group_code` → by (collector id, in the month, fast).
    The rows whose collector has no code (a blank id, one to strip, one with no case row)
    share the null group: where there are any, they are read again, grouped by their id
    (as many rows as the null group holds, or the run stops)."""
    group = pl.col("_group")
    ids = pl.Series(codes.categories)
    coded = groups.filter(group.is_not_null()).select(
        pl.lit(ids).gather(group // 4).alias("collector_id"),
        (group // 2 % 2 == 1).alias("_in_month"),
        (group % 2 == 1).alias("_fast"),
        pl.exclude("_group"),
    )
    without = groups.filter(group.is_null())
    if without.is_empty():
        return coded
    query = _group_query(data, "contacts", uncoded, components, params, "_fast", _by_sum(data, "contacts", by_sum))
    rest = collect_all([query], data, by_sum=by_sum)[0]
    if rest["_rows"].sum() != without["_rows"].sum():
        raise RuntimeError("the contact rows without a collector code were not read again in full")
    return pl.concat([coded, rest.select(coded.columns)], how="vertical_relaxed")


def _settle_fast(groups: pl.DataFrame) -> tuple[pl.DataFrame, int, bool, bool]:
    """Groups of the fast reading → groups by (collector, in the month, usable); how many
    rows it left to the full reading (their groups are dropped); whether no collector id of
    the month needed stripping; and whether a fast row of the month has a blank collector
    id (rejected here, not by the full reading).

    Collector ids were grouped as read; normalised here (``normal_id``), a blank one makes
    its rows unusable.
    Every other column is a sum (the contact log's components), so regrouping adds them.
    """
    in_month, fast, collector, clean = (pl.col(c) for c in ("_in_month", "_fast", "collector_id", "_clean"))
    groups = groups.with_columns(normal_id(collector).alias("_clean"))
    rest = int(groups.filter(~fast)["_rows"].sum())
    as_read = groups.filter(in_month).select((clean == collector).fill_null(False).all()).item()
    blank = groups.filter(fast & in_month).select(clean.is_null().any()).item()
    keys = ["collector_id", "_in_month", "_ok", "_cells"]
    settled = (
        groups.filter(fast)
        .with_columns(
            clean.alias("collector_id"), clean.is_not_null().alias("_ok"), pl.lit(0, dtype=pl.UInt32).alias("_cells")
        )
        .drop("_fast", "_clean")
        .group_by(keys)
        .agg(pl.exclude(keys).sum())
    )
    return settled, rest, bool(as_read), bool(blank)


def _coverage_query(used: dict[str, pl.LazyFrame], codes: pl.Enum | None = None, coded: bool = False) -> pl.LazyFrame:
    """Case rows with at least one contact on that case by the same collector, per collector
    and the team of the case row.

    With ``codes`` (see `_pair_codes`), each (collector, case) pair is matched as one
    packed integer (`_pair_key`), else as two strings: the same rows either way. With
    ``coded``, the contacts carry their collector's code already (``_code``).
    """
    cases = used["cases"].select("collector_id", "team_id", "case_id")
    keys = ["collector_id", "team_id"]
    if "contacts" not in used:
        return cases.group_by(keys).agg(pl.lit(0, dtype=pl.Int64).alias("contacted_cases"))
    contacted = used["contacts"]
    if codes is None:
        matched = cases.join(contacted.select("collector_id", "case_id"), on=["collector_id", "case_id"], how="semi")
    else:
        # NOTE: a join on two string columns was the costliest step of a large month (2.0 s
        # of 20M contacts); on one packed integer it is 1.4 s.
        keyed = cases.select(*keys, _pair_key(codes))
        code = pl.col("_code") if coded else None
        matched = keyed.join(contacted.select(_pair_key(codes, code)), on="_key", how="semi")
    return matched.group_by(keys).agg(pl.len().cast(pl.Int64).alias("contacted_cases"))


# Collector codes fill the bits above 100 of a pair key: below 2**27 it stays a positive Int128.
_MAX_CODES = 1 << 27


def _pair_key(codes: pl.Enum, code: pl.Expr | None = None) -> pl.Expr:
    """(collector_id, case_id) packed into one Int128, exactly: the case id's bytes (up to
    12, in the low 96 bits), its length in bytes (4 bits), the collector's code in
    ``codes`` (above bit 100), or ``code`` where that code is computed already.

    Null, so matching nothing, where an id is null, the collector is not one of ``codes``,
    or the case id is longer than 12 bytes or not ASCII (padded to 16 characters, it is not
    16 bytes): no case id is, when `_pair_codes` allows packing.
    """
    size = pl.col("case_id").str.len_bytes()
    # Padded with NULs to 16 characters: 16 bytes when the id is ASCII.
    raw = pl.col("case_id").str.pad_end(16, "\0").cast(pl.Binary).bin.reinterpret(dtype=pl.Int128)
    code = pl.col("collector_id").cast(codes, strict=False) if code is None else code
    packed = raw + size.cast(pl.Int128) * 2**96 + code.to_physical().cast(pl.Int128) * 2**100
    return pl.when(size <= 12).then(packed).alias("_key")


def _pair_codes(groups: pl.DataFrame) -> pl.Enum | None:
    """The cases' collector ids as an Enum (their codes go into `_pair_key`), or None when
    a case id does not pack (longer than 12 bytes or not ASCII): the pairs are then matched
    as strings. A contact's case id that does not pack then matches no case row, rightly.

    From the cases' groups (every case row: all months, rejected ones too), with ``_packs``.
    """
    collectors = groups["collector_id"].drop_nulls().unique().sort()
    all_pack = bool(groups["_packs"].all())
    if not all_pack or len(collectors) >= _MAX_CODES:
        return None
    return pl.Enum(collectors)


def _cases_with_contacted(used: dict[str, pl.LazyFrame], components: list[str]) -> pl.LazyFrame:
    """Case rows with a `contacted` flag (for the per-case cells of contact_coverage)."""
    cases = used["cases"]
    if "contacted_cases" not in components:
        return cases
    if "contacts" not in used:
        return cases.with_columns(contacted=pl.lit(False))
    pairs = used["contacts"].select("collector_id", "case_id").unique().with_columns(contacted=pl.lit(True))
    return cases.join(pairs, on=["collector_id", "case_id"], how="left")


def _shape_queries(data: MonthData, by_sum: bool) -> dict[str, pl.LazyFrame]:
    """The line-by-line counts, for the CSV files not checked by the sum of their rows'
    ``_line_bytes`` (which comes with each table's group-by, as ``groups:<table>``)."""
    return {
        f"shape:{table}:{index}": check.count_query()
        for table, info in data.tables.items()
        for index, check in enumerate(info.shape_checks)
        if check.line_bytes is None or not by_sum
    }


# At most this many CSV files' lines are counted in the month's collect; more are counted
# apart, this many at a time.
SHAPE_QUERIES = 64


def _collect_apart(queries: dict[str, pl.LazyFrame], data: MonthData) -> dict[str, pl.DataFrame]:
    """The line counts of many CSV files, a few at a time.

    NOTE: each file's count is a scan of its own, and all of them at once held memory in
    proportion to the files: 1.2 GB for 2,000 one-row files with a quoted header.
    """
    keys = list(queries)
    results: dict[str, pl.DataFrame] = {}
    for start in range(0, len(keys), SHAPE_QUERIES):
        chunk = keys[start : start + SHAPE_QUERIES]
        results.update(zip(chunk, collect_all([queries[key] for key in chunk], data), strict=True))
    return results


def _by_sum(data: MonthData, table: str, by_sum: bool) -> bool:
    """Whether a table's lines are checked by the sum of their ``_line_bytes`` (some of its
    files are CSV fit for it): only then is that column summed (20M zeros for Parquet)."""
    return by_sum and any(check.line_bytes is not None for check in data.tables[table].shape_checks)


def _raise_shape_errors(data: MonthData, results: dict[str, pl.DataFrame], by_sum: bool) -> dict[str, int]:
    """Raise the first CSV shape error; else, per table, how many lines go on with the
    record above them (a quoted value holding a line break: records are fewer than lines)."""
    continued: dict[str, int] = {}
    for key, result in results.items():
        if key.startswith("shape:"):
            _, table, index = key.split(":")
            error = data.tables[table].shape_checks[int(index)].error(table, result)
            if error is not None:
                raise error
            continued[table] = continued.get(table, 0) + int(result["continued"][0])
    for name, info in data.tables.items():
        if not _by_sum(data, name, by_sum):
            continue
        if results[f"groups:{name}"]["_line_bytes"].sum() != info.line_bytes():
            # A file holds a quote after all, or not every line is as long as the header's
            # fields make it (a field too few, an empty line, a bare \n among \r\n): count
            # the lines one by one, which tells.
            for check in info.shape_checks:
                if check.line_bytes is not None:
                    counts = collect_all([check.count_query()], data)[0]
                    error = check.error(name, counts)
                    if error is not None:
                        raise error
                    continued[name] = continued.get(name, 0) + int(counts["continued"][0])
    return continued


def _stats_from_groups(data: MonthData, table: str, groups: pl.DataFrame) -> TableStats:
    stats = TableStats(table, data.tables[table].files, dropped=data.keys.dropped.get(table))
    stats.read += stats.duplicates
    columns = data.tables[table].cell_columns
    valued = [f"_valued:{c}" for c in columns]
    totals = groups.group_by("_in_month", "_ok", "_cells").agg(pl.col("_rows", *valued).sum())
    for in_month, ok, cells, rows, *values in totals.iter_rows():
        if in_month is None:
            stats.blank += rows
        elif not in_month:
            stats.other_month += rows
        else:
            stats.read += rows
            if ok:
                stats.used += rows
                for bit, column in enumerate(columns):
                    if cells >> bit & 1:
                        stats.cells_by_column[column] = stats.cells_by_column.get(column, 0) + rows
                    else:
                        stats.valued_by_column[column] = stats.valued_by_column.get(column, 0) + values[bit]
    return stats


def _rejected_rows(data: MonthData, frames: dict[str, pl.LazyFrame], stats: dict[str, TableStats]) -> pl.DataFrame:
    """Second pass, only over tables with rejected rows: each row with its reason."""
    queries = []
    for table, frame in frames.items():
        if stats[table].read == stats[table].used:
            continue
        info = data.tables[table]
        queries.append(_listed(info, frame.filter(pl.col("_in_month") & ~pl.col("_ok")), info.reason()))
    if not queries:
        return _EMPTY_REJECTS
    rejects = _collect_listed(data, queries)
    for table, reason, count in rejects.group_by("table", "_reject").len().iter_rows():
        stats[table].rejected_by_reason[reason] = count
    return rejects


def _listed(info: TableData, rows: pl.LazyFrame, reason: pl.Expr) -> pl.LazyFrame:
    """Rows as listed for --rejects: table, file, row, reason, the row's ids (even those no
    metric reads) and the values as read."""
    raw = [f"_raw_{c}" for c in info.columns]
    refs = [name for name in rows.collect_schema().names() if name.startswith("_ref_")]
    listed = rows.select(pl.lit(info.name).alias("table"), "_file", "_row", reason.alias("_reject"), *refs, *raw)
    listed = listed.rename({f"_raw_{c}": c for c in info.columns} | {ref: ref.removeprefix("_ref_") for ref in refs})
    return listed.with_columns(info.expected(pl.col("_reject")).alias("_expected"))


def _collect_listed(data: MonthData, queries: list[pl.LazyFrame]) -> pl.DataFrame:
    listed = [
        r.with_columns(pl.exclude("_row", "table", "_file", "_reject", "_expected").cast(pl.String))
        for r in collect_all(queries, data)
    ]
    return pl.concat(listed, how="diagonal_relaxed")


def _rejected_cells(data: MonthData, frames: dict[str, pl.LazyFrame], stats: dict[str, TableStats]) -> pl.DataFrame:
    """Only over tables with rejected cells: one line per rejected cell of a used row, with
    its reason (the row's values as `_rejected_rows` gives them)."""
    queries = []
    for table, frame in frames.items():
        info = data.tables[table]
        for column in stats[table].cells_by_column:
            rejected = pl.col("_in_month") & pl.col("_ok") & ((pl.col("_cells") & info.cell_bits([column])) != 0)
            queries.append(_listed(info, frame.filter(rejected), info.cell_reason(column)))
    if not queries:
        return _EMPTY_REJECTS
    cells = _collect_listed(data, queries).sort("table", "_file", "_row", "_reject")
    for table, reason, count in cells.group_by("table", "_reject").len().iter_rows():
        stats[table].cells_by_reason[reason] = count
    return cells


def _per_collector(
    groups: dict[str, pl.DataFrame], components: list[str], coverage: pl.DataFrame | None
) -> dict[str, pl.DataFrame]:
    out: dict[str, pl.DataFrame] = {}
    usable = pl.col("_in_month") & pl.col("_ok")
    if "cases" in groups:
        by_team = groups["cases"].filter(usable)
        case_components = [c for c in components if COMPONENTS[c].table == "cases" and c != "contacted_cases"]
        name = "collector_name" if "collector_name" in by_team.columns else None
        # A collector in several teams is shown in the one holding most of their rows (ties:
        # the first team id), unless the roster says; the team sums take each row's team
        # (`_team_cases`).
        cases = (
            by_team.group_by("collector_id", "team_id")
            .agg(
                pl.col("_rows").sum(),
                *([pl.col(name).min()] if name else []),
                *[pl.col(c).sum() for c in case_components],
            )
            .sort(["collector_id", "_rows", "team_id"], descending=[False, True, False])
            .group_by("collector_id", maintain_order=True)
            .agg(
                pl.col("team_id").first(),
                (pl.col(name).drop_nulls().min() if name else pl.lit(None, dtype=pl.String)).alias("collector_name"),
                *[pl.col(c).sum() for c in case_components],
            )
        )
        if "contacted_cases" in components:
            covered = (
                coverage.group_by("collector_id").agg(pl.col("contacted_cases").sum()) if coverage is not None else None
            )
            cases = cases.join(
                covered if covered is not None else cases.select("collector_id").clear(),
                on="collector_id",
                how="left",
            )
        out["cases"] = cases
    for table in ("contacts", "reviews"):
        if table in groups:
            names = [c for c in components if COMPONENTS[c].table == table]
            if names:
                out[table] = groups[table].filter(usable).group_by("collector_id").agg(pl.col(n).sum() for n in names)
    return out


def _team_cases(groups: pl.DataFrame, components: list[str], coverage: pl.DataFrame | None) -> pl.DataFrame:
    """The case components per (collector, team_id of the case rows): a collector whose
    case rows sit in two teams adds to each team the rows it holds."""
    names = [c for c in components if COMPONENTS[c].table == "cases" and c != "contacted_cases"]
    usable = groups.filter(pl.col("_in_month") & pl.col("_ok"))
    sums = usable.group_by("collector_id", "team_id").agg(pl.col(c).sum() for c in names)
    if "contacted_cases" in components:
        keys = ["collector_id", "team_id"]
        covered = (
            coverage
            if coverage is not None
            else sums.select(keys).with_columns(contacted_cases=pl.lit(0, dtype=pl.Int64))
        )
        sums = sums.join(covered, on=keys, how="left").with_columns(pl.col("contacted_cases").fill_null(0))
    return sums.sort("collector_id", "team_id")


def _people(groups: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per table (cases, roster) and collector: the smallest and largest name and team on
    their usable rows (from the groups' own smallest and largest)."""
    parts = [pl.DataFrame(schema=_PEOPLE)]
    for table in ("cases", "roster"):
        if table not in groups:
            continue
        usable = groups[table].filter(pl.col("_in_month") & pl.col("_ok"))
        extremes = []
        for column, short in (("collector_name", "name"), ("team_id", "team")):
            present = column in usable.columns
            low = pl.col(column) if present else pl.lit(None, dtype=pl.String)
            high = pl.col(f"_max_{column}" if f"_max_{column}" in usable.columns else column) if present else low
            extremes += [low.min().alias(f"{short}_min"), high.max().alias(f"{short}_max")]
        parts.append(usable.group_by("collector_id").agg(*extremes).select(pl.lit(table).alias("table"), pl.all()))
    return pl.concat(parts).sort("table", "collector_id")


_PEOPLE = {
    "table": pl.String,
    "collector_id": pl.String,
    "name_min": pl.String,
    "name_max": pl.String,
    "team_min": pl.String,
    "team_max": pl.String,
}


def _clean_sums(info: TableData, groups: pl.DataFrame, components: list[str]) -> pl.DataFrame:
    """Each component of the table summed over the rows whose cells it reads are clean:
    a group (of rows with the same rejected cells) counts only if none of them is in a
    column the component reads; a variant takes its base's sums (see metrics.same_rows)."""
    exprs = []
    for name in components:
        component = COMPONENTS[name]
        if component.table != info.name or name == "contacted_cases":
            continue
        summed = pl.col(component.base or name)
        bits = info.cell_bits(component.columns)
        if bits:
            summed = pl.when((pl.col("_cells") & bits) == 0).then(summed).otherwise(0)
        exprs.append(summed.alias(name))
    return groups.with_columns(exprs) if exprs else groups


def _roster(data: MonthData, groups: pl.DataFrame, components: list[str]) -> pl.DataFrame:
    columns = data.tables["roster"].columns
    usable = groups.filter(pl.col("_in_month") & pl.col("_ok"))
    exprs = [
        (pl.col("collector_name").min() if "collector_name" in columns else pl.lit(None, dtype=pl.String)).alias(
            "roster_name"
        ),
        (pl.col("team_id").min() if "team_id" in columns else pl.lit(None, dtype=pl.String)).alias("roster_team"),
        (pl.col("active").all() if "active" in columns else pl.lit(True)).alias("active"),
    ]
    if "target_cents" in components and "target_amount" in columns:
        target = pl.col("target_cents")
        total = target.sum() * data.target_months  # a monthly target, for every month of the period
        exprs.append(pl.when(target.is_not_null().any()).then(total).alias("target_cents"))
    return usable.group_by("collector_id").agg(exprs)


def _fair_cells(
    scheme: Scheme, data: MonthData, used: dict[str, pl.LazyFrame], cases: pl.LazyFrame | None, params: Params
) -> dict[str, pl.LazyFrame]:
    """For each adjusted or shrunk metric, its num / den summed per (collector, cell).

    Cells are the segment combinations of the adjustment, or the cases when there is none.
    A row with a rejected cell in a column the metric reads (or in the expected column)
    counts in none of num, den and expected.
    """
    out: dict[str, pl.LazyFrame] = {}
    for metric_id in scheme.fair_metrics():
        metric = METRICS[metric_id]
        rule = scheme.metrics[metric_id]
        table = metric.tables[0]
        frame = cases if table == "cases" else used.get(table)
        if frame is None or metric.denominator is None:
            continue
        segments: list[str] = list(rule.adjust.segments) if rule.adjust is not None else []
        keys = ["collector_id", *(segments or ["case_id"])]
        numerator, denominator = COMPONENTS[metric.numerator], COMPONENTS[metric.denominator]
        read = [*numerator.columns, *denominator.columns]
        if rule.adjust is not None and rule.adjust.expected_column:
            read.append(rule.adjust.expected_column)
        bits = data.tables[table].cell_bits(read)
        clean = (pl.col("_cells") & bits) == 0 if bits else pl.lit(True)
        sums = [
            numerator.row(params).filter(clean).sum().cast(pl.Int64).alias("num"),
            denominator.row(params).filter(clean).sum().cast(pl.Int64).alias("den"),
        ]
        if rule.adjust is not None and rule.adjust.expected_column:
            # The model's expectation is written in the numerator's unit (an amount in yuan,
            # a probability for a count): the sums are in cents where the numerator is.
            # NOTE: sorted before the float sum, so its last bit does not hang on the row order.
            expected = pl.col(rule.adjust.expected_column).filter(clean).fill_null(0).sort().sum()
            sums.append((expected * numerator.scale).alias("expected"))
        out[metric_id] = frame.group_by(keys).agg(sums).sort(keys, nulls_last=True)
    return out


_EMPTY_REJECTS = pl.DataFrame(schema={"table": pl.String, "_file": pl.String, "_row": pl.Int64, "_reject": pl.String})


def account_rows(data: MonthData) -> tuple[dict[str, TableStats], pl.DataFrame, pl.DataFrame, list[Issue]]:
    """Row accounting alone (read / used / rejected / other month / duplicates), the
    rejected rows, the rejected cells of used rows, and the row keys seen twice (errors)
    or dropped (warnings)."""
    try:
        return _account_rows(data, by_sum=True)
    except _FieldsBeyondHeader:
        return _account_rows(data, by_sum=False)


def _account_rows(
    data: MonthData, by_sum: bool
) -> tuple[dict[str, TableStats], pl.DataFrame, pl.DataFrame, list[Issue]]:
    frames = {table: with_month(data, table) for table in data.tables}
    queries = check_queries(data, frames)
    queries |= {
        f"groups:{table}": frame.group_by("_in_month", "_ok", "_cells").agg(
            pl.len().alias("_rows"),
            *_valued(data, table),
            *([pl.col("_line_bytes").sum()] if _by_sum(data, table, by_sum) else []),
        )
        for table, frame in frames.items()
    }
    shapes = _shape_queries(data, by_sum)
    queries.update(shapes if len(shapes) <= SHAPE_QUERIES else {})
    results = dict(zip(queries, collect_all(list(queries.values()), data, by_sum=by_sum), strict=True))
    results.update(_collect_apart(shapes, data) if len(shapes) > SHAPE_QUERIES else {})
    continued = _raise_shape_errors(data, results, by_sum)
    errors, dropped = settle(data, results, frames, frames)
    if dropped:  # the month again, without the rows a policy dropped
        stats, rejects, cell_rejects, _ = _account_rows(data, by_sum)
    else:
        stats = {table: _stats_from_groups(data, table, results[f"groups:{table}"]) for table in frames}
        for table, count in continued.items():
            stats[table].continued = count
        rejects = _rejected_rows(data, frames, stats)
        cell_rejects = _rejected_cells(data, frames, stats)
    return stats, rejects, cell_rejects, errors + list(data.keys.dropped.values())


def collect_all(
    queries: list[pl.LazyFrame], data: MonthData, share: bool = False, by_sum: bool = False
) -> list[pl.DataFrame]:
    """Run the queries in one go; a file that fails mid-read becomes an InputError.

    With ``share``, a read common to several queries is done once for all of them. With
    ``by_sum`` (queries that parse every column of a CSV), a line with more fields than the
    header raises ``_FieldsBeyondHeader``, for the caller to count the lines one by one.
    """
    try:
        # NOTE: not shared by default: sharing every table's read between all the queries
        # held a large contact log's rows in memory (1.7 GB instead of 0.7 at 20M rows).
        return pl.collect_all(queries, optimizations=pl.QueryOptFlags(comm_subplan_elim=share))
    except pl.exceptions.PolarsError as exc:
        if by_sum and "found more fields than defined" in str(exc):
            raise _FieldsBeyondHeader from exc
        raise _diagnose(data, exc) from exc


def _diagnose(data: MonthData, exc: Exception) -> InputError:
    """Which file made the read fail, and why (only run after a failure)."""
    for name, table in data.tables.items():
        for check in table.shape_checks:
            try:
                error = check.error(name, check.count_query().collect())
            except pl.exceptions.PolarsError:
                error = None
            if error is not None:
                return error
        for path, part in zip(table.files, table.parts, strict=True):
            try:
                part.select(pl.all().null_count()).collect()  # every column of every row
            except pl.exceptions.PolarsError as failed:
                return InputError(f"{name}: {path}: cannot read ({_first(failed)})")
    files = ", ".join(f for table in data.tables.values() for f in table.files)
    return InputError(f"cannot read the month's files ({files}): {_first(exc)}")


def _first(exc: Exception) -> str:
    """The reader's reason, in a line: an open quote is said so (polars' own text suggests
    options of its reader)."""
    import re

    text = str(exc).strip()
    if "is not properly escaped" in text:
        column = re.search(r"at column '([^']*)'", text)
        field = re.search(r"Field `(.*?)` is not properly escaped", text, re.S)
        where = f" in column '{column.group(1)}'" if column else ""
        start = f", at the field {field.group(1).splitlines()[0][:40]}" if field and field.group(1) else ""
        return f"a quote is opened and never closed{where}{start}"
    return text.splitlines()[0] if text else type(exc).__name__


def _top_reason(stats: TableStats) -> str:
    """The three commonest reasons (a row can have several), most rows first."""
    ranked = sorted(stats.rejected_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{reason} on {count:,} rows" for reason, count in ranked[:3])
    return text + (f" and {len(ranked) - 3} more reasons" if len(ranked) > 3 else "")


def _combine(
    frames: dict[str, pl.DataFrame], roster: pl.DataFrame | None, components: list[str], scheme: Scheme, months: int
) -> pl.DataFrame:
    """One row per collector seen in any table (or on the roster), zeros where absent."""
    ids = [f.select("collector_id") for f in frames.values()]
    if roster is not None:
        ids.append(roster.select("collector_id"))
    out = pl.concat(ids).unique().sort("collector_id")
    for frame in frames.values():
        out = out.join(frame, on="collector_id", how="left")
    if "team_id" not in out.columns:
        out = out.with_columns(team_id=pl.lit(None, dtype=pl.String), collector_name=pl.lit(None, dtype=pl.String))
    if roster is not None:
        out = (
            out.join(roster, on="collector_id", how="left")
            .with_columns(
                pl.coalesce("roster_team", "team_id").alias("team_id"),
                pl.coalesce("collector_name", "roster_name").alias("collector_name"),
                pl.col("active").fill_null(True),
            )
            .drop("roster_team", "roster_name")
        )
    else:
        out = out.with_columns(active=pl.lit(True))
    if "target_cents" in components:
        # params.target_amount is monthly: over a period it counts once per month.
        default = round(scheme.params.target_amount * 100) * months if scheme.params.target_amount else None
        current = pl.col("target_cents") if "target_cents" in out.columns else pl.lit(None, dtype=pl.Int64)
        out = out.with_columns(
            current.fill_null(default).alias("target_cents") if default else current.alias("target_cents")
        )
    # The contract: a collector with no case rows in the month gets a line, not a rank (with
    # no cases file, no contact: a roster or reviews line alone is no month's work).
    work = "cases" if "cases" in frames else "contacts" if "contacts" in frames else None
    if work is not None:
        out = out.with_columns(
            pl.col("collector_id").is_in(frames[work]["collector_id"].implode()).alias(f"holds_{work}")
        )
    fill = [pl.col(c).fill_null(0) for c in components if c in out.columns and c != "target_cents"]
    missing = [pl.lit(0, dtype=pl.Int64).alias(c) for c in components if c not in out.columns]
    out = out.with_columns(*fill, *missing)
    base = ["collector_id", "collector_name", "team_id", "active", *([f"holds_{work}"] if work else [])]
    return out.select(base + components).sort("collector_id")
