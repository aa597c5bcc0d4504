"""`exthost new KIND LANGUAGE DIR`: a working extension, its manifest and a test.

Every template does the same thing in its language, and the generated
`test_<name>.py` builds the extension, loads it in a real sandbox and calls it by
name through `host.testing`:

- endpoint: `GET /hello/:name` -> `{"status": 200, "body": {"hello": name}}`
- hook: `filter("items.create")` adds `"checked": true` to the payload
- operation: `handler({"name": n})` -> `{"greeting": "Hello, n"}`
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from host.extensions.build import DECLARATIONS
from host.types import ExtensionKind

LANGUAGES = ("js", "ts", "python", "assemblyscript", "c")
SOURCE = {"js": "src/index.js", "ts": "src/index.ts", "python": "src/index.py", "assemblyscript": "src/index.ts",
          "c": "src/index.c"}
ARTIFACT = {"js": "dist/index.js", "ts": "dist/index.js", "python": "dist/index.py",
            "assemblyscript": "dist/index.wasm", "c": "dist/index.wasm"}


class ScaffoldError(ValueError):
    """The extension cannot be created; the message says why."""


_JS = {
    "endpoint": """export default (router) => {
  router.get('/hello/:name', (req) => ({ status: 200, body: { hello: req.params.name } }));
};
""",
    "hook": """export default ({ filter }) => {
  filter('items.create', (payload) => ({ ...payload, checked: true }));
};
""",
    "operation": """export default {
  id: '{name}',
  handler: (options) => ({ greeting: `Hello, ${options.name}` }),
};
""",
}

_TS = {
    "endpoint": """import { defineEndpoint } from '@directus/extensions-sdk';
import type { SandboxEndpointRequest } from 'directus:api';

export default defineEndpoint((router) => {
  router.get('/hello/:name', (req: SandboxEndpointRequest) => ({ status: 200, body: { hello: req.params.name } }));
});
""",
    "hook": """import { defineHook } from '@directus/extensions-sdk';

export default defineHook(({ filter }) => {
  filter('items.create', (payload: Record<string, unknown>) => ({ ...payload, checked: true }));
});
""",
    "operation": """import { defineOperationApi } from '@directus/extensions-sdk';

export default defineOperationApi<{ name: string }>({
  id: '{name}',
  handler: (options) => ({ greeting: `Hello, ${options.name}` }),
});
""",
}


def tsconfig() -> str:
    """The TS scaffold's `tsconfig.json`: strict, with the `directus:api` and
    `@directus/extensions-sdk` declarations of this host's SDK (what `exthost build` checks with)."""
    config = {
        "compilerOptions": {
            "strict": True, "noEmit": True, "module": "ESNext", "target": "ES2022",
            "moduleResolution": "Bundler", "skipLibCheck": True, "types": [],
        },
        "include": ["src", str(DECLARATIONS)],
    }
    return json.dumps(config, indent=2) + "\n"


_PYTHON = {
    "endpoint": """from directus_api import EndpointRequest, EndpointResponse, router


@router.get("/hello/:name")
def hello(req: EndpointRequest) -> EndpointResponse:
    return {"status": 200, "body": {"hello": req["params"]["name"]}}
""",
    "hook": """from typing import Any

from directus_api import filter


@filter("items.create")
def check(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "checked": True}
""",
    "operation": """from typing import Any

from directus_api import operation


@operation("{name}")
def greet(options: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"greeting": f"Hello, {options['name']}"}
""",
}

_AS_HEAD = """import { extension, Value, Result, done } from "@exthost/assemblyscript/assembly";
export { invoke } from "@exthost/assemblyscript/assembly";

"""
_AS = {
    "endpoint": _AS_HEAD + """function hello(args: Value): Result {
  const name = args.at(0).get("params").get("name");
  return done(Value.object().set("status", Value.number(200)).set("body", Value.object().set("hello", name)));
}

export function register(): i32 {
  extension.get("/hello/:name", hello);
  return extension.registered();
}
""",
    "hook": _AS_HEAD + """function check(args: Value): Result {
  return done(args.at(0).set("checked", Value.bool(true)));
}

export function register(): i32 {
  extension.filter("items.create", check);
  return extension.registered();
}
""",
    "operation": _AS_HEAD + """function greet(args: Value): Result {
  return done(Value.object().set("greeting", Value.string("Hello, " + args.at(0).get("name").asString())));
}

export function register(): i32 {
  extension.operation("{name}", greet);
  return extension.registered();
}
""",
}

_C = {
    "endpoint": """#include "exthost.h"
#include <stdio.h>

static exthost_result hello(exthost_args args) {
  const char *req, *params, *name;
  size_t req_len, params_len, name_len;
  if (!exthost_arg(args, 0, &req, &req_len) || !exthost_get(req, req_len, "params", &params, &params_len) ||
      !exthost_get(params, params_len, "name", &name, &name_len))
    return exthost_fail("no name");
  char out[512];
  snprintf(out, sizeof out, "{\\"status\\":200,\\"body\\":{\\"hello\\":%.*s}}", (int)name_len, name);
  return exthost_done(out);
}

EXTHOST_EXTENSION("{\\"routes\\":[{\\"method\\":\\"GET\\",\\"path\\":\\"/hello/:name\\",\\"handler\\":0}]}", hello)
""",
    "hook": """#include "exthost.h"
#include <stdio.h>

static exthost_result check(exthost_args args) {
  const char *payload;
  size_t length;
  if (!exthost_arg(args, 0, &payload, &length) || length < 2 || payload[0] != '{') return exthost_fail("no payload");
  size_t inner = length - 2; /* between the braces */
  char *out = malloc(inner + 32);
  if (!out) return exthost_out_of_memory();
  snprintf(out, inner + 32, "{%.*s%s\\"checked\\":true}", (int)inner, payload + 1, inner ? "," : "");
  exthost_result result = exthost_done(out);
  free(out);
  return result;
}

EXTHOST_EXTENSION("{\\"filters\\":[{\\"event\\":\\"items.create\\",\\"handler\\":0}],\\"actions\\":[]}", check)
""",
    "operation": """#include "exthost.h"
#include <stdio.h>

static exthost_result greet(exthost_args args) {
  const char *options, *name;
  size_t options_len, name_len;
  if (!exthost_arg(args, 0, &options, &options_len) || !exthost_get(options, options_len, "name", &name, &name_len) ||
      name_len < 2)
    return exthost_fail("no name");
  char out[512];
  snprintf(out, sizeof out, "{\\"greeting\\":\\"Hello, %.*s\\"}", (int)name_len - 2, name + 1);
  return exthost_done(out);
}

EXTHOST_EXTENSION("{\\"operation\\":{\\"id\\":\\"{name}\\",\\"handler\\":0}}", greet)
""",
}

TEMPLATES = {"js": _JS, "ts": _TS, "python": _PYTHON, "assemblyscript": _AS, "c": _C}

_TEST = '''"""Generated by `exthost new`: builds this extension, loads it in a real sandbox and calls it
(`host.testing`, docs/authoring.md). Run: pytest {folder}"""

from pathlib import Path

from host.testing import load_extension

HERE = Path(__file__).resolve().parent


def test_{slug}(tmp_path: Path) -> None:
    with load_extension(HERE, tmp_path) as ext:
{check}
'''

_CHECKS = {
    "endpoint": """        answer = ext.get("/hello/ada")
        assert answer.status == 200
        assert answer.body == {"hello": "ada"}""",
    "hook": """        payload = ext.filter("items.create", {"title": "x"}, {"collection": "articles"})
        assert payload == {"title": "x", "checked": True}""",
    "operation": """        assert ext.operation({"name": "Ada"}) == {"greeting": "Hello, Ada"}""",
}


def generated_test_name(name: str) -> str:
    """The generated test's file name: unique per extension, so that several extensions side by
    side can be tested in one pytest run (pytest refuses two test modules of one name)."""
    return f"test_{name.replace('-', '_')}.py"


def scaffold(kind: str, language: str, folder: Path) -> list[Path]:
    """Write a new extension into `folder` (which must not exist or be empty); returns the files written."""
    try:
        extension_kind = ExtensionKind(kind)
    except ValueError:
        raise ScaffoldError(f"unknown kind {kind!r}: use endpoint, hook or operation") from None
    if language not in TEMPLATES:
        raise ScaffoldError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    if folder.exists() and any(folder.iterdir()):
        raise ScaffoldError(f"{folder} exists and is not empty")
    name = re.sub(r"[^a-z0-9-]+", "-", folder.resolve().name.lower()).strip("-") or "extension"
    source = TEMPLATES[language][extension_kind.value].replace("{name}", name)
    path: str | dict[str, str] = ARTIFACT[language]
    source_path: str | dict[str, str] = SOURCE[language]
    if extension_kind is ExtensionKind.operation:
        path = {"app": "dist/app.js", "api": ARTIFACT[language]}
        source_path = {"app": "src/app.js", "api": SOURCE[language]}
    manifest = {
        "name": name,
        "version": "0.1.0",
        "description": f"A {language} {kind} extension for exthost",
        "directus:extension": {
            "type": kind,
            "path": path,
            "source": source_path,
            "host": "^11.0.0",
            "sandbox": {"enabled": True, "requestedScopes": {"log": {}}},
        },
    }
    files = {
        "package.json": json.dumps(manifest, indent=2) + "\n",
        SOURCE[language]: source,
        generated_test_name(name): _TEST.replace("{folder}", str(folder))
        .replace("{slug}", name.replace("-", "_"))
        .replace("{check}", _CHECKS[kind]),
    }
    if language == "ts":
        files["tsconfig.json"] = tsconfig()
    if extension_kind is ExtensionKind.operation:
        files["src/app.js"] = (
            f"export default {{\n  id: '{name}',\n  name: '{name}',\n  icon: 'waving_hand',\n"
            f"  description: 'Greets someone',\n  overview: () => [],\n"
            f"  options: [{{ field: 'name', name: 'Name', type: 'string' }}],\n}};\n"
        )
    written = []
    for relative, text in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
