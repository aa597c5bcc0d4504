"""The console's browser tests: Playwright drives Debian's Chromium against a real `exthost serve`.

Skipped, with the reason, when the `playwright` package, a Chromium binary (`apt-get install
chromium`, which `make install` runs when apt is available) or the built console (`make build`)
is missing. Playwright's own browser downloads are never used: `executable_path` is the system's
Chromium (`CHROMIUM` overrides where it is).

`EXTHOST_SCREENSHOTS=docs/console` makes the tests save the README's screenshots there.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from host.paths import CONSOLE_DIST, PROJECT_ROOT
from tests.cluster.processes import HostProcess, host_env, hosts, start_host
from tests.support import ADMIN, write_extension

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
"""A phone's CSS viewport (an iPhone 12 to 15)."""

SECRET_OPTION = "sk-live-console-test-4242"
"""An option value under a secret-looking key: the run log must show it redacted."""

EXAMPLES = ("fetch-status", "greet", "log-items", "log-operation")


def chromium_path() -> str | None:
    candidates = [os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")  # not session: a running Playwright keeps an event loop in the main thread
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium binary: install Debian's `chromium` package (make install does when apt-get is available)")
    if not (CONSOLE_DIST / "index.html").is_file():
        pytest.skip(f"the console is not built ({CONSOLE_DIST} has no index.html): run `make build`")
    # as root, Chromium refuses to start with its own sandbox (containers, CI)
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def console_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """A real host with four example extensions, one that fails to load, an item and a manual flow."""
    root = tmp_path_factory.mktemp("console")
    env = host_env(root, FLOWS_LOG_MAX_ENTRY_BYTES="65536")
    extensions = Path(env["EXTENSIONS_PATH"])
    for name in EXAMPLES:
        source = PROJECT_ROOT / "extensions" / name
        if not any((source / "dist").glob("*")):
            pytest.skip(f"extensions/{name} is not built: run `make build`")
        shutil.copytree(source, extensions / name, ignore=shutil.ignore_patterns("node_modules"))
    write_extension(extensions, "broken-hook", "hook", "export default ({ filter }) => { filter(;", scopes={"log": {}})
    with hosts() as started:
        host = start_host(env)
        started.append(host)
        host.wait_ready(timeout=600)  # a first compile of a new JS runtime on busy shared cores takes minutes
        yield host


@pytest.fixture(scope="module")
def manual_flow(console_host: HostProcess) -> dict[str, Any]:
    """A manual flow on `notes` whose one step is the `log-operation` example, with a secret
    option; and the key of a note to run it on."""
    with console_host.client() as http:
        note = http.post("/items/notes", json={"text": "a note"})
        assert note.status_code == 200, note.text
        flow = http.post(
            "/flows",
            json={"name": "Log a note", "trigger": "manual", "accountability": "all", "options": {"collections": ["notes"]}},
        )
        assert flow.status_code == 200, flow.text
        flow_id = flow.json()["data"]["id"]
        operation = http.post(
            "/operations",
            json={
                "flow": flow_id, "key": "say", "type": "custom", "position_x": 19, "position_y": 1,
                "options": {"text": "logged by the console test", "api_key": SECRET_OPTION},
            },
        )
        assert operation.status_code == 200, operation.text
        linked = http.patch(f"/flows/{flow_id}", json={"operation": operation.json()["data"]["id"]})
        assert linked.status_code == 200, linked.text
    return {"id": flow_id, "name": "Log a note", "note": str(note.json()["data"]["id"])}


def api(host: HostProcess, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(method, f"{host.url}{path}", headers=ADMIN, json=body, timeout=30)
    assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()["data"] if answer.content else None


@pytest.fixture
def context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    """A fresh browser profile (empty session storage) at the desktop size; `@pytest.mark.phone` for a phone."""
    phone = request.node.get_closest_marker("phone") is not None
    made = browser.new_context(
        viewport=PHONE if phone else DESKTOP, is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1
    )
    made.set_default_timeout(30_000)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that records every Content-Security-Policy violation and uncaught error (`page.problems`)."""
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    opened.on(
        "console",
        lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None,
    )
    opened.problems = problems  # type: ignore[attr-defined]
    yield opened


def screenshot(page: Page, name: str) -> None:
    """Saved under `EXTHOST_SCREENSHOTS` (the README's are in docs/console) when it is set."""
    folder = os.environ.get("EXTHOST_SCREENSHOTS")
    if folder:
        target = Path(folder)
        if not target.is_absolute():
            target = PROJECT_ROOT / target
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{name}.png"), full_page=True)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is (WCAG 2 A and AA rules)."""
    source = PROJECT_ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
    if not source.is_file():
        pytest.skip("axe-core is not installed in console/node_modules (make install)")
    page.evaluate(source.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    found: list[dict[str, Any]] = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    return json.loads(json.dumps(found))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "phone: run the test in a phone-sized browser (390x844, touch)")
