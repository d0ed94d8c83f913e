"""The `kpi` command: parse options, call the library, render. Nothing else."""

from __future__ import annotations

import atexit
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

    from .labels import Lang
    from .manifest import InputHashes
    from .scoring import Scorecard
    from .sources import PathsArg

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
    xlsx = "xlsx"


class CatalogFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


class _PlainStderr:
    """stderr when it is not a terminal (a log, a pipe, cron): each message as it is; none
    where stderr is closed (`2>&-`)."""

    is_terminal = False

    def print(self, text: str, **_: Any) -> None:
        if sys.stderr is not None:
            sys.stderr.write(f"{text}\n")


def _stderr() -> Console | _PlainStderr:
    # NOTE: not importing rich for a log file saves 0.03 s of every run from cron.
    if sys.stderr is None or not sys.stderr.isatty():
        return _PlainStderr()
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _stdout() -> Console:
    from rich.console import Console

    class Stdout(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError  # not rich's exit code 1: _guard stops quietly

    console = Stdout(highlight=False)
    if not console.is_terminal:
        # A pipe or a file gets the whole table, not one cut to 80 columns.
        console = Stdout(highlight=False, width=100_000, no_color=True)
    return console


@contextmanager
def _guard(debug: bool) -> Iterator[None]:
    """Turn our errors into one line on stderr and exit code 2; tracebacks only with --debug."""
    from .errors import KpiError

    try:
        yield
    except typer.Exit:
        raise
    except BrokenPipeError:
        # The reader went away (`kpi … | head`): stop quietly, as a shell tool would on SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(code=128 + 13) from None
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
_PATH_HELP = "export: a file, a glob or a directory; repeat the option for several."
CasesOption = Annotated[list[str] | None, typer.Option(metavar="<path>", help=f"Cases {_PATH_HELP}")]
ContactsOption = Annotated[list[str] | None, typer.Option(metavar="<path>", help=f"Contacts {_PATH_HELP}")]
ReviewsOption = Annotated[list[str] | None, typer.Option(metavar="<path>", help=f"Reviews {_PATH_HELP}")]
RosterOption = Annotated[list[str] | None, typer.Option(metavar="<path>", help=f"Roster {_PATH_HELP}")]
MonthOption = Annotated[str, typer.Option("--month", "-m", help="The month to score, YYYY-MM.")]
RejectsOption = Annotated[
    Path | None, typer.Option(help="Write the rejected rows (source file, row, reason, values) to this CSV.")
]
StrictOption = Annotated[bool, typer.Option(help="Treat any rejected row as an error (exit 2).")]
DebugOption = Annotated[bool, typer.Option(help="Show the full traceback on errors.")]


def _paths(
    cases: list[str] | None, contacts: list[str] | None, reviews: list[str] | None, roster: list[str] | None
) -> dict[str, PathsArg]:
    """The input paths given on the command line, by table."""
    return {"cases": cases, "contacts": contacts, "reviews": reviews, "roster": roster}


def _scheme_path(config: Path | None) -> Path:
    from .scheme import find_scheme

    return find_scheme(config)


def _run(month: str, config: Path | None, paths: dict[str, PathsArg], on_files: Any = None) -> Scorecard:
    from . import api
    from .scheme import find_scheme

    scheme = api.load_scheme(find_scheme(config))
    err = _stderr()
    data = api.load_month(scheme, month, paths)
    if on_files is not None:
        on_files([f for table in data.tables.values() for f in table.files])
    if not isinstance(err, _PlainStderr) and err.is_terminal:
        with err.status(f"reading {month}…"):
            return api.score(scheme, data)
    return api.score(scheme, data)


@contextmanager
def _input_hashes(wanted: bool, paths: dict[str, PathsArg]) -> Iterator[InputHashes | None]:
    """The input files' hashes for the manifest (if ``wanted``): begun at once for the files
    named on the command line, the others as the month finds them; stopped on the way out."""
    from .manifest import InputHashes, named_files, take_early

    early = take_early()
    if not wanted:
        if early is not None:
            early.close()
        yield None
        return
    # As the month's reading will name them (a glob or a folder is expanded there).
    named = named_files(p for given in paths.values() for p in given or [])
    hashes = early or InputHashes()
    hashes.add(named)
    try:
        yield hashes
    finally:
        hashes.close()


def _check_targets(targets: dict[str, Path | None], inputs: list[str]) -> None:
    """Before anything is written: no output over an input or the scheme, none over another."""
    from .errors import OutputError

    seen: dict[Path, str] = {}
    protected = {Path(p).resolve() for p in inputs}
    for option, target in targets.items():
        if target is None:
            continue
        where = target.resolve()
        if where in protected:
            raise OutputError(f"{option} {target}: refusing to overwrite an input file or the scheme")
        if where in seen:
            raise OutputError(f"{seen[where]} and {option} name the same file ({target}); give each its own")
        seen[where] = option


def _handle_rejects(rejects: Any, path: Path | None, strict: bool, inputs: list[str]) -> dict[str, bytes]:
    """Write the rejected rows where asked (returned as path → bytes, for the manifest);
    with --strict any rejected row stops the run."""
    from . import render
    from .errors import InputError

    written = {}
    if path is not None:
        frame = rejects.drop("_expected", strict=False)
        frame = frame.rename({"_file": "source_file", "_row": "row", "_reject": "reason"})
        written[str(path)] = render.to_csv(frame, bom=True)
        render.write_atomic(path, written[str(path)], protected=inputs)
        _stderr().print(f"wrote {frame.height:,} rejected row(s) to {path}", markup=False, soft_wrap=True)
    if strict and rejects.height:
        raise InputError(f"{rejects.height:,} row(s) rejected (--strict); first: {_first_reject(rejects)}")
    return written


def _first_reject(rejects: Any) -> str:
    from .checks import describe_reject

    return describe_reject(rejects.sort("table", "_file", "_row").row(0, named=True))


def _summary(card: Scorecard, rejects: str | None = "list them with kpi score --rejects FILE") -> str:
    """The row accounting, a warning when rows were rejected (``rejects``: where they are
    listed; None: not warned, as --strict stops on them), and where an estimated K came from
    (fairness.md: "and says so")."""
    lines = [_accounting_line(card.month, card.stats)]
    if card.rejects.height and rejects is not None:
        lines.append(
            f"warning: {card.rejects.height:,} row(s) of {card.month} rejected and left out of every score "
            f"(first: {_first_reject(card.rejects)}); {rejects}, or stop on them with --strict"
        )
    for metric_id, info in card.fairness.items():
        if info.get("method") in ("buhlmann_straub", "fallback"):
            lines.append(f"{metric_id}: shrink {info['reason']}")
    return "\n".join(lines)


def _accounting_line(month: str, tables: dict[str, Any]) -> str:
    parts = []
    for table, stats in tables.items():
        read = f"{stats.read:,} read"
        if stats.lines != stats.records:  # a quoted value holds a line break
            apart = f"{stats.records:,} records on {stats.lines:,} lines"
            read = f"{apart} read" if stats.records == stats.read else f"{read} ({apart})"
        text = f"{table} {read}, {stats.used:,} used, {stats.rejected:,} rejected"
        skipped = [f"{stats.other_month:,} of other months"] if stats.other_month else []
        skipped += [f"{stats.blank:,} blank"] if stats.blank else []
        if skipped:
            text += f" ({' and '.join(skipped)} skipped)"
        parts.append(text)
    return f"{month}: " + "; ".join(parts)


CompareOption = Annotated[
    str | None,
    typer.Option(help="Compare with another period (YYYY-MM, a range, YYYYQn) or `previous`."),
]
LangOption = Annotated[
    str | None, typer.Option(help="Labels: zh or en (default: the scheme's `lang`, else the locale).")
]


def _period(month: str | None, quarter: str | None) -> str:
    from .errors import KpiError

    if month is not None and quarter is not None:
        raise KpiError("give --month or --quarter, not both")
    if month is None and quarter is None:
        raise KpiError("give the period: --month YYYY-MM (or YYYY-MM..YYYY-MM) or --quarter YYYYQn")
    from .sources import period_months

    if quarter is not None:
        period_months(quarter, "--quarter")
        return quarter
    return month or ""


def _compared(card: Scorecard, compare: str | None, scheme_path: Path, paths: dict[str, PathsArg]) -> Any:
    """The scorecard of the compared period, read through the scheme's input paths."""
    from . import api
    from .errors import KpiError

    if compare is None:
        return None
    if any(paths.values()):
        raise KpiError("--compare reads both periods through the scheme's input paths; drop --cases/--contacts/…")
    from .sources import period_months

    period = api.previous_period(card.month) if compare == "previous" else compare
    period_months(period, "--compare")
    try:
        previous = _run(period, scheme_path, {})
    except KpiError as exc:
        raise type(exc)(f"--compare {compare}: the period compared with, {period}: {exc.message}") from exc
    _stderr().print(_summary(previous), markup=False, soft_wrap=True)
    return previous


def _lang(value: str | None, card: Scorecard) -> Lang:
    from .errors import KpiError
    from .labels import resolve_lang

    try:
        return resolve_lang(value or card.scheme.lang)
    except ValueError as exc:
        raise KpiError(f"--lang: {exc}") from exc


@app.command()
def score(
    month: Annotated[str | None, typer.Option("--month", "-m", help="The month (YYYY-MM) or YYYY-MM..YYYY-MM.")] = None,
    quarter: Annotated[str | None, typer.Option(help="A quarter instead of --month, e.g. 2025Q1.")] = None,
    config: ConfigOption = None,
    cases: CasesOption = None,
    contacts: ContactsOption = None,
    reviews: ReviewsOption = None,
    roster: RosterOption = None,
    level: Annotated[Level, typer.Option(help="Score collectors or teams.")] = Level.collector,
    format: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format. Default: from the --output file's extension, else table.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    top: Annotated[int | None, typer.Option(min=1, help="Show only the N best-ranked rows.")] = None,
    compare: CompareOption = None,
    lang: LangOption = None,
    rejects: RejectsOption = None,
    strict: StrictOption = False,
    manifest: Annotated[
        Path | None,
        typer.Option(help="Where to write the audit manifest (default with --output: OUTPUT.manifest.json)."),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Score a month (or a longer period) and print a ranked scorecard; a summary goes to stderr."""
    if output is not None and str(output) == "-":
        output = None  # the usual spelling of stdout
    paths = _paths(cases, contacts, reviews, roster)
    with _guard(debug), _input_hashes(output is not None or manifest is not None, paths) as hashes:
        from . import render
        from .errors import KpiError, OutputError

        format = _output_format(format, output)
        if format in (Format.parquet, Format.xlsx) and output is None:
            raise OutputError(f"--format {format.value} writes binary; give --output FILE")
        for target in (output, manifest, rejects):
            if target is not None and not target.resolve().parent.is_dir():
                raise OutputError(f"{target}: folder {target.resolve().parent} does not exist")
        scheme_path = _scheme_path(config)
        card = _run(_period(month, quarter), scheme_path, paths, hashes.add if hashes is not None else None)
        inputs = [f for stats in card.stats.values() for f in stats.files] + [str(scheme_path)]
        written = {"--output": output, "--manifest": manifest or (Path(f"{output}.manifest.json") if output else None)}
        listed = None if strict else f"listed in {rejects}" if rejects else "list them with --rejects FILE"
        _stderr().print(_summary(card, listed), markup=False, soft_wrap=True)
        _check_targets({**written, "--rejects": rejects}, inputs)
        rejects_written = _handle_rejects(card.rejects, rejects, strict, inputs)
        previous = _compared(card, compare, scheme_path, paths)
        language = _lang(lang, card)
        if level is Level.team and card.teams.is_empty():
            raise KpiError(
                "--level team: no collector has a team; a collector's team comes from the cases' team_id "
                "or the roster, and this run reads neither"
            )
        frame = _frame(card, previous, level.value, top)
        metric_ids = list(card.scheme.metrics)
        if format is Format.table:
            title = f"{card.scheme.name} · {card.month}" + (f" vs {previous.month}" if previous else "")
            table = render.rich_table(frame, level.value, metric_ids, f"{title} · {level.value}s", language)
            if output is None:
                console = _stdout()
                shown = _fitting(console, table, frame, level.value, metric_ids, f"{title} · {level.value}s", language)
                console.print(shown)
                payload = b""
            else:
                payload = _captured(table)
        elif format is Format.markdown:
            payload = render.to_markdown(frame, metric_ids, level.value, language)
        elif format is Format.xlsx:
            from .workbook import xlsx_bytes

            tables = {lv: _frame(card, previous, lv, top) for lv in ("collector", "team")}
            payload = xlsx_bytes(
                tables,
                card.scheme,
                floor=card.floor,
                manifest=_manifest(card, scheme_path, {}, level, format, hashes),
                # headers stay the contract's ids unless a language is asked for
                lang=language if (lang or card.scheme.lang) else None,
            )
        elif format is Format.csv:
            payload = render.to_csv(frame, bom=output is not None)
        else:
            payload = render.WRITERS[format.value](frame)
        if output is None:
            if payload:
                sys.stdout.buffer.write(payload)
                sys.stdout.flush()
        else:
            render.write_atomic(output, payload, protected=inputs)
            _stderr().print(f"wrote {output}", markup=False, soft_wrap=True)
        if output is not None or manifest is not None:
            from .manifest import manifest_bytes

            target = manifest or Path(f"{output}.manifest.json")
            outputs = ({str(output): payload} if output is not None else {}) | rejects_written
            record = _manifest(card, scheme_path, outputs, level, format, hashes)
            render.write_atomic(target, manifest_bytes(record), protected=inputs)
            _stderr().print(f"wrote {target}", markup=False, soft_wrap=True)


# The format a file name asks for.
_SUFFIXES = {
    ".csv": Format.csv,
    ".json": Format.json,
    ".parquet": Format.parquet,
    ".xlsx": Format.xlsx,
    ".md": Format.markdown,
}


def _output_format(given: Format | None, output: Path | None) -> Format:
    """The --format given, else the --output file's (table on stdout); a file name whose
    extension says another format is an error (CSV text in a .xlsx opens as garbage)."""
    from .errors import OutputError

    implied = _SUFFIXES.get(output.suffix.lower()) if output is not None else None
    if given is None:
        if output is None or output.suffix.lower() == ".txt":
            return Format.table
        if implied is None:
            known = ", ".join([*_SUFFIXES, ".txt"])
            raise OutputError(f"{output}: cannot tell the format from the name ({known}); give --format")
        return implied
    if implied is not None and implied is not given:
        raise OutputError(f"{output}: the name says {implied.value} but --format is {given.value}; make them agree")
    return given


def _fitting(console: Any, table: Any, frame: Any, level: str, metric_ids: list[str], title: str, lang: str) -> Any:
    """On a terminal too narrow for every metric, the table with as many as fit, and a hint."""
    from rich.measure import Measurement

    from . import render

    if not console.is_terminal:
        return table
    shown = list(metric_ids)
    natural = console.options.update(max_width=100_000)
    while shown and Measurement.get(console, natural, table).maximum > console.width:
        shown.pop()
        table = render.rich_table(frame, level, shown, title, lang)
    hidden = len(metric_ids) - len(shown)
    if hidden:
        _stderr().print(
            f"{hidden} metric column(s) do not fit this terminal ({', '.join(metric_ids[len(shown) :])}); "
            "widen it, or use --format markdown|csv, or kpi explain for one collector",
            markup=False,
            soft_wrap=True,
        )
    return table


def _frame(card: Scorecard, previous: Any, level: str, top: int | None) -> Any:
    """The output-contract frame of one level, compared and cut to the top N if asked."""
    frame = card.table(level)
    if previous is not None:
        from .compare import compare

        frame = compare(frame, previous.table(level), level)
    if top is not None:
        frame = frame.filter(frame["rank"].is_not_null() & (frame["rank"] <= top))
    return frame


def _manifest(
    card: Scorecard,
    scheme_path: Path,
    outputs: dict[str, bytes],
    level: Level,
    format: Format,
    hashes: Any = None,
) -> Any:
    from .manifest import build_manifest

    return build_manifest(card, scheme_path, outputs, level.value, format.value, hashes)


def _captured(renderable: Any) -> bytes:
    from rich.console import Console

    capture = Console(width=100_000, no_color=True, file=open(os.devnull, "w"))  # noqa: SIM115
    with capture.capture() as captured:
        capture.print(renderable)
    return captured.get().encode("utf-8")


@app.command()
def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
    month: Annotated[str | None, typer.Option("--month", "-m", help="The month (YYYY-MM) or YYYY-MM..YYYY-MM.")] = None,
    quarter: Annotated[str | None, typer.Option(help="A quarter instead of --month, e.g. 2025Q1.")] = None,
    config: ConfigOption = None,
    cases: CasesOption = None,
    contacts: ContactsOption = None,
    reviews: ReviewsOption = None,
    roster: RosterOption = None,
    compare: CompareOption = None,
    lang: LangOption = None,
    debug: DebugOption = False,
) -> None:
    """Write a self-contained HTML report: headline figures, charts, movement, heatmap, tables."""
    with _guard(debug):
        from . import render
        from .errors import OutputError
        from .report import render_html

        if output.suffix.lower() not in (".html", ".htm"):
            raise OutputError(f"{output}: the report is an HTML page; name it .html")
        paths = _paths(cases, contacts, reviews, roster)
        scheme_path = _scheme_path(config)
        card = _run(_period(month, quarter), scheme_path, paths)
        _stderr().print(_summary(card), markup=False, soft_wrap=True)
        previous = _compared(card, compare, scheme_path, paths)
        inputs = [f for stats in card.stats.values() for f in stats.files] + [str(scheme_path)]
        _check_targets({"--output": output}, inputs)
        html = render_html(card, previous, _lang(lang, card))
        render.write_atomic(output, html.encode("utf-8"), protected=inputs)
        _stderr().print(f"wrote {output}", markup=False, soft_wrap=True)


@app.command()
def explain(
    month: MonthOption,
    collector_id: Annotated[str | None, typer.Argument(help="The collector to explain.")] = None,
    team: Annotated[str | None, typer.Option(help="Explain this team's scorecard instead.")] = None,
    config: ConfigOption = None,
    cases: CasesOption = None,
    contacts: ContactsOption = None,
    reviews: ReviewsOption = None,
    roster: RosterOption = None,
    format: Annotated[CatalogFormat, typer.Option("--format", "-f", help="Output format.")] = CatalogFormat.table,
    compare: CompareOption = None,
    debug: DebugOption = False,
) -> None:
    """Explain one collector's (or team's) score: every value, point, gate and lever."""
    with _guard(debug):
        from . import render
        from .errors import KpiError
        from .explain import explain as explain_line

        if (collector_id is None) == (team is None):
            raise KpiError("name one collector (kpi explain C001 …) or one team (--team T01)")
        paths = _paths(cases, contacts, reviews, roster)
        card = _run(month, config, paths)
        _stderr().print(_summary(card), markup=False, soft_wrap=True)
        level = "team" if team else "collector"
        key = team or collector_id or ""
        result = explain_line(card, key, level)
        previous = _compared(card, compare, _scheme_path(config), paths)
        deltas = None
        if previous is not None:
            from .compare import key_column, metric_deltas

            before = previous.table(level).filter(previous.table(level)[key_column(level)] == key)
            now = card.table(level).filter(card.table(level)[key_column(level)] == key)
            deltas = metric_deltas(
                now.row(0, named=True), before.row(0, named=True) if before.height else None, list(card.scheme.metrics)
            )
        if format is CatalogFormat.json:
            import json

            data = result.to_dict()
            if deltas is not None:
                data["compared_with"] = previous.month
                data["deltas"] = deltas.to_dicts()
            typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        elif format is CatalogFormat.markdown:
            sys.stdout.buffer.write(render.explain_markdown(result))
            if deltas is not None:
                sys.stdout.buffer.write(render.deltas_markdown(deltas, previous.month))
        else:
            _stdout().print(render.explain_table(result))
            if deltas is not None:
                _stdout().print(render.deltas_table(deltas, previous.month))


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def validate(
    month: MonthOption,
    config: ConfigOption = None,
    cases: CasesOption = None,
    contacts: ContactsOption = None,
    reviews: ReviewsOption = None,
    roster: RosterOption = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")] = ReportFormat.table,
    rejects: RejectsOption = None,
    debug: DebugOption = False,
) -> None:
    """Check a month's exports: rows read, used and rejected per table, and warnings.

    Exit 0 when no row is rejected (warnings allowed), 1 when there are errors.
    """
    with _guard(debug):
        from . import api
        from .scheme import find_scheme

        scheme_path = find_scheme(config)
        scheme = api.load_scheme(scheme_path)
        paths = _paths(cases, contacts, reviews, roster)
        report = api.validate(scheme, month, paths)
        inputs = [f for stats in report.tables.values() for f in stats.files] + [str(scheme_path)]
        _check_targets({"--rejects": rejects}, inputs)
        _handle_rejects(report.rejects, rejects, False, inputs)
        if format is ReportFormat.json:
            import json

            typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        else:
            _print_report(report)
    if not report.valid:
        raise typer.Exit(code=1)


def _print_report(report: Any) -> None:
    from rich.table import Table

    out = _stdout()
    tables = Table(title=f"{report.month}: rows per table", title_justify="left", header_style="bold")
    for column in ("table", "read", "used", "rejected", "other months", "files"):
        tables.add_column(column, justify="left" if column in ("table", "files") else "right")
    for stats in report.tables.values():
        tables.add_row(
            stats.table,
            f"{stats.read:,}",
            f"{stats.used:,}",
            f"{stats.rejected:,}",
            f"{stats.other_month:,}",
            ", ".join(stats.files),
        )
    out.print(tables)
    if not report.issues:
        out.print("No problems found.")
        return
    issues = Table(title="Problems", title_justify="left", header_style="bold")
    for column in ("severity", "type", "table", "column", "rows", "message", "file"):
        issues.add_column(column)
    for issue in report.issues:
        rows = ", ".join(str(r) for r in issue.rows) + (" …" if issue.count > len(issue.rows) else "")
        issues.add_row(
            issue.severity, issue.type, issue.table or "", issue.column or "", rows, issue.message, issue.file or ""
        )
    out.print(issues)
    verdict = "errors found: rows were rejected" if not report.valid else "usable, with warnings"
    out.print(verdict)


@app.command()
def metrics(
    format: Annotated[CatalogFormat, typer.Option("--format", "-f", help="Output format.")] = CatalogFormat.table,
) -> None:
    """List the metric catalog: id, Chinese and English name, definition, direction."""
    with _guard(False):
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
    try:
        app()
        code: int | str | None = 0
    except SystemExit as done:
        code = done.code
    # NOTE: the process ends here without the interpreter's teardown (freeing a large
    # month's memory, module by module): 0.05 s of a 3.3 s run. Every output file is
    # already written and closed (render.write_atomic); the exit handlers still run (they
    # remove the transcoded copies of GBK files), then stdout and stderr are flushed.
    atexit._run_exitfuncs()
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    try:
        if sys.stdout is not None:  # None where it was closed (`>&-`)
            sys.stdout.flush()
    except BrokenPipeError:  # the reader went away after the last write
        code = 128 + 13
    if sys.stderr is not None:
        sys.stderr.flush()
    os._exit(code or 0)
