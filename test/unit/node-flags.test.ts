// The daemon's node flags are written in four places that can't import one
// another: daemon/node-flags.ts (tests and the bench), the shebang of
// daemon/main.ts, scripts/start.sh (npm start) and the systemd unit. They must
// say the same, or the daemon measured is not the one that runs.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../daemon/node-flags.js';
import { ROOT } from '../lib/daemon.js';

/** The flags between `node` and the daemon (its bundle, or main.js) on the line that runs it. */
function flagsOn(file: string, line: RegExp): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const m = text.split('\n').find((l) => line.test(l));
  if (!m) throw new Error(`${file}: no line matching ${line}`);
  const words = m.trim().split(/\s+/);
  const node = words.findIndex((w) => /(^|\/)node$/.test(w));
  const main = words.findIndex((w) => /daemon\/main\.js$|bundle\/lnetd\.mjs$/.test(w));
  return words.slice(node + 1, main < 0 ? undefined : main);
}

t.test('shebang, npm start and the systemd unit run the daemon with DAEMON_NODE_FLAGS', async (t) => {
  t.ok(DAEMON_NODE_FLAGS.length > 0, 'some flags');
  t.same(flagsOn('daemon/main.ts', /^#!/), DAEMON_NODE_FLAGS, 'daemon/main.ts shebang');
  t.same(flagsOn('scripts/start.sh', /^exec node /), DAEMON_NODE_FLAGS, 'scripts/start.sh');
  t.same(flagsOn('systemd/lnetd.service', /^ExecStart=/), DAEMON_NODE_FLAGS, 'systemd/lnetd.service');
});
