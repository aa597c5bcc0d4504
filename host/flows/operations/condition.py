"""`condition`: resolve with null when the data chain meets the `filter` rules, else reject
with Directus's rejection value.

Directus checks the rules with `validatePayload(filter, data, {requireAll: true})` and
throws the list of Joi validation errors. The value a failed condition leaves in the chain
has that shape, one entry per failed rule:

    [{"name": "ValidationError", "message": "\\"$trigger.body.a\\" must be [2]",
      "details": [{"message": ..., "path": ["$trigger", "body", "a"], "type": "any.only",
                   "context": {"valids": [2], "label": "$trigger.body.a", "value": 1, "key": "a"}}]}]

so `{{ check[0].details[0].message }}` (or `{{ check[0].message }}`) reads as it does in
Directus (`name` and `message` are the Joi error's properties, which Directus's run log
shows). Joi's `_original` (a copy of the whole data chain, `$env` included, inside the
chain) is left out. The messages, types and contexts are Joi's for `_eq`, `_neq`, `_in`,
`_nin`, `_null`, `_nnull`, `_empty`, `_nempty`, `_gt`, `_gte`, `_lt`, `_lte`, `_contains`
and a missing field (as a real Directus 11 gives them, tests/flows/test_directus_shapes.py);
other operators fail with type `filter<operator>`.

`requireAll`: every field a rule names must be present in the chain; a missing field fails
its rule whatever the operator (`_null` included), as `"<path>" is required` (`any.required`).
That walk through the rules' fields is done here; whether a present value meets an operator
is decided by the one query engine's evaluator (`host.query`), called on each rule's value,
with the dynamic variables (`$NOW`, `$CURRENT_USER`, ...) of the run's caller.
`_and` fails with every failing rule; `_or` fails only when all its branches fail, with all
their failures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from host.errors import InvalidQuery, OperationFailed
from host.flows.models import FieldError
from host.flows.operations._options import templated
from host.flows.operations.registry import OperationContext, OperationType
from host.query.filter import parse_filter, resolved
from host.query.memory import matches
from host.query.model import DEFAULT_DEPTH
from host.types import Json

Path = list[str]

_ONLY = {"_eq": "any.only", "_in": "any.only", "_null": "any.only", "_empty": "any.only"}
_INVALID = {"_neq": "any.invalid", "_nin": "any.invalid", "_nnull": "any.invalid", "_nempty": "any.invalid"}
_NUMBER = {
    "_gt": ("number.greater", "must be greater than {}"),
    "_gte": ("number.min", "must be greater than or equal to {}"),
    "_lt": ("number.less", "must be less than {}"),
    "_lte": ("number.max", "must be less than or equal to {}"),
}


def _text(value: Json) -> str:
    """A value as Joi prints it in a message (`[2]`, `[null]`, `[y]`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _valids(operator: str, arg: Json) -> list[Json]:
    if operator in ("_null", "_nnull"):
        return [None]
    if operator in ("_empty", "_nempty"):
        return [""]
    if operator in ("_in", "_nin"):
        return arg if isinstance(arg, list) else [arg]
    return [arg]


def _error(detail: dict[str, Json]) -> dict[str, Json]:
    return {"name": "ValidationError", "message": detail["message"], "details": [detail]}


def _required(path: Path) -> dict[str, Json]:
    label = ".".join(path)
    return _error(
        {
            "message": f'"{label}" is required',
            "path": list(path),
            "type": "any.required",
            "context": {"label": label, "key": path[-1]},
        }
    )


def _unmet(path: Path, operator: str, arg: Json, value: Json) -> dict[str, Json]:
    label = ".".join(path)
    context: dict[str, Json] = {"label": label, "value": value, "key": path[-1] if path else None}
    if operator in _ONLY:
        valids = _valids(operator, arg)
        listed = f'[{", ".join(_text(v) for v in valids)}]'
        kind, message = "any.only", f'"{label}" must be {listed if len(valids) == 1 else "one of " + listed}'
        context = {"valids": valids, **context}
    elif operator == "_contains" and isinstance(arg, str):
        kind, message = "string.contains", f'"{label}" must contain [{arg}]'
        context = {"substring": arg, **context}
    elif operator in _INVALID:
        kind, message = "any.invalid", f'"{label}" contains an invalid value'
        context = {"invalids": _valids(operator, arg), **context}
    elif operator in _NUMBER:
        kind, template = _NUMBER[operator]
        message = f'"{label}" {template.format(_text(arg))}'
        context = {"limit": arg, **context}
    else:
        kind, message = f"filter{operator}", f'"{label}" does not meet {operator} {_text(arg)}'
        context = {"arg": arg, **context}
    return _error({"message": message, "path": list(path), "type": kind, "context": context})


def failures(rules: Json, data: Json, path: Path | None = None) -> list[dict[str, Json]]:
    """Directus's rejection value of `rules` over `data`: empty when every rule is met."""
    path = path or []
    failed: list[dict[str, Json]] = []
    for key, arg in rules.items():
        if key == "_and":
            for rule in arg:
                failed += failures(rule, data, path)
        elif key == "_or":
            branches = [failures(rule, data, path) for rule in arg]
            if branches and all(branches):
                failed += [entry for branch in branches for entry in branch]
        elif key.startswith("_"):
            if not _meets(key, arg, data):
                failed.append(_unmet(path, key, arg, data))
        elif not isinstance(data, dict) or key not in data:
            failed.append(_required([*path, key]))
        else:
            failed += failures(arg, data[key], [*path, key])
    return failed


def _meets(operator: str, arg: Json, value: Json) -> bool:
    """Whether a present `value` meets `{operator: arg}` (arguments already resolved)."""
    node = parse_filter({"value": {operator: arg}}, None, datetime.now(UTC), DEFAULT_DEPTH)
    return matches(node, {"value": value})


async def condition(options: dict[str, Any], context: OperationContext) -> Json:
    rules = options.get("filter") or {}
    now = datetime.now(UTC)
    try:  # the query engine reads the rules: one validation, one meaning of every operator
        parse_filter(rules, context.accountability, now, DEFAULT_DEPTH)
    except InvalidQuery as exc:
        raise OperationFailed(f"condition: {exc.message}") from None
    failed = failures(resolved(rules, context.accountability, now), context.data)
    if failed:
        raise OperationFailed(f"condition not met: {failed[0]['message']}", failed)
    return None


def _check(options: dict[str, Any]) -> None:
    rules = options.get("filter")
    if rules is None or templated(rules):  # checked once rendered, when the operation runs
        return
    try:
        parse_filter(rules, None, datetime.now(UTC), DEFAULT_DEPTH)
    except InvalidQuery as exc:
        raise FieldError("options.filter", exc.message.removeprefix("Invalid query. ")) from None


OPERATIONS = [OperationType("condition", condition, check=_check, description="resolve when `filter` matches")]
