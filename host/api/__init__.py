"""The HTTP layer: FastAPI routers and the one error handler."""
