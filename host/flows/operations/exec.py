"""`exec` (Run Script): `module.exports = function (data) { ... }` runs in the JS sandbox.

The script becomes a tiny operation module (its `handler` calls `module.exports`
with the data chain) and is loaded through `host.runtime.Runtime` like any
extension, but by a runtime of its own whose limits are
`FLOWS_RUN_SCRIPT_MAX_MEMORY` (MB) and `FLOWS_RUN_SCRIPT_TIMEOUT` (ms). The script
has no capabilities: no network, no files, no `require`. Loaded scripts are kept
(by the hash of their code) up to `MAX_SCRIPTS`.

Every run gets a fresh instance (`single_use`): the script's top level runs again and
nothing a run leaves behind (a global, a changed prototype) reaches a later run, of
the same flow or another one with the same code. The next run's instance is made in
the background after each run (bench: `python -m bench flows`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import anyio.to_thread

from host.capabilities import build_capabilities
from host.config import Settings
from host.errors import OperationFailed, OperationThrew
from host.extensions.manifest import Scopes
from host.flows.chain import thrown_value, to_text
from host.flows.operations._options import require
from host.flows.operations.registry import OperationContext, OperationType
from host.paths import SDK_PATH
from host.runtime import Runtime
from host.sandbox import Sandbox
from host.types import ExtensionKind, Json

MAX_SCRIPTS = 64

WRAPPER = """\
const module = { exports: {} };
let exports = module.exports;
const process = { env: {} };
(function (module, exports, require, process) {
%s
})(module, exports, undefined, process);

export default {
  id: 'exec',
  handler: async (options, context) => {
    const run = module.exports;
    if (typeof run !== 'function') {
      throw new TypeError('the script must assign a function to module.exports');
    }
    Object.assign(process.env, context.data.$env);
    try {
      return { value: await run(context.data) };
    } catch (e) {
      if (e instanceof Error) return { error: { ...e, name: e.name, message: e.message } };
      return { thrown: e === undefined ? null : e };
    }
  },
};
"""


def script_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "extensions_sandbox_memory": settings.flows_run_script_max_memory,
            "extensions_sandbox_timeout": settings.flows_run_script_timeout,
            "extensions_sandbox_pool_size": 2,
            "extensions_quarantine_after": 1_000_000_000,
        }
    )


class ExecSandboxes:
    """The sandboxes of the scripts of `exec` operations, made on first use."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings = script_settings(settings)
        self.folder = folder
        self._runtime: Runtime | None = None
        self._loaded: OrderedDict[str, Sandbox] = OrderedDict()
        self._lock = asyncio.Lock()

    async def sandbox(self, code: str) -> Sandbox:
        digest = hashlib.sha256(code.encode()).hexdigest()[:32]
        found = self._loaded.get(digest)
        if found is not None:
            self._loaded.move_to_end(digest)
            return found
        async with self._lock:
            found = self._loaded.get(digest)
            if found is None:
                found = await anyio.to_thread.run_sync(self._open, digest, code)
                self._loaded[digest] = found
                while len(self._loaded) > MAX_SCRIPTS:
                    _, old = self._loaded.popitem(last=False)
                    old.close()
            return found

    def _open(self, digest: str, code: str) -> Sandbox:
        if self._runtime is None:
            self._runtime = Runtime(self.settings, SDK_PATH)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{digest}.js"
        # written whole, then renamed: the workers of a host share this folder, and one may
        # open the file while another writes the same script
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_text(WRAPPER % code, encoding="utf-8")
        partial.replace(path)
        name = f"exec-{digest[:12]}"
        capabilities = build_capabilities(name, Scopes(), self.settings)
        return self._runtime.open(name, ExtensionKind.operation, path, capabilities, single_use=True)

    def close(self) -> None:
        for sandbox in self._loaded.values():
            sandbox.close()
        self._loaded.clear()
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None


async def exec_script(options: dict[str, Any], context: OperationContext) -> Json:
    code = options.get("code")
    if not isinstance(code, str) or not code.strip():
        raise OperationFailed("exec: the code option is empty")
    sandboxes = context.services.exec
    if sandboxes is None:
        raise OperationFailed("exec: scripts are not available in this host")
    sandbox = await sandboxes.sandbox(code)
    binding = sandbox.registration.operation
    assert binding is not None
    accountability = context.accountability.model_dump(mode="json") if context.accountability else None
    result = await sandbox.call(binding.handler, [{}, {"data": context.data, "accountability": accountability}])
    if not isinstance(result, dict):  # the wrapper always answers an envelope
        raise OperationFailed("exec: the script's result was lost")
    if "error" in result:
        error = result["error"]
        message = error.get("message") if isinstance(error, dict) else None
        raise OperationThrew(f"exec: {message or 'the script threw an error'}", error)
    if "thrown" in result:
        thrown = thrown_value(result["thrown"], context.services.settings.max_json_depth)
        raise OperationThrew(f"exec: the script threw {to_text(thrown)[:200]}", thrown)
    return result.get("value")


def _check(options: dict[str, Any]) -> None:
    require(options, "code")


OPERATIONS = [OperationType("exec", exec_script, check=_check, description="run a script in the JS sandbox")]
