// One call of the official @directus/sdk, for tests/compat.
//
// stdin:  {"url": "...", "token": "...", "command": "readItems", "args": [...], "search": false}
// stdout: {"data": <what the SDK returned>, "status": 200, "method": "GET", "path": "/items/x?..."}
//      or {"error": {"message": "...", "errors": [...]}, "status": 400, "method": ..., "path": ...}
//
// `command` is the name of one of the SDK's REST commands; `search: true` wraps it in
// `withSearch` (a GET becomes a SEARCH request with the query in its body). Auth is the
// SDK's static token.
import * as sdk from '@directus/sdk';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

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
  process.stdout.write(JSON.stringify({ error: { message: `@directus/sdk has no command "${input.command}"` } }));
  process.exit(2);
}
const client = sdk.createDirectus(input.url, { globals: { fetch: fetching } })
  .with(sdk.staticToken(input.token))
  .with(sdk.rest());
let command = make(...(input.args ?? []));
if (input.search) command = sdk.withSearch(command);

let out;
try {
  const data = await client.request(command);
  out = { data: data === undefined ? null : data };
} catch (error) {
  out = { error: { message: error?.message ?? String(error), errors: error?.errors ?? null } };
}
process.stdout.write(JSON.stringify({ ...out, ...seen }));
