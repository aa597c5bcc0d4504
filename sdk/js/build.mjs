// Builds the JavaScript runtime component: bundles src/runtime.js (with
// acorn) into one module, then componentizes it for the `extension` world.
import { build } from 'esbuild';
import { componentize } from '@bytecodealliance/componentize-js';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
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
