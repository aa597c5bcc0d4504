"""What built-in operations may use from the host: settings, database, emitter,
the items service, other flows, outbound HTTP, the exec sandboxes, mail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from host.config import Settings
from host.events import Emitter
from host.storage import Database
from host.types import Accountability, Json

if TYPE_CHECKING:
    from host.flows.operations.exec import ExecSandboxes


class FlowCaller(Protocol):
    """Runs another flow (the `trigger` operation)."""

    async def run_operation_flow(
        self, flow_id: str, payload: Json, accountability: Accountability | None
    ) -> Json: ...


@dataclass
class FlowServices:
    settings: Settings
    db: Database
    emitter: Emitter
    flows: FlowCaller
    app_state: Any = None
    """The application's state (the items service lives there once started)."""
    exec: ExecSandboxes | None = None
    _request: Any = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        """`$env`: the names in `FLOWS_ENV_ALLOW_LIST` that are set (never a host credential)."""
        return self.settings.flows_env()

    def request_capability(self) -> Any:
        """The `request` capability with every URL in scope, built once: the IP guard,
        redirect checks and size and time caps are the capability's own."""
        if self._request is None:
            from host.capabilities.request import make_request
            from host.extensions.manifest import RequestScope

            self._request = make_request(RequestScope(urls=("*",)), self.settings)
        return self._request
