// Bundle the compiled daemon (dist/daemon/main.js) and its pure-JS
// dependencies into one file, dist/bundle/lnetd.mjs, which every launcher runs
// (scripts/start.sh, systemd/lnetd.service, package.json bin, the tests, the
// benchmark). Node 20 compiles each module file on every start and has no
// compile cache; the daemon loaded ~240 files (its own and koa's, pino's,
// abstract-level's ...), and finding, reading and compiling them was ~200 ms
// of a restart's ~700 ms busy time. One file is one read and one compile.
// Native code stays outside: the nsutil addon (drivers/linux/native.ts finds
// it walking up from the bundle's own path) and the bindings of classic-level
// and netlink (node-gyp-build loads them from the installed packages, see
// below). Modules the daemon loads only on a first request that needs them
// (daemon/api/lazy.ts: @koa/bodyparser, ws, re2js) stay require()s of the
// installed packages, so they still load only then.
//   node dist/scripts/bundle.js             build it
//   node dist/scripts/bundle.js --if-stale  only when an input is newer than
//     the bundle (scripts/build.sh, and the tests before they start a daemon:
//     `npx tsc` alone leaves the bundle behind)

import type { Plugin } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** What the bundle is made from: tsc's output, so it runs the code tsc checked. */
export const BUNDLE_ENTRY = 'dist/daemon/main.js';
export const BUNDLE = 'dist/bundle/lnetd.mjs';
/** esbuild's metafile: every input of the bundle (the staleness check reads it). */
export const BUNDLE_META = 'dist/bundle/meta.json';
/** memory-level: only the unit tests' in-memory store (a devDependency). */
const EXTERNAL = ['memory-level'];

/** Packages with a native binding find it with node-gyp-build from their own
 *  __dirname (classic-level's binding.js, netlink's raw.js): inside the bundle
 *  that would be the bundle's directory, so each such file gets, in place of
 *  __dirname, its own directory inside the installed package, found at run
 *  time by resolving the package from the bundle (the node_modules beside
 *  dist/, which the lazy requires use too). */
const nodeModulePaths: Plugin = {
  name: 'node-module-dirname',
  setup(b) {
    const req = createRequire(join(ROOT, 'package.json'));
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(text)) return undefined;
      let pkgDir = dirname(args.path);
      while (!existsSync(join(pkgDir, 'package.json')) || !JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).name) pkgDir = dirname(pkgDir);
      const name = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).name as string;
      const main = req.resolve(name);
      if (!main.startsWith(pkgDir + sep)) throw new Error(`${args.path}: its package ${name} does not resolve from the repo root to ${pkgDir}`);
      const rel = relative(dirname(main), dirname(args.path));
      const dir = `require('node:path').join(require('node:path').dirname(require.resolve(${JSON.stringify(name)})), ${JSON.stringify(rel)})`;
      const file = `require('node:path').join(${dir}, ${JSON.stringify(basename(args.path))})`;
      return { contents: `var __dirname = ${dir}, __filename = ${file};\n${text}`, loader: 'js' };
    });
  },
};

/** Big JSON files (mime-db's ~190 KB) as JSON.parse of a string: V8 parses
 *  JSON faster than the same data as an object literal in JavaScript. */
const jsonParse: Plugin = {
  name: 'json-parse',
  setup(b) {
    b.onLoad({ filter: /\.json$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (text.length < 8192) return undefined;
      return { contents: `module.exports = JSON.parse(${JSON.stringify(JSON.stringify(JSON.parse(text)))});`, loader: 'js' };
    });
  },
};

/** Why the bundle must be (re)built, or undefined when it is newer than every input. */
export function bundleStale(root = ROOT): string | undefined {
  const out = join(root, BUNDLE);
  if (!existsSync(out) || !existsSync(join(root, BUNDLE_META))) return `${BUNDLE} missing`;
  const built = statSync(out).mtimeMs;
  let meta: { inputs: Record<string, unknown> };
  try { meta = JSON.parse(readFileSync(join(root, BUNDLE_META), 'utf8')); } catch { return `${BUNDLE_META} unreadable`; }
  for (const f of Object.keys(meta.inputs)) {
    if (/^[a-z-]+:/.test(f)) continue;  // a module the bundler makes (the vendor entry)
    const path = join(root, f);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return `${f} gone`;
    if (st.mtimeMs > built) return `${f} changed`;
  }
  return undefined;
}

/** Packages lnetd imports with import() (store/level.ts: classic-level, so
 *  the unit tests' in-memory store never loads LevelDB), with the names it
 *  takes from them. With code splitting such a package becomes a chunk of
 *  its own, and a CommonJS package's chunk exports only `default`, where
 *  Node's own import() also gives its named exports: the chunk is made from
 *  a module that re-exports these names. A package imported so and missing
 *  here fails the build. */
const DYNAMIC_EXPORTS: Record<string, string[]> = { 'classic-level': ['ClassicLevel'] };

/** The packages lnetd's own modules import (statically or not), from a first
 *  pass that leaves every package outside. */
async function importedPackages(root: string): Promise<string[]> {
  const { build } = await import('esbuild');
  const r = await build({ absWorkingDir: root, entryPoints: [BUNDLE_ENTRY], bundle: true, platform: 'node', format: 'esm', packages: 'external', metafile: true, write: false, logLevel: 'warning', outfile: BUNDLE });
  const names = new Set<string>();
  for (const [file, input] of Object.entries(r.metafile.inputs)) {
    for (const i of input.imports) {
      if (!i.external || i.path.startsWith('node:')) continue;
      if (i.kind === 'dynamic-import' && !EXTERNAL.includes(i.path) && !DYNAMIC_EXPORTS[i.path]) throw new Error(`${file}: import('${i.path}'): add the names it uses to DYNAMIC_EXPORTS in scripts/bundle.ts`);
      names.add(i.path);
    }
  }
  return [...names].sort();
}

/** Build the bundle; its files are written beside and renamed into place, so a
 *  daemon starting meanwhile (tests run in parallel) reads a whole one. */
export async function buildBundle(root = ROOT): Promise<void> {
  const { build } = await import('esbuild');
  // Two files: lnetd.mjs holds lnetd's own modules, a chunk beside it the
  // packages. A second entry point (vendor.mjs, never run) imports the same
  // packages, so esbuild's code splitting puts them in a chunk of their own.
  // Why not one file: tap's coverage leaves out any file whose source map
  // names a file under node_modules, and the tests' coverage of the daemon
  // comes from the daemons they start (.taprc).
  const packages = (await importedPackages(root)).filter((p) => !EXTERNAL.includes(p));
  const vendor: Plugin = {
    name: 'vendor-entry',
    setup(b) {
      b.onResolve({ filter: /^lnetd-vendor$/ }, () => ({ path: 'vendor', namespace: 'lnetd-vendor' }));
      b.onLoad({ filter: /.*/, namespace: 'lnetd-vendor' }, () => ({ contents: packages.map((p, i) => `export * as p${i} from ${JSON.stringify(p)};`).join('\n'), resolveDir: root, loader: 'js' }));
      // import('classic-level') -> a module re-exporting the names lnetd takes from it
      // (named as if under node_modules, where coverage leaves it out, as it does the package itself)
      b.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'dynamic-import' && DYNAMIC_EXPORTS[args.path] ? { path: `node_modules/${args.path}/${args.path.replace(/\//g, "-")}`, namespace: 'lnetd-dynamic', pluginData: args.path } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'lnetd-dynamic' }, (args) => ({ contents: `export { ${DYNAMIC_EXPORTS[args.pluginData as string]!.join(', ')} } from ${JSON.stringify(args.pluginData)};`, resolveDir: root, loader: 'js' }));
    },
  };
  const result = await build({
    absWorkingDir: root,
    entryPoints: { lnetd: BUNDLE_ENTRY, vendor: 'lnetd-vendor' },
    outdir: dirname(BUNDLE),
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    splitting: true,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // CommonJS dependencies bundled into an ES module call require() for node
    // builtins: give them Node's own (esbuild keeps main.js's shebang first)
    banner: { js: "import { createRequire as __lnetdCreateRequire } from 'node:module'; const require = __lnetdCreateRequire(import.meta.url);" },
    external: EXTERNAL,
    plugins: [vendor, nodeModulePaths, jsonParse],
    sourcemap: 'linked',
    legalComments: 'eof',
    logLevel: 'warning',
    metafile: true,
    write: false,
  });
  const dir = join(root, dirname(BUNDLE));
  mkdirSync(dir, { recursive: true });
  const tmp = `.tmp-${process.pid}`;
  const files: Array<[string, Uint8Array | string, number]> = [
    ...result.outputFiles.map((f) => [f.path, f.contents, f.path === join(root, BUNDLE) ? 0o755 : 0o644] as [string, Uint8Array, number]),
    [join(root, BUNDLE_META), JSON.stringify(result.metafile), 0o644],
  ];
  for (const [path, data, mode] of files) writeFileSync(path + tmp, data, { mode });
  // chunks first, the bundle that imports them next, the metafile last: a
  // bundle newer than its inputs is never paired with an older list of them
  for (const [path] of files) renameSync(path + tmp, path);
  // chunks of earlier builds (their names carry a hash of their content); the directory is the bundler's alone
  const keep = new Set(files.map(([p]) => basename(p)));
  for (const f of readdirSync(dir)) if (!keep.has(f) && !f.includes('.tmp-')) rmSync(join(dir, f), { force: true });
}

async function main(): Promise<void> {
  if (process.argv.includes('--if-stale')) {
    const why = bundleStale();
    if (!why) return;
    process.stderr.write(`lnetd build: bundling the daemon into ${BUNDLE} (${why})\n`);
  }
  await buildBundle();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => { process.stderr.write(`lnetd bundle: ${err?.message ?? err}\n`); process.exit(1); });
}
