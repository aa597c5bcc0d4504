"""The `options` each trigger takes, checked when a flow is saved (errors name
`options.<name>`), with Directus's names and defaults."""

from __future__ import annotations

from typing import Any

from croniter import croniter

from host.flows.models import FieldError, Trigger

ITEM_SCOPES = ("items.create", "items.update", "items.delete")


def _bool(options: dict[str, Any], name: str) -> None:
    value = options.get(name)
    if value is not None and not isinstance(value, bool):
        raise FieldError(f"options.{name}", f"must be true or false (got {value!r})")


def _strings(options: dict[str, Any], name: str, *, required: bool) -> list[str]:
    value = options.get(name)
    if value is None or value == []:
        if required:
            raise FieldError(f"options.{name}", "is required")
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
        raise FieldError(f"options.{name}", "must be a list of names")
    return items


def _return(options: dict[str, Any]) -> None:
    value = options.get("return")
    if value is not None and not isinstance(value, str):
        raise FieldError("options.return", 'must be "$all", "$last" or an operation key')


def valid_cron(expression: str) -> bool:
    fields = expression.split()
    return len(fields) in (5, 6) and croniter.is_valid(expression, second_at_beginning=True)


def check_trigger_options(trigger: Trigger, raw: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(raw or {})
    if trigger is Trigger.event:
        kind = options.get("type")
        if kind not in ("filter", "action"):
            raise FieldError("options.type", f'must be "filter" or "action" (got {kind!r})')
        for scope in _strings(options, "scope", required=True):
            if scope not in ITEM_SCOPES:
                raise FieldError("options.scope", f'unknown event "{scope}": this host emits {", ".join(ITEM_SCOPES)}')
        _strings(options, "collections", required=True)
        _return(options)
    elif trigger is Trigger.webhook:
        method = options.get("method", "GET")
        if method not in ("GET", "POST"):
            raise FieldError("options.method", f'must be "GET" or "POST" (got {method!r})')
        _bool(options, "async")
        _bool(options, "cache")
        _return(options)
    elif trigger is Trigger.schedule:
        cron = options.get("cron")
        if not isinstance(cron, str) or not valid_cron(cron):
            raise FieldError(
                "options.cron", f"must be a cron expression with seconds, such as '0 */15 * * * *' (got {cron!r})"
            )
    elif trigger is Trigger.operation:
        _return(options)
    elif trigger is Trigger.manual:
        _strings(options, "collections", required=False)  # checked when triggered, as Directus does
        for name in ("async", "requireSelection", "requireConfirmation"):
            _bool(options, name)
        location = options.get("location")
        if location is not None and location not in ("item", "collection", "both"):
            raise FieldError("options.location", 'must be "item", "collection" or "both"')
        fields = options.get("fields")
        if fields is not None and (
            not isinstance(fields, list) or not all(isinstance(f, dict) and f.get("field") for f in fields)
        ):
            raise FieldError("options.fields", 'must be a list of fields such as {"field": "name", ...}')
    return options
