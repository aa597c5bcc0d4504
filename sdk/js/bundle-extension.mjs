// Builds one JS/TS extension: bundles its source into a single ES module,
// keeping `directus:api` as the only import. Usage: node bundle-extension.mjs SRC OUT
//
// `@directus/extensions-sdk` (and `@exthost/sdk`) resolve to their `define*` helpers, which
// return what they are given: an extension written as Directus's docs show builds as is.
import { build } from 'esbuild';

const DEFINE_HELPERS = `const same = (value) => value;
export const defineHook = same;
export const defineEndpoint = same;
export const defineOperationApi = same;
`;

const defineHelpers = {
  name: 'define-helpers',
  setup(builder) {
    builder.onResolve({ filter: /^@(directus\/extensions-sdk|exthost\/sdk)$/ }, (args) => ({
      path: args.path,
      namespace: 'define-helpers',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'define-helpers' }, () => ({ contents: DEFINE_HELPERS, loader: 'js' }));
  },
};

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
    plugins: [defineHelpers],
    // index.js.map beside the bundle: the host maps a guest error's stack to the author's source
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'error',
  });
} catch {
  process.exit(1);
}
