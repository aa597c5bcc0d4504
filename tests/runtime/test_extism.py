"""The Extism driver: core-module plugins built from C and Zig with sdk/c (real wasm, real Extism)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host.capabilities import build_capabilities
from host.config import Settings
from host.errors import ExtensionFailed, ExtensionFault, ExtensionLoadError, ExtensionTimeout
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime, RuntimeKind, detect_runtime
from host.runtime.pool import PooledSandbox
from host.types import ExtensionKind
from tests.conformance.artifacts import build_snippet
from tests.support import make_settings

PLUGIN = r"""
#include "exthost.h"

static exthost_result nap(exthost_args args) {
  exthost_reply reply = exthost_sleep(300);
  bool ok = reply.ok;
  free(reply.text);
  return ok ? exthost_done("\"rested\"") : exthost_fail("no sleep");
}
static exthost_result spin(exthost_args args) { for (volatile int i = 0;; i++) {} }
static exthost_result crash(exthost_args args) { __builtin_trap(); }
static exthost_result args_back(exthost_args args) { return exthost_done_n(args.json, args.length); }

EXTHOST_EXTENSION("{\"id\":\"plug\",\"routes\":[{\"method\":\"GET\",\"path\":\"/nap\",\"handler\":0},"
                  "{\"method\":\"GET\",\"path\":\"/spin\",\"handler\":1},"
                  "{\"method\":\"GET\",\"path\":\"/crash\",\"handler\":2},"
                  "{\"method\":\"POST\",\"path\":\"/args\",\"handler\":3}]}",
                  nap, spin, crash, args_back)
"""

NO_EXPORTS = r"""
#include "exthost.h"
__attribute__((export_name("something"))) int32_t something(void) { return 0; }
"""

ZIG = r"""
const exthost = @import("exthost");

fn hello(args: exthost.exthost_args) callconv(.c) exthost.exthost_result {
    _ = args;
    return exthost.exthost_done("{\"status\":200,\"body\":\"Hello from Zig\"}");
}

const handlers = [_]exthost.exthost_handler{hello};

export fn register() i32 {
    return exthost.exthost_registered("{\"routes\":[{\"method\":\"GET\",\"path\":\"/\",\"handler\":0}]}");
}

export fn invoke() i32 {
    return exthost.exthost__invoke(&handlers, handlers.len);
}
"""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("extism"), extensions_sandbox_timeout=200)


@pytest.fixture(scope="module")
def runtime(settings: Settings) -> Iterator[Runtime]:
    found = Runtime(settings, SDK_PATH)
    yield found
    found.close()


def open_plugin(runtime: Runtime, path: Path, scopes: dict[str, Any] | None = None) -> PooledSandbox:
    capabilities = build_capabilities("plug", Scopes.model_validate(scopes or {}), runtime.settings)
    return runtime.open("plug", ExtensionKind.endpoint, path, capabilities)


def call(sandbox: PooledSandbox, handler: int, *args: Any) -> Any:
    return asyncio.run(sandbox.call(handler, list(args)))


@pytest.fixture(scope="module")
def plugin() -> Path:
    return build_snippet(PLUGIN, ".c")


def test_core_modules_run_in_extism(plugin: Path) -> None:
    assert detect_runtime(plugin) is RuntimeKind.extism


def test_time_in_host_functions_is_not_guest_time(runtime: Runtime, plugin: Path) -> None:
    sandbox = open_plugin(runtime, plugin, {"sleep": {}})
    assert sandbox.registration.id == "plug"
    assert call(sandbox, 0, {}) == "rested"  # sleeps 300 ms, the guest-time limit is 200 ms
    with pytest.raises(ExtensionTimeout, match="200 ms"):
        call(sandbox, 1, {})


def test_a_denied_host_function_answers_in_band(runtime: Runtime, plugin: Path) -> None:
    sandbox = open_plugin(runtime, plugin)
    with pytest.raises(ExtensionFailed, match="no sleep"):
        call(sandbox, 0, {})


def test_a_trap_replaces_the_instance(runtime: Runtime, plugin: Path) -> None:
    sandbox = open_plugin(runtime, plugin)
    with pytest.raises(ExtensionFault, match="crashed: wasm trap"):
        call(sandbox, 2, {})
    made = sandbox.instances_made
    assert call(sandbox, 3, {"a": [1, "ü"]}) == [{"a": [1, "ü"]}]
    assert sandbox.instances_made == made + 1


def test_a_plugin_without_the_abi_is_rejected_at_load(runtime: Runtime) -> None:
    with pytest.raises(ExtensionLoadError, match="must export `register` and `invoke`"):
        open_plugin(runtime, build_snippet(NO_EXPORTS, ".c"))


def test_an_invalid_core_module_is_rejected_at_load(runtime: Runtime, tmp_path: Path) -> None:
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(b"\0asm\x01\x00\x00\x00\xff\xff")
    with pytest.raises(ExtensionLoadError, match="not a usable Extism plugin"):
        open_plugin(runtime, broken)


def test_zig_plugins_use_the_c_header(runtime: Runtime) -> None:
    sandbox = open_plugin(runtime, build_snippet(ZIG, ".zig"))
    assert call(sandbox, 0, {}) == {"status": 200, "body": "Hello from Zig"}
