"""The `exthost` command: serve, build, validate, extensions; install, uninstall, list, grant, revoke."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import anyio.to_thread
import httpx
import typer

from host.config import Settings
from host.settingsview import SettingsError, load_settings

if TYPE_CHECKING:
    from host.extensions.state import ExtensionStates

app = typer.Typer(help="Run sandboxed Directus-style extensions.", no_args_is_help=True)


def settings_or_exit(**overrides: object) -> Settings:
    """The settings, or one line a bad value on stderr and exit status 2."""
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        for line in exc.lines:
            typer.echo(f"exthost: {line}", err=True)
        raise typer.Exit(2) from None


@app.callback()
def main() -> None:
    """Every command checks the settings first: nothing starts with a value it cannot use."""
    settings_or_exit()


@app.command()
def config(as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False) -> None:
    """Print the effective settings (environment, `.env`, defaults), secrets masked."""
    from host.settingsview import effective

    shown = effective(settings_or_exit())
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    for name, value in shown.items():
        typer.echo(f"{name}={value}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (env HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env PORT)")] = None,
    workers: Annotated[str, typer.Option(metavar="N", help="Worker processes sharing the port")] = "1",
) -> None:
    """Serve the host on HOST:PORT with the extensions of EXTENSIONS_PATH, in N worker processes."""
    from host.serving import parse_workers
    from host.serving import serve as run_server

    try:
        count = parse_workers(workers)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    overrides = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    settings = settings_or_exit(**overrides)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    code = run_server(settings.host, settings.port, count, settings.log_level, settings.log_style)
    if code:
        raise typer.Exit(code)


@app.command()
def build(folder: Annotated[Path, typer.Argument(help="The extension folder")]) -> None:
    """Build one extension from its `source` into its `path`."""
    from host.extensions.build import BuildError, build_extension
    from host.extensions.manifest import ManifestError, read_manifest

    try:
        manifest = read_manifest(folder)
        written = build_extension(folder, manifest)
    except (ManifestError, BuildError) as exc:
        typer.echo(f"{folder.name}: {exc}", err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(f"built {path}")
    if not written:
        typer.echo(f"{manifest.name}: no source to build")


@app.command()
def dev(
    folder: Annotated[Path, typer.Argument(help="The extension folder")],
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8055,
) -> None:
    """Build the extension, serve it on a local host (temporary data, SQLite), and rebuild and
    reload it whenever its files change; its errors are logged with the author's file and line."""
    from host.extensions.devloop import run_dev

    code = run_dev(folder, host, port, typer.echo)
    if code:
        raise typer.Exit(code)


@app.command()
def new(
    kind: Annotated[str, typer.Argument(help="endpoint, hook or operation")],
    language: Annotated[str, typer.Argument(help="js, ts, python, assemblyscript or c")],
    folder: Annotated[Path, typer.Argument(help="The new extension folder")],
) -> None:
    """Scaffold a working extension with a test (`exthost build` it, then `pytest` it)."""
    from host.extensions.scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(kind, language, folder)
    except ScaffoldError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: exthost dev {folder}  (or: exthost build {folder} && pytest {folder})")


@app.command()
def validate(folder: Annotated[Path, typer.Argument(help="The extension folder")]) -> None:
    """Check the manifest and the artifact (it is loaded and registered), and print the requested scopes."""
    from host.app import create_app
    from host.extensions.loader import load_extension
    from host.extensions.namespace import HostNamespace
    from host.paths import SDK_PATH
    from host.runtime import Runtime

    settings = settings_or_exit()
    namespace = HostNamespace.of_routes(create_app(settings).routes)
    runtime = Runtime(settings, SDK_PATH)
    try:
        extension = load_extension(folder, runtime, settings, namespace)
    finally:
        runtime.close()
    info = extension.describe()
    if extension.sandbox is not None:
        registration = extension.sandbox.registration
        info["registered"] = registration.model_dump(exclude_defaults=True, mode="json")
    typer.echo(json.dumps(info, indent=2))
    if extension.error:
        typer.echo(f"{extension.name}: invalid: {extension.error}", err=True)
        raise typer.Exit(1)
    scopes = ", ".join(info["requested_scopes"]) or "none"
    typer.echo(f"{extension.name}: valid {info['type']} ({info['runtime']}); requested scopes: {scopes}")


@app.command()
def extensions(
    url: Annotated[str, typer.Option(help="The running host")] = "http://127.0.0.1:8055",
    token: Annotated[str | None, typer.Option(envvar="ADMIN_TOKEN", help="Admin token")] = None,
) -> None:
    """List what a running host has loaded (needs ADMIN_TOKEN)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/extensions", headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {url}: {exc}", err=True)
        raise typer.Exit(1) from None
    if response.status_code != 200:
        typer.echo(f"{response.status_code}: {response.text}", err=True)
        raise typer.Exit(1)
    for item in response.json()["data"]:
        scopes = ",".join(item["requested_scopes"]) or "-"
        kind, runtime = item["type"] or "?", item["runtime"] or "-"
        line = f"{item['name']:<24} {kind:<10} {runtime:<10} {item['status']:<12} {scopes}"
        if item["error"]:
            line += f"  ({item['error']})"
        typer.echo(line)


def _admin(work: Callable[[Settings, ExtensionStates], Awaitable[None]]) -> None:
    """Run `work` on the database's extension states (what every running process follows)."""
    from host.cluster import open_bus
    from host.extensions.consent import GrantError
    from host.extensions.packages import PackageError
    from host.extensions.state import ExtensionStates
    from host.storage import Database

    settings = Settings()

    async def main() -> None:
        database = Database(settings.database_url)
        try:
            await anyio.to_thread.run_sync(database.migrate)
            bus = await open_bus(settings, database)
            try:
                states = ExtensionStates(bus)
                await states.load()
                await work(settings, states)
            finally:
                await bus.stop()
        finally:
            database.close()

    try:
        asyncio.run(main())
    except (PackageError, GrantError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _scopes(value: dict[str, object]) -> str:
    return json.dumps(value, separators=(",", ":")) if value else "nothing"


@app.command()
def install(
    spec: Annotated[str, typer.Argument(help="npm package (name, name@version, @scope/name@range), .tgz or folder")],
    grant: Annotated[
        list[str] | None, typer.Option("--grant", help="grant at once: all, or log/sleep/request (repeatable)")
    ] = None,
) -> None:
    """Install an extension into EXTENSIONS_PATH: disabled until granted (`--grant all` grants what it requests)."""
    from host.extensions.install import install as run_install

    async def work(settings: Settings, states: ExtensionStates) -> None:
        def progress(step: str, message: str) -> None:
            typer.echo(f"[{step}] {message}")

        given = None if not grant else "all" if "all" in grant else grant
        installed = await run_install(spec, settings, states, given, progress)
        verb = "upgraded" if installed.upgrade else "installed"
        typer.echo(f"{verb} {installed.name}@{installed.version} into {installed.folder}")
        typer.echo(f"requested scopes: {_scopes(installed.requested)}")
        typer.echo(f"granted scopes: {_scopes(installed.granted)}")
        if not installed.enabled:
            typer.echo(f"disabled until granted: exthost grant {installed.name} all (or log, sleep, request)")

    _admin(work)


@app.command()
def uninstall(name: Annotated[str, typer.Argument(help="The extension's package name")]) -> None:
    """Remove an installed extension (its folder, its grant and its state)."""
    from host.extensions.install import uninstall as run_uninstall

    async def work(settings: Settings, states: ExtensionStates) -> None:
        folder = await run_uninstall(name, settings, states)
        typer.echo(f"uninstalled {name} ({folder})")

    _admin(work)


@app.command(name="list")
def list_installed() -> None:
    """The extensions in EXTENSIONS_PATH: version, enabled, requested, granted and waiting scopes."""
    from host.extensions import consent
    from host.extensions.loader import extension_folders
    from host.extensions.manifest import ManifestError, read_manifest

    async def work(settings: Settings, states: ExtensionStates) -> None:
        for folder in extension_folders(settings.extensions_path):
            try:
                manifest = read_manifest(folder)
            except ManifestError as exc:
                typer.echo(f"{folder.name:<24} broken: {exc}")
                continue
            state = states.get(manifest.name)
            stored = consent.load(state.granted_scopes)
            granted = manifest.scopes if stored is None else consent.effective(stored, manifest.scopes)
            pending = {} if stored is None else consent.ungranted(manifest.scopes, stored)
            flag = "enabled" if state.enabled else "disabled"
            line = (f"{manifest.name:<24} {manifest.version or '-':<10} {flag:<9} "
                    f"requested={_scopes(manifest.scopes.describe())} granted={_scopes(granted.describe())}")
            if pending:
                line += f" waiting={_scopes(pending)}"
            typer.echo(line)

    _admin(work)


@app.command()
def grant(
    name: Annotated[str, typer.Argument(help="The extension's package name")],
    scopes: Annotated[list[str] | None, typer.Argument(help="all, or some of log, sleep, request")] = None,
    url: Annotated[list[str] | None, typer.Option("--url", help="grant request only these URL globs")] = None,
    method: Annotated[list[str] | None, typer.Option("--method", help="grant request only these methods")] = None,
) -> None:
    """Grant scopes (within what it requests) and enable the extension; every process reloads it."""
    from host.extensions.install import current_grant, requested_by, set_grant, widened

    async def work(settings: Settings, states: ExtensionStates) -> None:
        package, requested = requested_by(settings, name)
        now = current_grant(states, package, requested)
        if url or method:
            now = now.model_copy(update={"request": None})
        new = widened(now, requested, scopes or [], url or [], method or [])
        await set_grant(states, package, requested, new, enable=True)
        typer.echo(f"{package}: granted {_scopes(new)} (requested {_scopes(requested.describe())}); enabled")

    _admin(work)


@app.command()
def revoke(
    name: Annotated[str, typer.Argument(help="The extension's package name")],
    scopes: Annotated[list[str] | None, typer.Argument(help="all, or some of log, sleep, request")] = None,
    url: Annotated[list[str] | None, typer.Option("--url", help="take back only these granted URL globs")] = None,
) -> None:
    """Take back granted scopes (all of them with `all`); every process reloads the extension."""
    from host.extensions import consent
    from host.extensions.install import current_grant, requested_by, set_grant

    async def work(settings: Settings, states: ExtensionStates) -> None:
        package, requested = requested_by(settings, name)
        wanted = set(scopes or [])
        remove = set(consent.CAPABILITIES) if "all" in wanted else wanted
        unknown = remove - set(consent.CAPABILITIES)
        if unknown:
            raise consent.GrantError(f"unknown scope(s) {sorted(unknown)}: use log, sleep, request or all")
        new = consent.narrowed(current_grant(states, package, requested), remove, url or [])
        await set_grant(states, package, requested, new.describe())
        typer.echo(f"{package}: granted {_scopes(new.describe())} (requested {_scopes(requested.describe())})")

    _admin(work)


if __name__ == "__main__":
    app()
