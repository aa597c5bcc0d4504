"""The JavaScript runtime speaks the language published extensions are built in.

`probe/probe.js` runs each feature on its own; the expected values are what Node
(V8 with full ICU) prints for the same probe, except where the sandbox differs on
purpose (`SANDBOX_DIFFERS`, documented in docs/languages.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]
PROBE = (Path(__file__).parent / "probe" / "probe.js").read_text(encoding="utf-8")

EXPECTED: dict[str, Any] = {
    "regex.property-literal": "Añb",
    "regex.property-ctor": "Añbé",
    "regex.property-negated": "Añb__",
    "regex.property-general": "true/false false/false false/true false/true false/false",
    "regex.property-script": "true,false,false",
    "regex.property-script-extensions": True,
    "regex.property-emoji": "true,false",
    "regex.property-binary": "true,true",
    "regex.property-in-class-range": "aБ3",
    "regex.property-case-insensitive": True,
    "regex.property-astral": 2,
    "regex.property-source-flags": "\\p{L}+ gu true true",
    "regex.property-lastindex": 5,
    "regex.property-split": "a|b|c",
    "regex.property-matchAll": "x1@0,y2@3",
    "regex.property-from-regexp": "gu",
    "regex.named-groups": "2024/05",
    "regex.named-backreference": True,
    "regex.named-replace": "05/2024",
    "regex.lookbehind": "42,2",
    "regex.dotall": True,
    "regex.sticky": True,
    "regex.has-indices": "[2,3]",
    "regex.unicode-sets-v": "true,false",
    "string.matchAll": "12",
    "string.replaceAll": "a/b/c",
    "string.at": "c",
    "string.isWellFormed": False,
    "syntax.optional-chaining-nullish": "dflt",
    "syntax.logical-assignment": "1,2,3",
    "syntax.numeric-separators": 1000000,
    "syntax.class-fields-private": "6,true",
    "syntax.async-generators": "function",
    "syntax.bigint": "18446744073709551616",
    "syntax.optional-catch": "caught",
    "syntax.hashbang-module": "checked in tests (a module that starts with #!)",
    "builtin.array-findLast": "3,-1",
    "builtin.array-change-by-copy": "123 213 12 912 312",
    "builtin.array-at-flat": "3,4",
    "builtin.object-hasOwn-fromEntries": 'true,{"k":1}',
    "builtin.object-groupBy": '{"odd":[1,3],"even":[2]}',  # ES2024; Node 20 has not got it
    "builtin.error-cause": "inner",
    "builtin.aggregate-error": 1,
    "builtin.weakref": "object,function",
    "builtin.symbol-weakmap-key": 1,
    "builtin.structuredClone": '{"a":[1,{"b":2}]}',
    "builtin.text-encoding": "5,2",
    "builtin.url": "https://example.com/a?b=1&c=d+e",
    "builtin.base64": "aGk=,hi",
    "builtin.crypto": "true,4",
    "builtin.json-bigint-safe": '{"d":"1970-01-01T00:00:00.000Z"}',
    "builtin.promise-combinators": "fulfilled,rejected,first",
    "builtin.queueMicrotask": True,
    "intl.number-decimal": "1,234,567.891",
    "intl.number-currency": "$1,234.50 -€3.00",
    "intl.number-percent": "12.3%",
    "intl.number-fraction-digits": "3.14 123,000",
    "intl.number-compact": "1.2M",
    "intl.number-unit": "12 km",
    "intl.number-formatToParts": "integer,group,integer,decimal,fraction",
    "intl.toLocaleString-number": "1,234,567.891 $1,234.50",
    "intl.datetime-default": "1/15/2024",
    "intl.datetime-options": "Monday, January 15, 2024",
    "intl.datetime-time": "13:05:09",
    "intl.datetime-styles": "Jan 15, 2024, 1:05 PM",
    "intl.datetime-resolved": "UTC",
    "intl.datetime-formatToParts": "month,literal,day,literal,year",
    "intl.toLocaleString-date": "1/15/2024, 1:05:09 PM | 1/15/2024 | 1:05:09 PM",
    "intl.toLocaleDateString-options": "Jan 15, 2024",
    "intl.collator": "aäbC 0",
    "intl.collator-numeric": "item1,item2,item10",
    "intl.localeCompare": "aäbC -1 0",
    "intl.plural": "other,one,other one,two,few,other,other",
    "intl.relative-time": "yesterday, in 3 hours",
    "intl.list": "a, b, and c",
    "intl.getCanonicalLocales": "en-US",
    "intl.toLocaleUpperCase": "ISTANBUL",
}

SANDBOX_DIFFERS: dict[str, Any] = {
    "string.normalize": {"error": 'TypeError: "e\\u0301".normalize is not a function'},  # no Unicode normalization data
    "intl.number-de": "1,234,567.891",  # every locale formats as en-US
    "intl.supported": "en-US",
    "intl.datetime-timezone": {
        "error": "RangeError: Invalid time zone specified: America/New_York (the exthost sandbox knows only UTC)"
    },
    "intl.segmenter": {"error": "TypeError: Intl.Segmenter is not a constructor"},
    "intl.display-names": {"error": "TypeError: Intl.DisplayNames is not a constructor"},
}


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.support import make_settings, running_host

    tmp = tmp_path_factory.mktemp("language")
    write_extension(tmp / "extensions", "probe", "endpoint", PROBE)
    settings = make_settings(
        tmp,
        tmp / "extensions",
        extensions_sandbox_timeout=30_000,
        extensions_sandbox_wall_timeout=60_000,
        extensions_register_timeout=60_000,
    )
    with running_host(settings) as client:
        response = client.get("/probe/")
        assert response.status_code == 200, response.text
        yield response.json()


def test_every_probe_is_expected() -> None:
    probes = set(EXPECTED) | set(SANDBOX_DIFFERS)
    assert len(probes) == len(EXPECTED) + len(SANDBOX_DIFFERS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_feature_behaves_as_in_node(probed: dict[str, Any], name: str) -> None:
    assert probed[name] == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(SANDBOX_DIFFERS))
def test_documented_sandbox_difference(probed: dict[str, Any], name: str) -> None:
    assert probed[name] == SANDBOX_DIFFERS[name]


def test_probe_covers_everything_it_runs(probed: dict[str, Any]) -> None:
    assert set(probed) == set(EXPECTED) | set(SANDBOX_DIFFERS)


LOADS = """#!/usr/bin/env node
export default (router) => {
  const word = /^[\\p{L}\\p{M}]+$/u;
  router.get('/', () => ({
    status: 200,
    body: {
      literal: ['Zoë', 'x1'].map((s) => word.test(s)),
      shown: String(word),
      evaluated: eval(String.raw`'a1é'.replace(/\\P{L}/gu, '')`),
      compiled: Function('s', String.raw`return s.match(/\\p{Lu}/gu).join('')`)('aBcĐ'),
      invalid: (() => { try { return new RegExp('\\\\p{NoSuchProperty}', 'u'); } catch (e) { return e.name; } })(),
      plain: (() => { try { return new RegExp('\\\\p{L}').test('p{L}'); } catch (e) { return e.name; } })(),
      subclass: (() => { class R extends RegExp {} const r = new R('\\\\p{L}', 'u'); return [r instanceof R, r.test('é')]; })(),
    },
  }));
};
"""


def test_hashbang_and_rewritten_regexes_in_a_module(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "regexes", "endpoint", LOADS)
    with host(extensions_sandbox_timeout=30_000, extensions_register_timeout=60_000) as client:
        assert client.get("/regexes/").json() == {
            "literal": [True, False],
            "shown": "/^[\\p{L}\\p{M}]+$/u",
            "evaluated": "aé",
            "compiled": "BĐ",
            "invalid": "SyntaxError",
            "plain": True,
            "subclass": [True, True],
        }


def test_an_unknown_property_in_a_literal_fails_the_load(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "bad", "endpoint", "export default (r) => { /\\p{Nope}/u; };")
    with host(extensions_register_timeout=60_000) as client:
        from tests.support import ADMIN

        listed = {e["name"]: e for e in client.get("/extensions", headers=ADMIN).json()["data"]}
        assert listed["bad"]["status"] != "ready"
        assert "Nope" in str(listed["bad"])
