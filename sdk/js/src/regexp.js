// Unicode property escapes (`\p{L}`, `\P{Script=Greek}`, ...) and the `v`
// flag for an engine that has neither (SpiderMonkey built without ICU, as in
// componentize-js): such a pattern is rewritten by regexpu-core into the
// explicit code point classes it denotes (Unicode data of
// regenerate-unicode-properties, bundled compactly by build.mjs), with the
// `u` flag kept, so it matches exactly what the original matches.
//
// Two ways in, one rewrite:
// - `new RegExp(string, 'u')` / `RegExp(...)`: the global `RegExp` is a proxy
//   of the engine's own that rewrites its pattern (`installUnicodeRegExp`);
// - regular expression literals in an extension's source, and in code compiled
//   at run time (`eval`, `Function`): `regexLiteralEdits` turns each literal
//   that needs it into a call of the same constructor (`__exthost_regexp`),
//   which makes a new object at each evaluation, as a literal does.
// The object made is a real RegExp (`instanceof RegExp`, every method); its
// `source` and `toString()` show the pattern as written.
import rewritePattern from 'regexpu-core';

const EngineRegExp = RegExp;
const HELPER = '__exthost_regexp';
const PROPERTY_ESCAPE = /\\[pP]\{/;
const rewritten = new Map(); // `${flags}/${pattern}` -> [pattern, flags] the engine reads
const MAX_CACHED = 512;

function needsRewrite(pattern, flags) {
  return flags.includes('v') || (flags.includes('u') && PROPERTY_ESCAPE.test(pattern));
}

// The pattern and flags the engine can compile; throws a SyntaxError the way
// the engine would for a pattern that is invalid.
function translate(pattern, flags) {
  const key = `${flags}/${pattern}`;
  let found = rewritten.get(key);
  if (found === undefined) {
    try {
      const unicodeSets = flags.includes('v');
      const out = rewritePattern(pattern, flags, {
        unicodePropertyEscapes: 'transform',
        unicodeSetsFlag: unicodeSets ? 'transform' : false,
      });
      found = [out, unicodeSets ? flags.replace('v', 'u') : flags];
    } catch (e) {
      throw new SyntaxError(`Invalid regular expression: /${pattern}/${flags}: ${e && e.message}`);
    }
    if (rewritten.size >= MAX_CACHED) rewritten.delete(rewritten.keys().next().value);
    rewritten.set(key, found);
  }
  return found;
}

const sourceOf = Object.getOwnPropertyDescriptor(EngineRegExp.prototype, 'source').get;

function isRegExp(value) {
  if (!value || typeof value !== 'object' || value === EngineRegExp.prototype) return false;
  try {
    sourceOf.call(value); // throws unless `value` is a RegExp object; no side effect
    return true;
  } catch {
    return false;
  }
}

// The arguments for the engine's constructor, and the source to show, if it differs.
function prepare(args) {
  const [pattern, flagsArg] = args;
  if (isRegExp(pattern)) {
    const shown = Object.getOwnPropertyDescriptor(pattern, 'source');
    if (flagsArg === undefined || !shown) return [args, shown && shown.value];
    const flags = String(flagsArg);
    if (!needsRewrite(shown.value, flags)) return [args, shown.value];
    return [translate(shown.value, flags), shown.value];
  }
  if (pattern === undefined) return [args, undefined];
  const text = String(pattern);
  const flags = flagsArg === undefined ? '' : String(flagsArg);
  if (!needsRewrite(text, flags)) return [args, undefined];
  return [translate(text, flags), text];
}

function showSource(regexp, source) {
  if (source !== undefined && regexp && typeof regexp === 'object') {
    Object.defineProperty(regexp, 'source', { value: source, writable: false, enumerable: false, configurable: true });
  }
  return regexp;
}

let Wrapped;

export function installUnicodeRegExp() {
  Wrapped = new Proxy(EngineRegExp, {
    construct(target, args, newTarget) {
      const [engineArgs, source] = prepare(args);
      return showSource(Reflect.construct(target, engineArgs, newTarget === Wrapped ? target : newTarget), source);
    },
    apply(target, self, args) {
      // `RegExp(re)` without flags returns `re` itself, as the engine's does
      if (args[1] === undefined && isRegExp(args[0]) && args[0].constructor === Wrapped) return args[0];
      const [engineArgs, source] = prepare(args);
      return showSource(Reflect.apply(target, self, engineArgs), source);
    },
  });
  Object.defineProperty(EngineRegExp.prototype, 'constructor', { value: Wrapped, writable: true, configurable: true });
  Object.defineProperty(globalThis, 'RegExp', { value: Wrapped, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(globalThis, HELPER, {
    value: (pattern, flags) => new Wrapped(pattern, flags),
    writable: false,
    configurable: false,
    enumerable: false,
  });
}

// Every regular expression literal under `root` (an acorn AST) the engine
// cannot compile becomes `__exthost_regexp(pattern, flags)`.
export function regexLiteralEdits(root) {
  const edits = [];
  const stack = [root];
  while (stack.length) {
    const node = stack.pop();
    if (node.type === 'Literal' && node.regex && needsRewrite(node.regex.pattern, node.regex.flags)) {
      translate(node.regex.pattern, node.regex.flags); // a pattern regexpu cannot read fails the load
      edits.push({
        start: node.start,
        end: node.end,
        text: `${HELPER}(${JSON.stringify(node.regex.pattern)}, ${JSON.stringify(node.regex.flags)})`,
      });
      continue;
    }
    for (const key in node) {
      const value = node[key];
      if (Array.isArray(value)) {
        for (const item of value) if (item && typeof item.type === 'string') stack.push(item);
      } else if (value && typeof value.type === 'string') {
        stack.push(value);
      }
    }
  }
  return edits;
}

// Whether code compiled at run time may hold a literal to rewrite (a cheap
// test before parsing it).
export function mayNeedRegexRewrite(code) {
  return PROPERTY_ESCAPE.test(code) || /\/[dgimsuy]*v/.test(code);
}
