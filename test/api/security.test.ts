// Security basics: nothing from a request reaches a shell (processes start
// with argument arrays, and only in two places), the names lnetd gives
// interfaces and namespaces are its own whatever the request says, and the
// API is only reachable where it should be (unix socket 0660, TCP on
// loopback only until there is authentication).

import t from 'tap';
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../drivers/linux/exec.js';
import { CONTAINER_ID_RE } from '../../daemon/api/seed/validate.js';
import { InProc } from '../lib/inproc.js';
import { NEEDS_ROOT, refusedStart, ROOT, TestDaemon } from '../lib/daemon.js';

t.setTimeout(60_000);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

t.test('processes start only with argument arrays, never through a shell', async (t) => {
  const files = ['daemon', 'drivers', 'store'].flatMap(sources);
  const spawning = files.filter((f) => /from 'node:child_process'|require\('child_process'\)/.test(readFileSync(join(ROOT, f), 'utf8')));
  t.same(spawning.sort(), ['daemon/main.ts', 'drivers/linux/exec.ts'], 'child_process only in the exec module and systemd-notify');
  for (const f of spawning) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    t.notMatch(text, /\bexec(Sync)?\(|execFile|shell\s*:/, `${f}: no exec, execFile or shell option`);
    const calls = [...text.matchAll(/\bspawn\(([^,]+),\s*(\S)/g)];
    t.ok(calls.length > 0 && calls.every((m) => m[2] === '[' || /^args\b/.test(text.slice(m.index! + m[0].length - 1))), `${f}: spawn(cmd, [..]) or spawn(cmd, args)`);
  }
  const dir = t.testdir({});
  const marker = join(dir, 'pwned');
  const tricky = [`$(touch ${marker})`, `; touch ${marker}`, `\`touch ${marker}\``, '|| true', '*', '"\'\\'];
  const out = await run('printf', ['%s\\n', ...tricky]);
  t.same(out.stdout.split('\n').slice(0, -1), tricky, 'shell syntax arrives as literal arguments');
  t.notOk(existsSync(marker), 'and nothing ran it');
});

t.test('interface and namespace names are ours, whatever the request says', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  await p.req('POST', '/networks', { name: 'sec', ipam: { subnet: '10.190.0.0/16' } });
  let n = 0;
  await fc.assert(fc.asyncProperty(fc.stringMatching(CONTAINER_ID_RE), async (cid) => {
    const name = `e${n++}`;
    await p.req('POST', '/networks/sec/endpoints', { name });
    const r = await p.req('POST', `/networks/sec/endpoints/${name}/containers`, { container_id: cid });
    if (r.status !== 200) throw new Error(`join ${JSON.stringify(cid)}: ${r.text}`);
    const key = r.json as string;
    if (dirname(key) !== p.netnsDir || ['.', '..'].includes(key.slice(p.netnsDir.length + 1))) throw new Error(`sandbox ${key} escapes ${p.netnsDir}`);
    const inside = (await p.kernel.links(key)).map((l) => l.name);
    if (!inside.every((l) => /^(lo|eth\d+)$/.test(l))) throw new Error(`sandbox interfaces ${inside}`);
  }), { numRuns: 200, seed: 42 });
  const host = (await p.kernel.links()).map((l) => l.name).filter((x) => x !== 'lo');
  t.ok(host.length > 200, `${host.length} host-side links`);
  t.ok(host.every((l) => /^lnet-[0-9a-f]{8}$|^lv[0-9a-f]{11}$/.test(l)), 'every host-side link carries our prefix and hex from our own ids');
});

t.test('socket 0660; TCP only on loopback, from every source of settings', { skip: NEEDS_ROOT }, async (t) => {
  for (const bad of ['0.0.0.0:2375', '[::]:2375', '192.0.2.7:2375', '[::ffff:10.0.0.1]:2375']) {
    const flag = refusedStart(['--tcp', bad]);
    t.equal(flag.status, 2, `--tcp ${bad} refused`);
    t.match(flag.stderr, /loopback/);
    const env = refusedStart([], { LNETD_TCP: bad });
    t.equal(env.status, 2, `LNETD_TCP=${bad} refused`);
  }
  const d = new TestDaemon(['--tcp', '127.0.0.1:23750']);
  t.teardown(() => d.cleanup());
  await d.start();
  t.equal(statSync(d.socket).mode & 0o777, 0o660, 'unix socket is 0660');
  const all = d.exec(['ss', '-Hltn']).stdout.trim().split('\n').map((l) => l.split(/\s+/)[3]);
  // the resolver's TCP listeners sit on bridge gateways at the DNS port (5053): DNS, not the API
  const listening = all.filter((a) => a !== '172.17.0.1:5053');
  t.same(listening, ['127.0.0.1:23750'], 'the only API TCP listener is on loopback');
  const curl = d.exec(['curl', '-s', 'http://127.0.0.1:23750/_ping']);
  t.equal(curl.stdout, 'OK', 'and it serves the API');
});
