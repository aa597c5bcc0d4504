// Builds the JavaScript runtime component: bundles src/runtime.js (with
// acorn) into one module, then componentizes it for the `extension` world.
import { build } from 'esbuild';
import { componentize } from '@bytecodealliance/componentize-js';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? path.join(here, 'dist', 'runtime.wasm');
const bundlePath = path.join(here, 'dist', 'runtime.bundle.js');

await mkdir(path.dirname(out), { recursive: true });
await mkdir(path.dirname(bundlePath), { recursive: true });
await build({
  entryPoints: [path.join(here, 'src', 'runtime.js')],
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
