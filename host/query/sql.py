"""The query compiled to SQL over the items table (`exthost_items`, one JSON document per
row), for SQLite (JSON1) and PostgreSQL (json): filters, search, sort, aggregate, groupBy,
limit and offset run in the database, so a read holds one page in memory.

Every value from a query is a bound parameter. Field names (checked by
`host.query.filter.check_key`) and the fixed texts of the expressions are rendered inline
by the dialect's literal quoting (`literal_execute`), so that an expression index created
by `host.query.indexes` on a field is the very expression the queries use. The rules are
those of `host.query.values`, and give the answers of `host.query.memory`.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Numeric,
    String,
    and_,
    bindparam,
    case,
    cast,
    collate,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import BindParameter

from host.query.filter import NEGATED, Cond, Group, Node, Path, Quantified
from host.query.memory import DATE_PARTS, DATE_PREFIX
from host.query.model import GroupBy, Query
from host.query.values import Operand, fold, operand

Expr = ColumnElement[Any]


def fixed(text: str) -> BindParameter[str]:
    """A text rendered inline (quoted by the dialect), so index expressions match."""
    return bindparam(None, text, type_=String, literal_execute=True)


@dataclass(frozen=True)
class Ref:
    """A JSON value in SQL: its kind and its readings as a number, a text and a boolean."""

    kind: Expr
    """SQLite: json_type's names; PostgreSQL: json_typeof's."""
    number: Expr
    text: Expr
    boolean: Expr
    """1/0 on SQLite, 'true'/'false' on PostgreSQL."""
    raw_text: Expr
    """The value's text (JSON text for an array or object)."""
    doc: Expr | None
    """The document the value is in (for descending further), or the value itself."""
    pg: bool

    def is_null(self) -> Expr:
        return or_(self.kind.is_(None), self.kind == fixed("null"))

    def is_kind(self, name: str) -> Expr:
        if not self.pg and name in ("number", "boolean"):
            names = ("integer", "real") if name == "number" else ("true", "false")
            return self.kind.in_([fixed(names[0]), fixed(names[1])])
        return self.kind == fixed(_KINDS[self.pg][name])


_KINDS = {
    False: {"boolean": "true", "number": "integer", "string": "text", "array": "array", "object": "object"},
    True: {"boolean": "boolean", "number": "number", "string": "string", "array": "array", "object": "object"},
}


class Compiler:
    def __init__(self, pg: bool) -> None:
        self.pg = pg
        self._names = itertools.count()

    # -- references ---------------------------------------------------------

    def ref(self, doc: Expr, path: Path, element: Ref | None = None) -> Ref:
        """The value at `path` in `doc` (or in the array element `element`)."""
        if element is not None and not path:
            return element
        base = element.doc if element is not None else doc
        assert base is not None
        if self.pg:
            value: Expr = base
            for part in path:
                value = value.op("->")(fixed(part))
            text: Expr = _pg_text(base, path) if path else _scalar_text(value)
            kind = json_typeof(value)
            return self._pg_ref(kind, value, text)
        where = fixed(sqlite_path(path))
        kind = func.json_type(base, where)
        raw = func.json_extract(base, where)
        return self._sqlite_element(kind, raw)

    def _pg_ref(self, kind: Expr, value: Expr, text: Expr) -> Ref:
        return Ref(
            kind=kind,
            number=case((kind == fixed("number"), cast(text, Numeric)), else_=null()),
            text=collate(case((kind == fixed("string"), text), else_=null()), "C"),
            boolean=case((kind == fixed("boolean"), text), else_=null()),
            raw_text=text,
            doc=value,
            pg=True,
        )

    # -- filters --------------------------------------------------------------

    def where(self, node: Node, doc: Expr, element: Ref | None = None) -> Expr:
        if isinstance(node, Group):
            parts = [self.where(part, doc, element) for part in node.parts]
            if not parts:
                return true()
            return and_(*parts) if node.kind == "_and" else or_(*parts)
        ref = self.ref(doc, node.path, element)
        if isinstance(node, Quantified):
            return self._quantified(node, ref, doc)
        if node.op in NEGATED:
            return and_(not_(ref.is_null()), not_(func.coalesce(self._positive(node, ref), false())))
        return self._positive(node, ref)

    def _quantified(self, node: Quantified, ref: Ref, doc: Expr) -> Expr:
        name = f"q{next(self._names)}"
        is_array = ref.is_kind("array")
        if self.pg:
            array = case((is_array, ref.doc), else_=null())
            elements = func.json_array_elements(array).table_valued("value").alias(name)
            value = elements.c.value
            element = self._pg_ref(json_typeof(value), value, _scalar_text(value))
        else:
            elements = func.json_each(ref.doc).table_valued("value", "type").alias(name)
            element = self._sqlite_element(elements.c.type, elements.c.value)
        found = exists(select(literal(1)).select_from(elements).where(self.where(node.node, doc, element)))
        return and_(is_array, found if node.some else not_(found))

    def _number(self, value: int | float) -> Expr:
        return cast(bindparam(None, value), Numeric) if self.pg else bindparam(None, value)

    def _bool(self, value: bool) -> Expr:
        if self.pg:
            return fixed("true" if value else "false")
        return literal(1 if value else 0, Integer)

    def _equal(self, ref: Ref, arg: Operand) -> list[Expr]:
        out: list[Expr] = []
        if arg.number is not None:
            out.append(ref.number == self._number(arg.number))
        if arg.text is not None:
            out.append(ref.text == bindparam(None, arg.text, type_=String))
        if arg.boolean is not None:
            out.append(ref.boolean == self._bool(arg.boolean))
        if arg.null:
            out.append(ref.is_null())
        return out

    def _order(self, ref: Ref, arg: Operand, op: str) -> list[Expr]:
        compare = {"_lt": "__lt__", "_lte": "__le__", "_gt": "__gt__", "_gte": "__ge__"}[op]
        out: list[Expr] = []
        if arg.number is not None:
            out.append(getattr(ref.number, compare)(self._number(arg.number)))
        if arg.text is not None:
            out.append(getattr(ref.text, compare)(bindparam(None, arg.text, type_=String)))
        return out

    def _positive(self, node: Cond, ref: Ref) -> Expr:
        op, arg = node.op, node.arg
        parts: list[Expr]
        if op in ("_eq", "_neq"):
            parts = self._equal(ref, arg)  # type: ignore[arg-type]
        elif op in ("_lt", "_lte", "_gt", "_gte"):
            parts = self._order(ref, arg, op)  # type: ignore[arg-type]
        elif op in ("_in", "_nin"):
            parts = self._in(ref, arg)  # type: ignore[arg-type]
        elif op in ("_between", "_nbetween"):
            assert isinstance(arg, tuple)
            low, high = arg
            parts = []
            if low.number is not None and high.number is not None:
                parts.append(ref.number.between(self._number(low.number), self._number(high.number)))
            if low.text is not None and high.text is not None:
                parts.append(and_(ref.text >= bindparam(None, low.text, type_=String),
                                  ref.text <= bindparam(None, high.text, type_=String)))
        elif op in ("_null", "_nnull", "_empty", "_nempty"):
            test = ref.is_null() if op in ("_null", "_nnull") else self._empty(ref)
            wanted = bool(arg) if op in ("_null", "_empty") else not arg
            return test if wanted else not_(test)
        elif op == "_regex":
            if self.pg:
                return ref.text.op("~")(bindparam(None, arg, type_=String))
            return func.exthost_regexp(bindparam(None, arg, type_=String), ref.text) == literal(1, Integer)
        else:
            parts = [self._text(op, ref, str(arg))]
            if op in ("_contains", "_ncontains"):
                parts.append(self._array_has(ref, operand(str(arg), op)))
        return or_(*parts) if parts else false()

    def _in(self, ref: Ref, args: tuple[Operand, ...]) -> list[Expr]:
        numbers = [a.number for a in args if a.number is not None]
        texts = [a.text for a in args if a.text is not None]
        booleans = {a.boolean for a in args if a.boolean is not None}
        out: list[Expr] = []
        if numbers:
            out.append(ref.number.in_([self._number(n) for n in numbers]))
        if texts:
            out.append(ref.text.in_([bindparam(None, t, type_=String) for t in texts]))
        for value in booleans:
            out.append(ref.boolean == self._bool(value))
        if any(a.null for a in args):
            out.append(ref.is_null())
        return out

    def _empty(self, ref: Ref) -> Expr:
        length = case((ref.is_kind("array"), func.json_array_length(ref.doc)), else_=null())
        empty = or_(
            ref.is_null(),
            ref.text == fixed(""),
            length == literal(0, Integer),
            and_(ref.is_kind("object"), ref.raw_text == fixed("{}")),
        )
        return func.coalesce(empty, false())  # never NULL: negated, it must still be true or false

    def _text(self, op: str, ref: Ref, needle: str) -> Expr:
        base = op.removeprefix("_n") if op in NEGATED else op.removeprefix("_")
        folded = base.startswith("i")
        base = base.removeprefix("i")
        text: Expr = func.lower(ref.text) if folded else ref.text
        if folded:
            needle = fold(needle)
        if not needle:
            return text.is_not(None)
        bound = bindparam(None, needle, type_=String)
        length = func.length(bound)
        if base == "contains":
            return (func.strpos(text, bound) if self.pg else func.instr(text, bound)) > literal(0, Integer)
        if base == "starts_with":
            return (func.left(text, length) if self.pg else func.substr(text, 1, length)) == bound
        return (func.right(text, length) if self.pg else func.substr(text, -length)) == bound

    def _array_has(self, ref: Ref, arg: Operand) -> Expr:
        node = Quantified((), True, Cond((), "_eq", arg))
        return self._quantified(node, ref, ref.doc)  # type: ignore[arg-type]

    # -- search ---------------------------------------------------------------

    def search(self, text: str, doc: Expr) -> Expr:
        name = f"s{next(self._names)}"
        needle = bindparam(None, fold(text), type_=String)
        number = operand(text, "search").number
        if self.pg:
            members = func.json_each(doc).table_valued("key", "value").alias(name)
            value = members.c.value
            element = self._pg_ref(json_typeof(value), value, _scalar_text(value))
        else:
            members = func.json_each(doc).table_valued("value", "type").alias(name)
            kind, raw = members.c.type, members.c.value
            element = self._sqlite_element(kind, raw)
        text_match = (func.strpos if self.pg else func.instr)(func.lower(element.text), needle) > literal(0, Integer)
        condition = or_(text_match, element.number == self._number(number)) if number is not None else text_match
        return exists(select(literal(1)).select_from(members).where(condition))

    def _sqlite_element(self, kind: Expr, raw: Expr) -> Ref:
        """A value from its json_type and its json_extract (or json_each's type and value: an
        object or array is its JSON text in both)."""
        return Ref(
            kind=kind,
            number=case((kind.in_([fixed("integer"), fixed("real")]), raw), else_=null()),
            text=case((kind == fixed("text"), raw), else_=null()),
            boolean=case((kind.in_([fixed("true"), fixed("false")]), raw), else_=null()),
            raw_text=raw,
            doc=case((kind.in_([fixed("object"), fixed("array")]), raw), else_=null()),
            pg=False,
        )

    # -- sort and groups --------------------------------------------------------

    def rank(self, ref: Ref) -> Expr:
        names = _KINDS[self.pg]
        whens: list[tuple[Expr, int]] = [(ref.kind == fixed(names["boolean"]), 0)]
        if not self.pg:
            whens.append((ref.kind == fixed("false"), 0))
            whens.append((ref.kind == fixed("real"), 1))
        whens += [
            (ref.kind == fixed(names["number"]), 1),
            (ref.kind == fixed(names["string"]), 2),
            (ref.kind == fixed("array"), 3),
            (ref.kind == fixed("object"), 3),
        ]
        return case(*[(cond, literal(value, Integer)) for cond, value in whens], else_=literal(4, Integer))

    def order_by(self, query: Query, doc: Expr) -> list[Expr]:
        out: list[Expr] = []
        for spec in query.sort:
            ref = self.ref(doc, spec.path)
            for expr in (self.rank(ref), ref.number, ref.text, ref.boolean):
                out.append(expr.desc() if spec.descending else expr.asc())
        return out

    def group_columns(self, group: GroupBy, doc: Expr) -> list[Expr]:
        """rank, number, text, boolean and JSON text of a group's value (rank and number for a
        date function)."""
        ref = self.ref(doc, group.path)
        if group.function is None:
            other = case((self.rank(ref) == literal(3, Integer), ref.raw_text), else_=null())
            return [self.rank(ref), ref.number, ref.text, ref.boolean, other]
        start, end = DATE_PARTS[group.function]
        if self.pg:
            matches = ref.text.op("~")(fixed("^" + DATE_PREFIX[group.function]))
        else:
            matches = ref.text.op("GLOB")(fixed(_glob(DATE_PREFIX[group.function])))
        digits = func.substr(ref.text, _fixed_int(start + 1), _fixed_int(end - start))
        part = case((matches, cast(digits, Integer)), else_=null())
        rank = case((part.is_(None), literal(4, Integer)), else_=literal(1, Integer))
        return [rank, part]

    def aggregate(self, function: str, name: str, doc: Expr) -> Expr:
        if function == "countAll" or name == "*":
            return func.count()
        ref = self.ref(doc, tuple(name.split(".")))
        if function == "count":
            return func.count(case((not_(ref.is_null()), literal(1, Integer)), else_=null()))
        if function == "countDistinct":
            identity = case(
                (ref.is_kind("number"), fixed("n:") + cast(cast(ref.number, Numeric), String)),
                (ref.is_null(), null()),
                else_=fixed("v:") + ref.kind + fixed(":") + cast(ref.raw_text, String),
            )
            return func.count(identity.distinct())
        number = ref.number
        apply: Any = getattr(func, function.removesuffix("Distinct"))
        result: Expr = apply(number.distinct()) if function.endswith("Distinct") else apply(number)
        return result


def json_typeof(value: Expr) -> Expr:
    return func.json_typeof(value, type_=String)


def _fixed_int(value: int) -> BindParameter[int]:
    return bindparam(None, value, type_=Integer, literal_execute=True)


def _scalar_text(value: Expr) -> Expr:
    """The text of a JSON value (PostgreSQL: `value #>> '{}'`)."""
    return value.op("#>>", return_type=String)(fixed("{}"))


def _pg_text(base: Expr, path: Path) -> Expr:
    value: Expr = base
    for part in path[:-1]:
        value = value.op("->")(fixed(part))
    return value.op("->>", return_type=String)(fixed(path[-1]))


def sqlite_path(path: Path) -> str:
    """A SQLite JSON path: `$."a"."b"` (keys quoted; `check_key` refused quotes and backslashes)."""
    return "$" + "".join(f'."{part}"' for part in path)


def _glob(pattern: str) -> str:
    return (pattern.replace("[0-9]{4}", "[0-9][0-9][0-9][0-9]").replace("[0-9]{2}", "[0-9][0-9]")) + "*"


def group_value(columns: tuple[Any, ...]) -> Any:
    """A group's value from its `group_columns`."""
    rank, number, text, boolean, other = (*columns, None, None, None)[:5]
    if rank == 0:
        return boolean in (1, "true", True)
    if rank == 1:
        return plain_number(number)
    if rank == 2:
        return text
    if rank == 3:
        return json.loads(other) if isinstance(other, str) else other
    return None


def plain_number(value: Any) -> Any:
    """A number the database answered, as JSON has it (an integer if it is one, else a float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value

