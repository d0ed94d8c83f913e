"""Rows that would count twice: two files of a table holding the same rows, and a row key
seen twice.

(One file reached by two names is read once: see ``sources.resolve_paths``.) The key
checks are queries collected together with each table's sums, so they share its read; only
where they find something is a file read again, to name the rows. Copies are looked for
among a month's files with as many rows only (see `_refuse_copies`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import polars as pl

from .errors import InputError, Issue

if TYPE_CHECKING:
    from .sources import MonthData, TableData

Policy = Literal["error", "first", "last"]

# The columns naming a row once. A table with a month column is keyed within each month
# (a case held in February and March is two rows); a contact is made once, whatever the month.
KEYS: dict[str, tuple[str, ...]] = {
    "cases": ("case_id", "collector_id"),
    "contacts": ("contact_id",),
    "reviews": ("collector_id", "month"),
    "roster": ("collector_id",),
}
SLUGS = {
    "cases": "duplicate-case-row",
    "contacts": "duplicate-contact-id",
    "reviews": "duplicate-review-row",
    "roster": "duplicate-roster-row",
}
_SCOPE = "_scope"  # the month a file was read for, where a `{month}` path spans several months


@dataclass
class RowKeys:
    """How one month's row keys are checked, and what a policy dropped."""

    # inputs.<table>.duplicates
    policies: dict[str, Policy] = field(default_factory=dict)
    # Per table read through a `{month}` path over several months: each file's month. Rows
    # of a table without a month column are keyed within their file's month, and only
    # files of one month are compared (months in folders of their own may hold one roster).
    file_months: dict[str, dict[str, str]] = field(default_factory=dict)
    # Tables whose rows were checked (a month is checked once, also when scored again).
    checked: set[str] = field(default_factory=set)
    # Per table: the warning for the rows its policy dropped.
    dropped: dict[str, Issue] = field(default_factory=dict)


def row_key(table: str, columns: Sequence[str], scoped: bool = False) -> list[str]:
    """The columns naming a row of ``table`` once; empty where it has no key (a contact log
    without contact_id). ``scoped``: its files were read for several months."""
    key = [column for column in KEYS[table] if column in columns]
    if table == "contacts":
        return key
    if "month" in columns and "month" not in key:
        key.append("month")
    elif "month" not in columns and scoped:
        key.append(_SCOPE)
    return key


def check_queries(data: MonthData, keyed: dict[str, pl.LazyFrame]) -> dict[str, pl.LazyFrame]:
    """The row key checks of the tables not checked yet, as queries to collect with their sums.

    ``keyed``: each table's rows as its sums read them, with ``_file``, ``_row`` and
    ``_in_month``. ``repeats:<table>``: the row keys held by more than one row of the month;
    for a key of one column, ``ordered:<table>`` instead: whether the keys, as read, only
    ever increase (then none repeats; else `settle` looks for the repeated ones).
    """
    queries: dict[str, pl.LazyFrame] = {}
    for table, info in data.tables.items():
        if table in data.keys.checked:
            continue
        key = row_key(table, info.columns, table in data.keys.file_months)
        if len(key) == 1:
            # NOTE: exports list their contacts by id more often than not; checking that each
            # id is greater than the one before costs next to nothing, where grouping the ids
            # cost 0.8 s of CPU per 4M contacts (a whole benchmark run is 5.4 s at 20M).
            column = pl.col(key[0])
            rows = _keyed_rows(data, table, keyed[table], key)
            queries[f"ordered:{table}"] = rows.select((column > column.shift(1)).all().alias("ordered"))
        elif key:
            queries[f"repeats:{table}"] = _repeated_keys(data, table, keyed[table], key)
    return queries


def _repeated_keys(data: MonthData, table: str, rows: pl.LazyFrame, key: list[str]) -> pl.LazyFrame:
    counts = _keyed_rows(data, table, rows, key).group_by(key).agg(pl.len().alias("_count"))
    return counts.filter(pl.col("_count") > 1).select(key)


def settle(
    data: MonthData,
    results: dict[str, pl.DataFrame],
    keyed: dict[str, pl.LazyFrame],
    full: dict[str, pl.LazyFrame],
    fast: Collection[str] = (),
) -> tuple[list[Issue], bool]:
    """Act on the checks' results: two files holding the same rows (confirmed on ``full``,
    the rows read in full) stop the run (InputError); a repeated row key is an error Issue (``inputs.<table>.duplicates:
    error``), or its other rows are dropped from ``data`` (``first``/``last``) with a
    warning in ``data.keys.dropped``. Returns the errors and whether rows were dropped
    (then the month is to be summed again). ``fast``: the tables whose sums read their fast
    reading (their files' fingerprints are taken of it).
    """
    errors: list[Issue] = []
    dropped = False
    for table, info in data.tables.items():
        if table in data.keys.checked:
            continue
        _refuse_copies(data, table, full[table], table in fast)
        data.keys.checked.add(table)
        key = row_key(table, info.columns, table in data.keys.file_months)
        found = results.get(f"repeats:{table}")
        if f"ordered:{table}" in results and not results[f"ordered:{table}"].item():
            found = _repeated_keys(data, table, keyed[table], key).collect()
        if found is None or found.is_empty():
            continue
        rows = _occurrences(data, table, keyed[table], key, found)
        policy = data.keys.policies.get(table, "error")
        if policy == "error":
            errors.append(_repeat_error(table, key, rows))
            continue
        last = pl.len().over(key) - 1
        drop = rows.filter(pl.col("_n") > 0 if policy == "first" else pl.col("_n") < last)
        drop_rows(info, drop)
        data.keys.dropped[table] = _drop_warning(table, key, policy, rows, drop)
        dropped = True
    return errors, dropped


def drop_rows(info: TableData, rows: pl.DataFrame) -> None:
    """Leave ``rows`` (``_file``, ``_row``) out of a table, in all its readings."""
    gone = pl.lit(False)
    for file, numbers in rows.group_by("_file").agg("_row").sort("_file").iter_rows():
        gone = gone | ((pl.col("_file") == file) & pl.col("_row").is_in(numbers))
    info.frame = info.frame.filter(~gone)
    if info.left is not None:
        info.left = info.left.filter(~gone)


def _by_month(data: MonthData, table: str) -> dict[str, list[str]]:
    months = data.keys.file_months.get(table, {})
    groups: dict[str, list[str]] = {}
    for file in data.tables[table].files:
        groups.setdefault(months.get(file, ""), []).append(file)
    return groups


def _keyed_rows(data: MonthData, table: str, frame: pl.LazyFrame, key: list[str]) -> pl.LazyFrame:
    """The month's rows that hold a whole key (a blank row, or one of another month, holds none)."""
    if _SCOPE in key:
        months = data.keys.file_months[table]
        frame = frame.with_columns(
            pl.col("_file").replace_strict(list(months), list(months.values()), return_dtype=pl.String).alias(_SCOPE)
        )
    whole = pl.all_horizontal([pl.col(column).is_not_null() for column in key])
    return frame.filter(pl.col("_in_month").fill_null(False) & whole)


def _occurrences(data: MonthData, table: str, frame: pl.LazyFrame, key: list[str], found: pl.DataFrame) -> pl.DataFrame:
    """Every row of the repeated keys, by file path then row, with ``_n``: its place
    among the rows of its key."""
    rows = (
        _keyed_rows(data, table, frame, key)
        .join(found.lazy(), on=key, how="semi")
        .select(*key, "_file", "_row")
        .collect()
    )
    return rows.sort("_file", "_row").with_columns(pl.int_range(pl.len()).over(key).alias("_n"))


def _describe(key: list[str], row: dict[str, object]) -> str:
    return ", ".join(f"{column} {row[column]!s}" for column in key if column != _SCOPE)


def _repeat_error(table: str, key: list[str], rows: pl.DataFrame) -> Issue:
    """The first repeated key (by where it is first seen), its first two rows named."""
    first = rows.row(0, named=True)
    same = rows.filter(pl.all_horizontal([pl.col(c) == first[c] for c in key]))
    second = same.row(1, named=True)
    keys = rows.filter(pl.col("_n") == 1).height
    more = f" ({keys:,} keys are repeated)" if keys > 1 else ""
    message = (
        f"{table}: the same {' + '.join(c for c in key if c != _SCOPE)} ({_describe(key, first)}) is in "
        f"{first['_file']} row {first['_row']} and {second['_file']} row {second['_row']}{more}; "
        f"a row must count once: fix the export, or set inputs.{table}.duplicates to first or last"
    )
    examples = same.head(2)
    return Issue(
        type=SLUGS[table],
        message=message,
        severity="error",
        table=table,
        file=first["_file"] if examples["_file"].n_unique() == 1 else None,
        column=key[0],
        rows=tuple(examples["_row"].to_list()),
        count=rows.height,
    )


def _drop_warning(table: str, key: list[str], policy: Policy, rows: pl.DataFrame, drop: pl.DataFrame) -> Issue:
    first = drop.row(0, named=True)
    kept = rows.join(drop.select("_file", "_row"), on=["_file", "_row"], how="anti")
    keeper = kept.filter(pl.all_horizontal([pl.col(c) == first[c] for c in key])).row(0, named=True)
    message = (
        f"{table}: {drop.height:,} duplicate row(s) dropped, as inputs.{table}.duplicates is {policy} "
        f"(first: {first['_file']} row {first['_row']}, {_describe(key, first)}, "
        f"also in {keeper['_file']} row {keeper['_row']}, which is kept)"
    )
    return Issue(
        type="duplicate-rows-dropped",
        message=message,
        severity="warning",
        table=table,
        file=first["_file"] if drop["_file"].n_unique() == 1 else None,
        column=key[0],
        rows=tuple(drop["_row"].head(5).to_list()),
        count=drop.height,
    )


def _refuse_copies(data: MonthData, table: str, full: pl.LazyFrame, fast: bool) -> None:
    """Two files of one month whose parsed rows are the same (whatever their encoding, BOM,
    line ends or format) would count twice: an InputError naming both.

    NOTE: files are compared only where a month has several with as many rows (a count that
    costs next to nothing: 0.05 s of CPU for a contact log in two files of 2M rows); those by
    a fingerprint of the values the sums read (the sum of each row's hash, blank rows left
    out, row order not mattering: 1.9 s for those 4M rows), and where two agree, by the rows
    themselves. Fingerprinting every file along with the month's sums held each row's file
    name in memory: +0.24 GB and +5 s of CPU for the same log.
    """
    info = data.tables[table]
    months = data.keys.file_months.get(table, {})
    if all(len(files) < 2 for files in _by_month(data, table).values()):
        return
    counts = pl.collect_all([part.select(pl.len()) for part in info.parts])
    by_count: dict[tuple[str, int], list[int]] = {}
    for index, (file, counted) in enumerate(zip(info.files, counts, strict=True)):
        by_count.setdefault((months.get(file, ""), counted.item()), []).append(index)
    for (_, size), indexes in by_count.items():
        if size == 0 or len(indexes) < 2:
            continue
        files = [info.files[i] for i in indexes]
        names = [f"_fast_{c}" if fast else c for c in info.columns]
        written = pl.any_horizontal([pl.col(c).is_not_null() for c in names])  # not a blank row
        row = pl.struct(names)
        prints = pl.collect_all([info.parts[i].filter(written).select(pl.len(), row.hash(1).sum()) for i in indexes])
        rows = [full.filter((pl.col("_file") == file) & ~pl.col("_blank")).select(info.columns) for file in files]
        alike: dict[tuple[int, int], list[int]] = {}
        for position, result in enumerate(prints):
            alike.setdefault(result.row(0), []).append(position)
        for same in (positions for positions in alike.values() if len(positions) > 1):
            _confirm_copies(table, [files[p] for p in same], [rows[p] for p in same], info.columns)


def _confirm_copies(table: str, files: list[str], rows: list[pl.LazyFrame], columns: list[str]) -> None:
    """The files whose fingerprints agree: refused if their rows are the same."""
    read: dict[str, pl.DataFrame] = {}
    for file, frame in sorted(zip(files, rows, strict=True)):
        read[file] = frame.collect().sort(columns, nulls_last=True)
        for other in list(read)[:-1]:
            if read[other].height and read[other].equals(read[file]):
                raise InputError(
                    f"{table}: {other} and {file} hold the same {read[file].height:,} rows (a copy, or one "
                    "export saved again in another encoding or format?); they would count twice: remove one"
                )
