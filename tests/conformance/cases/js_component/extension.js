// A standalone component for the sdk/wit `extension` world, written straight
// against the WIT interfaces (no runtime in between), built with componentize-js.
import { log, request } from 'exthost:extension/api@0.1.0';

const routes = [
  ['GET', '/echo/:id', (req) => ({ status: 200, body: { params: req.params, query: req.query } })],
  ['POST', '/echo/:id', (req) => ({ status: 201, body: { params: req.params, query: req.query, body: req.body } })],
  ['GET', '/text', () => ({ status: 200, body: 'plain text' })],
  ['GET', '/log', () => {
    log('conformance');
    return { status: 200, body: { logged: true } };
  }],
  ['GET', '/denied', () => {
    try {
      request('https://example.com/', JSON.stringify({ method: 'GET', headers: {} }));
      return { status: 200, body: { denied: false } };
    } catch (error) {
      return { status: 403, body: { error: String(error.payload ?? error.message) } };
    }
  }],
  ['GET', '/loop', () => {
    for (;;) {}
  }],
  ['GET', '/bomb', () => {
    const keep = [];
    for (;;) keep.push(new Uint8Array(1 << 20).fill(1));
  }],
];

const filters = [
  ['items.create', (payload) => ({ ...payload, touched: true })],
  ['items.update', () => {
    throw new Error('rejected by the conformance hook');
  }],
];

const operation = (options, { data }) => {
  if (options.fail) throw new Error(`operation rejected: ${options.reason}`);
  return { ok: true, value: options.value, keys: Object.keys(data).length };
};

let handlers = [];

function failed(error) {
  const message = error instanceof Error ? error.message : String(error);
  const fault = message === 'out of memory' ? 'out-of-memory' : undefined;
  return { tag: 'failed', val: JSON.stringify({ message, name: error?.name ?? 'Error', fault }) };
}

export const guest = {
  register(source, context) {
    const { kind, name } = JSON.parse(context);
    if (kind === 'endpoint') {
      handlers = routes.map(([, , fn]) => fn);
      const table = routes.map(([method, path], handler) => ({ method, path, handler }));
      return JSON.stringify({ kind, name, id: 'conformance-js-component', routes: table });
    }
    if (kind === 'hook') {
      handlers = filters.map(([, fn]) => fn);
      return JSON.stringify({ kind, name, filters: filters.map(([event], handler) => ({ event, handler })), actions: [] });
    }
    if (kind === 'operation') {
      handlers = [operation];
      return JSON.stringify({ kind, name, operation: { id: 'conformance', handler: 0 } });
    }
    throw `unknown kind ${kind}`;
  },
  invoke(handler, args) {
    try {
      const value = handlers[handler](...JSON.parse(args));
      return { tag: 'done', val: value === undefined ? '' : JSON.stringify(value) };
    } catch (error) {
      return failed(error);
    }
  },
  poll(ticket) {
    return failed(new Error(`no pending call ${ticket}`));
  },
};
