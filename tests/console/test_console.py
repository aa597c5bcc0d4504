"""The administrator console at /admin, end to end: a real host, Debian's Chromium, every action."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")
from playwright.sync_api import Page, expect

from tests.cluster.processes import HostProcess
from tests.console.conftest import SECRET_OPTION, api, axe_violations, screenshot
from tests.support import ADMIN_TOKEN, wait_for, write_extension


def sign_in(page: Page, host: HostProcess, token: str = ADMIN_TOKEN) -> None:
    page.goto(f"{host.url}/admin")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def signed_in(page: Page, host: HostProcess) -> None:
    sign_in(page, host)
    expect(page.get_by_role("heading", level=1, name="Extensions")).to_be_visible()


def row(page: Page, name: str) -> Any:
    return page.locator(f'tr[data-extension="{name}"]')


def test_the_page_is_served_with_a_strict_content_security_policy(console_host: HostProcess) -> None:
    page = httpx.get(f"{console_host.url}/admin", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text  # only <script src>: nothing inline
    scripts = re.findall(r'src="(/admin/assets/[^"]+\.js)"', page.text)
    assert scripts, page.text
    for script in scripts:  # every asset from the host itself, with the same headers
        asset = httpx.get(f"{console_host.url}{script}", timeout=30)
        assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
        assert asset.headers["content-security-policy"] == policy
    assert not re.search(r'(src|href)="(https?:)?//', page.text)  # no CDN, no external font
    missing = httpx.get(f"{console_host.url}/admin/assets/..%2F..%2Fpyproject.toml", timeout=30)
    assert missing.status_code == 404 and missing.headers["x-frame-options"] == "DENY"


def test_sign_in_refuses_a_wrong_token_and_keeps_the_token_out_of_urls_and_logs(
    console_host: HostProcess, page: Page
) -> None:
    requests: list[tuple[str, str | None]] = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("authorization"))))
    sign_in(page, console_host, token="not-the-admin-token")
    expect(page.get_by_role("alert")).to_contain_text("refused this token")
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0

    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_label("Admin token").press("Enter")  # the keyboard alone signs in
    expect(page.get_by_role("heading", level=1, name="Extensions")).to_be_visible()
    assert page.evaluate("() => Object.values(sessionStorage)") == [ADMIN_TOKEN]
    assert page.evaluate("() => localStorage.length") == 0 and page.context.cookies() == []
    api_calls = [(url, auth) for url, auth in requests if "/extensions" in url]
    assert api_calls and api_calls[-1][1] == f"Bearer {ADMIN_TOKEN}"
    assert all(ADMIN_TOKEN not in url for url, _ in requests), requests
    assert ADMIN_TOKEN not in page.url

    page.reload()  # the tab keeps its session
    expect(page.get_by_role("heading", level=1, name="Extensions")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0
    assert ADMIN_TOKEN not in console_host.log()
    assert page.problems == []  # type: ignore[attr-defined]


def test_a_token_the_host_stops_accepting_signs_the_console_out(console_host: HostProcess, page: Page) -> None:
    page.goto(f"{console_host.url}/admin")
    page.evaluate("() => sessionStorage.setItem('exthost.console.token', 'a-stale-token')")
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("sign in again")
    expect(page.get_by_label("Admin token")).to_be_visible()


def test_extensions_are_listed_with_state_runtime_scopes_and_errors(console_host: HostProcess, page: Page) -> None:
    signed_in(page, console_host)
    fetch = row(page, "fetch-status")
    expect(fetch.get_by_role("link", name="fetch-status")).to_be_visible()
    expect(fetch.locator('[data-label="Runtime"]')).to_have_text("js")
    expect(fetch.locator('[data-label="Requested scopes"]')).to_contain_text("request (GET) https://api.github.com/*")
    expect(fetch.locator('[data-label="Requested scopes"]')).to_contain_text("log")
    expect(fetch.locator('[data-label="State"]')).to_have_text("ready")
    broken = row(page, "broken-hook")
    expect(broken.locator('[data-label="State"]')).to_have_text("error")
    expect(broken.locator('[data-label="Recent errors"]')).not_to_have_text("none")
    expect(row(page, "log-items")).to_be_visible()
    screenshot(page, "extensions-desktop")
    assert page.problems == []  # type: ignore[attr-defined]


def test_disable_and_enable_an_extension(console_host: HostProcess, page: Page) -> None:
    greeting = f"{console_host.url}/greet/"
    assert httpx.get(greeting, timeout=30).status_code == 200
    signed_in(page, console_host)
    page.get_by_role("link", name="greet").click()
    expect(page.get_by_role("heading", level=1, name="greet")).to_be_focused()
    try:
        page.get_by_role("button", name="Disable").click()
        expect(page.get_by_role("status").filter(has_text="greet is disabled")).to_be_visible()
        expect(page.locator("dl.facts")).to_contain_text("disabled")
        wait_for(lambda: _described(console_host, "greet")["enabled"] is False, "greet to be disabled")
        assert httpx.get(greeting, timeout=30).status_code == 503
        page.get_by_role("button", name="Enable").click()
        expect(page.get_by_role("status").filter(has_text="greet is enabled")).to_be_visible()
        expect(page.locator("dl.facts")).to_contain_text("ready")
        assert httpx.get(greeting, timeout=30).status_code == 200
    finally:  # the other tests need it
        api(console_host, "PATCH", "/extensions/greet", {"meta": {"enabled": True}})


def _described(host: HostProcess, name: str) -> dict[str, Any]:
    return next(e for e in api(host, "GET", "/extensions") if e["name"] == name)


def test_grant_and_revoke_scope_by_scope(console_host: HostProcess, page: Page) -> None:
    """Waits for the admin API (`PATCH /extensions/{name}` with `granted_scopes`)."""
    signed_in(page, console_host)
    page.goto(f"{console_host.url}/admin#/extensions/fetch-status")
    consent = page.get_by_role("group", name="Granted of what it requests")
    expect(consent.get_by_label("request https://api.github.com/*")).to_be_visible()
    page.get_by_role("button", name="Revoke all").click()
    expect(page.get_by_role("status").filter(has_text="Nothing is granted")).to_be_visible()
    wait_for(lambda: not _described(console_host, "fetch-status").get("granted_scopes"), "the grant to be empty")
    for box in ("log", "request https://api.github.com/*", "request method GET"):
        expect(consent.get_by_label(box)).not_to_be_checked()

    consent.get_by_label("log").check()  # one scope: log, not request
    page.get_by_role("button", name="Save grant").click()
    expect(page.get_by_role("status").filter(has_text="Granted: log.")).to_be_visible()
    wait_for(lambda: _described(console_host, "fetch-status").get("granted_scopes") == {"log": {}}, "log alone granted")
    expect(consent.get_by_label("log")).to_be_checked()
    expect(consent.get_by_label("request method GET")).not_to_be_checked()
    granted = row_after_list(page, console_host, "fetch-status").locator('[data-label="Granted scopes"]')
    expect(granted.locator(".granted")).to_have_text("log")
    expect(granted.locator(".pending")).to_have_text("Waiting for consent: request (GET) https://api.github.com/*")

    page.goto(f"{console_host.url}/admin#/extensions/fetch-status")
    page.get_by_role("button", name="Grant all").click()
    expected = {"log": {}, "request": {"urls": ["https://api.github.com/*"], "methods": ["GET"]}}
    wait_for(lambda: _described(console_host, "fetch-status").get("granted_scopes") == expected, "everything granted")
    expect(consent.get_by_label("request method GET")).to_be_checked()


def row_after_list(page: Page, host: HostProcess, name: str) -> Any:
    page.goto(f"{host.url}/admin#/extensions")
    return row(page, name)


def test_read_an_extensions_logs(console_host: HostProcess, page: Page) -> None:
    """Waits for the admin API (`GET /extensions/{name}/logs`)."""
    api(console_host, "POST", "/items/notes", {"text": "logged by the hook"})
    signed_in(page, console_host)
    page.goto(f"{console_host.url}/admin#/extensions/log-items")
    logs = page.get_by_role("list", name="Log lines of log-items")
    for _ in range(3):  # the action hook runs after the answer: refresh until it is there
        page.get_by_role("button", name="Refresh logs").click()
        if logs.filter(has_text="Item created!").count():
            break
        page.wait_for_timeout(1000)
    expect(logs).to_contain_text("Creating Item!")
    expect(logs).to_contain_text("Item created!")
    screenshot(page, "extension-desktop")


def test_install_from_a_package(console_host: HostProcess, page: Page, tmp_path: Any) -> None:
    """Waits for the admin API (`POST /extensions` with `{"spec"}`). The package is a folder
    (the host may have no internet; installs from the npm registry are tested by the CLI's tests)."""
    package = tmp_path / "hello-console"
    write_extension(tmp_path, "hello-console", "hook", "export default () => {};", scopes={"log": {}})
    signed_in(page, console_host)
    page.get_by_label("Package").fill(str(package))
    page.get_by_role("button", name="Install").click()
    expect(page.get_by_role("status").filter(has_text="Installed hello-console")).to_be_visible()
    expect(row(page, "hello-console")).to_be_visible()
    wait_for(lambda: any(e["name"] == "hello-console" for e in api(console_host, "GET", "/extensions")), "the install")

    page.get_by_label("Package").fill("@exthost-tests/no-such-package-here")
    page.get_by_role("button", name="Install").click()
    expect(page.get_by_role("alert")).to_be_visible()


def test_trigger_a_manual_flow_and_read_its_run_step_by_step(
    console_host: HostProcess, manual_flow: dict[str, Any], page: Page
) -> None:
    signed_in(page, console_host)
    page.get_by_role("link", name="Flows").click()
    expect(page.get_by_role("heading", level=1, name="Flows")).to_be_visible()
    page.get_by_role("link", name=manual_flow["name"]).click()
    expect(page.get_by_role("heading", level=1, name=manual_flow["name"])).to_be_focused()
    expect(page.get_by_text("No run recorded.")).to_be_visible()
    expect(page.get_by_label("Collection")).to_have_value("notes")
    page.get_by_label("Item keys").fill(manual_flow["note"])
    page.get_by_role("button", name="Run flow").click()
    expect(page.get_by_role("status").filter(has_text="The flow ran")).to_contain_text("logged by the console test")

    run = page.locator("ol.runs > li").first
    expect(run).to_contain_text("1 step")
    run.locator("summary").click()
    expect(run.get_by_role("heading", name=re.compile("^say"))).to_be_visible()
    options = run.get_by_label("Options of say")
    expect(options).to_contain_text("--redacted--")
    expect(options).not_to_contain_text(SECRET_OPTION)
    expect(run.get_by_label("Data of say")).to_contain_text('"logged": "logged by the console test"')
    assert SECRET_OPTION not in page.content()
    screenshot(page, "flow-desktop")

    page.get_by_label("Item keys").fill("no-such-note")
    page.get_by_role("button", name="Run flow").click()
    expect(page.get_by_role("alert")).to_contain_text("no-such-note")
    assert len(api(console_host, "GET", f"/flows/{manual_flow['id']}/runs")) == 1


def test_the_hosts_health(console_host: HostProcess, page: Page) -> None:
    signed_in(page, console_host)
    page.get_by_role("link", name="Health").click()
    expect(page.get_by_role("heading", level=1, name="Health")).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("ok")
    expect(facts).to_contain_text("1 error")
    screenshot(page, "health-desktop")


def test_every_page_passes_axe(console_host: HostProcess, manual_flow: dict[str, Any], page: Page) -> None:
    page.goto(f"{console_host.url}/admin")
    expect(page.get_by_label("Admin token")).to_be_visible()
    screenshot(page, "sign-in-desktop")
    assert axe_violations(page) == [], "sign-in"
    signed_in(page, console_host)
    for fragment, heading in (
        ("#/extensions", "Extensions"),
        ("#/extensions/fetch-status", "fetch-status"),
        ("#/flows", "Flows"),
        (f"#/flows/{manual_flow['id']}", manual_flow["name"]),
        ("#/health", "Health"),
    ):
        page.goto(f"{console_host.url}/admin{fragment}")
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert axe_violations(page) == [], fragment


def test_keyboard_alone_reaches_every_section(console_host: HostProcess, page: Page) -> None:
    signed_in(page, console_host)
    expect(page.get_by_role("heading", level=1, name="Extensions")).to_be_focused()  # after signing in
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Extensions")).to_be_visible()
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => document.activeElement && document.activeElement.textContent.trim()"))
        if seen[-1] == "Health":
            break
    assert "Skip to content" in seen and "Flows" in seen and seen[-1] == "Health", seen
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Health")).to_be_focused()
    outline = page.evaluate(
        "() => { const a = document.querySelector('nav a'); a.focus(); return getComputedStyle(a).outlineStyle }"
    )
    assert outline != "none"


@pytest.mark.phone
def test_on_a_phone(console_host: HostProcess, manual_flow: dict[str, Any], page: Page) -> None:
    signed_in(page, console_host)

    def fits() -> bool:
        return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"))

    expect(row(page, "fetch-status").locator('[data-label="Runtime"]')).to_be_visible()
    assert fits(), "the extensions page scrolls sideways on a phone"
    header_hidden = page.evaluate("() => document.querySelector('thead').getBoundingClientRect().height <= 1")
    assert header_hidden  # each row is a card whose cells name their column
    screenshot(page, "extensions-phone")
    page.get_by_role("link", name="fetch-status").click()
    expect(page.get_by_role("heading", level=1, name="fetch-status")).to_be_visible()
    assert fits(), "the extension page scrolls sideways on a phone"
    screenshot(page, "extension-phone")
    page.get_by_role("link", name="Flows").click()
    page.get_by_role("link", name=manual_flow["name"]).click()
    expect(page.get_by_role("button", name="Run flow")).to_be_visible()
    box = page.get_by_role("button", name="Run flow").bounding_box()
    assert box is not None and box["height"] >= 44  # a finger-sized target
    assert fits(), "the flow page scrolls sideways on a phone"
    screenshot(page, "flow-phone")
    assert axe_violations(page) == []
