"""The data chain's templating and the filter rules of `condition`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from host.errors import InvalidQuery
from host.flows.chain import compile_template, get_path, render
from host.query.filter import parse_filter
from host.query.memory import matches

DATA: dict[str, Any] = {
    "$trigger": {"payload": {"title": "Hi", "tags": ["a", "b"], "n": 3, "obj": {"k": [1, {"deep": True}]}}},
    "$last": None,
    "read_items": [{"id": 4}, {"id": 5}],
    "key with space": 1,
}


def test_paths() -> None:
    assert get_path(DATA, "$trigger.payload.obj.k[1].deep") is True
    assert get_path(DATA, "read_items[0].id") == 4
    assert get_path(DATA, "read_items.1.id") == 5
    assert get_path(DATA, '["key with space"]') == 1
    assert get_path(DATA, "$trigger.missing.x") is None


def test_whole_value_keeps_its_type_and_mixed_text_renders_json() -> None:
    options = {
        "n": "{{ $trigger.payload.n }}",
        "tags": "{{$trigger.payload.tags}}",
        "text": "{{ $trigger.payload.title }} has {{ $trigger.payload.tags }} and {{ $trigger.payload.obj }}",
        "missing": "[{{ nothing.here }}]",
        "nested": [{"id": "{{ read_items[1].id }}"}],
        "raw": 5,
    }
    assert render(options, DATA) == {
        "n": 3,
        "tags": ["a", "b"],
        "text": 'Hi has ["a","b"] and {"k":[1,{"deep":true}]}',
        "missing": "[]",
        "nested": [{"id": 5}],
        "raw": 5,
    }


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"$trigger": {"payload": {"title": {"_eq": "Hi"}}}}, True),
        ({"$trigger": {"payload": {"n": {"_gt": 5}}}}, False),
        ({"$trigger": {"payload": {"n": {"_between": [1, 3]}}}}, True),
        ({"$trigger": {"payload": {"tags": {"_contains": "b"}}}}, True),
        ({"$trigger": {"payload": {"title": {"_in": ["Yo", "Hi"]}}}}, True),
        ({"$trigger": {"payload": {"gone": {"_null": True}}}}, True),
        ({"$trigger": {"payload": {"title": {"_nempty": True}}}}, True),
        ({"_or": [{"$last": {"_nnull": True}}, {"read_items": {"_some": {"id": {"_eq": 5}}}}]}, True),
        ({"_and": [{"$last": {"_null": True}}, {"read_items": {"_none": {"id": {"_eq": 5}}}}]}, False),
        ({"$trigger": {"payload": {"title": {"_regex": "^H"}}}}, True),
        ({"$trigger": {"payload": {"n": {"_eq": "3"}}}}, True),
    ],
)
def test_filter_rules(rules: dict[str, Any], expected: bool) -> None:
    assert matches(parse_filter(rules, None, datetime.now(UTC), 100), DATA) is expected


def test_malformed_filters_are_named() -> None:
    with pytest.raises(InvalidQuery, match="_bogus"):
        parse_filter({"a": {"_bogus": 1}}, None, datetime.now(UTC), 100)
    with pytest.raises(InvalidQuery, match=r"\"_and\" needs a non-empty array"):
        parse_filter({"_and": {"a": 1}}, None, datetime.now(UTC), 100)


def test_a_template_parsed_once_renders_as_render_does_and_builds_afresh() -> None:
    options = {
        "n": "{{ $trigger.payload.n }}",
        "text": "{{ $trigger.payload.title }} has {{ $trigger.payload.tags }} and {{ nothing }}",
        "nested": [{"id": "{{ read_items[1].id }}", "plain": "no template"}],
        "raw": 5,
    }
    template = compile_template(options)
    first, second = template(DATA), template(DATA)
    assert first == second == render(options, DATA)
    assert first == {"n": 3, "text": 'Hi has ["a","b"] and ', "nested": [{"id": 5, "plain": "no template"}], "raw": 5}
    assert first is not second and first["nested"] is not second["nested"]  # a step may change its options
    assert template({"$trigger": {"payload": {"n": 4}}})["n"] == 4  # the data is read at each rendering
