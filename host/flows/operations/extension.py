"""Operations from sandboxed extensions: the flow operation's `type` is the extension
operation's `id`; its handler gets `(options, {data, accountability})`.

`data` is the chain without `$env`: an extension is third-party code, and the
allow-listed env values are secrets; a flow passes one explicitly through an option
(`{{ $env.NAME }}`). The callers' credentials never enter the chain (see
host/redaction.py)."""

from __future__ import annotations

import logging
from typing import Any

from host.extensions.registry import ExtensionRegistry
from host.flows.chain import ENV
from host.flows.operations.registry import OperationContext, OperationRegistry, OperationType
from host.sandbox import Sandbox
from host.types import ExtensionKind, Json

log = logging.getLogger("exthost.flows")


def extension_operation(owner: str, sandbox: Sandbox) -> OperationType:
    binding = sandbox.registration.operation
    if binding is None:
        raise ValueError(f"extension {owner} registered no operation")
    number = binding.handler

    async def handler(options: dict[str, Any], context: OperationContext) -> Json:
        accountability = context.accountability.model_dump(mode="json") if context.accountability else None
        data = {key: value for key, value in context.data.items() if key != ENV}
        return await sandbox.call(number, [options, {"data": data, "accountability": accountability}])

    return OperationType(binding.id, handler, owner=owner, description=f"operation of extension {owner}")


def register_extensions(registry: OperationRegistry, extensions: ExtensionRegistry) -> None:
    """Add every loaded operation extension. Ids were checked at load (`host.extensions.namespace`:
    no built-in's id, no id two extensions claim); one taken all the same is reported and skipped."""
    for extension, sandbox in extensions.loaded(ExtensionKind.operation):
        try:
            registry.register(extension_operation(extension.name, sandbox))
        except ValueError as exc:
            log.error("operation of extension %s not registered: %s", extension.name, exc)
