// The exthost JavaScript runtime: one WebAssembly component that evaluates an
// extension's ES module source (`register`) and calls the handlers it
// registered (`invoke`, `poll`). See sdk/wit/extension.wit.
import {
  log as hostLog, sleepStart as hostSleepStart, requestStart as hostRequestStart, completed as hostCompleted,
} from 'exthost:extension/api@0.1.0';
import { transformModule } from './esm.js';
import { dynamicImportError, installSandboxGlobals } from './globals.js';
import { installIntl } from './intl.js';
import { installUnicodeRegExp } from './regexp.js';

const compile = Function; // the engine's own, before installSandboxGlobals() guards it

const messageOf = (e) => (e && typeof e === 'object' && 'payload' in e ? String(e.payload) : e instanceof Error ? e.message : String(e));

function format(value) {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// Waiting without a host thread (sdk/wit/extension.wit): a `*-start` import returns a handle at
// once; the host completes it on its event loop and the result is read with `completed()` at the
// start of every `invoke` and `poll`, which settles the promise waiting on that handle.
const waiting = new Map();

function startWait(start) {
  let handle;
  try {
    handle = start();
  } catch (e) {
    return Promise.reject(new Error(messageOf(e)));
  }
  return new Promise((resolve, reject) => waiting.set(handle, { resolve, reject }));
}

function deliverCompleted() {
  const finished = JSON.parse(hostCompleted());
  for (const [handle, ok, text] of finished) {
    const wait = waiting.get(handle);
    if (!wait) continue;
    waiting.delete(handle);
    if (ok) wait.resolve(text);
    else wait.reject(new Error(text));
  }
}

const api = Object.freeze({
  log(...messages) {
    try {
      hostLog(messages.map(format).join(' '));
    } catch (e) {
      throw new Error(messageOf(e));
    }
  },
  sleep(ms = 0) {
    return startWait(() => hostSleepStart(Math.max(0, Math.min(Number(ms) || 0, 0xffffffff)) >>> 0)).then(() => undefined);
  },
  request(url, options = {}) {
    let sent;
    try {
      const { method = 'GET', headers = {}, body } = options ?? {};
      sent = { method: String(method).toUpperCase(), headers: { ...headers } };
      if (body !== undefined && body !== null) {
        if (typeof body === 'string') {
          sent.body = body;
        } else {
          sent.body = JSON.stringify(body);
          if (!Object.keys(sent.headers).some((h) => h.toLowerCase() === 'content-type')) {
            sent.headers['Content-Type'] = 'application/json';
          }
        }
      }
    } catch (e) {
      return Promise.reject(new Error(messageOf(e)));
    }
    return startWait(() => hostRequestStart(String(url), JSON.stringify(sent))).then((text) => JSON.parse(text));
  },
});

// console.warn/error/debug carry their level to the host as `\0level\0message`
// (host/capabilities/base.py: guest_level)
const quietLog = (level) => (...m) => {
  try {
    const text = m.map(format).join(' ');
    hostLog(level ? `\0${level}\0${text}` : text);
  } catch {
    // console output without the `log` scope goes nowhere
  }
};
globalThis.console = {
  log: quietLog(''), info: quietLog(''), warn: quietLog('warn'), error: quietLog('error'), debug: quietLog('debug'),
};
installUnicodeRegExp();
installIntl();
installSandboxGlobals();

const dynamicImport = (specifier) =>
  specifier === 'directus:api' ? Promise.resolve(api) : Promise.reject(dynamicImportError());

const handlers = [];
const tickets = new Map();
let nextTicket = 1;
let registered = false;

function handlerIndex(fn, what) {
  if (typeof fn !== 'function') throw new TypeError(`${what} must be a function, got ${typeof fn}`);
  handlers.push(fn);
  return handlers.length - 1;
}

function checkString(value, what) {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${what} must be a non-empty string`);
  return value;
}

function registerHook(entry, reg) {
  if (typeof entry !== 'function') {
    throw new TypeError('a hook must export default a register function: ({ filter, action }) => { ... }');
  }
  reg.filters = [];
  reg.actions = [];
  entry({
    filter: (event, fn) => reg.filters.push({ event: checkString(event, 'filter event'), handler: handlerIndex(fn, 'filter handler') }),
    action: (event, fn) => reg.actions.push({ event: checkString(event, 'action event'), handler: handlerIndex(fn, 'action handler') }),
  });
}

// Express-style `(req, res) => res.send(...)` handlers work too: what they
// send through `res` becomes the `{status, body, headers}` response.
function expressStyle(handler) {
  return (req) => {
    const state = { status: 200, headers: {}, sent: false, body: undefined };
    const res = {
      status(code) { state.status = code; return res; },
      set(name, value) { state.headers[String(name)] = String(value); return res; },
      header(name, value) { return res.set(name, value); },
      send(body) { state.body = body; state.sent = true; return res; },
      json(body) { state.body = body ?? null; state.sent = true; return res; },
      end() { state.sent = true; return res; },
    };
    const finish = (value) => (state.sent ? { status: state.status, body: state.body, headers: state.headers } : value);
    const out = handler(req, res);
    return out && typeof out.then === 'function' ? out.then(finish) : finish(out);
  };
}

function registerEndpoint(entry, reg) {
  let fn = entry;
  if (entry && typeof entry === 'object') {
    if (entry.id !== undefined) reg.id = checkString(entry.id, 'endpoint id');
    fn = entry.handler;
  }
  if (typeof fn !== 'function') {
    throw new TypeError('an endpoint must export default a router function (router) => { ... } or { id, handler }');
  }
  reg.routes = [];
  const router = {};
  for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
    router[method] = (path, handler) => {
      reg.routes.push({ method: method.toUpperCase(), path: checkString(path, `router.${method} path`), handler: handlerIndex(typeof handler === 'function' ? expressStyle(handler) : handler, `router.${method} handler`) });
      return router;
    };
  }
  fn(router);
}

function registerOperation(entry, reg) {
  if (!entry || typeof entry !== 'object' || typeof entry.handler !== 'function') {
    throw new TypeError('an operation must export default { id, handler }');
  }
  reg.operation = { id: checkString(entry.id, 'operation id'), handler: handlerIndex(entry.handler, 'operation handler') };
}

const registrars = { hook: registerHook, endpoint: registerEndpoint, operation: registerOperation };

function evaluate(source, file) {
  const body = transformModule(source, Object.keys(api));
  const exportsObject = {};
  // frames of the extension's code name its file (a guest error's stack; the host maps it
  // through the file's source map to the author's source)
  const named = typeof file === 'string' && /^[\w.@/-]+$/.test(file) ? `${body}\n//# sourceURL=${file}` : body;
  compile('__api', '__exports', '__import', named)(api, exportsObject, dynamicImport);
  return exportsObject;
}

function faultOf(name, message) {
  if (message === 'out of memory' || message === 'allocation size overflow') return 'out-of-memory';
  if (name === 'InternalError' && message === 'too much recursion') return 'stack-overflow';
  return undefined;
}

function failed(error) {
  const name = error && typeof error === 'object' && typeof error.name === 'string' ? error.name : 'Error';
  const message = messageOf(error);
  const stack = error && typeof error === 'object' && typeof error.stack === 'string' ? error.stack : undefined;
  return { tag: 'failed', val: JSON.stringify({ message, name, fault: faultOf(name, message), stack }) };
}

function done(value) {
  if (value === undefined) return { tag: 'done', val: '' };
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    return failed(new TypeError(`the handler's result cannot be sent as JSON: ${messageOf(e)}`));
  }
  return { tag: 'done', val: text === undefined ? '' : text };
}

function settle(value) {
  if (value && typeof value.then === 'function') {
    const ticket = nextTicket++;
    const state = { settled: false };
    tickets.set(ticket, state);
    Promise.resolve(value).then(
      (v) => Object.assign(state, { settled: true, result: done(v) }),
      (e) => Object.assign(state, { settled: true, result: failed(e) }),
    );
    return { tag: 'pending', val: ticket };
  }
  return done(value);
}

export const guest = {
  register(source, context) {
    if (registered) throw 'this instance already holds an extension';
    const { kind, name, file } = JSON.parse(context);
    const registrar = registrars[kind];
    if (!registrar) throw `unknown extension kind "${kind}"`;
    try {
      const exported = evaluate(source, file);
      if (!('default' in exported)) throw new Error('the extension has no default export');
      const reg = { kind, name };
      registrar(exported.default, reg);
      registered = true;
      return JSON.stringify(reg);
    } catch (e) {
      throw `${e && e.name && e.name !== 'Error' ? e.name + ': ' : ''}${messageOf(e)}`;
    }
  },
  invoke(handler, args) {
    deliverCompleted();
    const fn = handlers[handler];
    if (!fn) return failed(new RangeError(`no handler number ${handler}`));
    try {
      return settle(fn(...JSON.parse(args)));
    } catch (e) {
      return failed(e);
    }
  },
  poll(ticket) {
    deliverCompleted();
    const state = tickets.get(ticket);
    if (!state) return failed(new RangeError(`no pending call ${ticket}`));
    if (!state.settled) return { tag: 'pending', val: ticket };
    tickets.delete(ticket);
    return state.result;
  },
};
