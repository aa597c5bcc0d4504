// Calls of the official @directus/sdk, for tests/compat: one JSON request a line on stdin,
// one JSON answer a line on stdout (one node process serves every call of a test run).
//
// request: {"url": "...", "token": "...", "command": "readItems", "args": [...], "search": false}
// answer:  {"data": <what the SDK returned>, "status": 200, "method": "GET", "path": "/items/x?..."}
//      or  {"error": {"message": "...", "errors": [...]}, "status": 400, "method": ..., "path": ...}
//
// `command` is the name of one of the SDK's REST commands; `search: true` wraps it in
// `withSearch` (a GET becomes a SEARCH request with the query in its body). Auth is the
// SDK's static token.
import * as sdk from '@directus/sdk';
import { createInterface } from 'node:readline';

async function call(input) {
  const seen = { status: null, method: null, path: null };
  const fetching = async (url, init) => {
    const response = await fetch(url, init);
    const parsed = new URL(url);
    seen.status = response.status;
    seen.method = init?.method ?? 'GET';
    seen.path = parsed.pathname + parsed.search;
    return response;
  };
  const make = sdk[input.command];
  if (typeof make !== 'function') {
    return { error: { message: `@directus/sdk has no command "${input.command}"`, errors: null }, ...seen };
  }
  const client = sdk.createDirectus(input.url, { globals: { fetch: fetching } })
    .with(sdk.staticToken(input.token))
    .with(sdk.rest());
  try {
    let command = make(...(input.args ?? []));
    if (input.search) command = sdk.withSearch(command);
    const data = await client.request(command);
    return { data: data === undefined ? null : data, ...seen };
  } catch (error) {
    return { error: { message: error?.message ?? String(error), errors: error?.errors ?? null }, ...seen };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  process.stdout.write(JSON.stringify(await call(JSON.parse(line))) + '\n');
}
