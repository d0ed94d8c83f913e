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
    from .scheme import Scheme
    from .scoring import Scorecard
    from .sources import PathsArg

app = typer.Typer(
    help="Score debt collectors and teams from a month of collection exports.",
    no_args_is_help=True,
    add_completion=True,
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
    jsonl = "jsonl"
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
PeriodOption = Annotated[str | None, typer.Option("--month", "-m", help="The month (YYYY-MM) or YYYY-MM..YYYY-MM.")]
QuarterOption = Annotated[str | None, typer.Option(help="A quarter instead of --month, e.g. 2025Q1.")]
RejectsOption = Annotated[
    Path | None, typer.Option(help="Write the rejected rows (source file, row, reason, values) to this CSV.")
]
StrictOption = Annotated[bool, typer.Option(help="Treat any rejected row or cell as an error (exit 2).")]
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


def _handle_rejects(
    rejects: Any, cell_rejects: Any, path: Path | None, strict: bool, inputs: list[str]
) -> dict[str, bytes]:
    """Write the rejected rows and cells where asked (returned as path → bytes, for the
    manifest); with --strict any rejected row or cell stops the run."""
    from . import render
    from .checks import listing
    from .errors import InputError

    written = {}
    if path is not None:
        written[str(path)] = render.to_csv(listing(rejects, cell_rejects), bom=True)
        render.write_atomic(path, written[str(path)], protected=inputs)
        cells = f" and {cell_rejects.height:,} rejected cell(s)" if cell_rejects.height else ""
        _stderr().print(f"wrote {rejects.height:,} rejected row(s){cells} to {path}", markup=False, soft_wrap=True)
    if strict and rejects.height:
        raise InputError(f"{rejects.height:,} row(s) rejected (--strict); first: {_first_reject(rejects)}")
    if strict and cell_rejects.height:
        raise InputError(f"{cell_rejects.height:,} cell(s) rejected (--strict); first: {_first_reject(cell_rejects)}")
    return written


def _first_reject(rejects: Any) -> str:
    from .checks import describe_reject

    return describe_reject(rejects.sort("table", "_file", "_row").row(0, named=True))


def _summary(
    card: Scorecard, rejects: str | None = "list them with kpi score --rejects FILE", lang: Lang = "en"
) -> str:
    """The row accounting, a warning when rows were rejected (``rejects``: where they are
    listed; None: not warned, as --strict stops on them), and where an estimated K came from
    (fairness.md: "and says so")."""
    from .labels import reject_text, text

    lines = [_accounting_line(card.month, card.stats, lang)]
    lines += [f"warning: {stats.dropped.message}" for stats in card.stats.values() if stats.dropped is not None]
    if card.rejects.height and rejects is not None:
        first = reject_text(_first_reject(card.rejects), lang)
        lines.append(
            text("rejected_warning", lang).format(
                count=f"{card.rejects.height:,}", month=card.month, first=first, where=_where_listed(rejects, lang)
            )
        )
    if card.cell_rejects.height and rejects is not None:
        first = reject_text(_first_reject(card.cell_rejects), lang)
        lines.append(
            text("cells_warning", lang).format(
                count=f"{card.cell_rejects.height:,}", month=card.month, first=first, where=_where_listed(rejects, lang)
            )
        )
    lines += [f"warning: {issue.message}" for issue in card.warnings]
    for metric_id, info in card.fairness.items():
        if info.get("method") in ("buhlmann_straub", "fallback"):
            lines.append(f"{metric_id}: shrink {info['reason']}")
    return "\n".join(lines)


def _where_listed(rejects: str, lang: Lang) -> str:
    """`listed in FILE` / `list them with … --rejects FILE` in ``lang``."""
    if lang != "zh":
        return rejects
    if rejects.startswith("listed in "):
        return f"已列在 {rejects.removeprefix('listed in ')}"
    return f"用 {rejects.removeprefix('list them with ')} 列出"


def _accounting_line(month: str, tables: dict[str, Any], lang: Lang = "en") -> str:
    from .labels import text

    parts = []
    for table, stats in tables.items():
        counts = {name: f"{getattr(stats, name):,}" for name in ("read", "used", "rejected", "other_month", "blank")}
        line = text("accounting", lang).format(table=table, **counts)
        if stats.duplicates:
            line += text("duplicates_dropped", lang).format(count=f"{stats.duplicates:,}")
        skipped = [text("skipped_other_months", lang).format(**counts)] if stats.other_month else []
        skipped += [text("skipped_blank", lang).format(**counts)] if stats.blank else []
        if skipped:
            line += " " + text("skipped", lang).format(what=text("and", lang).join(skipped))
        if stats.cells_rejected:
            columns = ", ".join(f"{column}: {count:,}" for column, count in sorted(stats.cells_by_column.items()))
            line += text("cells_accounting", lang).format(count=f"{stats.cells_rejected:,}", columns=columns)
        parts.append(line)
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


def _compared(
    card: Scorecard, compare: str | None, scheme_path: Path, paths: dict[str, PathsArg], lang: Lang = "en"
) -> Any:
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
    _stderr().print(_summary(previous, lang=lang), markup=False, soft_wrap=True)
    return previous


def _lang(value: str | None, scheme: Scheme) -> Lang:
    """--lang, else the scheme's `lang:`, else the locale's (C and POSIX: English)."""
    from .errors import KpiError
    from .labels import resolve_lang

    try:
        return resolve_lang(value or scheme.lang)
    except ValueError as exc:
        raise KpiError(f"--lang: {exc}") from exc


@app.command()
def score(
    month: PeriodOption = None,
    quarter: QuarterOption = None,
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
    wide: Annotated[
        bool, typer.Option(help="Table: every metric column, however wide the terminal (lines may wrap).")
    ] = False,
    columns: Annotated[
        str | None,
        typer.Option(metavar="a,b,c", help="Table and markdown: only these metric columns (ids), in this order."),
    ] = None,
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
        language = _lang(lang, card.scheme)
        _stderr().print(_summary(card, listed, language), markup=False, soft_wrap=True)
        _check_targets({**written, "--rejects": rejects}, inputs)
        rejects_written = _handle_rejects(card.rejects, card.cell_rejects, rejects, strict, inputs)
        previous = _compared(card, compare, scheme_path, paths, language)
        if level is Level.team and card.teams.is_empty():
            raise KpiError(
                "--level team: no collector has a team; a collector's team comes from the cases' team_id "
                "or the roster, and this run reads neither"
            )
        frame = _frame(card, previous, level.value, top)
        metric_ids = _metric_columns(columns, list(card.scheme.metrics))
        if format is Format.table:
            title = _card_title(card, previous, level.value, language)
            if output is None:
                _print_card(frame, level.value, metric_ids, title, language, wide)
                payload = b""
            else:
                payload = _captured(*_card(frame, level.value, metric_ids, title, language, None))
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
                lang=language,  # a workbook is for people: labels, even under LANG=C (in English)
            )
        elif format is Format.csv:
            payload = render.to_csv(frame, bom=output is not None)
        elif format is Format.jsonl:
            payload = render.to_jsonl(frame)
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
    ".jsonl": Format.jsonl,
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


def _metric_columns(given: str | None, metric_ids: list[str]) -> list[str]:
    """The metric columns --columns picks (ids of the scheme's metrics), else all of them."""
    from .errors import KpiError

    if given is None:
        return metric_ids
    picked = [name.strip() for name in given.split(",") if name.strip()]
    unknown = [name for name in picked if name not in metric_ids]
    if unknown or not picked:
        raise KpiError(
            f"--columns: {', '.join(unknown) or 'no metric named'} is not a metric of this scheme; "
            f"its metrics: {','.join(metric_ids)}"
        )
    return list(dict.fromkeys(picked))


def _card_title(card: Scorecard, previous: Any, level: str, lang: Lang) -> str:
    from .labels import text

    compared = f" {text('vs', lang)} {previous.month}" if previous else ""
    rows = text("collectors" if level == "collector" else "teams_level", lang)
    return f"{card.scheme.name} · {card.month}{compared} · {rows}"


def _card(frame: Any, level: str, metric_ids: list[str], title: str, lang: Lang, width: int | None) -> list[Any]:
    from .terminal import card_view

    return card_view(frame, level, metric_ids, title, lang, width).renderables(lang)


def _print_card(frame: Any, level: str, metric_ids: list[str], title: str, lang: Lang, wide: bool) -> None:
    """The scorecard on stdout: on a terminal the metric columns that fit (all with --wide)."""
    console = _stdout()
    fits = console.is_terminal and not wide
    shown = _card(frame, level, metric_ids, title, lang, console.width if fits else None)
    if console.is_terminal and wide:
        from rich.measure import Measurement

        natural = Measurement.get(console, console.options.update(max_width=100_000), shown[0]).maximum
        console.width = max(console.width, natural)
    for renderable in shown:
        console.print(renderable)


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


def _captured(*renderables: Any) -> bytes:
    from rich.console import Console

    capture = Console(width=100_000, no_color=True, file=open(os.devnull, "w"))  # noqa: SIM115
    with capture.capture() as captured:
        for renderable in renderables:
            capture.print(renderable)
    return captured.get().encode("utf-8")


@app.command()
def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
    month: PeriodOption = None,
    quarter: QuarterOption = None,
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
        html = render_html(card, previous, _lang(lang, card.scheme))
        render.write_atomic(output, html.encode("utf-8"), protected=inputs)
        _stderr().print(f"wrote {output}", markup=False, soft_wrap=True)


@app.command()
def explain(
    collector_id: Annotated[str | None, typer.Argument(help="The collector to explain.")] = None,
    month: PeriodOption = None,
    quarter: QuarterOption = None,
    team: Annotated[str | None, typer.Option(help="Explain this team's scorecard instead.")] = None,
    config: ConfigOption = None,
    cases: CasesOption = None,
    contacts: ContactsOption = None,
    reviews: ReviewsOption = None,
    roster: RosterOption = None,
    format: Annotated[CatalogFormat, typer.Option("--format", "-f", help="Output format.")] = CatalogFormat.table,
    compare: CompareOption = None,
    lang: LangOption = None,
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
        card = _run(_period(month, quarter), config, paths)
        language = _lang(lang, card.scheme)
        _stderr().print(_summary(card, lang=language), markup=False, soft_wrap=True)
        level = "team" if team else "collector"
        key = team or collector_id or ""
        result = explain_line(card, key, level)
        previous = _compared(card, compare, _scheme_path(config), paths, language)
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
            sys.stdout.buffer.write(render.explain_markdown(result, language))
            if deltas is not None:
                sys.stdout.buffer.write(render.deltas_markdown(deltas, previous.month, language))
        else:
            _stdout().print(render.explain_table(result, language))
            if deltas is not None:
                _stdout().print(render.deltas_table(deltas, previous.month, language))


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def validate(
    month: PeriodOption = None,
    quarter: QuarterOption = None,
    config: ConfigOption = None,
    cases: CasesOption = None,
    contacts: ContactsOption = None,
    reviews: ReviewsOption = None,
    roster: RosterOption = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")] = ReportFormat.table,
    rejects: RejectsOption = None,
    lang: LangOption = None,
    debug: DebugOption = False,
) -> None:
    """Check a month's exports: rows read, used and rejected per table, rejected cells, and warnings.

    Exit 0 when no row or cell is rejected (warnings allowed), 1 when there are errors.
    """
    with _guard(debug):
        from . import api
        from .scheme import find_scheme

        scheme_path = find_scheme(config)
        scheme = api.load_scheme(scheme_path)
        paths = _paths(cases, contacts, reviews, roster)
        report = api.validate(scheme, _period(month, quarter), paths)
        inputs = [f for stats in report.tables.values() for f in stats.files] + [str(scheme_path)]
        _check_targets({"--rejects": rejects}, inputs)
        _handle_rejects(report.rejects, report.cell_rejects, rejects, False, inputs)
        if format is ReportFormat.json:
            import json

            typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        else:
            _print_report(report, _lang(lang, scheme))
    if not report.valid:
        raise typer.Exit(code=1)


def _print_report(report: Any, lang: Lang) -> None:
    from .terminal import validation_view

    out = _stdout()
    for renderable in validation_view(report, lang):
        out.print(renderable)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="A folder holding one month's exports (cases, contacts, …).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the proposed scheme; never over an existing file.")
    ] = Path("kpi.yaml"),
    debug: DebugOption = False,
) -> None:
    """Propose a first scheme from a folder of exports: tables, columns, codes, formats, metrics."""
    with _guard(debug):
        from .init_scheme import summary, write_scheme

        proposal = write_scheme(folder, output)
        _stderr().print("\n".join(summary(proposal, output)), markup=False, soft_wrap=True)


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
        from .terminal import catalog_table

        _stdout().print(catalog_table(rows))


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
