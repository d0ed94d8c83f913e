"""The `kpi` command: parse options, call the library, render. Nothing else."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import __version__

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from .scoring import Scorecard

app = typer.Typer(
    help="Score debt collectors and teams from a month of collection exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Level(StrEnum):
    collector = "collector"
    team = "team"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"
    markdown = "markdown"


class CatalogFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _stdout() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        # A pipe or a file gets the whole table, not one cut to 80 columns.
        console = Console(highlight=False, width=100_000, no_color=True)
    return console


@contextmanager
def _guard(debug: bool) -> Iterator[None]:
    """Turn our errors into one line on stderr and exit code 2; tracebacks only with --debug."""
    from .errors import KpiError

    try:
        yield
    except typer.Exit:
        raise
    except KpiError as exc:
        if debug:
            raise
        _stderr().print(f"Error: {exc.message}", markup=False, soft_wrap=True)
        raise typer.Exit(code=exc.exit_code) from None
    except Exception as exc:
        if debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        message = f"Error: {type(exc).__name__}: {first} (run with --debug for details)"
        _stderr().print(message, markup=False, soft_wrap=True)
        raise typer.Exit(code=1) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kpi {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Score debt collectors and teams from a month of collection exports."""


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Scheme YAML. Default: $KPI_CONFIG, else ./kpi.yaml, else ./configs/default.yaml.",
    ),
]
CasesOption = Annotated[str | None, typer.Option(help="Cases export: a file, a glob or a directory.")]
ContactsOption = Annotated[str | None, typer.Option(help="Contacts export: a file, a glob or a directory.")]
ReviewsOption = Annotated[str | None, typer.Option(help="Reviews export: a file, a glob or a directory.")]
RosterOption = Annotated[str | None, typer.Option(help="Roster: a file, a glob or a directory.")]
MonthOption = Annotated[str, typer.Option("--month", "-m", help="The month to score, YYYY-MM.")]
DebugOption = Annotated[bool, typer.Option(help="Show the full traceback on errors.")]


def _run(
    month: str,
    config: Path | None,
    paths: dict[str, str | None],
) -> Scorecard:
    from . import api
    from .scheme import find_scheme

    scheme = api.load_scheme(find_scheme(config))
    err = _stderr()
    data = api.load_month(scheme, month, paths)
    if err.is_terminal:
        with err.status(f"reading {month}…"):
            return api.score(scheme, data)
    return api.score(scheme, data)


def _summary(card: Scorecard) -> str:
    parts = []
    for table, stats in card.stats.items():
        text = f"{table} {stats.read:,} read, {stats.used:,} used, {stats.rejected:,} rejected"
        if stats.other_month:
            text += f" ({stats.other_month:,} of other months skipped)"
        parts.append(text)
    return f"{card.month}: " + "; ".join(parts)


@app.command()
def score(
    month: MonthOption,
    config: ConfigOption = None,
    cases: CasesOption = None,
    contacts: ContactsOption = None,
    reviews: ReviewsOption = None,
    roster: RosterOption = None,
    level: Annotated[Level, typer.Option(help="Score collectors or teams.")] = Level.collector,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    top: Annotated[int | None, typer.Option(min=1, help="Show only the N best-ranked rows.")] = None,
    debug: DebugOption = False,
) -> None:
    """Score one month and print a ranked scorecard (stdout), a summary on stderr."""
    with _guard(debug):
        from . import render
        from .errors import OutputError

        if format is Format.parquet and output is None:
            raise OutputError("--format parquet writes binary; give --output FILE")
        paths = {"cases": cases, "contacts": contacts, "reviews": reviews, "roster": roster}
        card = _run(month, config, paths)
        frame = card.table(level.value)
        if top is not None:
            frame = frame.filter(frame["rank"].is_not_null() & (frame["rank"] <= top))
        metric_ids = list(card.scheme.metrics)
        _stderr().print(_summary(card), markup=False, soft_wrap=True)
        payload: bytes | None = None
        if format is Format.table:
            title = f"{card.scheme.name} · {month} · {level.value}s"
            table = render.rich_table(frame, level.value, metric_ids, title)
            if output is None:
                _stdout().print(table)
                return
            from rich.console import Console

            capture = Console(width=100_000, no_color=True, file=open(os.devnull, "w"))  # noqa: SIM115
            with capture.capture() as captured:
                capture.print(table)
            payload = captured.get().encode("utf-8")
        elif format is Format.markdown:
            payload = render.to_markdown(frame, metric_ids, level.value)
        else:
            payload = render.WRITERS[format.value](frame)
        if output is None:
            sys.stdout.buffer.write(payload)
            sys.stdout.flush()
        else:
            inputs = [f for stats in card.stats.values() for f in stats.files]
            render.write_atomic(output, payload, protected=inputs)
            _stderr().print(f"wrote {output}", markup=False, soft_wrap=True)


@app.command()
def metrics(
    format: Annotated[CatalogFormat, typer.Option("--format", "-f", help="Output format.")] = CatalogFormat.table,
) -> None:
    """List the metric catalog: id, Chinese and English name, definition, direction."""
    from .metrics import CATALOG

    rows: list[dict[str, Any]] = [
        {
            "id": m.id,
            "zh": m.zh,
            "en": m.en,
            "definition": m.definition,
            "better": m.better or "scheme decides",
            "unit": m.unit,
            "needs": "+".join(m.tables),
        }
        for m in CATALOG
    ]
    if format is CatalogFormat.json:
        import json

        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if format is CatalogFormat.markdown:
        typer.echo("| id | 中文 | name | definition | better | needs |")
        typer.echo("|---|---|---|---|---|---|")
        for r in rows:
            typer.echo(f"| {r['id']} | {r['zh']} | {r['en']} | {r['definition']} | {r['better']} | {r['needs']} |")
        return
    from rich.table import Table

    table = Table(title="Metric catalog", title_justify="left", header_style="bold")
    for column in ("id", "中文", "name", "definition", "better", "needs"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["id"], r["zh"], r["en"], r["definition"], r["better"], r["needs"])
    _stdout().print(table)


def main() -> None:
    """Console-script entry point."""
    app()
