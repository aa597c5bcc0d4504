"""Namespace: no extension takes a host route, another extension's name, or more than its share of routes.

Every attack is a real extension (JS, or a hand-written Extism module where the
registration itself is the attack) loaded by a real host and probed over HTTP.
After each refusal the host still answers its own routes exactly as a host
without the attacker does, and the well-behaved extensions still serve.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import wasmtime
from fastapi import APIRouter
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse

from host.app import create_app
from host.config import Settings
from host.extensions.limits import MAX_HOOK_HANDLERS, MAX_REGISTRATION_BYTES, MAX_ROUTE_PATH_LENGTH, MAX_ROUTES
from host.extensions.namespace import DIRECTUS_API_NAMESPACES, HostNamespace, fold
from tests.security.input_support import EMIT_WAT, wat_string
from tests.support import ADMIN, make_settings, running_host, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]

NAMESPACE = HostNamespace.of_routes(create_app(Settings(_env_file=None)).routes)
HOST_SEGMENTS = sorted(NAMESPACE.derived)
"""Derived from the app's routes, as the host derives them at start-up."""
DIRECTUS_ONLY = sorted(fold(name) for name in DIRECTUS_API_NAMESPACES if fold(name) not in NAMESPACE.derived)
ALL_SEGMENTS = HOST_SEGMENTS + DIRECTUS_ONLY

MARK = "HIJACKED"
METHODS = ("get", "post", "put", "patch", "delete")
GOOD = "export default (router) => router.get('/', () => ({ status: 200, body: 'still here' }));"
GOOD_HOOK = "export default ({ filter }) => { filter('items.create', (payload) => payload); };"


def evil_router() -> str:
    """A router answering MARK on every method and path."""
    routes = " ".join(
        f"router.{m}('/', () => ({{ status: 200, body: '{MARK}' }})); router.{m}('/*', () => ({{ status: 200, body: '{MARK}' }}));"
        for m in METHODS
    )
    return f"(router) => {{ {routes} }}"


def evil_with_id(endpoint_id: str) -> str:
    return f"export default {{ id: {json.dumps(endpoint_id)}, handler: {evil_router()} }};"


EVIL_BY_NAME = f"export default {evil_router()};"


def write_named(root: Path, folder: str, package: str, kind: str, source: str | bytes, **options: Any) -> Path:
    """An extension in `root/folder` whose package name is `package`."""
    path = write_extension(root, folder, kind, source, **options)
    manifest = json.loads((path / "package.json").read_text())
    manifest["name"] = package
    (path / "package.json").write_text(json.dumps(manifest))
    return path


def listing(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get("/extensions", headers=ADMIN)
    assert response.status_code == 200
    return {entry["name"]: entry for entry in response.json()["data"]}


def seen(response: Any) -> tuple[int, str]:
    return response.status_code, response.text


def assert_host_healthy(client: TestClient) -> None:
    assert client.get("/server/health").json()["status"] in ("ok", "warn")  # warn: the database answered, slowly
    assert client.get("/good-endpoint").text == "still here"
    items = client.get("/items/x", headers=ADMIN)  # the host's items route, not an extension, answers
    assert items.status_code == 404
    assert items.json() == {"errors": [{"message": 'Collection "x" doesn\'t exist.', "extensions": {"code": "NOT_FOUND"}}]}


def add_good(root: Path) -> None:
    write_extension(root, "good-endpoint", "endpoint", GOOD)
    write_extension(root, "good-hook", "hook", GOOD_HOOK)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A host with the well-behaved extensions only: what every probe must look like."""
    tmp = tmp_path_factory.mktemp("baseline")
    add_good(tmp / "extensions")
    with running_host(make_settings(tmp, tmp / "extensions")) as client:
        yield client


def probes(segment: str) -> list[tuple[str, str]]:
    paths = [f"/{segment}", f"/{segment}/", f"/{segment}/probe", f"/{segment}/probe/deeper"]
    return [(method, path) for path in paths for method in ("GET", "POST", "DELETE")]


def assert_same_as_baseline(client: TestClient, baseline: TestClient, paths: list[tuple[str, str]]) -> None:
    """Each request is answered exactly as a host without the attackers answers it (anonymously:
    an administrator's `GET /extensions` would differ by the attackers' own entries)."""
    for method, path in paths:
        got = client.request(method, path)
        assert MARK not in got.text, (method, path)
        assert seen(got) == seen(baseline.request(method, path)), (method, path)


# -- the derived namespace -----------------------------------------------------------------------


def test_the_namespace_is_derived_from_the_app_routes() -> None:
    assert {"items", "flows", "operations", "extensions", "server", "docs", "openapi.json", "redoc"} <= set(
        HOST_SEGMENTS
    )
    assert NAMESPACE.segments["items"] == 'the host route "/items/{collection}"'
    assert NAMESPACE.segments["graphql"] == 'Directus\'s API namespace "/graphql"'
    assert {"auth", "users", "roles", "permissions", "collections", "fields", "files", "folders", "activity",
            "revisions", "settings", "admin", "graphql", "assets"} <= set(ALL_SEGMENTS)  # fmt: skip


def test_routes_added_after_create_app_are_in_the_namespace(extensions_dir: Path, tmp_path: Path) -> None:
    """A router or mount added to the app later (a console, the Directus API) is protected too."""
    write_extension(extensions_dir, "takes-later", "endpoint", evil_with_id("later-route"))
    write_extension(extensions_dir, "takes-console", "endpoint", evil_with_id("Console"))
    add_good(extensions_dir)
    app = create_app(make_settings(tmp_path, extensions_dir))
    router = APIRouter(prefix="/later-route")
    router.add_api_route("/{key}", lambda key: {"later": key})
    app.include_router(router)
    app.mount("/console", PlainTextResponse("console"))
    with TestClient(app, raise_server_exceptions=False) as client:
        found = listing(client)
        assert 'the host route "/later-route/{key}"' in found["takes-later"]["error"]
        assert 'the host route "/console"' in found["takes-console"]["error"]
        assert client.get("/later-route/7").json() == {"later": "7"}
        assert client.get("/console").text == "console"
        assert_host_healthy(client)


@pytest.mark.parametrize("kind", ["parameter-first", "no-path"])
def test_a_host_route_starting_with_a_parameter_stops_the_start(tmp_path: Path, kind: str) -> None:
    """Such a route would match every endpoint id: the host refuses to promise a namespace it cannot keep."""
    app = create_app(make_settings(tmp_path))
    if kind == "parameter-first":
        app.add_api_route("/{anything}/x", lambda anything: {})
        expected = "starts with a parameter"
    else:
        app.host("api.example.com", PlainTextResponse("any path"))
        expected = "has no path"
    with pytest.raises(ValueError, match=expected), TestClient(app):
        pass


# -- host-route hijacks, by package name -----------------------------------------------------------

PACKAGE_SPELLINGS: dict[str, Callable[[str], str]] = {
    "exact": lambda s: s,
    "upper": str.upper,
    "capitalized": str.capitalize,
}


@pytest.fixture(scope="module", params=list(PACKAGE_SPELLINGS))
def by_package(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[str, TestClient]
]:
    """One host holding, for every host segment, an endpoint whose package name spells it."""
    spelling = PACKAGE_SPELLINGS[request.param]
    tmp = tmp_path_factory.mktemp(f"by-package-{request.param}")
    root = tmp / "extensions"
    for segment in ALL_SEGMENTS:
        write_extension(root, spelling(segment), "endpoint", EVIL_BY_NAME)
    add_good(root)
    with running_host(make_settings(tmp, root)) as client:
        yield request.param, client


@pytest.mark.parametrize("segment", ALL_SEGMENTS)
def test_package_name_cannot_take_a_host_segment(
    by_package: tuple[str, TestClient], baseline: TestClient, segment: str
) -> None:
    spelling, client = by_package
    name = PACKAGE_SPELLINGS[spelling](segment)
    entry = listing(client)[name]
    assert entry["status"] == "error"
    assert f'endpoint "{name}"' in entry["error"]
    assert NAMESPACE.segments[segment] in entry["error"]
    assert_same_as_baseline(client, baseline, probes(segment) + probes(name))
    assert_host_healthy(client)
    assert listing(client)["good-hook"]["status"] == "ready"


# -- host-route hijacks, by config id (every spelling that folds onto the segment) ---------------


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def id_spellings(segment: str) -> dict[str, str]:
    spellings = {
        "exact": segment,
        "upper": segment.upper(),
        "mixed": "".join(c.upper() if i % 2 else c for i, c in enumerate(segment)),
        "first-encoded": f"%{ord(segment[0]):02X}{segment[1:]}",
        "all-encoded": "".join(f"%{ord(c):02x}" for c in segment),
        "fullwidth": fullwidth(segment),
        "trailing-slash": segment + "/",
        "leading-slash": "/" + segment,
        "two-segments": segment + "/deeper",
        "encoded-slash": segment + "%2F",
        "padded": f" {segment}\t",
    }
    if "s" in segment:
        spellings["long-s"] = segment.replace("s", "\u017f", 1)  # LATIN SMALL LETTER LONG S folds to "s"
    if "k" in segment:
        spellings["kelvin"] = segment.replace("k", "\u212a", 1)  # KELVIN SIGN folds to "k"
    return spellings


ID_CASES = [(segment, spelling) for segment in ALL_SEGMENTS for spelling in id_spellings(segment)]


def case_folder(segment: str, spelling: str) -> str:
    return f"id-{spelling}-{segment.replace('.', '-')}"


@pytest.fixture(scope="module")
def by_id(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One host holding, for every host segment and every spelling of it, an endpoint using it as its id."""
    tmp = tmp_path_factory.mktemp("by-id")
    root = tmp / "extensions"
    for segment, spelling in ID_CASES:
        write_extension(root, case_folder(segment, spelling), "endpoint", evil_with_id(id_spellings(segment)[spelling]))
    add_good(root)
    with running_host(make_settings(tmp, root)) as client:
        yield client


@pytest.fixture(scope="module")
def by_id_listing(by_id: TestClient) -> dict[str, dict[str, Any]]:
    return listing(by_id)


@pytest.mark.parametrize(("segment", "spelling"), ID_CASES)
def test_config_id_cannot_take_a_host_segment(
    by_id_listing: dict[str, dict[str, Any]], segment: str, spelling: str
) -> None:
    name = case_folder(segment, spelling)
    entry = by_id_listing[name]
    assert entry["status"] == "error"
    assert f'endpoint "{name}" may not use the id {json.dumps(id_spellings(segment)[spelling])}' in entry["error"]
    assert NAMESPACE.segments[segment] in entry["error"]


@pytest.mark.parametrize("segment", ALL_SEGMENTS)
def test_no_spelling_of_a_host_segment_reaches_an_extension(
    by_id: TestClient, baseline: TestClient, segment: str
) -> None:
    paths = probes(segment)
    for spelling in id_spellings(segment).values():
        encoded = quote(spelling, safe="/%")
        paths += [("GET", f"/{encoded}"), ("GET", f"/{encoded}/probe"), ("POST", f"/{encoded}/probe")]
    assert_same_as_baseline(by_id, baseline, paths)
    assert_host_healthy(by_id)


def test_a_hook_may_bear_a_host_segment_as_its_name(extensions_dir: Path, host: HostFactory) -> None:
    """Only endpoints are served under their id: a hook called `items` takes nothing."""
    write_extension(extensions_dir, "items", "hook", GOOD_HOOK)
    add_good(extensions_dir)
    with host() as client:
        assert listing(client)["items"]["status"] == "ready"
        assert_host_healthy(client)


# -- ids that are not one clean path segment -------------------------------------------------------

UNCLEAN_IDS = {
    "dot": ".",
    "dot-dot": "..",
    "slash-inside": "a/b",
    "percent": "a%20b",
    "lone-percent": "100%",
    "space": "a b",
    "tab": "a\tb",
    "newline": "greet\n",
    "nul": "a\u0000b",
    "escape": "a\u001b[31mb",
    "del": "a\u007fb",
    "zero-width": "\u200bgreet",
    "bidi-override": "\u202egreet",
    "non-ascii": "gr\u00fc\u00dfe",
    "combining": "gre\u0301et",
    "dotted-capital-i": "\u0130tems",
    "cyrillic": "\u0456tems",
    "question": "a?b",
    "hash": "a#b",
    "backslash": "a\\b",
    "quote": 'a"b',
    "angle": "a<b>",
    "pipe": "a|b",
}


@pytest.fixture(scope="module")
def unclean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("unclean")
    root = tmp / "extensions"
    for label, endpoint_id in UNCLEAN_IDS.items():
        write_extension(root, f"unclean-{label}", "endpoint", evil_with_id(endpoint_id))
    write_extension(root, "unclean-empty", "endpoint", evil_with_id(""))
    write_named(root, "scoped-package", "@acme/greet", "endpoint", EVIL_BY_NAME)
    write_named(root, "scoped-with-id", "@acme/hello", "endpoint", evil_with_id("acme-hello"))
    add_good(root)
    with running_host(make_settings(tmp, root)) as client:
        yield client


@pytest.mark.parametrize("label", list(UNCLEAN_IDS))
def test_an_id_must_be_one_clean_path_segment(unclean: TestClient, baseline: TestClient, label: str) -> None:
    endpoint_id = UNCLEAN_IDS[label]
    entry = listing(unclean)[f"unclean-{label}"]
    assert entry["status"] == "error"
    assert f'endpoint "unclean-{label}" may not use the id {json.dumps(endpoint_id)}' in entry["error"]
    assert "path segment" in entry["error"] or "may not be" in entry["error"]
    encoded = quote(endpoint_id, safe="")
    assert_same_as_baseline(unclean, baseline, [("GET", f"/{encoded}"), ("GET", f"/{encoded}/x")])
    assert_host_healthy(unclean)


def test_an_empty_id_is_refused(unclean: TestClient) -> None:
    entry = listing(unclean)["unclean-empty"]
    assert entry["status"] == "error"
    assert "endpoint id must be a non-empty string" in entry["error"]


def test_a_scoped_package_name_needs_a_config_id(unclean: TestClient) -> None:
    found = listing(unclean)
    assert found["@acme/greet"]["status"] == "error"
    assert "export default { id, handler }" in found["@acme/greet"]["error"]
    assert found["@acme/hello"]["status"] == "ready"
    assert unclean.get("/acme-hello/anything").text == MARK  # its own id, its own routes
    assert unclean.get("/@acme/greet").status_code == 404


# -- cross-extension hijacks -------------------------------------------------------------------------


def serving(text: str) -> str:
    return f"export default {{ id: 'shared', handler: (router) => router.get('/', () => ({{ status: 200, body: '{text}' }})) }};"


CLASHES: dict[str, list[tuple[str, str, str]]] = {
    # label -> [(package name, kind, source)] of the extensions that all claim one name
    "same-package-name": [("shared", "endpoint", GOOD), ("shared", "endpoint", GOOD)],
    "same-config-id": [("alpha", "endpoint", serving("alpha")), ("beta", "endpoint", serving("beta"))],
    "id-case-variant": [
        ("alpha", "endpoint", serving("alpha").replace("'shared'", "'Shared'")),
        ("beta", "endpoint", serving("beta").replace("'shared'", "'SHARED'")),
    ],
    "id-vs-package-name": [("alpha", "endpoint", serving("alpha")), ("shared", "endpoint", GOOD)],
    "id-vs-hook-package-name": [("alpha", "endpoint", serving("alpha")), ("shared", "hook", GOOD_HOOK)],
    "package-name-vs-hook": [("shared", "endpoint", GOOD), ("shared", "hook", GOOD_HOOK)],
    "three-way": [
        ("alpha", "endpoint", serving("alpha")),
        ("beta", "endpoint", serving("beta")),
        ("shared", "operation", "export default { id: 'op-shared', handler: () => 1 };"),
    ],
}


@pytest.mark.parametrize("order", ["forward", "reverse"])
@pytest.mark.parametrize("label", list(CLASHES))
def test_extensions_claiming_one_name_are_all_refused(
    extensions_dir: Path, host: HostFactory, baseline: TestClient, label: str, order: str
) -> None:
    claimants = CLASHES[label]
    prefixes = ["a", "m", "z"][: len(claimants)]
    if order == "reverse":
        prefixes.reverse()
    folders = [f"{prefix}-{label}-{index}" for index, prefix in enumerate(prefixes)]
    for folder, (package, kind, source) in zip(folders, claimants, strict=True):
        write_named(extensions_dir, folder, package, kind, source)
    add_good(extensions_dir)
    with host() as client:
        found = listing(client)
        entries = [
            found.get(f"{package} ({folder})") or found[package]
            for folder, (package, _, _) in zip(folders, claimants, strict=True)
        ]
        for index, entry in enumerate(entries):
            assert entry["status"] == "error", entry
            assert "all of them are refused, whatever the load order" in entry["error"]
            for other, folder in enumerate(folders):
                if other != index:
                    assert f'(folder "{folder}")' in entry["error"], (entry, folder)
        for method, path in [("GET", "/shared"), ("GET", "/Shared/"), ("GET", "/alpha"), ("GET", "/beta")]:
            got = client.request(method, path)
            assert got.status_code == 404
            assert got.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"
        assert_same_as_baseline(client, baseline, probes("items")[:3])
        assert_host_healthy(client)
        assert found["good-hook"]["status"] == "ready"


def test_refused_extensions_stay_listed_apart(extensions_dir: Path, host: HostFactory) -> None:
    """Two folders with one package name are both listed, each under a label naming its folder."""
    write_named(extensions_dir, "first", "twin", "endpoint", GOOD)
    write_named(extensions_dir, "second", "twin", "endpoint", GOOD)
    add_good(extensions_dir)
    with host() as client:
        found = listing(client)
        assert "twin" not in found
        assert 'extension "twin" (folder "second")' in found["twin (first)"]["error"]
        assert 'extension "twin" (folder "first")' in found["twin (second)"]["error"]
        assert_host_healthy(client)


# -- operation ids ---------------------------------------------------------------------------------


def operation(operation_id: str, answer: str) -> str:
    return f"export default {{ id: {json.dumps(operation_id)}, handler: () => ({{ answer: {json.dumps(answer)} }}) }};"


def save_operation(client: TestClient, flow: str, op_type: str) -> Any:
    return client.post("/operations", headers=ADMIN, json={
        "flow": flow, "type": op_type, "key": f"k{abs(hash(op_type))}", "position_x": 1, "position_y": 1, "options": {},
    })  # fmt: skip


@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_an_operation_id_belongs_to_one_extension_and_never_to_a_built_in(
    extensions_dir: Path, host: HostFactory, order: str
) -> None:
    """Two extensions registering one operation id are both refused, each naming the other, whatever
    the load order (the first loaded used to win); an id of a built-in operation is refused naming it."""
    first, second = ("a-op", "z-op") if order == "forward" else ("z-op", "a-op")
    write_extension(extensions_dir, first, "operation", operation("shared-op", first))
    write_extension(extensions_dir, second, "operation", operation("Shared-Op", second))
    for builtin in ("log", "item-read", "REQUEST", "exec"):
        write_extension(extensions_dir, f"takes-{builtin.lower()}", "operation", operation(builtin, "HIJACKED"))
    write_extension(extensions_dir, "own-op", "operation", operation("own-op", "own"))
    write_extension(extensions_dir, "op-named-like-a-package", "operation", operation("good-endpoint", "fine"))
    add_good(extensions_dir)
    with host() as client:
        found = listing(client)
        for me, other in ((first, second), (second, first)):
            assert found[me]["status"] == "error", found[me]
            assert f'(folder "{other}") as its operation id' in found[me]["error"]
            assert "all of them are refused, whatever the load order" in found[me]["error"]
        for builtin in ("log", "item-read", "REQUEST", "exec"):
            entry = found[f"takes-{builtin.lower()}"]
            assert entry["status"] == "error", entry
            assert f'the built-in operation "{builtin.lower()}"' in entry["error"]
        assert found["own-op"]["status"] == "ready"
        assert found["op-named-like-a-package"]["status"] == "ready"  # operation ids and names are apart
        flow = client.post("/flows", headers=ADMIN, json={"name": "f", "trigger": "webhook", "options": {"method": "POST"}})
        flow_id = flow.json()["data"]["id"]
        refused = save_operation(client, flow_id, "shared-op")
        assert refused.status_code == 400
        assert 'unknown operation type "shared-op"' in refused.json()["errors"][0]["message"].lower()
        step = save_operation(client, flow_id, "log")
        assert step.status_code == 200, step.text
        client.patch(f"/flows/{flow_id}", headers=ADMIN, json={"operation": step.json()["data"]["id"]})
        answer = client.post(f"/flows/trigger/{flow_id}", json={})
        assert answer.status_code in (200, 204), answer.text
        assert "HIJACKED" not in answer.text  # the built-in log ran, not the extension
        assert save_operation(client, flow_id, "own-op").status_code == 200
        assert_host_healthy(client)


# -- limits: routes, hook handlers, paths ------------------------------------------------------------


def many_routes(count: int) -> str:
    return (
        "export default (router) => { for (let i = 0; i < "
        f"{count}; i++) router.get('/r' + i + '/:id', (req) => ({{ status: 200, body: {{ route: i, id: req.params.id }} }})); }};"
    )


def many_hooks(filters: int, actions: int) -> str:
    return (
        "export default ({ filter, action }) => {"
        f" for (let i = 0; i < {filters}; i++) filter('items.create', (p) => p);"
        f" for (let i = 0; i < {actions}; i++) action('items.create', () => {{}}); }};"
    )


@pytest.fixture(scope="module")
def limits_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("limits")
    root = tmp / "extensions"
    write_extension(root, "routes-at-limit", "endpoint", many_routes(MAX_ROUTES))
    write_extension(root, "routes-over-limit", "endpoint", many_routes(MAX_ROUTES + 1))
    write_extension(root, "routes-far-over", "endpoint", many_routes(10_000))
    half = MAX_HOOK_HANDLERS // 2
    write_extension(root, "hooks-at-limit", "hook", many_hooks(half, MAX_HOOK_HANDLERS - half))
    write_extension(root, "hooks-over-limit", "hook", many_hooks(half + 1, MAX_HOOK_HANDLERS - half))
    write_extension(root, "filters-over-limit", "hook", many_hooks(MAX_HOOK_HANDLERS + 1, 0))
    long_path = "/" + "a" * MAX_ROUTE_PATH_LENGTH
    write_extension(
        root, "path-too-long", "endpoint", f"export default (router) => router.get('{long_path}', () => 'x');"
    )
    for label, path in {"adjacent": "/:a:b", "param-wildcard": "/:a*", "two-wildcards": "/x/*/y/*"}.items():
        write_extension(root, f"ambiguous-{label}", "endpoint", f"export default (router) => router.get('{path}', () => 'x');")
    add_good(root)
    with running_host(make_settings(tmp, root)) as client:
        yield client


def test_routes_up_to_the_limit_load_and_serve(limits_host: TestClient) -> None:
    assert listing(limits_host)["routes-at-limit"]["status"] == "ready"
    for index in (0, MAX_ROUTES // 2, MAX_ROUTES - 1):
        assert limits_host.get(f"/routes-at-limit/r{index}/7").json() == {"route": index, "id": "7"}
    assert limits_host.get(f"/routes-at-limit/r{MAX_ROUTES}/7").status_code == 404


@pytest.mark.parametrize(("name", "count"), [("routes-over-limit", MAX_ROUTES + 1), ("routes-far-over", 10_000)])
def test_too_many_routes_are_refused(limits_host: TestClient, name: str, count: int) -> None:
    entry = listing(limits_host)[name]
    assert entry["status"] == "error"
    assert f"the endpoint registered {count} routes; at most {MAX_ROUTES} are allowed" in entry["error"]
    assert limits_host.get(f"/{name}/r0/7").status_code == 404
    assert_host_healthy(limits_host)


def test_hook_handlers_up_to_the_limit_load(limits_host: TestClient) -> None:
    assert listing(limits_host)["hooks-at-limit"]["status"] == "ready"


@pytest.mark.parametrize(
    ("name", "filters", "actions"),
    [
        ("hooks-over-limit", MAX_HOOK_HANDLERS // 2 + 1, MAX_HOOK_HANDLERS - MAX_HOOK_HANDLERS // 2),
        ("filters-over-limit", MAX_HOOK_HANDLERS + 1, 0),
    ],
)
def test_too_many_hook_handlers_are_refused(limits_host: TestClient, name: str, filters: int, actions: int) -> None:
    entry = listing(limits_host)[name]
    assert entry["status"] == "error"
    assert (
        f"the hook registered {filters + actions} handlers ({filters} filters, {actions} actions); "
        f"at most {MAX_HOOK_HANDLERS} are allowed"
    ) in entry["error"]
    assert_host_healthy(limits_host)


def test_a_route_path_too_long_is_refused(limits_host: TestClient) -> None:
    entry = listing(limits_host)["path-too-long"]
    assert entry["status"] == "error"
    assert f"at most {MAX_ROUTE_PATH_LENGTH} are allowed" in entry["error"]


@pytest.mark.parametrize(
    ("label", "fragment"),
    [
        ("adjacent", "two parameters or wildcards with nothing between them"),
        ("param-wildcard", "two parameters or wildcards with nothing between them"),
        ("two-wildcards", "more than one '*'"),
    ],
)
def test_ambiguous_route_paths_are_refused(limits_host: TestClient, label: str, fragment: str) -> None:
    entry = listing(limits_host)[f"ambiguous-{label}"]
    assert entry["status"] == "error"
    assert fragment in entry["error"]
    assert_host_healthy(limits_host)


# -- route lookup keeps Express's rules ---------------------------------------------------------------

LOOKUP = """
const answer = (name) => (req) => ({ status: 200, body: { name, params: req.params } });
export default (router) => {
  router.get('/items/:id', answer('param-first'));
  router.get('/items/new', answer('static-after-param'));
  router.get('/things/new', answer('static-first'));
  router.get('/things/:id', answer('param-after-static'));
  router.get('/same', answer('first'));
  router.get('/same', answer('second'));
  router.get('/opt/:a?', answer('optional'));
  router.get('/range/:from-:to', answer('range'));
  router.get('/files/*.json', answer('wildcard'));
  router.get('/twice/:a/:a', answer('twice'));
  router.post('/items/new', answer('post'));
  router.get('/*', answer('catch-all'));
};
"""


@pytest.fixture(scope="module")
def lookup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("lookup")
    write_extension(tmp / "extensions", "lookup", "endpoint", LOOKUP)
    with running_host(make_settings(tmp, tmp / "extensions")) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("GET", "/lookup/items/new", "param-first", {"id": "new"}),
        ("GET", "/lookup/items/new/", "param-first", {"id": "new"}),
        ("GET", "/lookup/things/new", "static-first", {}),
        ("GET", "/lookup/things/new/", "static-first", {}),
        ("GET", "/lookup/things/7", "param-after-static", {"id": "7"}),
        ("GET", "/lookup/same", "first", {}),
        ("GET", "/lookup/opt", "optional", {}),
        ("GET", "/lookup/opt/x", "optional", {"a": "x"}),
        ("GET", "/lookup/range/a-b-c", "range", {"from": "a", "to": "b-c"}),
        ("GET", "/lookup/files/a/b.json", "wildcard", {}),
        ("GET", "/lookup/twice/1/2", "twice", {"a": "2"}),
        ("POST", "/lookup/items/new", "post", {}),
        ("GET", "/lookup/anything/else", "catch-all", {}),
    ],
)
def test_lookup_keeps_express_semantics(
    lookup: TestClient, method: str, path: str, name: str, params: dict[str, str]
) -> None:
    assert lookup.request(method, path).json() == {"name": name, "params": params}
    refused = lookup.delete("/lookup/items/new")  # no DELETE route: 405, naming the methods that are there
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD, POST, OPTIONS"


# -- registrations that carry what their kind may not (hand-written Extism modules) -------------------


def extism_module(registration: dict[str, Any]) -> bytes:
    """A core module speaking the exthost Extism ABI whose `register` returns `registration` verbatim."""
    register = json.dumps(registration).encode()
    answer = json.dumps({"done": {"status": 200, "body": MARK}}).encode()

    pages = (len(register) + len(answer)) // 65536 + 1
    return bytes(wasmtime.wat2wasm(f"""
    (module
      (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
      (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
      (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
      (memory {pages})
      (data (i32.const 0) "{wat_string(register)}")
      (data (i32.const {len(register)}) "{wat_string(answer)}")
      {EMIT_WAT}
      (func (export "register") (result i32) (call $emit (i32.const 0) (i32.const {len(register)})) (i32.const 0))
      (func (export "invoke") (result i32)
        (call $emit (i32.const {len(register)}) (i32.const {len(answer)})) (i32.const 0)))
    """))


ROUTE = {"method": "GET", "path": "/", "handler": 0}
HOOK = {"event": "items.create", "handler": 0}
OPERATION = {"id": "sneaky-op", "handler": 0}
FOREIGN: dict[str, tuple[str, dict[str, Any], str]] = {
    # label -> (manifest kind, registration, what the error names)
    "operation-with-routes": ("operation", {"operation": OPERATION, "routes": [ROUTE]}, "routes"),
    "operation-with-hooks": ("operation", {"operation": OPERATION, "filters": [HOOK], "actions": [HOOK]}, "filters or actions"),
    "endpoint-with-operation": ("endpoint", {"routes": [ROUTE], "operation": OPERATION}, "operation"),
    "endpoint-with-filters": ("endpoint", {"routes": [ROUTE], "filters": [HOOK]}, "filters"),
    "hook-with-routes": ("hook", {"filters": [HOOK], "routes": [ROUTE]}, "routes"),
    "extism-over-limit": ("endpoint", {"routes": [{**ROUTE, "path": f"/r{i}"} for i in range(MAX_ROUTES + 1)]}, ""),
    "extism-host-id": ("endpoint", {"id": "ITEMS", "routes": [ROUTE]}, ""),
}  # fmt: skip


def test_registrations_carrying_foreign_parts_are_refused(extensions_dir: Path, host: HostFactory) -> None:
    for label, (kind, registration, _) in FOREIGN.items():
        write_extension(extensions_dir, label, kind, extism_module(registration), filename="index.wasm")
    write_extension(extensions_dir, "extism-ok", "endpoint", extism_module({"id": "extism-ok", "routes": [ROUTE]}),
                    filename="index.wasm")  # fmt: skip
    add_good(extensions_dir)
    with host() as client:
        found = listing(client)
        assert found["extism-ok"]["status"] == "ready"
        assert client.get("/extism-ok").text == MARK
        for label, (kind, _, part) in FOREIGN.items():
            assert found[label]["status"] == "error", label
            if part:
                assert f"{kind} extensions may not register {part}" in found[label]["error"], label
        assert "at most 256 are allowed" in found["extism-over-limit"]["error"]
        assert 'the host route "/items/{collection}"' in found["extism-host-id"]["error"]
        assert client.get("/ITEMS/x").status_code == 404
        assert_host_healthy(client)


def test_a_registration_too_large_to_read_is_refused(extensions_dir: Path, host: HostFactory) -> None:
    """What `register` returns is refused past MAX_REGISTRATION_BYTES before anything parses it, and
    an invalid one is described in a few lines: 200000 empty routes used to take the host seconds and
    hundreds of MB to validate, and made a load error of 40 MB (its 600000 problems, one by one)."""
    empty_routes = [{} for _ in range(200_000)]
    write_extension(extensions_dir, "huge-registration", "endpoint",
                    extism_module({"id": "huge", "routes": empty_routes}), filename="index.wasm")  # fmt: skip
    write_extension(extensions_dir, "many-problems", "endpoint",
                    extism_module({"id": "many", "routes": empty_routes[:100_000]}), filename="index.wasm")  # fmt: skip
    add_good(extensions_dir)
    with host() as client:
        found = listing(client)
        huge = found["huge-registration"]
        assert huge["status"] == "error"
        assert f"at most {MAX_REGISTRATION_BYTES} are allowed" in huge["error"], huge["error"][:300]
        many = found["many-problems"]
        assert many["status"] == "error"
        assert "the extension registered something invalid: routes.0.method: Field required" in many["error"]
        assert many["error"].endswith("and 299995 more") and len(many["error"]) < 1000, many["error"][-200:]
        assert_host_healthy(client)
