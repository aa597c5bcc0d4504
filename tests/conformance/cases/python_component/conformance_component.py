"""A standalone component for the sdk/wit `extension` world, written straight against
the WIT bindings (no runtime in between), built with componentize-py."""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import guest as g
from wit_world.imports import api


def echo(req):
    return {"status": 200, "body": {"params": req["params"], "query": req["query"]}}


def echo_body(req):
    return {"status": 201, "body": {"params": req["params"], "query": req["query"], "body": req["body"]}}


def text(req):
    return {"status": 200, "body": "plain text"}


def logged(req):
    api.log("conformance")
    return {"status": 200, "body": {"logged": True}}


def denied(req):
    try:
        api.request("https://example.com/", json.dumps({"method": "GET", "headers": {}}))
        return {"status": 200, "body": {"denied": False}}
    except Err as error:
        return {"status": 403, "body": {"error": error.value}}


def loop(req):
    while True:
        pass


def bomb(req):
    keep = []
    while True:
        keep.append([1] * (1 << 20))


ROUTES = [
    ("GET", "/echo/:id", echo),
    ("POST", "/echo/:id", echo_body),
    ("GET", "/text", text),
    ("GET", "/log", logged),
    ("GET", "/denied", denied),
    ("GET", "/loop", loop),
    ("GET", "/bomb", bomb),
]


def touch(payload, *rest):
    return {**payload, "touched": True}


def reject(payload, *rest):
    raise ValueError("rejected by the conformance hook")


def operation(options, context):
    if options.get("fail"):
        raise RuntimeError(f"operation rejected: {options['reason']}")
    return {"ok": True, "value": options.get("value"), "keys": len(context["data"])}


handlers = []


class Guest(exports.Guest):
    def register(self, source: str, context: str) -> str:
        info = json.loads(context)
        kind, name = info["kind"], info["name"]
        if kind == "endpoint":
            handlers[:] = [fn for _, _, fn in ROUTES]
            routes = [{"method": m, "path": p, "handler": i} for i, (m, p, _) in enumerate(ROUTES)]
            return json.dumps({"kind": kind, "name": name, "id": "conformance-py-component", "routes": routes})
        if kind == "hook":
            handlers[:] = [touch, reject]
            filters = [{"event": "items.create", "handler": 0}, {"event": "items.update", "handler": 1}]
            return json.dumps({"kind": kind, "name": name, "filters": filters, "actions": []})
        if kind == "operation":
            handlers[:] = [operation]
            return json.dumps({"kind": kind, "name": name, "operation": {"id": "conformance", "handler": 0}})
        raise Err(f"unknown kind {kind}")

    def invoke(self, handler: int, args: str) -> g.CallState:
        try:
            value = handlers[handler](*json.loads(args))
            return g.CallState_Done("" if value is None else json.dumps(value))
        except BaseException as error:
            fault = "out-of-memory" if isinstance(error, MemoryError) else None
            body = {"message": str(error), "name": type(error).__name__, "fault": fault}
            return g.CallState_Failed(json.dumps(body))

    def poll(self, ticket: int) -> g.CallState:
        return g.CallState_Failed(json.dumps({"message": f"no pending call {ticket}"}))
