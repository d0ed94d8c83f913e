"""CSV records that run across lines, and quotes out of place.

A quoted value may hold a line break (RFC 4180): its record then runs across physical
lines. A quote opened by mistake does the same to the rows below it, which then merge
into one record and vanish from the count. These functions tell the two apart on the few
lines concerned; ``sources.ShapeCheck`` finds those lines in a streaming pass.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class QuoteOutOfPlace(ValueError):
    """A quote inside an unquoted value, or text after a closing quote."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


def well_quoted_line(separator: str) -> str:
    """A regular expression matching a whole line whose quotes are all in place: each
    value either unquoted (no quote in it) or quoted whole, with "" for a quote inside."""
    sep = re.escape(separator)  # one character (the scheme allows no other)
    value = f'(?:"(?:[^"]|"")*"|[^"{sep}]*)'
    return f"^{value}(?:{sep}{value})*\r?$"


def split_record(text: str, separator: str) -> tuple[list[str], int]:
    """The values of the record at the start of ``text`` (quotes removed) and where it ends
    (past its line end); ``len(text) + 1`` when a quoted value is still open at the end.

    Raises ``QuoteOutOfPlace`` with the offset of a quote inside an unquoted value, or of
    the first character after a closing quote that is neither a separator nor a line end.
    """
    values: list[str] = []
    value: list[str] = []
    at, size, width = 0, len(text), len(separator)
    while True:
        if text.startswith('"', at):  # a quoted value
            at += 1
            while True:
                close = text.find('"', at)
                if close == -1:
                    value.append(text[at:])
                    values.append("".join(value))
                    return values, size + 1
                value.append(text[at:close])
                at = close + 1
                if text.startswith('"', at):  # "" is a quote inside the value
                    value.append('"')
                    at += 1
                    continue
                break
            if not (at == size or text.startswith((separator, "\n", "\r\n"), at)):
                raise QuoteOutOfPlace(at)
        else:
            ends = [i for i in (text.find(separator, at), text.find("\n", at)) if i != -1]
            end = min(ends) if ends else size
            quote = text.find('"', at, end)
            if quote != -1:
                raise QuoteOutOfPlace(quote)
            value.append(text[at:end].removesuffix("\r") if text.startswith("\n", end) else text[at:end])
            at = end
        values.append("".join(value))
        value = []
        if at >= size:
            return values, size
        if text.startswith(separator, at):
            at += width
            continue
        return values, at + (2 if text.startswith("\r\n", at) else 1)


@dataclass(frozen=True)
class Record:
    """Physical lines ``first``..``last`` (numbered as in the file) read as one record."""

    first: int
    last: int
    values: list[str]
    closed: bool = True


def records(lines: Iterable[tuple[int, str, bool]], separator: str) -> Iterable[Record]:
    """The records made of the given lines, each (number, text, whether it continues the
    line above) — the lines of records that run across lines, in order.

    Raises ``QuoteOutOfPlace`` with the number of the line holding a misplaced quote as
    its offset.
    """
    group: list[tuple[int, str]] = []

    def flush() -> Iterable[Record]:
        text = "\n".join(line for _, line in group)
        starts = [0]
        for _, line in group[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        at = 0
        while at < len(text):
            try:
                values, end = split_record(text[at:], separator)
            except QuoteOutOfPlace as exc:
                raise QuoteOutOfPlace(_line_at(group, starts, at + exc.offset)) from exc
            last = _line_at(group, starts, min(at + end, len(text)) - 1)
            yield Record(_line_at(group, starts, at), last, values, closed=end <= len(text) - at)
            at += end

    for number, text, continues in lines:
        if group and not continues:
            yield from flush()
            group = []
        group.append((number, text))
    if group:
        yield from flush()


def _line_at(group: Sequence[tuple[int, str]], starts: Sequence[int], offset: int) -> int:
    return group[max(bisect.bisect_right(starts, offset) - 1, 0)][0]


def record_problem(
    record: Record, names: Sequence[str], fields: int, separator: str, typed: Iterable[str]
) -> str | None:
    """What is wrong with a record that runs across lines, None if nothing is: a value
    still open at the end of the file, a field count that is not the header's, a line
    break in a column that never holds one (``typed``: ids, amounts, dates, codes), or a
    value holding a row's worth of separators (rows merged by a quote opened by mistake)."""
    lines = f"lines {record.first}–{record.last}"
    opened = f"a quote opened on line {record.first}"
    if not record.closed:
        column = names[len(record.values) - 1] if len(record.values) <= len(names) else "?"
        below = record.last - record.first
        return (
            f"cannot read: a quote is opened and never closed in column '{column}' "
            f"(line {record.first}; the {below} line(s) below it would be one value)"
        )
    if len(record.values) != fields:
        return (
            f"{lines} are one record (a quoted value runs across them) with {len(record.values)} fields, "
            f"not the header's {fields}: {opened} is not closed where it should be"
        )
    never = set(typed)
    for name, value in zip(names, record.values, strict=False):
        if "\n" not in value and "\r" not in value:
            continue
        if name in never:
            return (
                f"{lines} are one record: its {name} holds a line break, which an id, amount, date or code "
                f"never does; {opened} is not closed where it should be"
            )
        if value.count(separator) >= fields - 1:
            return (
                f"{lines} are one record: its {name} holds {value.count(separator)} '{separator}' across "
                f"{record.last - record.first} line break(s), whole rows merged into one value; "
                f"{opened} closes only on line {record.last}"
            )
    return None
