// Builds one JS/TS extension: bundles its source into a single ES module,
// keeping `directus:api` as the only import. Usage: node bundle-extension.mjs SRC OUT
import { build } from 'esbuild';

const [source, out] = process.argv.slice(2);
if (!source || !out) {
  console.error('usage: node bundle-extension.mjs SRC OUT');
  process.exit(2);
}
try {
  await build({
    entryPoints: [source],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['directus:api'],
    // index.js.map beside the bundle: the host maps a guest error's stack to the author's source
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'error',
  });
} catch {
  process.exit(1);
}
