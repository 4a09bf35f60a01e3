// Test daemons keep off the host: each gets a run dir (its namespace lock and
// forwarding notes) in its own temp dir, never the host's /run/lnetd, where
// they were left behind after every run. lnetdArgv() refuses argv without
// one; every test and bench source that starts the daemon goes through it
// (or, for the bench, passes --run-dir of its own).

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRunDir, HOST_RUN_DIR, lnetdArgv, ROOT } from '../lib/daemon.js';

t.test('a test daemon without a run dir of its own is refused', async (t) => {
  t.throws(() => lnetdArgv(['--socket', '/tmp/x/lnetd.sock']), /needs --run-dir/);
  t.throws(() => checkRunDir(['--run-dir', HOST_RUN_DIR]), /must not use the host's \/run\/lnetd/);
  t.throws(() => checkRunDir(['--run-dir=/run/lnetd/']), /must not use/);
  t.throws(() => checkRunDir(['--run-dir', '/run/lnetd/sub']), /must not use/);
  t.throws(() => checkRunDir(['--run-dir', '/tmp/x/../../run/lnetd']), /must not use/);
  t.throws(() => checkRunDir(['--run-dir', '/tmp/own', '--run-dir', '/run/lnetd']), /must not use/, 'the last one wins, as in the daemon');
  t.equal(checkRunDir(['--run-dir', '/run/lnetd', '--run-dir', '/tmp/own']), '/tmp/own');
  t.equal(checkRunDir(['--run-dir', '/run/lnetd-other']), '/run/lnetd-other', 'a sibling is not the host run dir');
  const argv = lnetdArgv(['--run-dir', '/tmp/own/run'], ['--inspect=0']);
  t.equal(argv[0], process.execPath);
  t.ok(argv.includes('--inspect=0') && argv.at(-1) === '/tmp/own/run');
  t.match(argv.find((a) => a.endsWith('.mjs')), /dist\/bundle\/lnetd\.mjs$/, 'tests run what users run: the bundle');
});

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

t.test('every start of the daemon in tests and the bench goes through the check or passes a run dir', async (t) => {
  const starters = ['test', 'scripts'].flatMap(sources).filter((f) => /daemon\/main\.js|bundle\/lnetd\.mjs/.test(readFileSync(join(ROOT, f), 'utf8')));
  const known = ['scripts/bench/lnetd/daemon.ts', 'test/lib/daemon.ts', 'test/unit/import-graph.test.ts', 'test/unit/test-daemons.test.ts', 'scripts/bundle.ts', 'test/unit/bundle.test.ts'];
  t.same(starters.filter((f) => !known.includes(f)), [], 'no test starts main.js itself: it uses lnetdArgv(), TestDaemon or refusedStart()');
  t.ok(starters.includes('test/lib/daemon.ts'), 'the scan sees the helper');
  t.match(readFileSync(join(ROOT, 'scripts/bench/lnetd/daemon.ts'), 'utf8'), /'--run-dir', join\(this\.dir/, 'the bench daemon has a run dir in its tmp dir');
});
