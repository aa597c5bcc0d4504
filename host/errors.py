"""The one exception tree. Each class carries its HTTP status and Directus code;
`host.api.errors` renders any of them as `{"errors": [{"message", "extensions": {"code", ...}}]}`
(`extensions` holds the error's own `extensions` too, as Directus's do)."""

from __future__ import annotations

from typing import Any, ClassVar


class ExthostError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"
    retryable: ClassVar[bool] = True
    """Whether a queued job that failed with it is worth running again (`host.queue`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, Any]:
        """What the answer's `extensions` holds besides `code`."""
        return {}

    def headers(self) -> dict[str, str]:
        """Response headers that go with the error (`Allow`, `Retry-After`)."""
        return {}


class InvalidPayload(ExthostError):
    status = 400
    code = "INVALID_PAYLOAD"


class FailedValidation(InvalidPayload):
    """A value of a field that is not what the field takes: Directus's `FAILED_VALIDATION`, with
    `extensions.field` (the field's path, `options.cron`, `[1].key`) and `extensions.type` (what
    kind of rule it broke, in Directus's words: `required`, `nnull`, `in` with `valid`, `regex`)."""

    code = "FAILED_VALIDATION"

    def __init__(self, field: str, type: str, reason: str, valid: list[Any] | None = None) -> None:
        super().__init__(f'Validation failed for field "{field}". {reason}')
        self.field = field
        self.type = type
        self.reason = reason
        self.valid = valid

    @property
    def extensions(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"field": self.field, "type": self.type}
        if self.valid is not None:
            extra["valid"] = self.valid
        return extra


class InvalidQuery(ExthostError):
    status = 400
    code = "INVALID_QUERY"


class InvalidExtensionOutput(InvalidPayload):
    """An extension returned JSON the host will not take (nested deeper than `MAX_JSON_DEPTH`, ...).
    Not a fault: the instance is sound and is kept."""

    def __init__(self, extension: str, message: str) -> None:
        super().__init__(message)
        self.extension = extension


class RecordNotUnique(InvalidPayload):
    """An item whose primary key is already taken in its collection."""

    code = "RECORD_NOT_UNIQUE"


class FilterRejected(InvalidPayload):
    """A filter hook threw: the write is cancelled and the client sees the guest's message."""

    def __init__(self, extension: str, message: str) -> None:
        super().__init__(message)
        self.extension = extension


class Unauthorized(ExthostError):
    status = 401
    code = "INVALID_CREDENTIALS"


class Forbidden(ExthostError):
    status = 403
    code = "FORBIDDEN"


class NotFound(ExthostError):
    status = 404
    code = "NOT_FOUND"


class RouteNotFound(NotFound):
    code = "ROUTE_NOT_FOUND"


class MethodNotAllowed(ExthostError):
    """A path that exists, asked with a method it does not take."""

    status = 405
    code = "METHOD_NOT_ALLOWED"

    def __init__(self, message: str, allow: list[str]) -> None:
        super().__init__(message)
        self.allow = allow

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allow)}


class RequestsExceeded(ExthostError):
    """More requests than `RATE_LIMITER_POINTS` in one `RATE_LIMITER_DURATION`."""

    status = 429
    code = "REQUESTS_EXCEEDED"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(ExthostError):
    status = 503
    code = "SERVICE_UNAVAILABLE"


class ContentTooLarge(ExthostError):
    """A request body larger than `MAX_PAYLOAD_SIZE`."""

    status = 413
    code = "CONTENT_TOO_LARGE"


class QueueFull(ExthostError):
    """The durable job queue holds `QUEUE_MAX_PENDING` jobs: nothing more is accepted until it drains."""

    status = 503
    code = "QUEUE_FULL"


class ConsoleNotBuilt(ExthostError):
    """`/admin` asked for, but console/dist holds no built console."""

    status = 503
    code = "SERVICE_UNAVAILABLE"
    retryable = False


class ExtensionError(ExthostError):
    """Something went wrong inside, or at the edge of, one extension."""

    code = "EXTENSION_FAILED"
    stack: str | None = None
    """Where the guest threw (its stack or traceback), for the extension's log; never sent to a client."""

    def __init__(self, extension: str, message: str) -> None:
        super().__init__(message)
        self.extension = extension


class ExtensionFailed(ExtensionError):
    """The guest threw, trapped, or returned something the host cannot use."""


class ExtensionFault(ExtensionFailed):
    """The guest trapped: its instance is poisoned and is replaced."""


class ExtensionTimeout(ExtensionFault):
    status = 504
    code = "EXTENSION_TIMEOUT"


class ExtensionOutOfMemory(ExtensionFault):
    code = "EXTENSION_OUT_OF_MEMORY"


class ExtensionStackOverflow(ExtensionFault):
    pass


class ExtensionUnavailable(ExtensionError):
    status = 503
    code = "EXTENSION_UNAVAILABLE"


class ExtensionLoadError(ExtensionError):
    """An extension folder that cannot be loaded (bad manifest, artifact, registration)."""

    code = "EXTENSION_INVALID"


class CapabilityDenied(ExthostError):
    """A guest used a capability or address it was not granted. Reported to the guest, which may catch it."""

    status = 403
    code = "FORBIDDEN"


class FlowError(ExthostError):
    """A flow that cannot run, or whose run failed in a way its caller must see."""

    code = "FLOW_FAILED"


class FlowRejected(FlowError):
    """A filter-event flow ended on a reject path: the write it guards is cancelled."""

    status = 400
    code = "FLOW_REJECTED"


class FlowRecursion(FlowError):
    """Flows triggering each other (or their own events) past `FLOWS_RECURSION_LIMIT`."""

    status = 508
    code = "FLOW_RECURSION_LIMIT"
    retryable = False


class OperationFailed(FlowError):
    """An operation rejected with a value for the data chain (a request's error response, ...)."""

    def __init__(self, message: str, data: object = None) -> None:
        super().__init__(message)
        self.data = data


class OperationThrew(OperationFailed):
    """An operation threw a value (any JSON value, `null` included): it joins the data chain
    exactly as thrown, as in Directus (a Run Script's `throw "text"` or `throw {reason}`)."""
