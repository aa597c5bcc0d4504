"""Memory: `EXTENSIONS_SANDBOX_MEMORY` bounds everything one instance allocates, all its linear
memories and tables together, for components and Extism plugins alike; oversized artifacts are
refused at load (DESIGN section 9, issue 8 item 3).

The guests are real: hand-written WAT components and Extism modules (tests/security/memory_wat.py)
that report what they obtained, and JS and Python extensions that allocate until they fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from fastapi.testclient import TestClient

from host.capabilities import build_capabilities
from host.errors import ExtensionLoadError
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime, footprint
from host.runtime.component import ComponentInstance, build_linker
from host.runtime.footprint import EXTISM_KERNEL_PAGES, MAX_INSTANCES, MAX_TABLE_ELEMENTS, TABLE_ELEMENT_BYTES
from tests.security.memory_wat import (
    EXTRA_MODULE,
    PAGE,
    Component,
    ExtismModule,
    grow_extra_until_full,
    grow_until_full,
)
from tests.support import ADMIN, make_settings, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]

LIMIT_MB = 16
LIMIT = LIMIT_MB * 1024 * 1024
RUNTIME_LIMIT_MB = 48
"""The JS and Python runtimes start with 10-14 MB of memory of their own."""

HEALTHY = "export default (router) => router.get('/', () => ({ status: 200, body: 'fine' }));"

OK = "(local.set $n (i64.const 1))"
TABLE_HUGE = "(local.set $n (i64.extend_i32_s (i32.add (table.grow $t (ref.null func) (i32.const 10000000)) (i32.const 1))))"
TABLE_FILL = """
  (block $full (loop $more
    (br_if $full (i32.eq (table.grow $t (ref.null func) (i32.const 4096)) (i32.const -1)))
    (br $more)))
  (local.set $n (i64.extend_i32_u (table.size $t)))"""


def error_of(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["errors"][0]
    return error


def listed(client: TestClient) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in client.get("/extensions", headers=ADMIN).json()["data"]}


def assert_host_up(client: TestClient) -> None:
    assert client.get("/server/health").json()["status"] in ("ok", "warn")  # warn: the database answered, slowly
    assert client.get("/healthy").text == "fine"


def write_wasm(root: Path, name: str, wasm: bytes) -> None:
    write_extension(root, name, "endpoint", wasm, filename="index.wasm")


@pytest.fixture
def wasm_host(extensions_dir: Path, host: HostFactory) -> Callable[..., AbstractContextManager[TestClient]]:
    """A host with the healthy JS extension and a 16 MB limit; write guests before entering it."""
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)

    def start(**settings: Any) -> AbstractContextManager[TestClient]:
        return host(**{"extensions_sandbox_memory": LIMIT_MB, **settings})

    return start


def body(client: TestClient, path: str) -> int:
    response = client.get(path)
    assert response.status_code == 200, response.text
    value: int = response.json()
    return value


def assert_out_of_memory(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 500, response.text
    assert error_of(response)["extensions"] == {"code": "EXTENSION_OUT_OF_MEMORY"}
    assert "ran out of memory" in error_of(response)["message"]


# -- components --------------------------------------------------------------


def grow_everything(component: Component) -> str:
    own = "".join(grow_until_full(f"$m{k}") for k in range(component.main_memories))
    return own + "".join(grow_extra_until_full(i) for i in range(component.extras))


def multi_memory(name: str, main_memories: int, extras: int) -> Component:
    component = Component(name, {}, main_memories=main_memories, extras=extras)
    component.routes = {"/grow-all": grow_everything(component), "/ok": OK}
    return component


@pytest.mark.parametrize(
    ("main_memories", "extras"),
    [(2, 0), (1, 3), (2, 3), (1, 40)],
    ids=["two-memories-in-one-module", "a-module-instantiated-three-times", "both", "forty-instances"],
)
def test_component_memories_together_stay_within_the_limit(
    extensions_dir: Path, wasm_host: HostFactory, main_memories: int, extras: int
) -> None:
    write_wasm(extensions_dir, "multi", multi_memory("multi", main_memories, extras).wasm())
    with wasm_host() as client:
        pages = body(client, "/multi/grow-all")
        # every memory grew a page at a time until refused: all of them together, with the table, fit
        assert pages * PAGE + MAX_TABLE_ELEMENTS * TABLE_ELEMENT_BYTES <= LIMIT
        assert pages * PAGE > LIMIT // 2  # they did get the limit, shared
        assert body(client, "/multi/grow-all") == pages  # and nothing more on a later call
        assert_host_up(client)


def test_memory_grown_during_registration_counts_too(extensions_dir: Path, wasm_host: HostFactory) -> None:
    component = multi_memory("early", 2, 2)
    component.register_body = grow_everything(component)
    sizes = "".join(f"(local.set $n (i64.add (local.get $n) (i64.extend_i32_u (memory.size $m{k}))))" for k in (0, 1))
    sizes += "".join(f"(local.set $n (i64.add (local.get $n) (i64.extend_i32_u (call $size{i}))))" for i in (0, 1))
    component.routes["/sizes"] = sizes
    write_wasm(extensions_dir, "early", component.wasm())
    with wasm_host() as client:
        grown_at_load = body(client, "/early/sizes")
        assert grown_at_load * PAGE <= LIMIT
        assert grown_at_load * PAGE > LIMIT // 2
        assert body(client, "/early/grow-all") == grown_at_load  # the limit was already reached
        assert_host_up(client)


def test_component_table_cannot_grow_by_millions(extensions_dir: Path, wasm_host: HostFactory) -> None:
    component = Component("tables", {"/huge": TABLE_HUGE, "/fill": TABLE_FILL, "/ok": OK})
    component.routes["/grow-all"] = grow_everything(component)
    write_wasm(extensions_dir, "tables", component.wasm())
    with wasm_host() as client:
        assert body(client, "/tables/huge") == 0  # table.grow by ten million answered -1
        elements = body(client, "/tables/fill")
        assert elements <= MAX_TABLE_ELEMENTS
        pages = body(client, "/tables/grow-all")
        assert elements * TABLE_ELEMENT_BYTES + pages * PAGE <= LIMIT
        assert_host_up(client)


NESTED = f"""
  (component $Inner
    {EXTRA_MODULE}
    (core instance (instantiate $Extra)))
  (instance (instantiate $Inner))
  (instance (instantiate $Inner))
"""


def test_nested_components_are_counted(extensions_dir: Path, wasm_host: HostFactory) -> None:
    component = Component("nested", {"/ok": OK}, definitions=NESTED)
    wasm = component.wasm()
    found = footprint.component(wasm)
    assert len(found.memories) == 3 and found.instances == 3  # $Main, and $Extra in each $Inner
    write_wasm(extensions_dir, "nested", wasm)
    with wasm_host() as client:
        # loaded: the store admits exactly the memories and instances counted, no more
        assert body(client, "/nested/ok") == 1
        assert listed(client)["nested"]["status"] == "ready"


def test_a_store_admits_no_more_than_was_counted(tmp_path: Path) -> None:
    """The store limits are the counts read at load: had the analysis counted one memory, table or
    instance too few, the instance could not be made (refused at load, never let through)."""
    settings = make_settings(tmp_path, extensions_sandbox_memory=LIMIT_MB)
    runtime = Runtime(settings, SDK_PATH)
    try:
        wasm = multi_memory("counted", 2, 3).wasm()
        budget = footprint.component_budget(footprint.component(wasm), LIMIT)
        assert (budget.memories, budget.tables, budget.instances) == (5, 1, 4)
        assert budget.bound <= LIMIT
        component = runtime.engine.component(wasm)
        linker = build_linker(runtime.engine, build_capabilities("counted", Scopes(), settings))
        ComponentInstance(runtime.engine, component, linker, "counted", budget, 5000)
        for fewer, what in (
            (replace(budget, memories=4), "memory count"),
            (replace(budget, tables=0), "table count"),
            (replace(budget, instances=3), "instance count"),
        ):
            with pytest.raises(ExtensionLoadError, match=f"cannot instantiate the component: .*{what} too high"):
                ComponentInstance(runtime.engine, component, linker, "counted", fewer, 5000)
    finally:
        runtime.close()


IMPORTED_MODULE = f"""
  {EXTRA_MODULE}
  (component $Takes
    (import "m" (core module $M (export "grow" (func (param i32) (result i32))) (export "size" (func (result i32)))))
    (core instance (instantiate $M)))
  (instance (instantiate $Takes (with "m" (core module $Extra))))
"""

FITS = f"cannot run within EXTENSIONS_SANDBOX_MEMORY ({LIMIT_MB} MB): "

REFUSED_COMPONENTS = {
    "huge-initial-memory": (
        Component("bad", {"/ok": OK}, main_fields="(memory $big 2000)"),
        FITS + "it declares a memory of 125.0 MB at start",
    ),
    "huge-initial-table": (
        Component("bad", {"/ok": OK}, main_tables="(table $t 10000000 funcref)"),
        FITS + f"it declares a table of 10000000 elements; a table may hold at most {MAX_TABLE_ELEMENTS}",
    ),
    "too-many-tables": (
        Component("bad", {"/ok": OK}, main_tables=" ".join(f"(table $t{i} 1 funcref)" for i in range(20))),
        FITS + "its 20 tables and 1 memories do not fit in 16.0 MB",
    ),
    "too-many-instances": (
        Component("bad", {"/ok": OK}, extras=MAX_INSTANCES),
        FITS + f"it creates {MAX_INSTANCES + 1} core instances; at most {MAX_INSTANCES} are allowed",
    ),
    "too-many-memories": (
        Component("bad", {"/ok": OK}, main_memories=4, extras=250),
        FITS + "its 1 tables and 254 memories do not fit in 16.0 MB",
    ),
    "a-memory-larger-than-its-share": (
        Component("bad", {"/ok": OK}, main_fields="(memory $big 96)", extras=3),
        FITS + "it declares a memory of 6.0 MB at start; each of its 5 memories may use at most 3.0 MB of the 16.0 MB limit",
    ),
    "instantiates-a-module-it-was-given": (
        Component("bad", {"/ok": OK}, definitions=IMPORTED_MODULE),
        "cannot be analysed: it instantiates a core module that is imported, whose memory cannot be accounted for",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED_COMPONENTS))
def test_component_that_cannot_fit_is_refused_at_load(extensions_dir: Path, wasm_host: HostFactory, case: str) -> None:
    component, reason = REFUSED_COMPONENTS[case]
    write_wasm(extensions_dir, "bad", component.wasm())
    with wasm_host() as client:
        entry = listed(client)["bad"]
        assert entry["status"] != "ready"
        assert entry["error"].startswith(f"index.wasm {reason}")
        assert client.get("/bad/ok").status_code == 404  # nothing of it is served
        assert_host_up(client)


def test_guest_resource_handles_are_capped(extensions_dir: Path, wasm_host: HostFactory) -> None:
    """Handles of resources a component defines live in the host; wasmtime caps them per store."""
    loop = """
      (loop $more
        (drop (call $new (i32.const 7)))
        (local.set $n (i64.add (local.get $n) (i64.const 1)))
        (br_if $more (i64.lt_u (local.get $n) (i64.const 10000000))))"""
    component = Component(
        "handles",
        {"/new": loop, "/ok": OK},
        main_imports='(import "r" "new" (func $new (param i32) (result i32)))',
        definitions="""
          (type $R (resource (rep i32)))
          (core func $resource-new (canon resource.new $R))
          (core instance $resources (export "new" (func $resource-new)))""",
        main_args=['(with "r" (instance $resources))'],
    )
    write_wasm(extensions_dir, "handles", component.wasm())
    with wasm_host() as client:
        response = client.get("/handles/new")
        assert response.status_code == 500
        assert error_of(response)["extensions"] == {"code": "EXTENSION_FAILED"}
        assert "handle limit exceeded" in error_of(response)["message"]
        assert body(client, "/handles/ok") == 1  # a fresh instance
        assert_host_up(client)


# -- Extism plugins -----------------------------------------------------------------

# With a 16 MB limit (256 pages) Extism may grow a plugin's memories by 256 - 16 (its kernel)
# - what the module declares at start, all memories together.


def grow(memory: str, pages: int) -> str:
    return f"""
      (local.set $r (memory.grow {memory} (i32.const {pages})))
      (if (i32.eq (local.get $r) (i32.const -1)) (then unreachable))
      (local.set $n (i64.extend_i32_u (memory.size {memory})))"""


def test_extism_memories_share_one_limit(extensions_dir: Path, wasm_host: HostFactory) -> None:
    plugin = ExtismModule(
        {"/ok": OK, "/grow-a": grow("$m0", 150), "/grow-both": grow("$m0", 150) + grow("$m1", 150)},
        memories="(memory $m0 1) (memory $m1 1)",
    )
    assert 150 < (LIMIT // PAGE - EXTISM_KERNEL_PAGES - 2) < 300
    write_wasm(extensions_dir, "twomem", plugin.wasm())
    with wasm_host() as client:
        assert body(client, "/twomem/grow-a") == 151
        assert_out_of_memory(client, "/twomem/grow-both")
        assert body(client, "/twomem/ok") == 1  # the instance was replaced
        assert_host_up(client)


def test_extism_initial_memory_counts_against_the_limit(extensions_dir: Path, wasm_host: HostFactory) -> None:
    """Extism forgets what instantiation allocated; the host takes it off the growth it allows."""
    plugin = ExtismModule({"/grow-100": grow("$m0", 100), "/grow-150": grow("$m0", 150), "/ok": OK},
                          memories="(memory $m0 100)")
    write_wasm(extensions_dir, "bigstart", plugin.wasm())
    with wasm_host() as client:
        # 100 pages at start + 150 more + the kernel's 16 would be 266 pages: more than 256
        assert_out_of_memory(client, "/bigstart/grow-150")
        assert body(client, "/bigstart/grow-100") == 200
        assert_host_up(client)


def test_extism_kernel_allocations_count_too(extensions_dir: Path, wasm_host: HostFactory) -> None:
    """`alloc` grows the memory of Extism's kernel: the same limit."""
    bomb = """
      (loop $more
        (drop (call $alloc (i64.const 1048576)))
        (local.set $n (i64.add (local.get $n) (i64.const 1)))
        (br $more))"""
    write_wasm(extensions_dir, "allocs", ExtismModule({"/bomb": bomb, "/ok": OK}).wasm())
    with wasm_host() as client:
        assert_out_of_memory(client, "/allocs/bomb")
        assert body(client, "/allocs/ok") == 1
        assert_host_up(client)


def test_extism_table_cannot_grow_past_its_maximum(extensions_dir: Path, wasm_host: HostFactory) -> None:
    plugin = ExtismModule({"/huge": TABLE_HUGE, "/fill": TABLE_FILL}, fields="(table $t 1 1000 funcref)")
    write_wasm(extensions_dir, "table", plugin.wasm())
    with wasm_host() as client:
        assert body(client, "/table/huge") == 0
        assert body(client, "/table/fill") == 1  # 4097 > 1000: refused too
        assert_host_up(client)


# a well-formed var_set("k", "v"): it would succeed with vars enabled
VAR_SET = """
  (call $var_set
    (call $one_byte (i32.const 107))
    (call $one_byte (i32.const 118)))
  (local.set $n (i64.const 2))"""
ONE_BYTE = """
  (func $one_byte (param $byte i32) (result i64)
    (local $block i64)
    (local.set $block (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $block) (local.get $byte))
    (local.get $block))"""


def test_extism_vars_are_disabled(extensions_dir: Path, wasm_host: HostFactory) -> None:
    """Extism keeps vars in host memory, outside the plugin's memories: not part of the ABI, refused."""
    plugin = ExtismModule(
        {"/var": VAR_SET, "/ok": OK},
        imports='(import "extism:host/env" "var_set" (func $var_set (param i64 i64)))',
        fields=ONE_BYTE,
    )
    write_wasm(extensions_dir, "vars", plugin.wasm())
    with wasm_host() as client:
        response = client.get("/vars/var")
        assert response.status_code == 500
        assert error_of(response)["extensions"] == {"code": "EXTENSION_FAILED"}
        assert body(client, "/vars/ok") == 1
        assert_host_up(client)


REFUSED_PLUGINS = {
    "table-without-maximum": (
        ExtismModule({"/ok": OK}, fields="(table $t 1 funcref)"),
        FITS + "it declares a table without a maximum size",
    ),
    "table-maximum-above-the-cap": (
        ExtismModule({"/ok": OK}, fields="(table $t 1 10000000 funcref)"),
        FITS + f"it declares a table of up to 10000000 elements; a table may hold at most {MAX_TABLE_ELEMENTS}",
    ),
    "huge-initial-memory": (
        ExtismModule({"/ok": OK}, memories="(memory $m0 2000)"),
        FITS + "it declares 125.0 MB of memory at start",
    ),
    "more-than-half-at-start": (
        ExtismModule({"/ok": OK}, memories="(memory $m0 60) (memory $m1 70)"),
        FITS + "it declares 8.1 MB of memory at start",
    ),
    "shared-memory": (
        ExtismModule({"/ok": OK}, memories="(memory $m0 1 2 shared)"),
        FITS + "it declares a shared memory",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED_PLUGINS))
def test_extism_plugin_that_cannot_fit_is_refused_at_load(
    extensions_dir: Path, wasm_host: HostFactory, case: str
) -> None:
    plugin, reason = REFUSED_PLUGINS[case]
    write_wasm(extensions_dir, "bad", plugin.wasm())
    with wasm_host() as client:
        entry = listed(client)["bad"]
        assert entry["status"] != "ready"
        assert entry["error"].startswith(f"index.wasm {reason}")
        assert client.get("/bad/ok").status_code == 404
        assert_host_up(client)


# -- JS and Python extensions ----------------------------------------------------------

JS_BOMBS = {
    "array-buffers": "const keep = []; while (true) keep.push(new ArrayBuffer(1 << 20));",
    "arrays": "const keep = []; while (true) keep.push(new Array(1 << 16).fill(1.5));",
    "map": "const m = new Map(); let i = 0; while (true) m.set(i, i++);",
    "string-doubling": "let s = 'x'; while (true) s = s + s + '.'; return s.length;",
    "one-huge-typed-array": "return new Float64Array(1 << 27).length;",
    "after-await": "await null; const keep = []; while (true) keep.push(new ArrayBuffer(1 << 20));",
}
JS_HEAP_BOMBS = {
    "small-objects": "const keep = []; while (true) keep.push({ i: keep.length, s: String(keep.length).repeat(50) });",
    "small-strings": "const keep = []; let i = 0; while (true) keep.push('x'.repeat(1000) + (i++));",
}
"""Bombs that exhaust SpiderMonkey's garbage-collected heap with small cells: SpiderMonkey may then
abort inside its collector instead of reporting the failure (a trap the host cannot tell apart from
another abort)."""


@pytest.fixture
def js_bombs(extensions_dir: Path, host: HostFactory) -> Iterator[TestClient]:
    routes = "\n".join(
        f"router.get('/{name}', async () => {{ {code} }});" for name, code in {**JS_BOMBS, **JS_HEAP_BOMBS}.items()
    )
    source = f"""
export default (router) => {{
  let calls = 0;
  {routes}
  router.get('/ok', () => ({{ status: 200, body: ++calls }}));
}};
"""
    write_extension(extensions_dir, "jsbomb", "endpoint", source)
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
    with host(extensions_sandbox_memory=RUNTIME_LIMIT_MB, extensions_sandbox_pool_size=1,
              extensions_quarantine_after=100) as client:
        yield client


@pytest.mark.parametrize("bomb", list(JS_BOMBS))
def test_js_memory_bomb_is_out_of_memory_then_recovers(js_bombs: TestClient, bomb: str) -> None:
    assert body(js_bombs, "/jsbomb/ok") == 1
    assert_out_of_memory(js_bombs, f"/jsbomb/{bomb}")
    assert body(js_bombs, "/jsbomb/ok") == 1  # a fresh instance: the poisoned one was dropped
    assert_host_up(js_bombs)


@pytest.mark.parametrize("bomb", list(JS_HEAP_BOMBS))
def test_js_heap_bomb_is_a_fault_then_recovers(js_bombs: TestClient, bomb: str) -> None:
    assert body(js_bombs, "/jsbomb/ok") == 1
    response = js_bombs.get(f"/jsbomb/{bomb}")
    assert response.status_code == 500
    error = error_of(response)
    if error["extensions"]["code"] != "EXTENSION_OUT_OF_MEMORY":
        assert error["extensions"] == {"code": "EXTENSION_FAILED"}
        assert error["message"] == 'Extension "jsbomb" crashed: wasm trap: wasm `unreachable` instruction executed'
    assert body(js_bombs, "/jsbomb/ok") == 1
    assert_host_up(js_bombs)


PY_BOMBS = {
    "bytearray": "return bytearray(1 << 30)",
    "list": "keep = []\n    while True:\n        keep.append('x' * 4096)",
    "doubling": "s = b'x'\n    while True:\n        s = s + s",
}


def test_python_memory_bombs_are_out_of_memory_then_recover(extensions_dir: Path, host: HostFactory) -> None:
    handlers = "\n".join(
        f"@router.get('/{name}')\ndef bomb_{name}(req):\n    {code}\n" for name, code in PY_BOMBS.items()
    )
    source = f"""
from directus_api import endpoint

router = endpoint()
calls = 0

{handlers}

@router.get('/ok')
def ok(req):
    global calls
    calls += 1
    return {{"status": 200, "body": calls}}
"""
    write_extension(extensions_dir, "pybomb", "endpoint", source, filename="index.py")
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
    with host(extensions_sandbox_memory=RUNTIME_LIMIT_MB, extensions_sandbox_pool_size=1,
              extensions_quarantine_after=100) as client:
        for name in PY_BOMBS:
            assert body(client, "/pybomb/ok") >= 1
            assert_out_of_memory(client, f"/pybomb/{name}")
            assert body(client, "/pybomb/ok") == 1
            assert_host_up(client)


def test_allocating_past_the_limit_while_registering_is_refused(extensions_dir: Path, host: HostFactory) -> None:
    source = """
const keep = [];
while (true) keep.push(new ArrayBuffer(1 << 20));
export default (router) => router.get('/', () => ({ status: 200, body: 'never' }));
"""
    write_extension(extensions_dir, "loadbomb", "endpoint", source)
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
    with host(extensions_sandbox_memory=RUNTIME_LIMIT_MB) as client:
        entry = listed(client)["loadbomb"]
        assert entry["status"] != "ready"
        assert "out of memory" in entry["error"]
        assert client.get("/loadbomb").status_code == 404
        assert_host_up(client)


def test_a_runtime_that_cannot_fit_the_limit_is_refused(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
    with host(extensions_sandbox_memory=8) as client:  # the JS runtime starts with about 12 MB
        entry = listed(client)["healthy"]
        assert "the js runtime cannot run within EXTENSIONS_SANDBOX_MEMORY (8 MB)" in entry["error"]
        declared = re.search(r"declares a memory of ([0-9.]+) MB at start", entry["error"])
        assert declared is not None and float(declared.group(1)) > 8, entry["error"]
        assert client.get("/server/health").status_code == 200


# -- artifact size -------------------------------------------------------------------


def padded_component(size: int) -> bytes:
    """The healthy-enough WAT component, padded with a custom section to exactly `size` bytes."""
    wasm = Component("sized", {"/ok": OK}).wasm()
    name = b"\x03pad"
    room = size - len(wasm) - 1  # section id
    for width in range(1, 6):
        payload = room - width
        encoded = _uleb(payload)
        if len(encoded) == width:
            return wasm + b"\x00" + encoded + name + b"\0" * (payload - len(name))
    raise AssertionError(size)


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def padded_js(size: int) -> str:
    code = "export default (router) => router.get('/ok', () => ({ status: 200, body: 1 }));\n//"
    return code + "x" * (size - len(code))


def padded_py(size: int) -> str:
    code = (
        "from directus_api import endpoint\nrouter = endpoint()\n\n"
        "@router.get('/ok')\ndef ok(req):\n    return {'status': 200, 'body': 1}\n#"
    )
    return code + "x" * (size - len(code))


SOURCE_CAP = 64 * 1024
WASM_CAP = 256 * 1024


@pytest.mark.parametrize(
    ("filename", "make", "setting", "cap"),
    [
        ("index.js", padded_js, "EXTENSIONS_MAX_SOURCE_BYTES", SOURCE_CAP),
        ("index.py", padded_py, "EXTENSIONS_MAX_SOURCE_BYTES", SOURCE_CAP),
        ("index.wasm", padded_component, "EXTENSIONS_MAX_WASM_BYTES", WASM_CAP),
    ],
    ids=["js", "python", "component"],
)
def test_an_artifact_above_the_size_cap_is_refused_at_load(
    extensions_dir: Path, host: HostFactory, filename: str, make: Callable[[int], str | bytes], setting: str, cap: int
) -> None:
    write_extension(extensions_dir, "atcap", "endpoint", make(cap), filename=filename)
    write_extension(extensions_dir, "abovecap", "endpoint", make(cap + 1), filename=filename)
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
    settings = {"extensions_max_source_bytes": SOURCE_CAP, "extensions_max_wasm_bytes": WASM_CAP}
    with host(extensions_sandbox_memory=RUNTIME_LIMIT_MB, **settings) as client:
        extensions = listed(client)
        assert extensions["atcap"]["status"] == "ready"
        assert body(client, "/atcap/ok") == 1
        assert extensions["abovecap"]["status"] != "ready"
        assert extensions["abovecap"]["error"] == (
            f"{filename} is {cap + 1} bytes, larger than the {cap} bytes {setting} allows"
        )
        assert client.get("/abovecap/ok").status_code == 404
        assert_host_up(client)


def test_an_extism_plugin_above_the_size_cap_is_refused_at_load(extensions_dir: Path, host: HostFactory) -> None:
    wasm = ExtismModule({"/ok": OK}).wasm()
    padding = b"\x00" + _uleb(WASM_CAP) + b"\x03pad" + b"\0" * (WASM_CAP - 4)
    write_extension(extensions_dir, "bigplugin", "endpoint", wasm + padding, filename="index.wasm")
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
    with host(extensions_max_wasm_bytes=WASM_CAP) as client:
        error = listed(client)["bigplugin"]["error"]
        assert error == (
            f"index.wasm is {len(wasm + padding)} bytes, larger than the {WASM_CAP} bytes "
            "EXTENSIONS_MAX_WASM_BYTES allows"
        )
        assert_host_up(client)


# -- what a call returns ------------------------------------------------------------------


def empty_objects_module(counts: dict[str, int]) -> bytes:
    """An Extism module whose route `/<name>` answers `[{},{},...,0]` with `counts[name]` empty
    objects (a multiple of 8), written straight into its output: 3 bytes of output per object."""
    routes = [{"method": "GET", "path": f"/{name}", "handler": index} for index, name in enumerate(counts)]
    register = json.dumps({"id": "amplifier", "routes": routes}).encode()
    head, pattern, tail = b'{"done":{"status":200,"body":[', b"{}," * 8, b"0]}}"

    def data(text: bytes) -> str:
        return "".join(f"\\{byte:02x}" for byte in text)

    branches = "\n".join(
        f"(if (i32.eq (local.get $n) (i32.const {index})) (then (local.set $count (i32.const {count // 8}))))"
        for index, count in enumerate(counts.values())
    )
    return bytes(wasmtime.wat2wasm(f"""
    (module
      (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
      (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
      (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
      (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
      (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
      (memory 1)
      (data (i32.const 0) "{data(head)}")
      (data (i32.const 256) "{data(pattern)}")
      (data (i32.const 512) "{data(tail)}")
      (data (i32.const 1024) "{data(register)}")
      (func $bytes (param $out i64) (param $from i32) (param $length i32)
        (local $i i32)
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $length)))
          (call $store_u8 (i64.add (local.get $out) (i64.extend_i32_u (local.get $i)))
                          (i32.load8_u (i32.add (local.get $from) (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next))))
      (func (export "register") (result i32) (local $out i64)
        (local.set $out (call $alloc (i64.const {len(register)})))
        (call $bytes (local.get $out) (i32.const 1024) (i32.const {len(register)}))
        (call $output_set (local.get $out) (i64.const {len(register)}))
        (i32.const 0))
      ;; the input is {{"handler":N,...}}: N is the byte at offset 11
      (func (export "invoke") (result i32)
        (local $n i32) (local $count i32) (local $k i32) (local $at i64) (local $out i64) (local $length i64)
        (local.set $n (i32.sub (call $input_load_u8 (i64.const 11)) (i32.const 48)))
        {branches}
        (local.set $length (i64.add (i64.const {len(head) + len(tail)}) (i64.mul (i64.extend_i32_u (local.get $count)) (i64.const 24))))
        (local.set $out (call $alloc (local.get $length)))
        (call $bytes (local.get $out) (i32.const 0) (i32.const {len(head)}))
        (local.set $at (i64.add (local.get $out) (i64.const {len(head)})))
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
          (call $store_u64 (local.get $at) (i64.load (i32.const 256)))
          (call $store_u64 (i64.add (local.get $at) (i64.const 8)) (i64.load (i32.const 264)))
          (call $store_u64 (i64.add (local.get $at) (i64.const 16)) (i64.load (i32.const 272)))
          (local.set $at (i64.add (local.get $at) (i64.const 24)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $next)))
        (call $bytes (local.get $at) (i32.const 512) (i32.const {len(tail)}))
        (call $output_set (local.get $out) (local.get $length))
        (i32.const 0)))
    """))


def test_what_a_call_returns_takes_no_more_host_memory_than_the_instance_may(
    extensions_dir: Path, wasm_host: HostFactory
) -> None:
    """Decoded, JSON takes up to 25 times its length in the host: 6 MB of `{},` (2 million empty
    objects, well within a 16 MB instance) used to become some 150 MB of host memory per call, and
    a 100 MB instance could make the host hold gigabytes. Refused by what it would decode to, a 400
    naming the extension and the setting; not a fault, the instance is kept."""
    write_wasm(extensions_dir, "amplifier", empty_objects_module({"few": 1000, "many": 2_000_000}))
    with wasm_host() as client:
        few = client.get("/amplifier/few")
        assert few.status_code == 200 and few.json() == [{}] * 1000 + [0]
        for _ in range(6):  # more than EXTENSIONS_QUARANTINE_AFTER
            refused = client.get("/amplifier/many")
            assert refused.status_code == 400, refused.text[:200]
            error = error_of(refused)
            assert error["extensions"] == {"code": "INVALID_PAYLOAD"}
            assert error["message"].startswith('Extension "amplifier" returned output that would take about ')
            assert error["message"].endswith(f"more than the {LIMIT_MB}.0 MB allowed (EXTENSIONS_SANDBOX_MEMORY)")
        assert listed(client)["amplifier"]["status"] == "ready"
        assert client.get("/amplifier/few").status_code == 200
        assert_host_up(client)
