"""Time `kpi score` against DuckDB SQL and the read-only floor, and check kpi's numbers.

    python bench/run.py --cases 1000000                   # Parquet and CSV, 7 runs each
    python bench/run.py --cases 5000000 --formats parquet --tools kpi --runs 1

For each input format, every tool runs as its own process, in rounds (kpi, duckdb, floor,
then again …), so drift on the machine hits all tools alike. Per run it records the wall
time (perf_counter around the child) and the child's peak resident memory (ru_maxrss from
os.wait4 on that child alone). It prints medians and ratios to DuckDB, then CHECKS that
every metric value of kpi's output agrees with DuckDB's for every collector (same
collectors, same teams, |kpi − duckdb| ≤ 1e-9, nulls in the same places) and exits 1 if
not. The page cache is warmed (every input file read once) before the first timed run,
so the figures are warm-cache figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import MONTH, size_label  # noqa: E402

TABLES = ("cases", "contacts", "reviews", "roster")
TOOLS = ("kpi", "duckdb", "floor")
TOLERANCE = 1e-9


@dataclass
class Timing:
    tool: str
    fmt: str
    walls: list[float] = field(default_factory=list)
    peaks_mb: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak(self) -> float:
        return statistics.median(self.peaks_mb)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def venv_bin(name: str) -> str:
    """A program beside the running interpreter (the project venv), else on PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def commands(tool: str, fmt: str, data: Path, out: Path, scheme: Path) -> list[str]:
    ext = "parquet" if fmt == "parquet" else "csv"
    files = {t: str(data / f"{t}.{ext}") for t in TABLES}
    if tool == "kpi":
        return [
            venv_bin("kpi"),
            "score",
            "--month",
            MONTH,
            "--config",
            str(scheme),
            "--cases",
            files["cases"],
            "--contacts",
            files["contacts"],
            "--reviews",
            files["reviews"],
            "--roster",
            files["roster"],
            "--format",
            "parquet",
            "--output",
            str(out),
        ]
    if tool == "duckdb":
        return [
            sys.executable,
            str(HERE / "duckdb_query.py"),
            "--data",
            str(data),
            "--format",
            fmt,
            "--output",
            str(out),
            "--month",
            MONTH,
            "--scheme",
            str(scheme),
        ]
    if tool == "floor":
        return [sys.executable, str(HERE / "floor.py"), "--data", str(data), "--format", fmt]
    raise ValueError(tool)


def run_once(cmd: list[str], log: Path, timeout: float) -> tuple[float, float, float]:
    """Run ``cmd`` as a child; return (wall s, peak RSS MB, CPU s) of that child alone."""
    with log.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = start + timeout
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}")
                time.sleep(0.005)
        except BaseException:
            # Timeout, Ctrl-C or SIGTERM: never leave the child running.
            proc.kill()
            os.wait4(proc.pid, 0)
            raise
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"exit {proc.returncode}: {' '.join(cmd)}\n{tail}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # ru_maxrss: KiB on Linux


def compile_package() -> None:
    """Byte-compile the package, as installing it from a wheel does: an editable install
    leaves that to the first import, which an environment with PYTHONDONTWRITEBYTECODE set
    would repeat in every timed run."""
    import compileall

    compileall.compile_dir(ROOT / "collector_kpi", quiet=1)


def warm(data: Path, fmt: str) -> None:
    ext = "parquet" if fmt == "parquet" else "csv"
    for table in TABLES:
        with (data / f"{table}.{ext}").open("rb") as f:
            while f.read(1 << 24):
                pass


# --- the agreement check -------------------------------------------------------------------


def metric_ids(scheme: Path) -> list[str]:
    import yaml

    return list(yaml.safe_load(scheme.read_text(encoding="utf-8"))["metrics"])


def check(kpi_out: Path, duck_out: Path, metrics: list[str]) -> tuple[bool, list[str]]:
    """Compare kpi's per-collector values with DuckDB's. Returns (ok, report lines)."""
    import polars as pl

    kpi = pl.read_parquet(kpi_out)
    duck = pl.read_parquet(duck_out)
    lines: list[str] = []
    ok = True
    missing = [m for m in metrics if m not in kpi.columns or m not in duck.columns]
    if missing:
        return False, [f"metric column missing from an output: {', '.join(missing)}"]
    k_ids, d_ids = set(kpi["collector_id"]), set(duck["collector_id"])
    if k_ids != d_ids:
        ok = False
        only_k, only_d = sorted(k_ids - d_ids), sorted(d_ids - k_ids)
        lines.append(
            f"collectors differ: only in kpi {only_k[:5]} ({len(only_k)}), only in duckdb {only_d[:5]} ({len(only_d)})"
        )
    joined = kpi.select("collector_id", "team_id", *metrics).join(
        duck.select("collector_id", "team_id", *metrics), on="collector_id", how="inner", suffix="_duck"
    )
    team_diff = joined.filter(pl.col("team_id").ne_missing(pl.col("team_id_duck")))
    if team_diff.height:
        ok = False
        lines.append(f"team_id differs for {team_diff.height} collectors, e.g. {team_diff.row(0)[:1]}")
    for m in metrics:
        a, b = pl.col(m).cast(pl.Float64), pl.col(f"{m}_duck").cast(pl.Float64)
        stats = joined.select(
            null_mismatch=(a.is_null() != b.is_null()).sum(),
            diff=(a - b).abs().max(),
            over=((a - b).abs() > TOLERANCE).sum(),
            values=(a.is_not_null() & b.is_not_null()).sum(),
        ).row(0, named=True)
        bad = stats["null_mismatch"] or stats["over"]
        diff = stats["diff"] if stats["diff"] is not None else 0.0
        line = f"{'FAIL' if bad else 'ok  '} {m:<20} values {stats['values']:>6}  max |Δ| {diff:.3g}"
        if bad:
            ok = False
            line += f"  ({stats['over']} beyond {TOLERANCE:g}, {stats['null_mismatch']} null in one only)"
            example = joined.filter(((a - b).abs() > TOLERANCE).fill_null(False) | (a.is_null() != b.is_null())).select(
                "collector_id", m, f"{m}_duck"
            )
            line += f"; e.g. {example.row(0)}"
        lines.append(line)
    return ok, lines


# --- report --------------------------------------------------------------------------------


def table_lines(timings: list[Timing]) -> list[str]:
    rows = [
        "| input | tool | median wall s | peak MB | wall / DuckDB | memory / DuckDB | CPU s | runs (wall s) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for fmt in dict.fromkeys(t.fmt for t in timings):
        group = [t for t in timings if t.fmt == fmt]
        duck = next((t for t in group if t.tool == "duckdb"), None)
        for t in group:
            wall_ratio = f"{t.wall / duck.wall:.2f}×" if duck else "—"
            mem_ratio = f"{t.peak / duck.peak:.2f}×" if duck else "—"
            runs = ", ".join(f"{w:.2f}" for w in t.walls)
            rows.append(
                f"| {fmt} | {label(t.tool)} | {t.wall:.2f} | {t.peak:,.0f} | {wall_ratio} | {mem_ratio} "
                f"| {t.cpu:.1f} | {runs} |"
            )
    return rows


def label(tool: str) -> str:
    return {"kpi": "kpi score", "duckdb": "DuckDB SQL", "floor": "floor (polars read)"}[tool]


def versions() -> str:
    parts = [f"Python {platform.python_version()}"]
    try:
        import polars

        parts.append(f"polars {polars.__version__}")
    except ImportError:  # pragma: no cover
        pass
    try:
        import duckdb

        parts.append(f"DuckDB {duckdb.__version__}")
    except ImportError:  # pragma: no cover
        pass
    parts.append(f"{os.cpu_count()} CPUs")
    try:
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        parts.append(f"{int(mem.split()[1]) / 1024**2:.0f} GiB RAM")
    except (OSError, StopIteration):  # pragma: no cover
        pass
    return ", ".join(parts)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="which generated size to run")
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument("--tools", default=",".join(TOOLS), help="kpi,duckdb,floor")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scheme", type=Path, default=HERE / "scheme.yaml")
    parser.add_argument("--data", type=Path, default=None, help="default: bench/data/<size>")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    args = parser.parse_args(argv)

    size = size_label(args.cases)
    data_root = args.data or HERE / "data" / size
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if not set(tools) <= set(TOOLS):
        parser.error(f"--tools: choose from {', '.join(TOOLS)}")
    results = args.results / size
    results.mkdir(parents=True, exist_ok=True)
    scheme = args.scheme.resolve()
    metrics = metric_ids(scheme)

    print(f"benchmark {size}: {MONTH}, data {data_root}, {args.runs} run(s) per tool; {versions()}")
    compile_package()
    timings: list[Timing] = []
    checks_ok = True
    check_lines: list[str] = []
    for fmt in formats:
        data = data_root / fmt
        if not (data / f"contacts.{'parquet' if fmt == 'parquet' else 'csv'}").exists():
            print(f"no {fmt} data in {data}: run bench/generate.py --cases {args.cases} first", file=sys.stderr)
            return 2
        warm(data, fmt)
        group = {tool: Timing(tool, fmt) for tool in tools}
        outputs = {tool: results / f"{tool}-{fmt}.parquet" for tool in tools}
        for run in range(1, args.runs + 1):
            for tool in tools:
                cmd = commands(tool, fmt, data.resolve(), outputs[tool], scheme)
                wall, peak, cpu = run_once(cmd, results / f"{tool}-{fmt}.log", args.timeout)
                group[tool].walls.append(wall)
                group[tool].peaks_mb.append(peak)
                group[tool].cpus.append(cpu)
                load = os.getloadavg()[0]
                print(
                    f"  {fmt:<7} {label(tool):<20} run {run}: {wall:7.2f} s  {peak:8,.0f} MB  "
                    f"CPU {cpu:7.1f} s  (load {load:.1f})",
                    flush=True,
                )
        timings.extend(group.values())
        if "kpi" in tools and "duckdb" in tools:
            ok, lines = check(outputs["kpi"], outputs["duckdb"], metrics)
            checks_ok &= ok
            check_lines.append(f"{fmt}: kpi vs DuckDB, {len(metrics)} metrics — {'agree' if ok else 'DISAGREE'}")
            check_lines += [f"  {line}" for line in lines]

    report = [
        f"## {size}: {args.cases:,} case rows, {args.cases * 20:,} contacts ({MONTH})",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {versions()}; median of {args.runs} run(s), "
        "warm page cache; peak = the process's max RSS; CPU = user + system seconds (less sensitive than "
        "wall time to other load on the machine).",
        "",
        *table_lines(timings),
        "",
    ]
    if check_lines:
        report += ["```", *check_lines, "```", ""]
    text = "\n".join(report)
    print()
    print(text)
    (results / "report.md").write_text(text, encoding="utf-8")
    (results / "timings.json").write_text(json.dumps([t.__dict__ for t in timings], indent=2) + "\n", encoding="utf-8")
    print(f"(written to {results / 'report.md'})")
    if not checks_ok:
        print("FAILED: kpi's metric values do not agree with DuckDB's (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
