// The daemon users run is dist/bundle/lnetd.mjs (scripts/bundle.ts): one file
// made from dist/daemon/main.js and its pure-JS dependencies. It is rebuilt
// exactly when one of its inputs is newer, keeps main.ts's shebang (the bin's
// node flags), leaves native code and the lazily loaded modules outside, and
// finds the native bindings of the installed packages. The api, kernel and
// e2e tiers run it (test/lib/daemon.ts).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BUNDLE, BUNDLE_ENTRY, BUNDLE_META, bundleStale } from '../../scripts/bundle.js';
import { ROOT } from '../lib/daemon.js';

t.test('the bundle is stale exactly when it is missing or an input is newer or gone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-bundle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'dist/daemon'), { recursive: true });
  mkdirSync(join(dir, 'dist/bundle'), { recursive: true });
  const input = join(dir, BUNDLE_ENTRY);
  const at = (f: string, s: number) => utimesSync(f, new Date(s * 1000), new Date(s * 1000));
  writeFileSync(input, 'export {};\n');
  t.equal(bundleStale(dir), `${BUNDLE} missing`);
  writeFileSync(join(dir, BUNDLE), '#!/usr/bin/env node\n');
  writeFileSync(join(dir, BUNDLE_META), JSON.stringify({ inputs: { [BUNDLE_ENTRY]: {} } }));
  at(input, 1000); at(join(dir, BUNDLE), 2000);
  t.equal(bundleStale(dir), undefined, 'newer than its inputs: fresh');
  at(input, 3000);
  t.equal(bundleStale(dir), `${BUNDLE_ENTRY} changed`, 'an input edited after it');
  at(input, 1000);
  t.equal(bundleStale(dir), undefined);
  rmSync(input);
  t.equal(bundleStale(dir), `${BUNDLE_ENTRY} gone`, 'an input removed');
  writeFileSync(join(dir, BUNDLE_META), '{');
  t.equal(bundleStale(dir), `${BUNDLE_META} unreadable`);
});

t.test('the built bundle', async (t) => {
  // `npx tsc` alone leaves it behind: bring it up to date first, as the daemon tests do
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/scripts/bundle.js'), '--if-stale'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.equal(bundleStale(), undefined, 'fresh after --if-stale');
  const text = readFileSync(join(ROOT, BUNDLE), 'utf8');
  const all = readdirSync(join(ROOT, dirname(BUNDLE))).filter((f) => f.endsWith('.mjs')).map((f) => readFileSync(join(ROOT, dirname(BUNDLE), f), 'utf8')).join('\n');
  t.equal(text.split('\n')[0], readFileSync(join(ROOT, 'daemon/main.ts'), 'utf8').split('\n')[0], "main.ts's shebang, with its node flags, is the bundle's first line");
  const meta = JSON.parse(readFileSync(join(ROOT, BUNDLE_META), 'utf8')) as { inputs: Record<string, unknown>; outputs: Record<string, { inputs: Record<string, unknown> }> };
  const inputs = Object.keys(meta.inputs);
  // the packages go in chunks beside it: tap's coverage leaves out a file whose source map names one under node_modules
  const own = Object.keys(meta.outputs[BUNDLE]?.inputs ?? {});
  t.ok(own.includes(BUNDLE_ENTRY), `${BUNDLE} holds lnetd's own modules`);
  t.same(own.filter((f) => !f.startsWith('dist/')), [], `${BUNDLE} holds nothing else`);
  const pkgs = new Set(inputs.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean));
  for (const p of ['koa', '@koa/router', 'pino', 'netlink', 'classic-level', 'abstract-level', 'ip-address', 'dns-packet']) t.ok(pkgs.has(p), `${p} is bundled`);
  // loaded on a first request that needs them (daemon/api/lazy.ts): bundling them would compile them at every start
  for (const p of ['@koa/bodyparser', 'ws', 're2js', 'memory-level']) t.notOk(pkgs.has(p), `${p} is not bundled`);
  t.same(inputs.filter((f) => f.endsWith('.node')), [], 'no native addon inside');
  t.ok(inputs.filter((f) => f.startsWith('dist/')).length > 40, 'the daemon\'s own modules are in it');
  // native bindings are looked up in the installed packages, not beside the bundle
  t.match(all, /require\.resolve\("classic-level"\)/, "classic-level's binding is found from the installed package");
  t.match(all, /require\.resolve\("netlink"\)/, "netlink's binding is found from the installed package");
});
