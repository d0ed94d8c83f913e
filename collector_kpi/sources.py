"""Find, read and map exports into canonical LazyFrames.

Every table comes out with its canonical columns (only those asked for), typed, plus
``_file`` and ``_row`` (where the row came from), ``_ok`` (false when the row cannot be
used; ``TableData.reason()`` says why) and ``_cells`` (a bit per column whose cell is
rejected, the row used otherwise; ``TableData.cell_reason()`` says why). Rows are never
dropped here: callers count and report the rejected ones.
"""

from __future__ import annotations

import atexit
import calendar
import codecs
import difflib
import functools
import glob as globlib
import gzip
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, cast

import polars as pl

from .background import background_pool
from .csv_records import QuoteOutOfPlace, record_problem, records, well_quoted_line
from .duplicates import RowKeys
from .errors import InputError, KpiError
from .metrics import rejects_row
from .scheme import InputSpec, Scheme, input_problem

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

# The paths given for a table: one, several, or none (then the scheme's template).
PathsArg = str | Sequence[str] | None

ColumnType = Literal[
    "id",
    "text",
    "month",
    "date",
    "datetime",
    "money",
    "number",
    "int",
    "score",
    "bool",
    "channel",
    "outcome",
    "direction",
]

CANONICAL: dict[str, dict[str, ColumnType]] = {
    "cases": {
        "case_id": "id",
        "collector_id": "id",
        "team_id": "id",
        "collector_name": "text",
        "month": "month",
        "assigned_date": "date",
        "overdue_amount": "money",
        "recovered_amount": "money",
        "waived_amount": "money",
        "settled_date": "date",
        "first_payment_date": "date",
        "dpd_bucket": "text",
        "product": "text",
        "opening_balance": "money",
        "closing_balance": "money",
        "closing_bucket": "text",  # a dpd_bucket value; M0 is current
    },
    "contacts": {
        "contact_id": "id",
        "case_id": "id",
        "collector_id": "id",
        "channel": "channel",
        "contacted_at": "datetime",
        "outcome": "outcome",
        "duration_s": "int",
        "ptp": "bool",
        "ptp_amount": "money",
        "qa_score": "score",
        "logged_at": "datetime",
        "direction": "direction",
        "team_id": "id",
    },
    "reviews": {
        "collector_id": "id",
        "month": "month",
        "call_quality": "score",
        "knowledge": "score",
        "teamwork": "score",
        "violations": "int",
    },
    "roster": {
        "collector_id": "id",
        "collector_name": "text",
        "team_id": "id",
        "target_amount": "money",
        "active": "bool",
    },
}

# Columns that must hold a value on every used row.
REQUIRED_VALUES: dict[str, tuple[str, ...]] = {
    "cases": ("case_id", "collector_id", "team_id", "assigned_date", "overdue_amount", "recovered_amount"),
    "contacts": ("case_id", "collector_id", "channel", "contacted_at", "outcome"),
    "reviews": ("collector_id",),
    "roster": ("collector_id",),
}

# The ids that name a row of a table, listed with its rejected rows.
REFERENCE_IDS: dict[str, tuple[str, ...]] = {"cases": ("case_id",), "contacts": ("contact_id", "case_id")}

OUTCOMES: dict[str, tuple[str, ...]] = {
    "call": ("connected", "no_answer", "busy", "unreachable", "refused", "abandoned"),
    "sms": ("sent", "delivered", "replied", "failed"),
    "visit": ("planned", "completed", "not_found", "cancelled"),
}
ALL_OUTCOMES = tuple(sorted({o for outcomes in OUTCOMES.values() for o in outcomes}))
DIRECTIONS = ("inbound", "outbound")

# Columns that hold a duration in whole seconds, and the formats they may be written in
# besides plain seconds: each a pattern of ASCII digits and the seconds of each group.
DURATION_COLUMNS: dict[str, tuple[str, ...]] = {"contacts": ("duration_s",)}
DURATION_FORMATS: dict[str, tuple[str, tuple[int, ...]]] = {
    "H:MM:SS": (r"^([0-9]+):([0-5][0-9]):([0-5][0-9])$", (3600, 60, 1)),
    "M:SS": (r"^([0-9]+):([0-5][0-9])$", (60, 1)),
    "H.MM.SS": (r"^([0-9]+)\.([0-5][0-9])\.([0-5][0-9])$", (3600, 60, 1)),
}

TRUE_WORDS = ("true", "t", "yes", "y", "1", "是", "有", "已承诺")
FALSE_WORDS = ("false", "f", "no", "n", "0", "否", "无", "未承诺")

# An amount whose commas group thousands, with a sign, a yuan sign and spaces around.
GROUPED_AMOUNT = r"^\s*[-+]?[¥￥]?\s*\d{1,3}(,\d{3})*(\.\d*)?\s*$"
MONTH_FORMATS = ("%Y-%m", "%Y/%m", "%Y%m", "%Y.%m")  # and a day's date in a month column:
DAY_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")
# A date column may come with a time (Excel writes a date cell as 2025/4/1 0:00): its date.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y%m%d %H:%M:%S",
)

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")  # ASCII digits: ２０２５-03 is no month


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` month."""
    return _bounds(month, month)


_QUARTER = re.compile(r"^([0-9]{4})-?Q([1-4])$", re.IGNORECASE)
MAX_PERIOD_MONTHS = 36


def period_months(period: str, option: str = "--month") -> list[str]:
    """The months of a period: ``2025-03``, ``2025-01..2025-03`` or the quarter ``2025Q1``."""
    text = period.strip()
    quarter = _QUARTER.match(text)
    if quarter:
        year, q = int(quarter.group(1)), int(quarter.group(2))
        return [f"{year:04d}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    if ".." in text:
        first, _, last = text.partition("..")
        start, _ = _bounds(first.strip(), period, option)
        end, _ = _bounds(last.strip(), period, option)
        count = (end.year - start.year) * 12 + end.month - start.month + 1
        if count < 1:
            raise KpiError(f"{option}: '{period}' ends before it starts")
        if count > MAX_PERIOD_MONTHS:
            raise KpiError(f"{option}: '{period}' spans {count} months; at most {MAX_PERIOD_MONTHS}")
        index = start.year * 12 + start.month - 1
        return [f"{(index + i) // 12:04d}-{(index + i) % 12 + 1:02d}" for i in range(count)]
    _bounds(text, period, option)
    return [text]


def _bounds(month: str, period: str, option: str = "--month") -> tuple[date, date]:
    match = _MONTH.match(month)
    # NOTE: year 0000 is no year of the calendar (Python's dates begin at year 1).
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        if option == "--quarter":
            raise KpiError(f"--quarter: '{period}' is not a quarter; write it as YYYYQn, n from 1 to 4 (2025Q1)")
        raise KpiError(
            f"{option}: '{period}' is not a month; write it as YYYY-MM (2025-03), a range YYYY-MM..YYYY-MM "
            "or a quarter YYYYQn (2025Q1)"
        )
    year, mon = int(match.group(1)), int(match.group(2))
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


def period_bounds(months: Sequence[str]) -> tuple[date, date]:
    """First day of the first month and last day of the last."""
    return _bounds(months[0], months[0])[0], _bounds(months[-1], months[-1])[1]


@dataclass
class TableData:
    """One table of the month: its canonical rows and where they came from."""

    name: str
    frame: pl.LazyFrame
    files: list[str]
    columns: list[str]
    # Per CSV file: a query for lines whose field count is not the header's.
    shape_checks: list[ShapeCheck] = field(default_factory=list)
    # (condition, reason) pairs that reject a row; `_ok` is true where none holds.
    checks: list[tuple[pl.Expr, str]] = field(default_factory=list)
    # `frame`'s rows that are not fast, found before their full reading is computed.
    left: pl.LazyFrame | None = None
    # Each file's rows on their own, in the order of `files` (to tell which one fails).
    parts: list[pl.LazyFrame] = field(default_factory=list)
    # (condition, reason) pairs that reject one cell (the reason's column): bit i of `_cells`
    # is set where one of `cell_columns[i]` holds.
    cell_checks: list[tuple[pl.Expr, str]] = field(default_factory=list)
    # Per reason a text date fails with ("assigned_date: not a date"), per file: the formats
    # that column is read with, in words.
    formats: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def text(self) -> bool:
        """Whether any of its files is CSV text (each one has a shape check)."""
        return bool(self.shape_checks)

    def reason(self) -> pl.Expr:
        """Why a row is rejected (the first failing check), null for a usable row."""
        return _first_reason(self.checks)

    @property
    def cell_columns(self) -> list[str]:
        """The columns whose cells can be rejected alone, in the order of their `_cells` bits."""
        return list(dict.fromkeys(_column_of(reason) for _, reason in self.cell_checks))

    def cell_bits(self, columns: Iterable[str]) -> int:
        """The `_cells` bits of those of ``columns`` whose cells can be rejected (0: none)."""
        order = self.cell_columns
        return sum(1 << order.index(c) for c in set(columns) if c in order)

    def cell_reason(self, column: str) -> pl.Expr:
        """Why a row's cell in ``column`` is rejected (its first failing check), else null."""
        return _first_reason([(cond, text) for cond, text in self.cell_checks if _column_of(text) == column])

    def expected(self, reason: pl.Expr) -> pl.Expr:
        """For a row rejected as no date: the formats its file's column is read with (null
        for other reasons)."""
        found: Then | ChainedThen | None = None
        for text, by_file in self.formats.items():
            named = pl.col("_file").replace_strict(by_file, default=None, return_dtype=pl.String)
            found = (found.when if found is not None else pl.when)(reason == text).then(named)
        return found.otherwise(None) if found is not None else pl.lit(None, dtype=pl.String)

    def fast_frame(self) -> pl.LazyFrame:
        """The rows in their fast reading, with ``_fast``: true where that reading is exact.

        NOTE: normalising text per row (strip, lowercase, vocabulary) was most of the cost of
        a large contact log. Here channel, outcome and yes/no values are looked up as written
        in a table of the spellings the file uses (an integer Enum), dates and numbers are
        parsed as written, and ids are left as read: the collector id is not checked per row
        at all (its consumer normalises it after grouping: a few thousand collectors, not
        millions of rows), another required id is fast only if there is nothing to strip
        and it is ASCII (nothing to normalise, see ``normal_id``);
        an optional id, or one the scheme maps with `values`, takes the full reading's value.
        Where ``_fast`` is true every check passes (except a blank collector id) and every
        value is the full reading's (except the collector id); the other rows (" Call", a
        typo, a missing value) go through ``frame``'s full per-row reading, so no result
        depends on which path a row took.
        """
        fast = [pl.col(f"_fast_{c}").alias(c) for c in self.columns]
        return self.frame.select(*fast, "_fast", "_line_bytes", "_file", "_row")

    def line_bytes(self) -> int | None:
        """What the rows' ``_line_bytes`` add up to when every line of the files checked by
        sum has the header's fields; None where a file turned out unfit for the sum."""
        checks = [check for check in self.shape_checks if check.line_bytes is not None]
        if not all(check.fit is not None and check.fit.result() for check in checks):
            return None
        return sum(check.line_bytes or 0 for check in checks)


@dataclass
class MonthData:
    """The tables of one month, ready to aggregate."""

    month: str  # the period as asked for: 2025-03, 2025-01..2025-03, 2025Q1
    start: date
    end: date
    tables: dict[str, TableData] = field(default_factory=dict)
    months: list[str] = field(default_factory=list)
    # How often a roster row's monthly target counts: once per month of the period, unless
    # the roster is read month by month (a `{month}` path), whose rows then add up.
    target_months: int = 1
    # How a row key seen twice is found and treated, per table (see duplicates.py).
    keys: RowKeys = field(default_factory=RowKeys)

    def has(self, table: str) -> bool:
        return table in self.tables


def expand_path(path: str, table: str) -> list[str]:
    """A file, a glob or a directory → the files it names (sorted)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(
            str(f)
            for f in p.rglob("*")
            # not hidden files, nor the lock file Excel keeps beside an open workbook (~$案件.xlsx)
            if f.is_file() and format_of(str(f)) != "unknown" and not f.name.startswith((".", "~$"))
        )
        if not files:
            raise InputError(f"{table}: directory {path} holds no CSV, Parquet or xlsx file")
        return files
    if any(ch in path for ch in "*?["):
        files = sorted(
            f for f in globlib.glob(path, recursive=True) if Path(f).is_file() and not Path(f).name.startswith("~$")
        )
        if not files:
            raise InputError(f"{table}: no file matches {path}")
        return files
    if not p.exists():
        raise InputError(f"{table}: file not found: {path}")
    return [str(p)]


def format_of(path: str) -> str:
    """The format a path is read as, from its name (csv, parquet, xlsx …)."""
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, kind in (
        (".parquet", "parquet"),
        (".pq", "parquet"),
        (".csv", "csv"),
        (".tsv", "csv"),
        (".txt", "csv"),
        (".xlsx", "xlsx"),
    ):
        if name.endswith(suffix):
            return kind
    return "unknown"


_UTF8_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 1 << 20
_scratch: tempfile.TemporaryDirectory[str] | None = None


def _scratch_dir() -> Path:
    """A folder for transcoded copies, removed when the process ends."""
    global _scratch
    if _scratch is None:
        _scratch = tempfile.TemporaryDirectory(prefix="kpi-")
        atexit.register(_scratch.cleanup)
    return Path(_scratch.name)


def _open_raw(path: str) -> BinaryIO:
    if path.lower().endswith(".gz"):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


# Leading bytes of files that are not CSV text, and what they are.
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls (or other OLE) file"),
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip file (name it .csv.gz)"),
)


def _head(path: str, table: str, size: int = _SNIFF_BYTES) -> bytes:
    """The first bytes of a file (decompressed for .gz), as an InputError where unreadable."""
    try:
        with _open_raw(path) as handle:
            return handle.read(size)
    except (gzip.BadGzipFile, EOFError) as exc:
        raise InputError(f"{table}: {path}: not a gzip file, though its name ends in .gz ({_first_line(exc)})") from exc
    except OSError as exc:
        raise InputError(f"{table}: {path}: cannot read ({_first_line(exc)})") from exc


def _check_text(path: str, head: bytes, table: str) -> None:
    """Stop on a binary file given as CSV (an image, a workbook …) with a message naming it."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise InputError(f"{table}: {path}: not a CSV text file: it looks like {what}")
    if b"\x00" in head[:8192]:
        wide = utf16_without_bom(head)
        if wide is not None:
            raise InputError(
                f"{table}: {path}: looks like UTF-16 without a byte-order mark; save it as UTF-8 "
                f"(or set inputs.{table}.encoding: {wide})"
            )
        raise InputError(f"{table}: {path}: not a CSV text file (it holds binary data)")


_WINDOWS = 16
_WINDOW = 1 << 16


def _utf8_error(path: str, head: bytes) -> int | None:
    """The offset of a byte that is not UTF-8, in the head or in windows spread over the
    rest of the file (a GBK export may start with a MiB of ASCII); None if all decode."""
    samples = [(0, head)]
    size = Path(path).stat().st_size
    if not path.lower().endswith(".gz") and size > len(head):
        last = max(len(head), size - _WINDOW)
        offsets = sorted({len(head) + (last - len(head)) * i // (_WINDOWS - 1) for i in range(_WINDOWS)})
        with open(path, "rb") as handle:
            for offset in offsets:
                handle.seek(offset)
                chunk = handle.read(_WINDOW)
                cut = 0  # continuation bytes of a character the window starts inside
                while cut < min(3, len(chunk)) and 0x80 <= chunk[cut] <= 0xBF:
                    cut += 1
                samples.append((offset + cut, chunk[cut:]))
    for offset, chunk in samples:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(chunk, final=False)
        except UnicodeDecodeError as exc:
            return offset + exc.start
    return None


def _check_utf8(path: str, head: bytes, table: str) -> None:
    """A file declared UTF-8 must decode as UTF-8 (checked on samples, see _utf8_error)."""
    offset = _utf8_error(path, head)
    if offset is not None:
        raise InputError(
            f"{table}: {path}: not valid utf-8 text at byte {offset}, though inputs.{table}.encoding says so; "
            "a Chinese Excel export is usually gbk / gb18030 (or set encoding: auto)"
        )


def detect_encoding(path: str, declared: str = "auto") -> str:
    """The text encoding of a CSV: as declared, else UTF-8 (BOM or not), else GB18030."""
    if declared.lower() not in ("auto", ""):
        try:
            return codecs.lookup(declared).name
        except LookupError as exc:
            raise InputError(f"{path}: unknown encoding '{declared}'") from exc
    try:
        with _open_raw(path) as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc
    if head.startswith(_UTF8_BOM):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # what Excel writes as "Unicode text"
    without_bom = utf16_without_bom(head)
    if without_bom is not None:
        return without_bom
    if _utf8_error(path, head) is not None:
        # NOTE: GB18030 is a superset of GBK and GB2312, what Excel on a Chinese Windows writes.
        return "gb18030"
    return "utf-8"


def utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` where the first bytes are UTF-16 text without a
    byte-order mark (every other byte a NUL where the text is ASCII: digits, separators,
    line ends), else None.

    NOTE: no UTF-8 or GBK text holds a NUL byte, so a NUL at every other place, in text
    that decodes as UTF-16 to characters with no NUL among them and a line end, is UTF-16.
    """
    sample = head[:8192]
    sample = sample[: len(sample) - len(sample) % 2]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for encoding, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        # (a few characters of the other half have a NUL byte too: 一 is 00 4E)
        if zeros * 4 < pairs or others * 8 > zeros:
            continue
        try:
            text = codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text and ("\n" in text or "\r" in text):
            return encoding
    return None


def _cr_only(head: bytes) -> bool:
    """Whether the lines end in a bare carriage return (Excel for Mac's "CSV"): a \r and no
    \n in the first bytes."""
    return b"\r" in head and b"\n" not in head


def _plain_utf8(path: str, encoding: str, table: str, cr_only: bool = False) -> str:
    """A path polars can scan: the file itself, or a decompressed / transcoded copy (with
    ``cr_only``, its lines ended in \n)."""
    gz = path.lower().endswith(".gz")
    if not gz and not cr_only and encoding in ("utf-8", "utf-8-sig"):
        return path
    target = _scratch_dir() / f"{len(list(_scratch_dir().iterdir()))}-{Path(path).name.removesuffix('.gz')}"
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    # NOTE: polars ends a line at \n only, and reads a file whose lines end in \r alone as
    # one header line. A \r\n (should one come later) stays one line end: a \r at the end
    # of a chunk waits for the next one.
    pending = ""

    def lines_ended(text: str, final: bool = False) -> str:
        nonlocal pending
        text = pending + text
        pending = "" if final or not text.endswith("\r") else "\r"
        text = text[: len(text) - len(pending)]
        return text.replace("\r\n", "\n").replace("\r", "\n") if cr_only else text

    try:
        with _open_raw(path) as source, open(target, "w", encoding="utf-8", newline="") as sink:
            while chunk := source.read(1 << 22):
                sink.write(lines_ended(decoder.decode(chunk)))
            sink.write(lines_ended(decoder.decode(b"", final=True), final=True))
    except UnicodeError as exc:  # also utf-16 without a byte-order mark
        at = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else f" ({exc})"
        raise InputError(f"{table}: {path}: not valid {encoding} text{at}; set inputs.{table}.encoding") from exc
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: cannot read ({_first_line(exc)})") from exc
    return str(target)


@dataclass(frozen=True)
class ShapeCheck:
    """Lines of a CSV whose field count differs from the header's, quotes out of place, and
    records that run across lines.

    NOTE: polars reads only the columns asked for and does not notice a line with a field
    too many (an unquoted `4,000`) or too few: the values would shift into the wrong columns
    and turn into wrong numbers. Quoted parts are removed before counting. A quoted value
    may hold a line break: the lines of such records are found by the parity of their
    quotes and checked as records (``csv_records``): a quote opened by mistake must not
    merge the rows below it into one, nor an id, amount, date or code hold a line break.
    """

    path: str
    readable: str
    separator: str
    fields: int
    skipped: int = 0  # lines above the header (inputs.<table>.skip_rows)
    # The bytes below the header, when the lines are checked by one sum instead (see
    # ``_countable``), and whether the whole file allows that (``_fit_for_sum``, found while
    # the month is read); None: counted line by line (``count_query``).
    line_bytes: int | None = None
    fit: Future[bool] | None = field(default=None, compare=False)
    # The header's names as written, and those of the columns that never hold a line break.
    names: tuple[str, ...] = ()
    typed: frozenset[str] = frozenset()

    def _lines(self) -> tuple[pl.LazyFrame, pl.Expr, pl.Expr]:
        line = pl.col("line")
        quoted = line.str.contains('"', literal=True)
        unquoted = pl.when(quoted).then(line.str.replace_all('"[^"]*"', "")).otherwise(line)
        counted = unquoted.str.count_matches(self.separator, literal=True) + 1
        wrong = (counted != self.fields) & ~self._blank(line, counted) & ~self._spanning()
        lines = pl.scan_csv(
            self.readable,
            has_header=False,
            separator="\x00",
            quote_char=None,
            new_columns=["line"],
            infer_schema=False,
            skip_rows=self.skipped,
        )
        return lines, wrong, counted

    @staticmethod
    def _inside() -> pl.Expr:
        """Whether the line ends inside a quoted value (an odd count of quotes so far)."""
        odd = pl.col("line").str.count_matches('"', literal=True) % 2 == 1
        return odd.cum_sum() % 2 == 1

    @classmethod
    def _continues(cls) -> pl.Expr:
        """Whether the line goes on with the record of the line above."""
        return cls._inside().shift(1, fill_value=False)

    @classmethod
    def _spanning(cls) -> pl.Expr:
        """Whether the line is one of a record that runs across lines."""
        return cls._inside() | cls._continues()

    def _stray(self) -> pl.Expr:
        """A line of its own record with a quote out of place (x"y, Ann "the boss")."""
        line = pl.col("line")
        quoted = line.str.contains('"', literal=True)
        return quoted & ~self._spanning() & ~line.str.contains(well_quoted_line(self.separator))

    def _blank(self, line: pl.Expr, counted: pl.Expr) -> pl.Expr:
        """A line of nothing but separators (Excel's ",,," below the data) is a blank row,
        whatever its count: its length is that of its separators (and a \r)."""
        others = line.str.len_bytes().cast(pl.Int64) - (counted - 1) * len(self.separator.encode())
        return others <= line.str.ends_with("\r").cast(pl.Int64)

    def count_query(self) -> pl.LazyFrame:
        """Streaming count of wrong lines, of lines with a quote out of place and of lines
        that continue a record (cheap: the count of separators is taken once per line)."""
        lines, _, counted = self._lines()
        wrong = (pl.col("_n") != self.fields) & ~self._blank(pl.col("line"), pl.col("_n")) & ~self._spanning()
        return lines.with_columns(counted.alias("_n")).select(
            wrong.sum().alias("count"),
            self._stray().sum().alias("stray"),
            self._continues().sum().alias("continued"),
            self._inside().last().fill_null(False).alias("unclosed"),
        )

    def error(self, table: str, counts: pl.DataFrame) -> InputError | None:
        """The error for a file with wrong lines (None when it is sound); reads it again
        for the first line numbers only then."""
        count, stray, continued, unclosed = counts.row(0)
        lines, wrong, counted = self._lines()
        numbered = lines.with_row_index("number", offset=1 + self.skipped)
        if stray:
            first = numbered.filter(self._stray()).head(3).select("number", "line").collect()
            examples = ", ".join(f"line {n}: {_snippet(text)}" for n, text in first.iter_rows())
            return InputError(
                f"{table}: {self.path}: {stray:,} line(s) have a quote inside a value ({examples}); "
                'quote the whole value, with the quote doubled ("Ann ""the boss""") or remove it'
            )
        if continued or unclosed:
            problem = self._record_problem(numbered)
            if problem is not None:
                return InputError(f"{table}: {self.path}: {problem}")
        if not count:
            return None
        first = numbered.filter(wrong).head(3).select("number", counted.alias("fields")).collect()
        examples = ", ".join(f"line {n} has {f}" for n, f in first.iter_rows())
        return InputError(
            f"{table}: {self.path}: {count:,} line(s) do not have the header's {self.fields} fields ({examples}); "
            "a separator inside an unquoted value (e.g. 4,000) shifts the columns — quote it or fix the export"
        )

    def _record_problem(self, numbered: pl.LazyFrame) -> str | None:
        """What is wrong with the first faulty record that runs across lines, if any."""
        spanning = (
            numbered.with_columns(self._continues().alias("continues"))
            .filter(self._spanning())
            .head(_SPANNING_LINES)
            .select("number", "line", "continues")
            .collect()
        )
        try:
            for record in records(spanning.iter_rows(), self.separator):
                problem = record_problem(record, self.names, self.fields, self.separator, self.typed)
                if problem is not None:
                    return problem
        except QuoteOutOfPlace as exc:
            text = spanning.filter(pl.col("number") == exc.offset)["line"][0]
            return (
                f"line {exc.offset} has a quote inside a value ({_snippet(text)}); quote the whole value, "
                'with the quote doubled ("Ann ""the boss""") or remove it'
            )
        if spanning.height == _SPANNING_LINES:
            first = spanning["number"][0]
            return (
                f"more than {_SPANNING_LINES:,} lines from line {first} on are inside quoted values: "
                "a quote is probably not closed where it should be"
            )
        return None


# At most this many lines of records that run across lines are checked (then: an error).
_SPANNING_LINES = 1_000_000


def _snippet(line: str) -> str:
    """A line as shown in a message: its first 60 characters."""
    line = line.rstrip("\r")
    return line if len(line) <= 60 else line[:57] + "…"


def _countable(readable: str, head: bytes, separator: str, skipped: int) -> tuple[int, int] | None:
    """The bytes below the header and the length of a line end (2 where the header ends in
    \r\n) of a CSV whose lines can be checked by one sum; None where they cannot (lines above
    the header, a quote in the header, no line below it). Whether the rest of the file
    allows it too is ``_fit_for_sum``'s to say.

    NOTE: the check by sum. Each row gets ``_line_bytes``: the bytes of its values plus
    (fields − 1) separators and a line end. Computing it makes polars parse every column of
    every line, and so stop at a line with a field too many. Then, with no quote in the
    file, each line's true length is at most its ``_line_bytes`` (fewer separators, or a
    bare \n where \r\n was assumed), and the rows' sum equals the bytes below the header
    only if every line has exactly the header's fields. This costs 0.7 s on a 1.8 GB file,
    where counting the separators of every line again cost 2 s.
    """
    end = head.find(b"\n")
    if skipped or len(separator.encode()) != 1 or end == -1 or b'"' in head[:end]:
        return None
    size = Path(readable).stat().st_size
    if end + 1 == size:
        return None
    eol = 2 if head[:end].endswith(b"\r") else 1
    with open(readable, "rb") as handle:
        handle.seek(-1, 2)
        last = handle.read(1)
    return size - (end + 1) + (0 if last == b"\n" else eol), eol


def _fit_for_sum(readable: str, eol: int) -> bool:
    """Whether the file holds no quote, nor a carriage return where lines were taken to end
    in a bare \n (read in blocks, searched at memory speed: 0.35 s for 1.8 GB, while the
    month is read)."""
    try:
        # (no larger than the file: a 16 MiB block for each of 10,000 small files cost 6 s)
        block = bytearray(max(1, min(1 << 24, Path(readable).stat().st_size)))
        with open(readable, "rb", buffering=0) as handle:
            while length := handle.readinto(block):
                if block.find(b'"', 0, length) != -1 or (eol == 1 and block.find(b"\r", 0, length) != -1):
                    return False
    except OSError:
        return False
    return True


_scanner: ThreadPoolExecutor | None = None


def _in_background(task: Callable[[], bool]) -> Future[bool]:
    global _scanner
    if _scanner is None:
        _scanner = background_pool("kpi-scan")
    return _scanner.submit(task)


def _scan_file(
    path: str, spec: InputSpec, table: str, shape: list[ShapeCheck] | None = None, csv: CsvFile | None = None
) -> pl.LazyFrame:
    """One file as a LazyFrame of its raw columns, with ``_file`` and ``_row`` (``csv``: the
    file checked by `_csv_file` already)."""
    kind = spec.format if spec.format != "auto" else format_of(path)
    if spec.sheet is not None and kind in ("csv", "parquet"):  # one file of a folder or a glob
        raise InputError(f"{table}: {path}: inputs.{table}.sheet is set, but only an xlsx workbook has sheets")
    if kind == "xlsx":
        try:
            frame = pl.read_excel(
                path,
                sheet_name=spec.sheet,
                infer_schema_length=0,
                drop_empty_rows=False,
                read_options={"header_row": spec.skip_rows},
            )
        except ModuleNotFoundError as exc:
            raise InputError(f"{table}: {path}: reading .xlsx needs the fastexcel package") from exc
        except Exception as exc:  # fastexcel raises its own exception types
            raise InputError(f"{table}: {path}: cannot read as xlsx ({_first_line(exc)})") from exc
        frame = frame.with_row_index("_row", offset=2 + spec.skip_rows).with_columns(pl.col("_row").cast(pl.Int64))
        return frame.lazy().with_columns(_file=pl.lit(path), _line_bytes=_NO_BYTES)
    if kind == "parquet":
        try:
            # `key=value` folders (a Hive-partitioned dataset, e.g. month=2025-03/) become columns.
            lf = pl.scan_parquet(path, row_index_name="_row", row_index_offset=1, hive_partitioning=True)
            lf.collect_schema()
        except Exception as exc:  # polars raises several exception types for a bad file
            raise InputError(f"{table}: {path}: not a readable Parquet file ({_first_line(exc)})") from exc
        return lf.with_columns(_file=pl.lit(path), _line_bytes=_NO_BYTES)
    if kind == "csv":
        source = csv or _csv_file(path, spec, table)
        try:
            lf = pl.scan_csv(
                source.readable,
                separator=source.separator,
                infer_schema=False,
                row_index_name="_row",
                row_index_offset=2 + spec.skip_rows,  # the header is line 1 (after any skipped lines)
                raise_if_empty=True,
                skip_rows=spec.skip_rows,
            )
            names = lf.collect_schema().names()
        except pl.exceptions.NoDataError as exc:
            raise InputError(f"{table}: {path}: the file is empty") from exc
        except Exception as exc:
            raise InputError(f"{table}: {path}: cannot read as CSV ({_first_line(exc)})") from exc
        return _with_checks(lf.with_columns(_file=pl.lit(path)), names, [source], spec, shape)
    raise InputError(f"{table}: {path}: unknown file type; use .csv, .tsv, .parquet or .xlsx, or set format")


_NO_BYTES = pl.lit(0, dtype=pl.Int64)  # a file whose lines are not checked by sum


@dataclass(frozen=True)
class CsvFile:
    """A CSV file checked to be text, and the path polars reads it from."""

    path: str
    readable: str  # the file itself, or a decompressed / transcoded copy
    separator: str
    head: bytes  # the first bytes of ``readable``

    @property
    def header(self) -> bytes:
        """The header line, with its line end."""
        end = self.head.find(b"\n")
        return self.head if end == -1 else self.head[: end + 1]


def _csv_file(path: str, spec: InputSpec, table: str) -> CsvFile:
    """A CSV file's encoding found and checked, and a copy made where polars needs one."""
    separator = spec.separator or ("\t" if path.lower().removesuffix(".gz").endswith((".tsv", ".txt")) else ",")
    head = _head(path, table)
    try:
        encoding = detect_encoding(path, spec.encoding)
    except InputError as exc:
        raise InputError(f"{table}: {exc.message} (inputs.{table}.encoding)") from exc
    if not encoding.startswith(("utf-16", "utf-32")):
        _check_text(path, head, table)
    if encoding in ("utf-8", "utf-8-sig") and spec.encoding.lower() not in ("auto", ""):
        _check_utf8(path, head, table)
    wide = encoding.startswith(("utf-16", "utf-32"))  # a line end is more than one byte
    ends = head.decode(encoding, "replace").encode() if wide else head
    readable = _plain_utf8(path, encoding, table, cr_only=_cr_only(ends))
    if Path(readable).stat().st_size == 0:
        raise InputError(f"{table}: {path}: the file is empty")
    return CsvFile(path, readable, separator, head if readable == path else _head(readable, table))


def _with_checks(
    lf: pl.LazyFrame, names: Sequence[str], files: Sequence[CsvFile], spec: InputSpec, shape: list[ShapeCheck] | None
) -> pl.LazyFrame:
    """CSV rows with ``_line_bytes``, and a shape check per file added to ``shape``; ``names``:
    the scan's columns (the files share one header)."""
    # A header written by Excel with a byte-order mark keeps it on the first name.
    bom = [n for n in names if n.startswith("\ufeff")]
    if bom:
        lf = lf.rename({bom[0]: bom[0].lstrip("\ufeff")})
    header = tuple(n.lstrip("\ufeff") for n in names if n not in ("_row", "_file"))
    fields = len(header)
    eols = []
    for source in files:
        countable = _countable(source.readable, source.head, source.separator, spec.skip_rows)
        if shape is not None:
            below, fit = None, None
            if countable:
                below, eol = countable
                fit = _in_background(functools.partial(_fit_for_sum, source.readable, eol))
            check = ShapeCheck(source.path, source.readable, source.separator, fields, spec.skip_rows, below, fit)
            shape.append(replace(check, names=header))
        if countable:
            eols.append(countable[1])
    # (A file of a batch that is not countable has no line below its header: no rows.)
    if not eols:
        return lf.with_columns(_line_bytes=_NO_BYTES)
    values = pl.sum_horizontal(pl.exclude("_row", "_file").str.len_bytes().cast(pl.Int64))
    return lf.with_columns(_line_bytes=values + (fields - 1 + eols[0]))


# A CSV file this small is read together with the files next to it that share its header,
# up to this many bytes in all.
BATCH_FILE_BYTES = _SNIFF_BYTES  # (so its first bytes read are all of it)
BATCH_BYTES = 1 << 23


def file_batches(paths: Sequence[str], spec: InputSpec, table: str) -> list[list[tuple[str, CsvFile | None]]]:
    """The files in order, in groups read by one scan: small CSV files one after another
    with the same header (and separator) go together, any other file alone (with its
    checked CSV form where it is one).

    NOTE: one scan per file cost memory and time in proportion to the files: 10,000 files
    of one row took 3.5 GB and 40 s, as each brought its own query into the month's.
    """
    groups: list[list[tuple[str, CsvFile | None]]] = []
    key: tuple[str, bytes] | None = None
    size = 0
    for path in paths:
        kind = spec.format if spec.format != "auto" else format_of(path)
        source = _csv_file(path, spec, table) if kind == "csv" else None
        length = Path(source.readable).stat().st_size if source is not None else 0
        # NOTE: only a file whose rows are all in the sample its formats are found in: a batch
        # is sampled whole, and its formats are then those each file's rows would choose.
        small = (
            source is not None
            and spec.skip_rows == 0
            and length <= BATCH_FILE_BYTES
            and source.head.count(b"\n") <= FORMAT_SAMPLE
        )
        this = (source.separator, source.header) if small and source is not None else None
        if this is not None and this == key and size + length <= BATCH_BYTES:
            groups[-1].append((path, source))
            size += length
        else:
            groups.append([(path, source)])
            key, size = this, length
    return groups


def _scan_batch(files: Sequence[CsvFile], spec: InputSpec, table: str, shape: list[ShapeCheck]) -> pl.LazyFrame:
    """Small CSV files with one header as one LazyFrame, each row with its own file and row
    number."""
    try:
        lf = pl.scan_csv(
            [f.readable for f in files],
            separator=files[0].separator,
            infer_schema=False,
            row_index_name="_row",
            row_index_offset=2,
            include_file_paths="_file",
        )
        names = lf.collect_schema().names()
    except Exception as exc:
        others = f" and the {len(files) - 1} files after it with its header"
        raise InputError(f"{table}: {files[0].path}{others}: cannot read as CSV ({_first_line(exc)})") from exc
    # The row index runs on from one file to the next: counted again in each file.
    row = pl.col("_row").cast(pl.Int64)
    lf = lf.with_columns(row - row.min().over("_file") + 2)
    copies = {f.readable: f.path for f in files if f.readable != f.path}
    if copies:
        lf = lf.with_columns(pl.col("_file").replace(copies))
    return _with_checks(lf, names, files, spec, shape)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _rename_map(found: Sequence[str], spec: InputSpec) -> dict[str, str]:
    """Source header → canonical name, from the scheme's `columns` mapping; a header with
    spaces around it (" 催收员工号 ", full-width too) is matched as written without them."""
    mapped = {_bare(source): canonical for source, canonical in spec.renames().items()}
    rename = {}
    for header in found:
        target = mapped.get(_bare(header), _bare(header))
        if target != header:
            rename[header] = target
    return rename


# How a repeated header comes out of the reader: polars' CSV reader names the second
# `x_duplicated_0`, fastexcel names it `x_1`.
_REPEATED = {"csv": re.compile(r"(.+)_duplicated_\d+"), "xlsx": re.compile(r"(.+)_\d+")}


def _check_one_header_each(
    table: str, path: str, spec: InputSpec, found: Sequence[str], rename: dict[str, str], columns: Sequence[str]
) -> None:
    """A column read from two headers is an error naming both: a header repeated in the
    file, or two headers (or a header and the column's own name) mapped onto it."""
    repeated = _REPEATED.get(spec.format if spec.format != "auto" else format_of(path))
    by_column: dict[str, list[tuple[int, str, bool]]] = {}
    for position, header in enumerate(found, start=1):
        match = repeated.fullmatch(header) if repeated else None
        again = match is not None and match.group(1) in found
        written = match.group(1) if match is not None and again else header
        column = rename.get(written, written)
        by_column.setdefault(column, []).append((position, written, again))
    for column, headers in by_column.items():
        if len(headers) < 2 or (column not in CANONICAL[table] and column not in columns):
            continue
        (first_at, first, _), (second_at, second, again) = headers[:2]
        if again or _bare(first) == _bare(second):
            raise InputError(
                f"{table}: {path}: the header '{_bare(first)}' is given twice (columns {first_at} and {second_at}); "
                f"keep one, so it is clear which is {column}"
            )
        raise InputError(
            f"{table}: {path}: headers '{first}' (column {first_at}) and '{second}' (column {second_at}) are both "
            f"read as {column} (inputs.{table}.columns); keep one of them"
        )


def _bare(header: str) -> str:
    return header.strip(" \t\u3000\ufeff")


FORMAT_SAMPLE = 2000
ISO_PREFIX = "ISO date prefix"  # a datetime's first ten characters, e.g. 2025-03-05 00:00:00


def _date_candidates(column: str, kind: ColumnType, spec: InputSpec) -> list[str]:
    if column in spec.formats:
        return [spec.formats[column]]
    return [*DATE_FORMATS, ISO_PREFIX] if kind == "date" else list(DATETIME_FORMATS)


def _parse_text_date(text: pl.Expr, kind: ColumnType, fmt: str) -> pl.Expr:
    if fmt == ISO_PREFIX:
        return text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    # NOTE: without polars' cache of parsed values where a time is written: date-times to
    # the second hardly repeat, and the cache cost 0.45 s on 2 × 20M values. Dates repeat.
    if kind == "date":
        if "%H" in fmt:
            return text.str.to_datetime(fmt, time_unit="us", strict=False, cache=False).dt.date()
        return text.str.to_date(fmt, strict=False)
    return text.str.to_datetime(fmt, time_unit="us", strict=False, cache=False)


def detect_formats(sample: pl.DataFrame, kinds: dict[str, ColumnType], spec: InputSpec) -> dict[str, list[str]]:
    """For each text date/datetime column, the formats its first rows are written in.

    NOTE: trying every accepted format on every row was most of the cost of reading a
    large CSV; a column is parsed with the formats seen in its first rows only. A later
    row in yet another format is rejected and reported, never silently dropped.
    """
    out: dict[str, list[str]] = {}
    for column, kind in kinds.items():
        if column not in sample.columns or sample.schema[column] != pl.String:
            continue
        candidates = _date_candidates(column, kind, spec)
        values = sample.select(pl.col(column).str.strip_chars()).to_series().drop_nulls()
        values = values.filter(values != "")
        if len(candidates) == 1 or values.is_empty():
            continue
        chosen: list[str] = []
        remaining = values
        for fmt in candidates:
            parsed = pl.DataFrame({"v": remaining}).select(_parse_text_date(pl.col("v"), kind, fmt)).to_series()
            if parsed.is_not_null().any():
                chosen.append(fmt)
                remaining = remaining.filter(parsed.is_null())
            if remaining.is_empty():
                break
        if chosen:
            out[column] = chosen
    return out


def _parse(
    column: str,
    kind: ColumnType,
    dtype: pl.DataType,
    spec: InputSpec,
    formats: list[str] | None = None,
    strip: bool = True,
    source: str | None = None,
) -> pl.Expr:
    """An expression turning a raw column into its canonical type (null where it fails).

    ``strip=False`` (the fast reading of dates and numbers): text is parsed as written, so a
    value with spaces around it may fail here and is then read in full. ``source``: the
    column holding the raw value (default: ``column``).
    """
    raw = pl.col(source or column)

    def _text(expr: pl.Expr) -> pl.Expr:
        text = expr.cast(pl.String)
        return text.str.strip_chars() if strip else text

    values = spec.values.get(column)
    if values:
        # Codes are matched as text, also where the file stores them as numbers (Parquet: 1 → call);
        # an id as matched (a full-width ００７ is 007). A code mapped to null (`未知: ~`) is a
        # missing value, not the text "None".
        text = raw.cast(pl.String)
        raw = _mapped(
            normal_id(text) if kind == "id" else text.str.strip_chars(),
            {
                str(k): None if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in values.items()
            },
        )
        dtype = pl.String()
    if kind == "id":
        # Normalised whatever the stored type (a Categorical id can be padded too).
        return normal_id(raw.cast(pl.String))
    if kind == "text":
        return normal_text(raw.cast(pl.String))
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        # The wall-clock time where it was written (07:30 in Beijing is 07:30, not 23:30 UTC
        # of the day before): the month and the follow-up are in the lender's local time.
        raw = raw.dt.replace_time_zone(None)
        dtype = pl.Datetime(dtype.time_unit)
    if kind == "month":
        if dtype == pl.String:
            text = raw.str.strip_chars()
            # YYYY-MM, a date (Excel: 2025/4/1, 2025/4/1 0:00, 2025-04-01 00:00:00), 2025年4月
            # (what Chinese Excel shows a re-saved 2025-04 as), or the format set for it.
            if "month" in spec.formats:
                parsed = [text.str.to_date(spec.formats["month"], strict=False)]
            else:
                day = text.str.split_exact(" ", 1).struct.field("field_0")
                chinese = text.str.replace("年", "-", literal=True).str.replace("月", "-1", literal=True)
                parsed = [text.str.to_date(form, strict=False) for form in MONTH_FORMATS]
                parsed += [day.str.to_date(form, strict=False) for form in DAY_FORMATS]
                parsed.append(chinese.str.to_date("%Y-%m-%d", strict=False))
            return pl.coalesce(parsed).dt.strftime("%Y-%m")
        if dtype in (pl.Date,) or isinstance(dtype, pl.Datetime):
            return raw.dt.strftime("%Y-%m")
        text = raw.cast(pl.String)
        as_month = pl.coalesce(text.str.to_date("%Y-%m", strict=False), text.str.to_date("%Y%m", strict=False))
        return as_month.dt.strftime("%Y-%m")
    if kind == "date":
        if dtype == pl.Date:
            return raw
        if isinstance(dtype, pl.Datetime):
            return raw.dt.date()
        text = _text(raw)
        parsed = [_parse_text_date(text, kind, fmt) for fmt in formats or _date_candidates(column, kind, spec)]
        return pl.coalesce(parsed) if len(parsed) > 1 else parsed[0]
    if kind == "datetime":
        if isinstance(dtype, pl.Datetime):
            return raw.cast(pl.Datetime("us"))
        if dtype == pl.Date:
            return raw.cast(pl.Datetime("us"))
        text = _text(raw)
        parsed = [_parse_text_date(text, kind, fmt) for fmt in formats or _date_candidates(column, kind, spec)]
        return pl.coalesce(parsed) if len(parsed) > 1 else parsed[0]
    if kind in ("money", "number"):
        if dtype.is_numeric():
            number = raw.cast(pl.Float64)
        else:
            # Thousands separators and the yuan sign go; a lone "-" is Excel's accounting zero.
            # A comma only groups thousands (1,234.50): "1.234,50" or "1,2,3" is not a number.
            # NOTE: one regex pass cleans every value; the grouping test runs on the values with a
            # comma only (the others become "0"), which keeps a large CSV's amounts cheap.
            text = raw.cast(pl.String)
            if strip:
                cleaned = text.str.replace_all(r"[,¥￥\s]", "")
                comma = text.str.contains(",", literal=True)
                grouped = pl.when(comma).then(text).otherwise(pl.lit("0")).str.contains(GROUPED_AMOUNT)
                number = (
                    pl.when(cleaned == "-").then(pl.lit(0.0)).when(grouped).then(cleaned.cast(pl.Float64, strict=False))
                )
            else:
                number = text.cast(pl.Float64, strict=False)
        if kind == "number":
            return pl.when(number.is_finite()).then(number)  # NaN or infinity is no number
        # Half a cent rounds away from zero, as money is rounded by hand (0.125 → 0.13);
        # NaN, infinity or more cents than fit in 64 bits is no amount (rejected, not a crash).
        return (number * 100).round(0, mode="half_away_from_zero").cast(pl.Int64, strict=False)
    if kind in ("int",):
        if column in spec.formats and dtype == pl.String:
            return _duration(_text(raw), spec.formats[column])
        if isinstance(dtype, pl.Duration) or dtype == pl.Time:
            # A duration stored as one (Parquet): its whole seconds; a time of day is as long
            # as it is past midnight.
            micros = raw.dt.total_microseconds() if isinstance(dtype, pl.Duration) else raw.cast(pl.Int64) // 1000
            return pl.when(micros % 1_000_000 == 0).then(micros // 1_000_000)
        if dtype.is_integer():
            return raw.cast(pl.Int64)
        number = raw.cast(pl.Float64) if dtype.is_numeric() else _text(raw).cast(pl.Float64, strict=False)
        return pl.when(number == number.round(0)).then(number.cast(pl.Int64, strict=False)).otherwise(None)
    if kind == "score":
        score = raw.cast(pl.Float64) if dtype.is_numeric() else _text(raw).cast(pl.Float64, strict=False)
        return pl.when(score.is_finite()).then(score)  # NaN or infinity is no score
    if kind == "bool":
        if dtype == pl.Boolean:
            return raw
        text = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
        return (
            pl.when(text.is_in(TRUE_WORDS))
            .then(pl.lit(True))
            .when(text.is_in(FALSE_WORDS))
            .then(pl.lit(False))
            .otherwise(None)
        )
    if kind in ("channel", "outcome", "direction"):
        return normal_text(raw.cast(pl.String)).str.to_lowercase()  # blank is missing, as for ids
    raise AssertionError(kind)


def _duration(text: pl.Expr, fmt: str) -> pl.Expr:
    """Whole seconds of a duration written in ``fmt`` (H:MM:SS, M:SS, H.MM.SS), else null."""
    pattern, seconds = DURATION_FORMATS[fmt]
    total: pl.Expr | None = None
    for i, unit in enumerate(seconds):
        # Null where the text does not match (a sum of nulls would be 0, not missing).
        part = text.str.extract(pattern, i + 1).cast(pl.Int64, strict=False) * unit
        total = part if total is None else total + part
    assert total is not None
    return total


def _mapped(text: pl.Expr, table: dict[str, str | None]) -> pl.Expr:
    """``text`` with the keys of ``table`` replaced by their values (others kept).

    NOTE: ``replace`` held the whole column in memory (1.5 GB for a 20M-row CSV); a cast
    to an Enum of the keys and a gather of the values by its code streams.
    """
    code = text.cast(pl.Enum(list(table)), strict=False)
    values = pl.lit(pl.Series(list(table.values()), dtype=pl.String))
    return pl.when(code.is_not_null()).then(values.gather(code.to_physical())).otherwise(text)


def normal_text(text: pl.Expr) -> pl.Expr:
    """An id or text as used: stripped, and null where nothing is left."""
    # NOTE: when/then, not .replace("", None): the replace kept a second copy of every
    # string column and doubled the peak memory of a large read.
    stripped = text.str.strip_chars()
    return pl.when(stripped != "").then(stripped)


# Characters an id is matched without: zero-width space, non-joiner and joiner, word
# joiner, and the byte-order mark (U+FEFF, also inside a value).
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def normal_id(text: pl.Expr) -> pl.Expr:
    """An id as matched: without zero-width characters and BOMs, in Unicode NFKC (Ｃ1 is
    C1), stripped, and null where nothing is left.

    NOTE: only a value with a non-ASCII character (more bytes than characters) is
    normalised; polars evaluates the branch for those rows only, so an all-ASCII column
    costs a length test (0.01 s for 3M ids) instead of a normalisation (0.7 s).
    """
    unicode = text.str.len_bytes() != text.str.len_chars()
    normal = text.str.replace_all(f"[{ZERO_WIDTH}]", "").str.normalize("NFKC")
    return normal_text(pl.when(unicode).then(normal).otherwise(text))


def _native(kind: ColumnType, dtype: pl.DataType) -> bool:
    """Whether a column read in this type converts to its canonical type without fail."""
    if kind in ("date", "month"):
        return dtype == pl.Date or isinstance(dtype, pl.Datetime)
    if kind == "datetime":
        return isinstance(dtype, pl.Datetime) or dtype == pl.Date
    if kind == "int":
        return dtype.is_integer()
    if kind == "money":
        return False  # a float can be NaN or infinite, an integer too large once in cents
    if kind in ("score", "number"):
        return dtype.is_integer()  # a float can be NaN or infinite
    if kind == "bool":
        return dtype == pl.Boolean
    return False


def _problems(
    column: str,
    kind: ColumnType,
    table: str,
    parsed: bool = True,
    value: pl.Expr | None = None,
    text: bool = False,
    duration: str | None = None,
) -> list[tuple[pl.Expr, str]]:
    """(condition, reason) pairs that reject a row for this column.

    ``parsed``: the column was converted from text, so a value can fail to convert;
    ``value``: the converted value (default: the column itself); ``text``: the raw column
    is text, in which an empty or all-space cell ("" in a quoted CSV, '' in Parquet) is a
    missing value, not one that failed to parse. (The fast reading passes False: such a
    row is then left to the full reading, and no string is stripped per row.)
    ``duration``: the format a duration column is written in (its cells name it when they fail).
    """
    raw = pl.col(f"_raw_{column}")
    value = pl.col(column) if value is None else value
    checks: list[tuple[pl.Expr, str]] = []
    unparsed = raw.is_not_null() & value.is_null()
    if text:
        unparsed = unparsed & (raw.str.strip_chars() != "")
    label = {
        "month": "not a month",
        "date": "not a date",
        "datetime": "not a date and time",
        "money": "not a number",
        "number": "not a number",
        "int": "not a whole number",
        "score": "not a number",
        "bool": "not yes/no",
    }.get(kind)
    if duration and kind == "int":
        label = f"not a duration in {duration}"
    if label and parsed:
        checks.append((unparsed, f"{column}: {label}"))
    if column in REQUIRED_VALUES.get(table, ()) or kind == "month":
        # A file with a month column says which month each row is: a blank one is none.
        checks.append((value.is_null(), f"{column}: missing value"))
    if kind in ("money", "number", "int"):
        checks.append((value < 0, f"{column}: negative"))
    if kind == "score":
        checks.append(((value < 0) | (value > 100), f"{column}: outside 0–100"))
    if kind == "channel":
        checks.append((value.is_not_null() & ~value.is_in(list(OUTCOMES)), f"{column}: unknown channel"))
    if kind == "outcome":
        checks.append((value.is_not_null() & ~value.is_in(list(ALL_OUTCOMES)), f"{column}: unknown outcome"))
    if kind == "direction":
        checks.append((value.is_not_null() & ~value.is_in(list(DIRECTIONS)), f"{column}: not inbound/outbound"))
    return checks


def _cross_checks(
    table: str, columns: Iterable[str], given: dict[str, pl.Expr] | None = None
) -> list[tuple[pl.Expr, str]]:
    present = set(columns)
    checks: list[tuple[pl.Expr, str]] = []

    def col(name: str) -> pl.Expr:
        return (given or {}).get(name, pl.col(name))

    if table == "contacts" and {"channel", "outcome"} <= present:
        chan = col("channel")
        outcome = col("outcome")
        valid = pl.lit(False)
        for channel, outcomes in OUTCOMES.items():
            valid = valid | ((chan == channel) & outcome.is_in(list(outcomes)))
        checks.append(
            (
                chan.is_in(list(OUTCOMES)) & outcome.is_in(list(ALL_OUTCOMES)) & ~valid,
                "outcome: not an outcome of this channel",
            )
        )
    if table == "contacts" and {"logged_at", "contacted_at"} <= present:
        # A follow-up logged before its contact is no follow-up on time, nor late.
        checks.append((col("logged_at") < col("contacted_at"), "logged_at: before contacted_at"))
    if table == "cases" and {"settled_date", "assigned_date"} <= present:
        checks.append((col("settled_date") < col("assigned_date"), "settled_date: before assigned_date"))
    if table == "cases" and {"first_payment_date", "assigned_date"} <= present:
        checks.append((col("first_payment_date") < col("assigned_date"), "first_payment_date: before assigned_date"))
    return checks


def read_table(
    table: str,
    paths: Sequence[str],
    spec: InputSpec,
    columns: Sequence[str],
    needed_by: dict[str, str],
) -> TableData:
    """Scan the files of one table, mapped and typed to the canonical ``columns``.

    ``needed_by`` names, for each column, the metric that needs it (for error messages).
    Optional canonical columns absent from the files come out as nulls.
    """
    # Columns beyond the contract (a model's expected amount or probability) are read as
    # numbers, in the unit they are written in (yuan, not cents).
    canonical: dict[str, ColumnType] = {c: "number" for c in columns if c not in CANONICAL[table]}
    canonical.update(CANONICAL[table])
    check_spec(table, spec)
    stages: list[tuple[pl.LazyFrame, list[pl.Expr]]] = []
    shape: list[ShapeCheck] = []
    formats: dict[str, dict[str, str]] = {}
    # Columns every file stores in their own type already (no parse that could fail).
    native = set(columns)
    references = [ref for ref in REFERENCE_IDS.get(table, ()) if ref not in columns]
    # Each file's stage, and for a file read in a batch its path (its rows of the stage).
    own_rows: list[tuple[int, str | None]] = []
    for group in file_batches(paths, spec, table):
        path, batch = group[0][0], [source for _, source in group if source is not None]
        checked = len(shape)
        if len(group) > 1:
            lf = _scan_batch(batch, spec, table, shape)
            own_rows += [(len(stages), f.path) for f in batch]
        else:
            lf = _scan_file(path, spec, table, shape, group[0][1])
            own_rows.append((len(stages), None))
        found = [n for n in lf.collect_schema().names() if n not in ("_row", "_file", "_line_bytes")]
        rename = _rename_map(found, spec)
        typed = _never_broken(found, rename, canonical, spec)
        shape[checked:] = [replace(check, typed=typed) for check in shape[checked:]]
        _check_one_header_each(table, path, spec, found, rename, columns)
        lf = _mark_missing(lf, table, path, spec, found, rename)
        lf, joined = _join_composites(lf, table, path, spec, found, rename, columns)
        renamed = {rename.get(name, name) for name in found}
        available = renamed | set(spec.constants) | joined
        optional_absent: list[str] = []
        for column in columns:
            if column in available or column in spec.datetime_parts:
                continue
            if column in needed_by and column not in ("month",):
                # Suggested only among the headers not already read as another column:
                # overdue_amount is not recovered_amount.
                spare = [name for name in found if rename.get(name, name) not in CANONICAL[table]]
                hint = _close(column, spare, table) or _separator_hint(found, table)
                raise InputError(
                    f"{table}: {path}: missing column '{column}' (needed by {needed_by[column]}); "
                    f"found: {', '.join(found)}{hint}"
                )
            optional_absent.append(column)
        for target, parts in spec.datetime_parts.items():
            absent = [c for part in parts for c in part_columns(part) if c not in renamed]
            if target in columns and absent:
                raise InputError(
                    f"{table}: {path}: missing column '{absent[0]}' (inputs.{table}.datetime_parts.{target} "
                    f"joins it into {target}); found: {', '.join(found)}{_close(absent[0], found, table)}"
                )
        lf = lf.rename(rename) if rename else lf
        schema = lf.collect_schema()
        for target, (dates, times) in spec.datetime_parts.items():
            if target in columns:
                lf = lf.with_columns(
                    pl.concat_str(
                        _first_part(_date_part, part_columns(dates), schema),
                        pl.lit(" "),
                        _first_part(_time_part, part_columns(times), schema),
                    ).alias(target)
                )
        if spec.constants:
            lf = lf.with_columns(
                [pl.lit(value).alias(name) for name, value in spec.constants.items() if name in columns]
            )
        schema = lf.collect_schema()
        raw_exprs = [pl.col("_file"), pl.col("_row").cast(pl.Int64), pl.col("_line_bytes")]
        for column in columns:
            if column in optional_absent:
                raw_exprs.append(pl.lit(None, dtype=pl.String).alias(column))
            elif isinstance(schema[column], (pl.Categorical, pl.Enum)):
                # As text: files with other categories (or none) stack with it.
                raw_exprs.append(pl.col(column).cast(pl.String))
            else:
                raw_exprs.append(pl.col(column))
        # The row's own ids, kept for the list of rejected rows even where no metric reads
        # them (a reject without its case_id cannot be looked up); unchecked, and dropped
        # from every sum's query by projection.
        for ref in references:
            present = ref in available and ref not in spec.constants
            raw_exprs.append((pl.col(ref).cast(pl.String) if present else pl.lit(None, pl.String)).alias(f"_ref_{ref}"))
        lf = lf.select(raw_exprs)
        schema = lf.collect_schema()
        dated = {c: canonical[c] for c in columns if canonical[c] in ("date", "datetime") and schema[c] == pl.String}
        coded = [c for c in columns if canonical[c] in CODED]
        sampled = list(dated) + [c for c in coded if c not in dated]
        # (A batch of small files is sampled whole: each file's every row, as each alone would be.)
        sampled_rows = lf.select(sampled) if len(group) > 1 else lf.select(sampled).head(FORMAT_SAMPLE)
        sample = sampled_rows.collect() if sampled else pl.DataFrame()
        detected = detect_formats(sample, dated, spec) if dated else {}
        for column, kind in dated.items():
            label = "not a date" if kind == "date" else "not a date and time"
            used = detected.get(column) or _date_candidates(column, kind, spec)
            named = _formats_named(column, kind, used, table, spec)
            formats.setdefault(f"{column}: {label}", {}).update((file, named) for file, _ in group)
        seen = {c: sample[c].cast(pl.String).drop_nulls().unique().sort().to_list() for c in coded}
        for column in columns:
            if column in optional_absent or not _native(canonical[column], schema[column]):
                native.discard(column)
        fast: list[pl.Expr] = []
        for c in columns:
            how = _fast_how(c, canonical[c], table, spec)
            if how == "as read":  # as text in each file (stacked, 1 and 2.5 would become "1.0")
                fast.append(pl.col(c).cast(pl.String).alias(f"_fast_{c}"))
            elif how == "coded":
                fast.append(_fast_coded(c, canonical[c], schema[c], spec, seen[c]).alias(f"_fast_{c}"))
            elif how in ("as written", "full"):
                strip = how == "full"
                fast.append(_parse(c, canonical[c], schema[c], spec, detected.get(c), strip).alias(f"_fast_{c}"))
        # Two stages: the raw and fast values, then the full reading from the raw ones.
        # A row with nothing in any column read from the file (Excel's trailing empty lines
        # or ",,,,") is no record: counted as blank, neither used nor rejected.
        written = [
            pl.col(c).is_null() | (pl.col(c) == "") if schema[c] == pl.String else pl.col(c).is_null()
            for c in columns
            if c not in spec.constants and c not in optional_absent
        ]
        blank = (pl.all_horizontal(written) if written else pl.lit(False)).alias("_blank")
        raw = lf.select(
            "_file",
            "_row",
            "_line_bytes",
            *[pl.col(c).alias(f"_raw_{c}") for c in columns],
            *[f"_ref_{ref}" for ref in references],
            *fast,
            blank,
        )
        full = [_parse(c, canonical[c], schema[c], spec, detected.get(c), source=f"_raw_{c}").alias(c) for c in columns]
        stages.append((raw, full))
    per_stage = [raw.with_columns(full) for raw, full in stages]
    per_file = [
        per_stage[stage] if path is None else per_stage[stage].filter(pl.col("_file") == path)
        for stage, path in own_rows
    ]
    frame = _stack(per_stage)
    raw_types = frame.collect_schema()
    every: list[tuple[pl.Expr, str]] = []
    for column in columns:
        text = raw_types[f"_raw_{column}"] == pl.String
        duration = spec.formats.get(column) if column in DURATION_COLUMNS.get(table, ()) else None
        every.extend(
            _problems(column, canonical[column], table, parsed=column not in native, text=text, duration=duration)
        )
    every.extend(_cross_checks(table, columns))
    checks = [(cond, reason) for cond, reason in every if rejects_row(table, _column_of(reason))]
    cell_checks = [(cond, reason) for cond, reason in every if not rejects_row(table, _column_of(reason))]
    # NOTE: every row gets a cheap true/false (and a bit per column that can fail alone);
    # the reason text is built only for the rows that fail, in a second pass that runs
    # only when there are any.
    ok = _none_of([cond for cond, _ in checks]).alias("_ok")
    cells = _cell_bits(cell_checks).alias("_cells")
    is_fast = _none_of(_fast_leaves(table, columns, canonical, native, spec)).alias("_fast")
    frame = frame.with_columns(ok, cells, is_fast)
    # NOTE: the not-fast rows are picked before the full reading of a row is computed,
    # so reading them in full costs a fast pass, not a full one.
    left = _stack([raw.with_columns(is_fast).filter(~pl.col("_fast")).with_columns(full) for raw, full in stages])
    left = left.with_columns(ok, cells)
    read = TableData(table, frame, list(paths), list(columns), shape, checks, left, per_file, cell_checks)
    read.formats = formats
    return read


def _first_reason(checks: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """The reason of the first check that holds, null where none does."""
    if not checks:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce([pl.when(cond.fill_null(False)).then(pl.lit(text)) for cond, text in checks])


def _column_of(reason: str) -> str:
    """The column a reason names ("settled_date: not a date" → settled_date)."""
    return reason.partition(": ")[0]


def _cell_bits(cell_checks: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """Bit i set where a check of the i-th column holds (see TableData.cell_columns)."""
    by_column: dict[str, list[pl.Expr]] = {}
    for cond, reason in cell_checks:
        by_column.setdefault(_column_of(reason), []).append(cond)
    bits = [
        pl.when(pl.any_horizontal(conds).fill_null(False)).then(pl.lit(1 << i, dtype=pl.UInt32))
        for i, conds in enumerate(by_column.values())
    ]
    return pl.sum_horizontal(bits).fill_null(0).cast(pl.UInt32) if bits else pl.lit(0, dtype=pl.UInt32)


def _formats_named(column: str, kind: ColumnType, used: Sequence[str], table: str, spec: InputSpec) -> str:
    """The date formats a file's column is read with, as a rejected value's message names them."""
    what = "a date" if kind == "date" else "a date and time"
    shown = ", ".join("%Y-%m-%d followed by a time" if f == ISO_PREFIX else f for f in used)
    setting = f"inputs.{table}.formats.{column}"
    if column in spec.formats:
        return f"{what} written {shown}, as set in {setting}"
    if list(used) == _date_candidates(column, kind, spec):
        return f"{what} written one of {shown}, or the format set in {setting}"
    many = "the formats" if len(used) > 1 else "the format"
    return f"{what} written {shown}, {many} of this column's first rows in this file (set {setting} to read another)"


def _never_broken(
    found: Sequence[str], rename: dict[str, str], canonical: dict[str, ColumnType], spec: InputSpec
) -> frozenset[str]:
    """The headers of a file's columns that never hold a line break: ids, amounts, dates and
    codes (free text, as a name or a column the contract does not know, may)."""
    parts = {column for pair in spec.datetime_parts.values() for part in pair for column in part_columns(part)}
    parts |= {column for sources in spec.composites().values() for column in sources}  # the parts of an id
    return frozenset(
        name
        for name in found
        if canonical.get(rename.get(name, name), "text") != "text" or rename.get(name, name) in parts
    )


def _date_part(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The date of a datetime_parts date column; an Excel date cell comes with 00:00:00."""
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return value.dt.strftime("%Y-%m-%d")
    return value.cast(pl.String).str.strip_chars().str.split_exact(" ", 1).struct.field("field_0")


def _time_part(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The time of a datetime_parts time column; an Excel time cell comes as 1899-12-31 08:58:00."""
    if dtype == pl.Time or isinstance(dtype, pl.Datetime):
        return value.dt.strftime("%H:%M:%S")
    return value.cast(pl.String).str.strip_chars().str.extract(r"(\S+)$")


def _first_part(part: Callable[[pl.Expr, pl.DataType], pl.Expr], columns: list[str], schema: pl.Schema) -> pl.Expr:
    """A datetime_parts part: from its one column, or from the first of its columns that is
    not missing (null or blank) on the row."""
    if len(columns) == 1:
        return part(pl.col(columns[0]), schema[columns[0]])
    values = [part(pl.col(c), schema[c]) for c in columns]
    return pl.coalesce([pl.when(value != "").then(value) for value in values])


def _mark_missing(
    lf: pl.LazyFrame, table: str, path: str, spec: InputSpec, found: Sequence[str], rename: dict[str, str]
) -> pl.LazyFrame:
    """The cells that hold one of a column's `missing_values` texts (stripped) made null.

    A key names a header of the file (as written) or the canonical column it is read as; a
    canonical column the file does not carry is passed over (it is optional), any other
    key is an error naming it.
    """
    for key, markers in spec.missing_values.items():
        headers = [h for h in found if _bare(h) == key or rename.get(h, h) == key]
        if not headers:
            if key in CANONICAL[table] or key in spec.composites():
                continue
            raise InputError(
                f"{table}: {path}: inputs.{table}.missing_values.{key}: no such header in the file; "
                f"found: {', '.join(found)}{_close(key, found, table)}"
            )
        for header in headers:
            cell = pl.col(header)
            marked = cell.cast(pl.String).str.strip_chars().is_in(markers)
            lf = lf.with_columns(pl.when(marked).then(None).otherwise(cell).alias(header))
    return lf


def _join_composites(
    lf: pl.LazyFrame,
    table: str,
    path: str,
    spec: InputSpec,
    found: Sequence[str],
    rename: dict[str, str],
    columns: Sequence[str],
) -> tuple[pl.LazyFrame, set[str]]:
    """The id columns the scheme joins from several headers (``columns: {contact_id:
    [vru_line, call_id]}``): each part stripped, joined with ``|`` (``2|33597``); null where
    a part is missing. Returns the frame and the columns joined."""
    joined: set[str] = set()
    by_bare = {_bare(h): h for h in found}
    for target, sources in spec.composites().items():
        absent = [source for source in sources if _bare(source) not in by_bare]
        if absent:
            if target in columns:
                raise InputError(
                    f"{table}: {path}: missing column '{absent[0]}' (inputs.{table}.columns.{target} joins it "
                    f"into {target}); found: {', '.join(found)}{_close(absent[0], found, table)}"
                )
            continue
        clash = [h for h in found if rename.get(h, h) == target and not (h == target and h in sources)]
        if clash:
            raise InputError(
                f"{table}: {path}: the header '{clash[0]}' and inputs.{table}.columns.{target} are both read as "
                f"{target}; keep one of them"
            )
        parts = [normal_text(pl.col(by_bare[_bare(source)]).cast(pl.String)) for source in sources]
        lf = lf.with_columns(pl.concat_str(parts, separator=COMPOSITE_SEPARATOR).alias(target))
        joined.add(target)
    return lf, joined


COMPOSITE_SEPARATOR = "|"


def _stack(frames: list[pl.LazyFrame]) -> pl.LazyFrame:
    """The files of a table, one after another."""
    return pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]


def _none_of(conditions: list[pl.Expr]) -> pl.Expr:
    """True where none of the conditions holds (a null condition does not hold)."""
    return ~pl.any_horizontal(conditions).fill_null(False) if conditions else pl.lit(True)


# Columns read as a code from a short vocabulary, and that vocabulary.
CODED: dict[ColumnType, tuple[str, ...]] = {
    "channel": tuple(OUTCOMES),
    "outcome": ALL_OUTCOMES,
    "bool": TRUE_WORDS + FALSE_WORDS,
    "direction": DIRECTIONS,
}


# At most this many spellings of a coded column are matched by comparing the text with each.
_CHAINED = 8


def _fast_coded(column: str, kind: ColumnType, dtype: pl.DataType, spec: InputSpec, seen: Sequence[str]) -> pl.Expr:
    """A coded column's fast value: a lookup of the value as written in a table of the
    spellings this file uses, else null (the full reading decides about those rows).

    The table holds the vocabulary, the scheme's `values` keys and the spellings ``seen``
    in the file's first rows ("Call", "TRUE" from Excel), each with what the full reading
    makes of it, so both readings agree by construction.
    """
    raw = pl.col(column)
    if kind == "bool" and dtype == pl.Boolean and column not in spec.values:
        return raw
    words = CODED[kind] if kind != "bool" else ("false", "true")
    candidates = list(dict.fromkeys([*CODED[kind], *(str(k) for k in spec.values.get(column, {})), *seen]))
    read = pl.DataFrame({column: candidates}, schema={column: pl.String}).select(
        _parse(column, kind, pl.String(), spec).alias("value")
    )
    mapping: dict[str, str] = {}
    for source, value in zip(candidates, read.to_series(), strict=True):
        target = str(value).lower() if isinstance(value, bool) else value
        if target in words:
            mapping[source] = target
    vocabulary = pl.Enum(list(words))
    if kind != "bool" and 0 < len(mapping) <= _CHAINED:
        # NOTE: a few spellings are told apart by comparing the text with each (a compare
        # of 16-byte views) faster than by the hash lookup of a cast to an Enum: a channel
        # of 20M contacts in 0.06 s instead of 0.15 s, 2.8% fewer instructions in all.
        text = raw.cast(pl.String)
        (first, word), *others = mapping.items()
        found: Then | ChainedThen = pl.when(text == first).then(pl.lit(word, dtype=vocabulary))
        for source, target in others:
            found = found.when(text == source).then(pl.lit(target, dtype=vocabulary))
        return found.otherwise(pl.lit(None, dtype=vocabulary))
    # NOTE: a cast to an Enum of the spellings, then integer tests: replace_strict did the
    # lookup in one step but held the whole column in memory (4 GB for a 20M-row CSV).
    code = raw.cast(pl.String).cast(pl.Enum(list(mapping)), strict=False)
    if kind == "bool":
        return pl.when(code.is_not_null()).then(code.is_in([s for s, t in mapping.items() if t == "true"]))
    if list(mapping.items()) == [(word, word) for word in words]:
        return code  # already an Enum of the vocabulary
    return pl.lit(pl.Series(list(mapping.values()), dtype=vocabulary)).gather(code.to_physical())


FastHow = Literal["as read", "coded", "as written", "full"]


def _fast_how(column: str, kind: ColumnType, table: str, spec: InputSpec) -> FastHow:
    """How the fast reading takes a column: an id as read (stripped by its consumer, or
    required to need no stripping), a coded value looked up, a date or number parsed as
    written, or the full reading's value (an optional or mapped id, a month …)."""
    required = column in REQUIRED_VALUES.get(table, ())
    if kind == "id" and column not in spec.values and (required or column == "collector_id"):
        return "as read"
    if kind in CODED:
        return "coded"
    if kind in ("date", "datetime", "money", "number", "int", "score") and column not in spec.values:
        return "as written"
    return "full"


def _fast_leaves(
    table: str, columns: Sequence[str], canonical: dict[str, ColumnType], native: set[str], spec: InputSpec
) -> list[pl.Expr]:
    """The conditions that leave a row to the full reading (see TableData.fast_frame),
    on the raw and the `_fast_` columns only."""
    leave: list[pl.Expr] = []
    for column in columns:
        kind = canonical[column]
        raw, value = pl.col(f"_raw_{column}"), pl.col(f"_fast_{column}")
        how = _fast_how(column, kind, table, spec)
        if how == "as read":
            if column != "collector_id":
                # As used only if there is nothing to strip (and something left), and
                # nothing to normalise: an ASCII id is its own NFKC form.
                leave.append(_maybe_strippable(value) | (value.str.len_bytes() != value.str.len_chars()))
        elif how == "coded":
            required = column in REQUIRED_VALUES.get(table, ())
            leave.append(value.is_null() if required else raw.is_not_null() & value.is_null())
        else:
            leave.extend(cond for cond, _ in _problems(column, kind, table, column not in native, value))
    given = {c: pl.col(f"_fast_{c}") for c in columns}
    leave.extend(cond for cond, _ in _cross_checks(table, columns, given))
    return leave


# What str.strip_chars() strips: Unicode's White_Space characters.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITESPACE += "\u2028\u2029\u202f\u205f\u3000"
# The bytes they begin and end with in UTF-8.
_WHITE_FIRST = sorted({c.encode()[0] for c in WHITESPACE})
_WHITE_LAST = sorted({c.encode()[-1] for c in WHITESPACE})


def _maybe_strippable(text: pl.Expr) -> pl.Expr:
    """False only where stripping leaves the text as it is, and not empty: neither its first
    byte nor its last can be that of a whitespace character. (True for a few texts with
    nothing to strip, as "K案" is, whose last byte may end U+2008: they take the full reading.)

    NOTE: two byte lookups cost half of comparing each text with its stripped self (0.2 s
    of CPU against 0.4 for 20M ids).
    """
    raw = text.cast(pl.Binary)
    first, last = raw.bin.get(0, null_on_oob=True), raw.bin.get(-1, null_on_oob=True)
    return (first.is_in(_WHITE_FIRST) | last.is_in(_WHITE_LAST)).fill_null(True)


def _close(column: str, found: Sequence[str], table: str) -> str:
    close = difflib.get_close_matches(column, list(found), n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'? map it under inputs.{table}.columns)"
    return ""


def _separator_hint(found: Sequence[str], table: str) -> str:
    """A header read as one column is usually a file with another separator."""
    if len(found) == 1:
        for separator, name in (("\t", "tabs"), (";", "';'"), (",", "','"), ("|", "'|'")):
            if separator in found[0]:
                return f" (the header looks separated by {name}: set inputs.{table}.separator)"
    return ""


def check_spec(table: str, spec: InputSpec) -> None:
    """Every column a table's mapping names must be one of the table's canonical columns
    (as the scheme's validation says, for a spec made otherwise)."""
    problem = input_problem(table, spec)
    if problem is not None:
        raise InputError(f"inputs.{table}.{'.'.join(problem[0])}: {problem[1]}")


def duration_hint(table: str) -> str:
    """For a format on a column that takes none: which of the table's columns take a duration format."""
    durations = DURATION_COLUMNS.get(table, ())
    if not durations:
        return ""
    return f" (a duration, {', '.join(durations)}, takes {', '.join(DURATION_FORMATS)})"


def part_columns(part: str | list[str]) -> list[str]:
    """The columns of a datetime_parts part, in the order they are tried."""
    return [part] if isinstance(part, str) else list(part)


def month_filter(table: str, columns: Sequence[str], months: Sequence[str], start: date, end: date) -> pl.Expr | None:
    """Which rows belong to the period: a `month` column, else `contacted_at` for contacts."""
    if "month" in columns:
        return pl.col("month").is_null() | pl.col("month").is_in(list(months))
    if table == "contacts" and "contacted_at" in columns:
        # Compared as date-times, not as dates: no date is made for each of millions of rows.
        at = pl.col("contacted_at")
        first, after = datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())
        return at.is_null() | ((at >= first) & (at < after))
    return None


def resolve_paths(scheme: Scheme, table: str, months: Sequence[str], override: PathsArg) -> list[str] | None:
    """The files of one table: the CLI's paths (each a file, a glob or a directory), else
    the scheme's template filled in for each month of the period; None if neither."""
    if isinstance(override, str):
        override = [override]
    template = scheme.inputs.get(table).path
    if override:
        given = list(override)
    elif template is not None:
        given = [scheme.resolve_path(template, month) for month in months]
    else:
        return None
    files: list[str] = []
    seen: set[tuple[int, int]] = set()
    for path in given:
        for file in expand_path(path, table):
            # One file reached by two names (a `latest` symlink, a `**` glob through a linked
            # folder, a hard link, a path given twice) is read once, under the first name.
            status = os.stat(file)
            if (status.st_dev, status.st_ino) not in seen:
                seen.add((status.st_dev, status.st_ino))
                files.append(file)
    return files


def available_columns(table: str, paths: Sequence[str], spec: InputSpec) -> set[str]:
    """Canonical columns every file of the table carries (directly, mapped or constant)."""
    common: set[str] | None = None
    for (path, source), *_ in file_batches(paths, spec, table):  # the files of a batch share a header
        names = _scan_file(path, spec, table, csv=source).collect_schema().names()
        renames, bare = spec.renames(), {_bare(n) for n in names}
        joined = {target for target, sources in spec.composites().items() if all(s in bare for s in sources)}
        mapped = {renames.get(n, n) for n in names} | set(spec.constants) | set(spec.datetime_parts) | joined
        common = mapped if common is None else common & mapped
    return {c for c in CANONICAL[table] if c in (common or set())}


def sample_rows(path: str, spec: InputSpec, rows: int, table: str = "input") -> pl.DataFrame:
    """The first ``rows`` rows of one file as read (headers as written, CSV values as text)."""
    return _scan_file(path, spec, table).drop("_row", "_file", "_line_bytes").head(rows).collect()


def distinct_values(path: str, spec: InputSpec, columns: Sequence[str], table: str = "input") -> dict[str, list[str]]:
    """Each column's distinct non-blank values over the whole file, as stripped text, sorted."""
    frame = _scan_file(path, spec, table).select(
        pl.col(c).cast(pl.String).str.strip_chars().unique().implode() for c in columns
    )
    found = frame.collect().row(0, named=True)
    return {c: sorted(v for v in found[c] if v) for c in columns}
