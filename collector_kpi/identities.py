"""One person is one id: warnings for ids that look alike and for an id given several names
or teams. Nothing is merged or changed by them; ``score`` shows them on stderr.

Ids are matched once normalised (``sources.normal_id``: NFKC, no zero-width characters,
stripped), so ``C1``, ``C1\\u200b`` and ``Ｃ1`` are one collector already. What is left is
told here: ``c1`` beside ``C1`` (two collectors, perhaps one person), ``C1`` named "Ann" in
one row and "Anne" in another, and ``C1`` with case rows in two teams. They are found on
the month's sums (a row per collector); the files and rows are read only for the ids
warned about.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from .aggregate import MonthSums, collect_all
from .checks import EXAMPLES, _used
from .errors import Issue
from .sources import MonthData

# The tables an id is looked for in, in the order they are named.
TABLES = ("cases", "roster", "contacts", "reviews")


def identity_issues(data: MonthData, sums: MonthSums) -> list[Issue]:
    """Every warning about the month's ids: letter case, names, teams."""
    return [*_letter_case(data, sums), *_several_names(data, sums), *_several_teams(data, sums)]


def _letter_case(data: MonthData, sums: MonthSums) -> list[Issue]:
    """Collector or team ids that differ only in letter case: kept apart, and said so."""
    collectors = sums.collectors["collector_id"].drop_nulls()
    teams = [sums.collectors["team_id"]]
    if sums.team_cases is not None:
        teams.append(sums.team_cases["team_id"])
    issues: list[Issue] = []
    for column, ids, what in (
        ("collector_id", collectors, "collectors"),
        ("team_id", pl.concat(teams).drop_nulls(), "teams"),
    ):
        for alike in _alike(ids):
            places = _places(data, column, alike)
            where = "; ".join(f"{value}: {_rows_text(places.get(value, []))}" for value in alike)
            issues.append(
                _issue(
                    "id-letter-case",
                    f"{column} {_listed(alike)} differ only in letter case and are scored as {len(alike)} {what} "
                    f"({where})",
                    column,
                    [place for value in alike for place in places.get(value, [])],
                )
            )
    return issues


def _alike(ids: pl.Series) -> list[list[str]]:
    """Groups of distinct ids equal once lowercased, each sorted."""
    frame = pl.DataFrame({"id": ids.unique()}).with_columns(key=pl.col("id").str.to_lowercase())
    groups = frame.group_by("key").agg(pl.col("id").sort()).filter(pl.col("id").list.len() > 1)
    return sorted(groups["id"].to_list())


def _several_names(data: MonthData, sums: MonthSums) -> list[Issue]:
    """A collector id whose rows (cases, roster) give it more than one name."""
    people = sums.people
    if people is None:
        return []
    names = pl.concat([people.select("collector_id", name=column) for column in ("name_min", "name_max")])
    several = (
        names.drop_nulls()
        .group_by("collector_id")
        .agg(pl.col("name").n_unique().alias("count"))
        .filter(pl.col("count") > 1)["collector_id"]
        .sort()
        .to_list()
    )
    if not several:
        return []
    shown = dict(sums.collectors.select("collector_id", "collector_name").iter_rows())
    located = _located(data, ("cases", "roster"), several, "collector_name")
    issues = []
    for collector in several:
        places = located.filter(pl.col("collector_id") == collector)
        given = places["collector_name"].unique(maintain_order=True).to_list()
        parts = [f"{name!r} ({_rows_text(_of(places, 'collector_name', name))})" for name in sorted(given)]
        issues.append(
            _issue(
                "collector-several-names",
                f"collector_id {collector!r} is given several names: {', '.join(parts)}; "
                f"one collector, shown as {shown.get(collector)!r}",
                "collector_name",
                _of(places),
            )
        )
    return issues


def _several_teams(data: MonthData, sums: MonthSums) -> list[Issue]:
    """A collector whose case rows (and roster row) sit in more than one team."""
    parts = []
    if sums.team_cases is not None:
        parts.append(sums.team_cases.select("collector_id", "team_id"))
    people = sums.people if sums.people is not None else pl.DataFrame(schema={"table": pl.String})
    roster = people.filter(pl.col("table") == "roster")
    parts += [roster.select("collector_id", team_id=column) for column in ("team_min", "team_max")]
    if not parts:
        return []
    teams = pl.concat(parts).drop_nulls().unique()
    several = teams.group_by("collector_id").len().filter(pl.col("len") > 1)["collector_id"].sort().to_list()
    if not several:
        return []
    shown = dict(sums.collectors.select("collector_id", "team_id").iter_rows())
    on_roster = set(roster.filter(pl.col("team_min").is_not_null())["collector_id"])
    located = _located(data, ("cases", "roster"), several, "team_id")
    issues = []
    for collector in several:
        places = located.filter(pl.col("collector_id") == collector)
        given = sorted(set(places["team_id"].drop_nulls().to_list()))
        listed = [f"{team} ({_rows_text(_of(places, 'team_id', team))})" for team in given]
        why = "the roster's team" if collector in on_roster else "the team with most of their case rows"
        per_team = places.drop_nulls("team_id").group_by("team_id").agg(pl.col("count").sum())["count"]
        if collector not in on_roster and per_team.len() > 1 and (per_team == per_team.max()).sum() > 1:
            why = "a tie: the first team id"  # as the scorecard breaks it
        issues.append(
            _issue(
                "collector-in-several-teams",
                f"collector_id {collector!r} has rows in several teams: {', '.join(listed)}; each team counts "
                f"its own case rows, and {collector} is shown once, under {shown.get(collector)} ({why})",
                "team_id",
                _of(places),
            )
        )
    return issues


Place = tuple[str, int, list[int]]  # a file, how many rows, the first row numbers


def _places(data: MonthData, column: str, ids: list[str]) -> dict[str, list[Place]]:
    """Where each of ``ids`` is found in ``column``, table by table."""
    tables = [t for t in TABLES if t in data.tables and column in data.tables[t].columns]
    located = _located(data, tables, ids, column, key=column)
    return {value: _of(located, column, value) for value in ids}


def _located(
    data: MonthData, tables: Iterable[str], ids: list[str], column: str, key: str = "collector_id"
) -> pl.DataFrame:
    """The usable rows of the month whose ``key`` is one of ``ids``, per (key, ``column``,
    file): how many, and the first row numbers."""
    keys = list(dict.fromkeys([key, column]))
    queries = [
        _used(data, table)
        .filter(pl.col(key).is_in(ids))
        .group_by(*keys, "_file")
        .agg(pl.len().alias("count"), pl.col("_row").sort().head(EXAMPLES).alias("rows"))
        for table in tables
        if table in data.tables and column in data.tables[table].columns
    ]
    frames = collect_all(queries, data) if queries else []
    schema: dict[str, pl.DataType] = {k: pl.String() for k in [*keys, "_file"]}
    schema.update(count=pl.UInt32(), rows=pl.List(pl.Int64))
    found = [frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items()) for frame in frames]
    return pl.concat([pl.DataFrame(schema=schema), *found]).sort(*keys, "_file")


def _of(places: pl.DataFrame, column: str | None = None, value: str | None = None) -> list[Place]:
    """The (file, count, rows) of ``places``, those whose ``column`` is ``value`` if given."""
    rows = places if column is None else places.filter(pl.col(column) == value)
    return [(file, count, list(numbers)) for file, count, numbers in rows.select("_file", "count", "rows").iter_rows()]


def _rows_text(places: list[Place]) -> str:
    """``file rows 2, 3`` (or ``row 2``) per file; ``… (9 rows)`` beyond the first few."""
    texts = []
    for file, count, rows in places:
        numbers = ", ".join(str(row) for row in rows)
        more = f" … ({count:,} rows)" if count > len(rows) else ""
        texts.append(f"{file} row{'s' if count > 1 else ''} {numbers}{more}")
    return ", ".join(texts) if texts else "no usable row"


def _listed(ids: list[str]) -> str:
    quoted = [repr(value) for value in ids]
    return " and ".join([", ".join(quoted[:-1]), quoted[-1]]) if len(quoted) > 1 else quoted[0]


def _issue(slug: str, message: str, column: str, places: list[Place]) -> Issue:
    files = {file for file, _, _ in places}
    return Issue(
        type=slug,
        message=message,
        severity="warning",
        file=files.pop() if len(files) == 1 else None,
        column=column,
        rows=tuple(row for _, _, rows in places for row in rows),
        count=sum(count for _, count, _ in places),
    )
