// Testing an extension from JavaScript, with node's test runner (`node --test`).
//
//   import { test } from 'node:test';
//   import assert from 'node:assert/strict';
//   import { loadExtension } from '<exthost>/sdk/js/testing.mjs';
//
//   test('hello', async () => {
//     const ext = await loadExtension('path/to/extension', {
//       request: (req) => ({ status: 200, body: { ok: true } }),   // the fake server
//     });
//     try {
//       assert.deepEqual((await ext.get('/hello/ada')).body, { hello: 'ada' });
//     } finally {
//       await ext.close();
//     }
//   });
//
// It drives `python -m host.testing_bridge FOLDER` (the Python testing API, host/testing.py):
// the extension is built and loaded into a real sandbox by the host's own loader. The Python
// is `EXTHOST_PYTHON` (default `python3`) and must import `host`. `request`, when given,
// answers the extension's `request` calls that pass its scope checks: it gets
// `{ method, url, headers, body }` and returns (or resolves to) `{ status, headers?, body? }`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export async function loadExtension(folder, { request, python = process.env.EXTHOST_PYTHON ?? 'python3' } = {}) {
  const child = spawn(python, ['-m', 'host.testing_bridge', folder], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-20000);
  });
  const pending = new Map();
  let next = 1;
  let ready;
  const started = new Promise((resolve, reject) => {
    ready = { resolve, reject };
  });
  const write = (message) => child.stdin.write(JSON.stringify(message) + '\n');

  createInterface({ input: child.stdout }).on('line', async (line) => {
    const message = JSON.parse(line);
    if ('ready' in message) {
      if (message.ready) ready.resolve(message.name);
      else ready.reject(new Error(`extension did not load: ${message.error}`));
    } else if ('fetch' in message) {
      try {
        if (!request) throw new Error('no fake `request` given to loadExtension');
        write({ fetch: message.fetch, response: await request(message.request) });
      } catch (error) {
        write({ fetch: message.fetch, error: String(error?.message ?? error) });
      }
    } else {
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (!waiting) return;
      if (message.error) waiting.reject(Object.assign(new Error(message.error.message), { type: message.error.type }));
      else waiting.resolve(message.result);
    }
  });
  child.on('exit', (code) => {
    const ended = new Error(`the testing bridge ended (status ${code}): ${stderr}`);
    ready.reject(ended);
    for (const waiting of pending.values()) waiting.reject(ended);
    pending.clear();
  });

  const name = await started;
  const call = (what, args) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      write({ id, call: what, args });
    });
  const route = (method) => (path, { query, headers, body } = {}) => call('request', { method, path, query, headers, body });

  return {
    name,
    request: (method, path, options = {}) => route(method)(path, options),
    get: route('GET'),
    post: route('POST'),
    patch: route('PATCH'),
    put: route('PUT'),
    delete: route('DELETE'),
    filter: (event, payload, meta) => call('filter', { event, payload, meta }),
    action: (event, meta) => call('action', { event, meta }),
    operation: (options, data) => call('operation', { options, data }),
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.stdin.end();
      }),
  };
}
