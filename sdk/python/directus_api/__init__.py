"""`directus_api`: the exthost guest API for Python extensions.

The Python twin of the JS sandbox's `import { log, sleep, request } from 'directus:api'`:

    from directus_api import log, sleep, request          # capabilities
    from directus_api import router, endpoint             # endpoint extensions
    from directus_api import filter, action               # hook extensions
    from directus_api import operation                    # operation extensions

Inside the sandbox the capabilities call the host; the manifest's
`requestedScopes` decide which are allowed, and a refused call raises
`HostError` (`No permission to access "request"`), which the extension may catch.
Handlers may be plain functions or `async def` coroutines.
"""

from directus_api._api import HostError, RequestResult, log, request, sleep
from directus_api._register import (
    Handler,
    Router,
    action,
    endpoint,
    filter,
    operation,
    router,
)
from directus_api._types import (
    Accountability,
    EndpointRequest,
    EndpointResponse,
    OperationContext,
)

__all__ = [
    "Accountability",
    "EndpointRequest",
    "EndpointResponse",
    "Handler",
    "HostError",
    "OperationContext",
    "RequestResult",
    "Router",
    "action",
    "endpoint",
    "filter",
    "log",
    "operation",
    "request",
    "router",
    "sleep",
]
