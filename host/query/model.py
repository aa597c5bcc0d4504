"""The Directus query: `fields`, `alias`, `filter`, `search`, `sort`, `limit`, `offset`,
`page`, `meta`, `aggregate`, `groupBy`, `deep`, validated once into a `Query`.

A query travels as JSON (the payload of the `items.query` filter event), so
`Query.from_json` checks whatever a hook returned as strictly as what a client sent;
`Query.to_json` is its normalized form (dynamic variables already replaced).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from host.errors import InvalidQuery
from host.numbers import query_integer
from host.query.filter import Node, Path, check_key, parse_filter, resolved
from host.query.values import MAX_TEXT
from host.types import Accountability, Json

META_VALUES = ("total_count", "filter_count")
AGGREGATES = ("count", "countDistinct", "countAll", "sum", "sumDistinct", "avg", "avgDistinct", "min", "max")
DATE_FUNCTIONS = ("year", "month", "day", "hour", "minute", "second")
DEFAULT_DEPTH = 100
KNOWN = {"fields", "alias", "filter", "search", "sort", "limit", "offset", "page", "meta", "aggregate",
         "groupBy", "deep"}
MAX_NAMES = 200


@dataclass(frozen=True)
class Sort:
    path: Path
    descending: bool


@dataclass(frozen=True)
class GroupBy:
    """A `groupBy` entry: a field path, or a date function of one (`year(date_created)`, answered
    as `date_created_year`, Directus's name)."""

    @property
    def key(self) -> str:
        return f"{'.'.join(self.path)}_{self.function}" if self.function else self.name

    name: str
    path: Path
    function: str | None = None


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...] = ("*",)
    alias: dict[str, str] = field(default_factory=dict)
    filter: Node | None = None
    filter_json: dict[str, Any] | None = None
    search: str | None = None
    sort: tuple[Sort, ...] = ()
    limit: int = 100
    """-1 means every item."""
    offset: int = 0
    meta: tuple[str, ...] = ()
    aggregate: tuple[tuple[str, str], ...] = ()
    """(function, field) pairs; field `*` for `count`/`countAll`."""
    group_by: tuple[GroupBy, ...] = ()
    deep: dict[str, Any] = field(default_factory=dict)

    @property
    def is_aggregate(self) -> bool:
        return bool(self.aggregate or self.group_by)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fields": list(self.fields),
            "filter": self.filter_json,
            "sort": [("-" if s.descending else "") + ".".join(s.path) for s in self.sort],
            "limit": self.limit,
            "offset": self.offset,
            "meta": list(self.meta),
        }
        if self.search is not None:
            out["search"] = self.search
        if self.alias:
            out["alias"] = dict(self.alias)
        if self.aggregate:
            grouped: dict[str, list[str]] = {}
            for function, name in self.aggregate:
                grouped.setdefault(function, []).append(name)
            out["aggregate"] = grouped
        if self.group_by:
            out["groupBy"] = [g.name for g in self.group_by]
        if self.deep:
            out["deep"] = self.deep
        return out

    @classmethod
    def from_json(
        cls,
        value: Json,
        who: Accountability | None = None,
        *,
        max_depth: int = DEFAULT_DEPTH,
        now: datetime | None = None,
    ) -> Query:
        if not isinstance(value, dict):
            raise InvalidQuery("Invalid query. A query must be an object")
        unknown = set(value) - KNOWN
        if unknown:
            raise InvalidQuery(f"Invalid query. Unknown query parameter(s): {', '.join(sorted(unknown))}")
        moment = now or datetime.now(UTC)
        fields = tuple(names(value.get("fields") or ["*"], "fields"))
        for name in fields:
            if name not in ("*", "*.*"):
                path_of(name.removesuffix(".*"), "fields", max_depth)
        alias = _alias(value.get("alias"), max_depth)
        raw_filter = value.get("filter")
        node: Node | None = None
        filter_json: dict[str, Any] | None = None
        if raw_filter is not None and raw_filter != {}:
            node = parse_filter(raw_filter, who, moment, max_depth)
            filter_json = resolved(raw_filter, who, moment)
        search = value.get("search")
        if search is not None and not isinstance(search, str | int | float):
            raise InvalidQuery('Invalid query. "search" must be a string')
        search_text = None if search is None or search == "" else str(search)
        if search_text is not None and len(search_text) > MAX_TEXT:
            raise InvalidQuery(f'Invalid query. "search" is longer than {MAX_TEXT} characters')
        sort = tuple(
            Sort(path_of(name.removeprefix("-"), "sort", max_depth), name.startswith("-"))
            for name in names(value.get("sort") or [], "sort")
        )
        limit = query_integer(value.get("limit", 100), "limit", minimum=-1)
        offset = query_integer(value.get("offset", 0), "offset", minimum=0)
        page = value.get("page")
        if page is not None and "offset" not in value:
            number = query_integer(page, "page", minimum=1)
            if limit >= 0:
                offset = query_integer((number - 1) * limit, "offset", minimum=0)
        meta = tuple(names(value.get("meta") or [], "meta"))
        if "*" in meta:
            meta = META_VALUES
        for name in meta:
            if name not in META_VALUES:
                raise InvalidQuery(f'Invalid query. Unknown meta "{name}": use {", ".join(META_VALUES)} or *')
        aggregate = _aggregate(value.get("aggregate"), max_depth)
        group_by = tuple(_group(name, max_depth) for name in names(value.get("groupBy") or [], "groupBy"))
        deep = _deep(value.get("deep"), max_depth)
        return cls(fields, alias, node, filter_json, search_text, sort, limit, offset, meta, aggregate, group_by, deep)


def names(value: Json, what: str) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidQuery(f'Invalid query. "{what}" must be a comma-separated string or a list of strings')
    found = [v.strip() for v in value if v.strip()]
    if len(found) > MAX_NAMES:
        raise InvalidQuery(f'Invalid query. "{what}" lists more than {MAX_NAMES} names')
    return found


def path_of(name: str, what: str, max_depth: int = DEFAULT_DEPTH) -> Path:
    parts = tuple(name.split("."))
    if not name or not all(parts):
        raise InvalidQuery(f'Invalid query. Invalid field "{name[:80]}" in "{what}"')
    if len(parts) > max_depth:
        raise InvalidQuery(f'Invalid query. "{what}": the path "{name[:40]}..." is nested deeper than MAX_JSON_DEPTH '
                           f'({max_depth} levels)')
    for part in parts:
        check_key(part, what)
    return parts


def _alias(value: Json, max_depth: int) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidQuery('Invalid query. "alias" must be an object of {"<alias>": "<field>"}')
    for key, target in value.items():
        check_key(key, "alias")
        if "." in key:
            raise InvalidQuery(f'Invalid query. The alias "{key[:40]}" may not hold a "."')
        path_of(target, "alias", max_depth)
    return dict(value)


def _aggregate(value: Json, max_depth: int) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise InvalidQuery('Invalid query. "aggregate" must be an object such as {"count": "*"}')
    pairs: list[tuple[str, str]] = []
    for function, targets in value.items():
        if function not in AGGREGATES:
            raise InvalidQuery(f'Invalid query. Unknown aggregate function "{function}" '
                               f'(supported: {", ".join(AGGREGATES)})')
        for name in names(targets, f"aggregate[{function}]"):
            if name == "*":
                if function not in ("count", "countAll"):
                    raise InvalidQuery(f'Invalid query. "aggregate[{function}]" needs a field, not "*"')
            else:
                path_of(name, f"aggregate[{function}]", max_depth)
            pairs.append((function, name))
    return tuple(pairs)


def _group(name: str, max_depth: int) -> GroupBy:
    if name.endswith(")") and "(" in name:
        function, _, inner = name[:-1].partition("(")
        if function not in DATE_FUNCTIONS:
            raise InvalidQuery(f'Invalid query. Unknown function "{function[:40]}" in "groupBy" '
                               f'(supported: {", ".join(DATE_FUNCTIONS)})')
        return GroupBy(name, path_of(inner, "groupBy", max_depth), function)
    return GroupBy(name, path_of(name, "groupBy", max_depth))


DEEP_KEYS = {"_filter", "_sort", "_limit", "_offset", "_search"}


def _deep(value: Json, max_depth: int, depth: int = 0) -> dict[str, Any]:
    """`deep`: per nested array field, `{_filter, _sort, _limit, _offset, _search}`, and deeper fields."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidQuery('Invalid query. "deep" must be an object such as {"<field>": {"_limit": 1}}')
    if depth > max_depth:
        raise InvalidQuery(f'Invalid query. "deep" is nested deeper than MAX_JSON_DEPTH ({max_depth} levels)')
    out: dict[str, Any] = {}
    for key, sub in value.items():
        if key.startswith("_"):
            if depth == 0 or key not in DEEP_KEYS:
                raise InvalidQuery(f'Invalid query. Unknown "deep" parameter "{key[:40]}" '
                                   f'(supported: {", ".join(sorted(DEEP_KEYS))})')
            out[key] = sub
            continue
        check_key(key, "deep")
        out[key] = _deep(sub, max_depth, depth + 1)
    if depth:
        nested = {k[1:]: v for k, v in out.items() if k.startswith("_")}
        renamed = {"_filter": "filter", "_sort": "sort", "_limit": "limit", "_offset": "offset", "_search": "search"}
        Query.from_json({renamed["_" + k]: v for k, v in nested.items()}, max_depth=max_depth)  # validates
    return out
