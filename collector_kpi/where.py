"""The `where:` grammar of metric definitions: a closed set of row conditions.

A condition reads columns of one row, params and literals::

    channel = 'call' and outcome in ('connected', 'busy')
    settled_date <= month_end and days(assigned_date, settled_date) <= sla_days
    not (qa_score is null) or ptp

- comparisons ``= != < <= > >=`` between columns, params and literals of one kind;
- ``x in ('a', 'b')`` and ``x not in (…)`` on a column;
- ``x is null`` and ``x is not null``;
- ``and``, ``or``, ``not`` and parentheses; a yes/no column alone is true where it is;
- ``days(start, end)`` (whole days, two date columns) and ``hours(start, end)`` (two
  date-time columns): ``end − start`` of the row, compared with a param or a number.

Every form has one meaning in polars and in SQL (three-valued: a comparison with a missing
value is unknown, and a row whose condition is unknown is not counted). Nothing else parses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal as TypingLiteral

from .sources import ALL_OUTCOMES, OUTCOMES

Op = TypingLiteral["=", "!=", "<", "<=", ">", ">="]
DiffUnit = TypingLiteral["days", "hours"]

# Column kinds (sources.CANONICAL) and param types, by what they compare with.
TEXT_KINDS = frozenset({"id", "text", "month", "channel", "outcome", "string"})
NUMBER_KINDS = frozenset({"money", "int", "score", "number"})


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # the column's type in sources.CANONICAL


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # date, int, number or money


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool


@dataclass(frozen=True)
class Diff:
    """``end − start`` of one row: whole days between dates, or a span between date-times."""

    unit: DiffUnit
    start: Column
    end: Column


Operand = Column | Param | Literal | Diff


@dataclass(frozen=True)
class Compare:
    op: Op
    left: Operand
    right: Operand


@dataclass(frozen=True)
class InList:
    column: Column
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    column: Column
    negated: bool = False


@dataclass(frozen=True)
class Flag:
    """A yes/no column on its own: true where it is true."""

    column: Column


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Compare | InList | IsNull | Flag | And | Or | Not


class WhereError(Exception):
    """A condition that is not in the grammar, or names what the table lacks."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'[^']*')|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)
_WORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            start = len(text) - len(text[pos:].lstrip())
            raise WhereError(f"unexpected {text[start : start + 10]!r}", start)
        kind, value, start = match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)
        if kind == "name" and value.lower() in _WORDS:
            kind, value = "word", value.lower()
        out.append((kind, "!=" if value == "<>" else value, start))
        pos = match.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str, columns: Mapping[str, str], params: Mapping[str, str]) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.columns = columns
        self.params = params

    def peek(self, value: str | None = None, kind: str | None = None) -> bool:
        tok_kind, tok_value, _ = self.tokens[self.at]
        return (value is None or tok_value == value) and (kind is None or tok_kind == kind)

    def take(self, value: str | None = None, kind: str | None = None) -> tuple[str, str, int]:
        token = self.tokens[self.at]
        if not self.peek(value, kind):
            wanted = repr(value) if value else (kind or "more")
            found = repr(token[1]) if token[0] != "end" else "the end"
            raise WhereError(f"expected {wanted}, found {found}", token[2])
        self.at += 1
        return token

    def offset(self) -> int:
        return self.tokens[self.at][2]

    def condition(self) -> Condition:
        return self.chain("or", self.conjunction, Or)

    def conjunction(self) -> Condition:
        return self.chain("and", self.negation, And)

    def chain(self, word: str, part: Callable[[], Condition], joined: type[And] | type[Or]) -> Condition:
        """``part (word part)*``: one part alone, or all of them joined."""
        parts = [part()]
        while self.peek(word, "word"):
            self.take()
            parts.append(part())
        return parts[0] if len(parts) == 1 else joined(tuple(parts))

    def negation(self) -> Condition:
        if self.peek("not", "word"):
            self.take()
            return Not(self.negation())
        if self.peek("(", "punct"):
            self.take()
            inner = self.condition()
            self.take(")", "punct")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        start = self.offset()
        left = self.operand()
        if self.peek(kind="op"):
            op = self.take()[1]
            right = self.operand()
            check_compare(left, op, right, start)
            return Compare(op, left, right)  # type: ignore[arg-type]
        negated = self.peek("not", "word")
        if negated or self.peek("in", "word"):
            if negated:
                self.take()
            self.take("in", "word")
            return self.in_list(left, negated, start)
        if self.peek("is", "word"):
            self.take()
            negated = self.peek("not", "word")
            if negated:
                self.take()
            self.take("null", "word")
            return IsNull(_column_only(left, "is null", start), negated)
        column = _column_only(left, "a condition", start)
        if column.kind != "bool":
            raise WhereError(f"{column.name} is not a yes/no column: compare it with something", start)
        return Flag(column)

    def in_list(self, left: Operand, negated: bool, start: int) -> InList:
        column = _column_only(left, "in", start)
        self.take("(", "punct")
        values = [self.literal()]
        while self.peek(",", "punct"):
            self.take()
            values.append(self.literal())
        self.take(")", "punct")
        for value in values:
            check_compare(column, "=", value, start)
        return InList(column, tuple(values), negated)

    def literal(self) -> Literal:
        operand = self.operand()
        if not isinstance(operand, Literal):
            raise WhereError("an in list holds literal values only", self.tokens[self.at - 1][2])
        return operand

    def operand(self) -> Operand:
        kind, value, offset = self.take()
        if kind == "number":
            return Literal(float(value) if "." in value else int(value))
        if kind == "string":
            return Literal(value[1:-1])
        if kind == "word" and value in ("true", "false"):
            return Literal(value == "true")
        if kind == "name" and value in ("days", "hours") and self.peek("(", "punct"):
            return self.diff(value, offset)  # type: ignore[arg-type]
        if kind == "name":
            return self.name(value, offset)
        raise WhereError(f"expected a column, a param or a value, found {value or 'the end'!r}", offset)

    def name(self, value: str, offset: int) -> Column | Param:
        if value in self.columns:
            return Column(value, self.columns[value])
        if value in self.params:
            return Param(value, self.params[value])
        raise WhereError(f"{value!r} is neither a column of the table nor a param", offset)

    def diff(self, unit: DiffUnit, offset: int) -> Diff:
        self.take("(", "punct")
        start = self.take(kind="name")
        self.take(",", "punct")
        end = self.take(kind="name")
        self.take(")", "punct")
        wanted = "date" if unit == "days" else "datetime"
        columns = []
        for _, name, at in (start, end):
            column = self.name(name, at)
            if not isinstance(column, Column) or column.kind != wanted:
                raise WhereError(f"{unit}() takes two {wanted} columns; {name} is not one", at)
            columns.append(column)
        return Diff(unit, columns[0], columns[1])


def _column_only(operand: Operand, form: str, offset: int) -> Column:
    if not isinstance(operand, Column):
        raise WhereError(f"{form} applies to a column", offset)
    return operand


def kind_class(operand: Operand) -> str:
    """What an operand compares with: text, number, date, datetime or bool."""
    if isinstance(operand, Diff):
        return "number"
    if isinstance(operand, Literal):
        value = operand.value
        return "bool" if isinstance(value, bool) else "text" if isinstance(value, str) else "number"
    if operand.kind in TEXT_KINDS:
        return "text"
    return "number" if operand.kind in NUMBER_KINDS else operand.kind


def check_compare(left: Operand, op: str, right: Operand, offset: int) -> None:
    """Refuse comparisons across kinds, of two literals, an order on text, an unknown value."""
    if isinstance(left, Literal | Param) and isinstance(right, Literal | Param):
        raise WhereError("a comparison needs a column on one side", offset)
    kinds = kind_class(left), kind_class(right)
    if kinds[0] != kinds[1]:
        raise WhereError(f"cannot compare {_show(left)} ({kinds[0]}) with {_show(right)} ({kinds[1]})", offset)
    if kinds[0] in ("text", "bool") and op not in ("=", "!="):
        raise WhereError(f"{op} does not apply to {kinds[0]}: use = , != or in", offset)
    for column, other in ((left, right), (right, left)):
        if isinstance(column, Column) and isinstance(other, Literal):
            vocabulary = sorted(OUTCOMES) if column.kind == "channel" else ALL_OUTCOMES
            if column.kind in ("channel", "outcome") and other.value not in vocabulary:
                raise WhereError(f"{other.value!r} is no {column.kind}: one of {', '.join(vocabulary)}", offset)


def _show(operand: Operand) -> str:
    if isinstance(operand, Literal):
        return repr(operand.value)
    if isinstance(operand, Diff):
        return f"{operand.unit}({operand.start.name}, {operand.end.name})"
    return operand.name


def parse_where(text: str, columns: Mapping[str, str], params: Mapping[str, str]) -> Condition:
    """A `where:` text → its condition, names resolved against the table's columns and params."""
    parser = _Parser(text, columns, params)
    condition = parser.condition()
    parser.take(kind="end")
    return condition


def parse_operand(text: str, columns: Mapping[str, str]) -> Column | Diff:
    """What an aggregate reads: a column, or ``days(start, end)``."""
    parser = _Parser(text, columns, {})
    operand = parser.operand()
    parser.take(kind="end")
    if not isinstance(operand, Column | Diff):
        raise WhereError("an aggregate reads a column or days(start, end)", 0)
    return operand


def columns_of(condition: Condition | Operand) -> list[Column]:
    """The columns a condition or operand reads, in order of appearance."""
    match condition:
        case Column():
            return [condition]
        case Diff(_, start, end):
            return [start, end]
        case Compare(_, left, right):
            return columns_of(left) + columns_of(right)
        case InList(column, _, _) | IsNull(column, _) | Flag(column):
            return [column]
        case And(parts) | Or(parts):
            return [c for part in parts for c in columns_of(part)]
        case Not(part):
            return columns_of(part)
    return []


def params_of(condition: Condition | Operand) -> list[str]:
    """The params a condition reads."""
    match condition:
        case Param(name, _):
            return [name]
        case Compare(_, left, right):
            return params_of(left) + params_of(right)
        case And(parts) | Or(parts):
            return [p for part in parts for p in params_of(part)]
        case Not(part):
            return params_of(part)
    return []
