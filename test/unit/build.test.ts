// `npm start` compiles only when sources changed (issue 9 item 17):
// scripts/build.sh runs in a copy of the tree with a stand-in `npx` that
// records each compile instead of running tsc, and a stand-in bundler that
// records its calls (whether the bundle is stale is the bundler's own
// decision: test/unit/bundle.test.ts).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../lib/daemon.js';

t.test('build.sh compiles on the first build and after a change, not otherwise', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-build-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['scripts/build.sh', 'tsconfig.json', 'package.json']) cpSync(join(ROOT, f), join(dir, f), { preserveTimestamps: true });
  // the native outputs as they are (newer than their sources): no C build in the copy
  cpSync(join(ROOT, 'native'), join(dir, 'native'), { recursive: true, preserveTimestamps: true });
  for (const d of ['daemon', 'errors', 'plugins', 'drivers', 'store', 'test', 'scripts']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'daemon', 'main.ts'), 'export {};\n');
  const past = new Date(Date.now() - 60_000);
  for (const f of ['daemon/main.ts', 'tsconfig.json', 'package.json', 'scripts/build.sh']) utimesSync(join(dir, f), past, past);
  mkdirSync(join(dir, 'bin'));
  const log = join(dir, 'compiles');
  const bundles = join(dir, 'bundles');
  mkdirSync(join(dir, 'dist', 'scripts'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'scripts', 'bundle.js'), `import { appendFileSync } from 'node:fs'; appendFileSync(${JSON.stringify(bundles)}, process.argv.slice(2).join(' ') + '\\n');\n`);
  writeFileSync(join(dir, 'bin', 'npx'), `#!/bin/sh\necho "$@" >> ${log}\nmkdir -p dist\n`);
  chmodSync(join(dir, 'bin', 'npx'), 0o755);
  const build = () => {
    const r = spawnSync('bash', ['scripts/build.sh'], { cwd: dir, encoding: 'utf8', env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` } });
    if (r.status !== 0) throw new Error(`build.sh: ${r.status} ${r.stderr}`);
    return r.stderr;
  };
  const compiles = () => (existsSync(log) ? spawnSync('wc', ['-l', log], { encoding: 'utf8' }).stdout.trim().split(' ')[0] : '0');

  t.match(build(), /compiling TypeScript to dist\/ \(first build/, 'the first build says what it does');
  t.equal(compiles(), '1', 'and compiles');
  const stamp = statSync(join(dir, 'dist', '.lnetd-built')).mtimeMs;
  t.match(build(), /dist\/ is up to date/, 'a second start with nothing changed says so');
  t.equal(compiles(), '1', 'and does not compile');
  t.equal(statSync(join(dir, 'dist', '.lnetd-built')).mtimeMs, stamp, 'stamp untouched');
  // the stamp a little after the sources, then the source edited after it (both in the past)
  utimesSync(join(dir, 'dist', '.lnetd-built'), new Date(past.getTime() + 10_000), new Date(past.getTime() + 10_000));
  utimesSync(join(dir, 'daemon', 'main.ts'), new Date(past.getTime() + 20_000), new Date(past.getTime() + 20_000));
  t.match(build(), /compiling TypeScript to dist\/ \(daemon\/main\.ts changed/, 'a changed source names itself');
  t.equal(compiles(), '2', 'and compiles again');
  t.match(build(), /up to date/, 'then it is up to date again');
  t.same(readFileSync(bundles, 'utf8').trim().split('\n'), Array(4).fill('--if-stale'), 'every build asks the bundler to bundle if its inputs changed');
});
