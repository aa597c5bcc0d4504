// Builds the JavaScript runtime component: bundles src/runtime.js (with
// acorn) into one module, then componentizes it for the `extension` world.
import { build } from 'esbuild';
import { componentize } from '@bytecodealliance/componentize-js';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? path.join(here, 'dist', 'runtime.wasm');
const bundlePath = path.join(here, 'dist', 'runtime.bundle.js');

await mkdir(path.dirname(out), { recursive: true });
await mkdir(path.dirname(bundlePath), { recursive: true });
// regexpu-core loads the code points of a Unicode property with
// require(`regenerate-unicode-properties/${path}.js`), which a bundler cannot
// follow. Instead the runtime gets every property's code points in one table
// (`Script/Greek` -> the boundaries of its ranges, delta-encoded in base 36:
// about 120 kB), decoded into a regenerate set on first use.
const require = createRequire(import.meta.url);
const PROPERTY_KINDS = ['Binary_Property', 'General_Category', 'Script', 'Script_Extensions'];

async function unicodePropertyTable() {
  const root = path.dirname(require.resolve('regenerate-unicode-properties/package.json'));
  const table = {};
  for (const kind of PROPERTY_KINDS) {
    for (const file of (await readdir(path.join(root, kind))).filter((f) => f.endsWith('.js')).sort()) {
      const { data } = require(path.join(root, kind, file)).characters;
      let previous = 0;
      table[`${kind}/${file.slice(0, -3)}`] = data.map((x) => { const d = (x - previous).toString(36); previous = x; return d; }).join(',');
    }
  }
  return table;
}

const unicodeProperties = {
  name: 'unicode-properties',
  setup(b) {
    b.onLoad({ filter: /regexpu-core[\\/]rewrite-pattern\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const call = 'require(`regenerate-unicode-properties/${ path }.js`)';
      if (!text.includes(call)) throw new Error(`regexpu-core changed: ${call} not found in ${args.path}`);
      return { contents: text.replace(call, "require('exthost-unicode-properties')(path)"), loader: 'js', resolveDir: path.dirname(args.path) };
    });
    b.onResolve({ filter: /^exthost-unicode-properties$/ }, () => ({ path: 'unicode-properties', namespace: 'exthost-data' }));
    b.onLoad({ filter: /.*/, namespace: 'exthost-data' }, async () => ({
      contents: `const regenerate = require('regenerate');
const TABLE = ${JSON.stringify(await unicodePropertyTable())};
module.exports = (path) => {
  const encoded = TABLE[path];
  if (encoded === undefined) throw new Error('unknown Unicode property ' + path);
  let at = 0;
  const set = regenerate();
  set.data = encoded === '' ? [] : encoded.split(',').map((d) => (at += parseInt(d, 36)));
  return { characters: set };
};`,
      loader: 'js',
      resolveDir: here,
    }));
  },
};

await build({
  entryPoints: [path.join(here, 'src', 'runtime.js')],
  plugins: [unicodeProperties],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  external: ['exthost:*'],
  outfile: bundlePath,
  logLevel: 'warning',
});
// The bindings componentize-js 0.23 generates lower every string the guest hands the host
// (a handler's result, a log line, a request body) with `_utf8AllocateAndEncode`, which
// first counts the string's UTF-8 bytes in a JavaScript loop, one character at a time.
// StarlingMonkey has no JIT: that loop took about 150 ns per character, 0.76 s of the
// guest's 1 s budget for a 5 MB response. The same function here lets the engine's native
// `TextEncoder.encodeInto` write straight into linear memory: first into room for one byte
// per character (all an ASCII string needs), then, only if characters are left, into room
// grown for 3 bytes each (no UTF-16 unit takes more). The build fails if the generated
// function is not the one expected.
const FAST_UTF8_ENCODE = `function _utf8AllocateAndEncode(s, realloc, memory) {
  if (typeof s !== 'string') {
    throw new TypeError('expected a string, received [' + typeof s + ']');
  }
  if (s.length === 0) { return { ptr: 1, len: 0 }; }
  let allocated = s.length;
  let ptr = realloc(0, 0, 1, allocated);
  let { read, written } = TEXT_ENCODER_UTF8.encodeInto(s, new Uint8Array(memory.buffer, ptr, allocated));
  while (read < s.length) {
    const grown = written + 3 * (s.length - read);
    ptr = realloc(ptr, allocated, 1, grown);
    allocated = grown;
    const more = TEXT_ENCODER_UTF8.encodeInto(s.slice(read), new Uint8Array(memory.buffer, ptr + written, allocated - written));
    read += more.read;
    written += more.written;
  }
  return { ptr, len: written };
}
`;

function fastStringLowering(bindings) {
  const start = bindings.indexOf('function _utf8AllocateAndEncode(s, realloc, memory) {');
  const end = bindings.indexOf('\n}\n', start);
  const original = start < 0 || end < 0 ? '' : bindings.slice(start, end + 3);
  if (!original.includes('for (let i = 0; i < s.length; i++)') || !original.includes('encodeInto(')
      || bindings.includes('.codepoints')) {
    throw new Error('componentize-js changed its string lowering (_utf8AllocateAndEncode): review build.mjs');
  }
  return bindings.slice(0, start) + FAST_UTF8_ENCODE + bindings.slice(end + 3);
}

// componentize() calls `splicer.spliceBindings` of this module (the same module instance:
// node resolves both imports to the real path)
const splicerPath = realpathSync(
  path.join(here, 'node_modules', '@bytecodealliance', 'componentize-js', 'lib', 'spidermonkey-embedding-splicer.js'),
);
const { splicer } = await import(pathToFileURL(splicerPath).href);
const spliceBindings = splicer.spliceBindings;
splicer.spliceBindings = (...args) => {
  const spliced = spliceBindings(...args);
  return { ...spliced, jsBindings: fastStringLowering(spliced.jsBindings) };
};

const { component } = await componentize({
  sourcePath: bundlePath,
  witPath: path.join(here, '..', 'wit'),
  worldName: 'extension',
  // `stdio` stays: without it, an exception the engine reports itself (a
  // throwing event listener) traps the instance. The host gives the guest no
  // stdout/stderr (WASI output goes nowhere); `console` is the host log.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
console.log(`built ${path.relative(process.cwd(), out)} (${(component.length / 1e6).toFixed(1)} MB)`);
