"""`python -m host.testing_bridge FOLDER`: `host.testing` over stdin/stdout, for the JS helper
(sdk/js/testing.mjs, run with `node --test`).

One JSON object a line each way:

- in: `{"id", "call": "request"|"filter"|"action"|"operation", "args": {...}}`; out:
  `{"id", "result"}` or `{"id", "error": {"type", "message"}}`;
- when the extension calls its `request` capability (after the scope checks), out:
  `{"fetch": n, "request": {"method", "url", "headers", "body"}}`; in:
  `{"fetch": n, "response": {"status", "headers", "body"}}` (the test's fake server) or
  `{"fetch": n, "error": "..."}`;
- first line out: `{"ready": true, "name"}`, or `{"ready": false, "error"}` when it did not load.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from itertools import count
from pathlib import Path
from typing import Any

import httpx

from host.testing import ExtensionUnderTest, Response, load_extension


class Bridge:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fetches: dict[int, Future[dict[str, Any]]] = {}
        self.numbers = count(1)

    def send(self, message: dict[str, Any]) -> None:
        with self.lock:
            sys.stdout.write(json.dumps(message, default=str) + "\n")
            sys.stdout.flush()

    def fake_server(self, request: httpx.Request) -> httpx.Response:
        number = next(self.numbers)
        future: Future[dict[str, Any]] = Future()
        self.fetches[number] = future
        body = request.content.decode("utf-8", "replace") if request.content else None
        self.send({"fetch": number, "request": {"method": request.method, "url": str(request.url),
                                                "headers": dict(request.headers), "body": body}})
        answer = future.result()
        if "error" in answer:
            raise httpx.ConnectError(str(answer["error"]), request=request)
        response = answer.get("response") or {}
        content = response.get("body")
        headers = dict(response.get("headers") or {})
        if content is not None and not isinstance(content, str):
            content = json.dumps(content)
            headers.setdefault("content-type", "application/json")
        return httpx.Response(int(response.get("status", 200)), headers=headers, content=content or b"")

    def answer(self, ext: ExtensionUnderTest, message: dict[str, Any]) -> None:
        args = message.get("args") or {}
        try:
            call = message.get("call")
            result: Any
            if call == "request":
                answered: Response = ext.request(args["method"], args["path"], query=args.get("query"),
                                                 headers=args.get("headers"), body=args.get("body"))
                result = asdict(answered)
            elif call == "filter":
                result = ext.filter(args["event"], args.get("payload"), args.get("meta"))
            elif call == "action":
                ext.action(args["event"], args.get("meta"))
                result = None
            elif call == "operation":
                result = ext.operation(args.get("options") or {}, args.get("data"))
            else:
                raise ValueError(f"unknown call {call!r}")
            self.send({"id": message.get("id"), "result": result})
        except Exception as exc:  # every failure goes back to the test that asked
            self.send({"id": message.get("id"), "error": {"type": type(exc).__name__, "message": str(exc)}})

    def serve(self, folder: Path) -> None:
        with tempfile.TemporaryDirectory() as data, ThreadPoolExecutor(4) as pool:
            try:
                loading = load_extension(folder, data, request=self.fake_server)
                ext = loading.__enter__()
            except Exception as exc:
                self.send({"ready": False, "error": str(exc)})
                return
            try:
                self.send({"ready": True, "name": ext.name})
                for line in sys.stdin:
                    if not line.strip():
                        continue
                    message = json.loads(line)
                    if "fetch" in message:
                        waiting = self.fetches.pop(int(message["fetch"]), None)
                        if waiting is not None:
                            waiting.set_result(message)
                    else:
                        pool.submit(self.answer, ext, message)
            finally:
                for waiting in self.fetches.values():
                    waiting.set_result({"error": "the test ended"})
                pool.shutdown(wait=True)
                loading.__exit__(None, None, None)


if __name__ == "__main__":
    Bridge().serve(Path(sys.argv[1]))
