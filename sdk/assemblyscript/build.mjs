// Builds one AssemblyScript extension into an Extism plugin:
//   node sdk/assemblyscript/build.mjs SRC OUT
// The entry imports "@exthost/assemblyscript" (this folder) and "@extism/as-pdk".
import asc from 'assemblyscript/asc';
import { mkdtemp, mkdir, symlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [source, out] = process.argv.slice(2);
if (!source || !out) {
  console.error('usage: node build.mjs SRC OUT');
  process.exit(2);
}
const packages = await mkdtemp(path.join(tmpdir(), 'exthost-as-'));
try {
  await mkdir(path.join(packages, '@exthost'), { recursive: true });
  await symlink(here, path.join(packages, '@exthost', 'assemblyscript'), 'dir');
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  const { error, stderr } = await asc.main([
    path.resolve(source),
    '--outFile', path.resolve(out),
    '--path', packages,
    '--path', path.join(here, 'node_modules'),
    '--optimizeLevel', '3',
    '--shrinkLevel', '1',
    '--runtime', 'incremental',
    '--use', 'abort=~lib/@exthost/assemblyscript/assembly/index/exthostAbort',
  ]);
  if (error) {
    console.error(stderr.toString().trim() || error.message);
    process.exitCode = 1;
  }
} finally {
  await rm(packages, { recursive: true, force: true });
}
