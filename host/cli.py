"""The `exthost` command: serve, build, validate, extensions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import httpx
import typer

from host.config import Settings
from host.settingsview import SettingsError, load_settings

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
    typer.echo(f"next: exthost build {folder} && exthost validate {folder} && pytest {folder}")


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


if __name__ == "__main__":
    app()
