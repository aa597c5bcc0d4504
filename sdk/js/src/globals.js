// What the sandbox does not provide, made safe to touch.
//
// The JS engine (StarlingMonkey in componentize-js) defines some web globals
// the host cannot serve: `fetch` traps the instance when called, and
// `setTimeout`/`setInterval` callbacks never run (the event loop only turns
// between export calls). Dynamic `import()` traps the instance too. Each of
// these is replaced here by a catchable error naming the sandbox, so a guest
// can never turn "I used an API that is not there" into a fault.
//
// Names a Node, Deno or Bun program might expect (`require`, `process`,
// `Buffer`, `setImmediate`, `XMLHttpRequest`, `WebSocket`, `Deno`, `Bun`, ...)
// are simply absent: `typeof require === 'undefined'`, and using one throws a
// ReferenceError the guest can catch.
import { parse } from 'acorn';
import { mayNeedRegexRewrite, regexLiteralEdits } from './regexp.js';

export const notAvailable = (name, instead) =>
  `${name} is not available in the exthost sandbox${instead ? `: ${instead}` : ''}`;

const IMPORT_MESSAGE = notAvailable('import()', 'bundle dependencies into the extension (exthost build)');

export function dynamicImportError() {
  return new Error(IMPORT_MESSAGE);
}

// Every `import(...)` expression under `root` (an acorn AST).
function importExpressions(root) {
  const found = [];
  const stack = [root];
  while (stack.length) {
    const node = stack.pop();
    if (node.type === 'ImportExpression') found.push(node);
    for (const key in node) {
      const value = node[key];
      if (Array.isArray(value)) {
        for (const item of value) if (item && typeof item.type === 'string') stack.push(item);
      } else if (value && typeof value.type === 'string') {
        stack.push(value);
      }
    }
  }
  return found;
}

// Code compiled at run time (`eval`, `Function` and its async and generator
// kinds) may not contain `import()`: it would trap the engine. Its regular
// expression literals get the same rewrite as the extension's own
// (regexp.js). Returns the code to compile: `source` with the literals
// rewritten between `from` and `to` (the part the caller passes on).
function checkedCode(source, from = 0, to = source.length) {
  const mentionsImport = source.includes('import');
  if (!mentionsImport && !mayNeedRegexRewrite(source)) return source.slice(from, to);
  let ast;
  try {
    ast = parse(source, { ecmaVersion: 'latest', sourceType: 'script' });
  } catch (e) {
    if (/\bimport\b/.test(source)) {
      throw new SyntaxError(`code that mentions import cannot be checked for import() (${e.message}): ${IMPORT_MESSAGE}`);
    }
    return source.slice(from, to); // the engine reports its own SyntaxError
  }
  if (mentionsImport && importExpressions(ast).length) throw new Error(IMPORT_MESSAGE);
  let out = source.slice(from, to);
  const edits = regexLiteralEdits(ast).filter((e) => e.start >= from && e.end <= to);
  for (const e of edits.sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start - from) + e.text + out.slice(e.end - from);
  }
  return out;
}

function define(name, value) {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}

function guardEval() {
  const evaluate = globalThis.eval;
  define('eval', {
    eval(code) {
      return evaluate(typeof code === 'string' ? checkedCode(code) : code); // an indirect eval: global scope
    },
  }.eval);
}

function guardFunctionConstructors() {
  const kinds = [
    [Function, 'function'],
    [Object.getPrototypeOf(async function () {}).constructor, 'async function'],
    [Object.getPrototypeOf(function* () {}).constructor, 'function*'],
    [Object.getPrototypeOf(async function* () {}).constructor, 'async function*'],
  ];
  for (const [Original, keyword] of kinds) {
    const checked = function (...args) {
      const params = args.slice(0, -1).map(String).join(',');
      const body = args.length ? String(args[args.length - 1]) : '';
      const head = `(${keyword} anonymous(${params}\n) {\n`;
      const code = checkedCode(`${head}${body}\n})`, head.length, head.length + body.length);
      return Reflect.construct(Original, args.length ? [...args.slice(0, -1), code] : args);
    };
    Object.defineProperty(checked, 'name', { value: Original.name });
    Object.defineProperty(checked, 'prototype', { value: Original.prototype });
    Object.defineProperty(Original.prototype, 'constructor', { value: checked, writable: true, configurable: true });
    if (Original === Function) define('Function', checked);
  }
}

export function installSandboxGlobals() {
  define('fetch', {
    fetch() {
      return Promise.reject(new TypeError(notAvailable('fetch', 'use request() from directus:api')));
    },
  }.fetch);
  for (const name of ['setTimeout', 'setInterval']) {
    define(name, {
      [name]() {
        throw new Error(notAvailable(name, 'use sleep() from directus:api'));
      },
    }[name]);
  }
  guardEval();
  guardFunctionConstructors();
}

// The extension's own source: `import(x)` becomes `__import(x)`, which
// resolves `directus:api` and rejects anything else.
export function importExpressionEdits(ast) {
  return importExpressions(ast).map((node) => ({ start: node.start, end: node.start + 'import'.length, text: '__import' }));
}
