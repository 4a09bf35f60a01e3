// Live restore: stopping, restarting or kill -9 of the daemon never touches a
// running container's interfaces or rules. Two containers ping each other
// (and their gateway) every 50 ms across a graceful restart and across a
// kill -9 and restart; ping's own summary must say 0 packets lost.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { TestDaemon } from '../lib/daemon.js';
import { settle } from './_agree.js';
import { waitFor } from '../lib/ready.js';

t.setTimeout(120_000);

const cid = (n: number) => n.toString(16).padStart(4, '0').repeat(16);
const ip = (cidr: string) => cidr.split('/')[0];

interface Pinger { child: ChildProcess; out: string }

/** ping every 50 ms from inside a namespace until stopped (nsenter execs ping, so the pid is ping's). */
function startPing(ns: string, addr: string): Pinger {
  const p: Pinger = { child: spawn('nsenter', [`--net=${ns}`, 'ping', '-n', '-i', '0.05', addr], { stdio: ['ignore', 'pipe', 'pipe'] }), out: '' };
  p.child.stdout!.on('data', (b: Buffer) => { p.out += b.toString(); });
  return p;
}

/** SIGINT makes ping print its summary; parse it. */
async function stopPing(p: Pinger): Promise<{ sent: number; received: number }> {
  const done = once(p.child, 'exit');
  p.child.kill('SIGINT');
  await done;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(p.out);
  if (!m) throw new Error(`no ping summary in: ${p.out.slice(-300)}`);
  return { sent: Number(m[1]), received: Number(m[2]) };
}

/** Interfaces by name with ifindex and MAC: any re-creation shows. */
function links(d: TestDaemon, ns?: string): string {
  const argv = ns ? ['nsenter', `--net=${ns}`, 'ip', '-j', 'link'] : ['ip', '-j', 'link'];
  return JSON.parse(d.exec(argv).stdout).map((l: any) => `${l.ifname}#${l.ifindex}@${l.address}`).sort().join(' ');
}

/** The ruleset without handles and with chains in name order (a rebuild may
 *  declare them in another order); rules keep their order within a chain. */
function ruleset(d: TestDaemon): string {
  const items = JSON.parse(d.exec(['nft', '-j', 'list', 'ruleset']).stdout).nftables as Array<Record<string, any>>;
  const strip = (o: any): any => JSON.parse(JSON.stringify(o, (k, v) => (k === 'handle' ? undefined : v)));
  const out = new Map<string, string[]>();
  for (const i of items) {
    if (i.metainfo) continue;
    const key = i.rule ? `rule ${i.rule.family} ${i.rule.table} ${i.rule.chain}` : JSON.stringify(strip(i));
    out.set(key, [...(out.get(key) ?? []), i.rule ? JSON.stringify(strip(i.rule.expr)) : '']);
  }
  return [...out].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => `${k}\n  ${v.join('\n  ')}`).join('\n');
}

const replies = (p: Pinger): number => (p.out.match(/bytes from/g) ?? []).length;

/** Wait until every pinger has had n more replies than now: traffic flowed in
 *  between (the readiness check that replaced fixed pauses). */
async function flowing(ps: Pinger[], n: number): Promise<void> {
  const want = ps.map((p) => replies(p) + n);
  await waitFor(`${n} more ping replies from each pinger`, () => ps.every((p, i) => replies(p) >= want[i]!));
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  const d = new TestDaemon();
  const pingers: Pinger[] = [];
  t.teardown(async () => {
    for (const p of pingers) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await d.cleanup();
  });

  t.test('0 packets lost across a graceful restart and a kill -9 + restart', async (t) => {
    await d.start();
    const net = (await d.req('POST', '/networks', { name: 'live', ipam: { subnet: '10.141.0.0/24' } })).json;
    const eps: any[] = [];
    for (const n of [1, 2]) {
      const ep = (await d.req('POST', `/networks/${net}/endpoints`, { name: `c${n}`, ...(n === 2 ? { port_mapping: [{ proto: 6, port: 80, host_port: 8080 }] } : {}) })).json;
      await d.req('POST', `/networks/${net}/endpoints/${ep}/containers`, { container_id: cid(n) });
      eps.push((await d.req('GET', `/networks/${net}/endpoints/${ep}`)).json);
    }
    const [a, b] = eps;
    const before = { host: links(d), a: links(d, a.sandbox_key), b: links(d, b.sandbox_key), nft: ruleset(d) };
    const toPeer = startPing(a.sandbox_key, ip(b.ipv4_address));
    const toGateway = startPing(b.sandbox_key, '10.141.0.1');
    pingers.push(toPeer, toGateway);
    const both = [toPeer, toGateway];
    await flowing(both, 10);
    t.equal(await d.stop('SIGTERM'), 0, 'graceful stop');
    await flowing(both, 6);  // while the daemon is down
    await d.start();
    await flowing(both, 10);
    await d.stop('SIGKILL');
    await flowing(both, 6);
    await d.start();
    await flowing(both, 10);
    const peer = await stopPing(toPeer);
    const gw = await stopPing(toGateway);
    t.comment(`container -> container: ${peer.sent} sent, ${peer.received} received; container -> gateway: ${gw.sent} sent, ${gw.received} received`);
    t.ok(peer.sent >= 30, `pinged throughout (${peer.sent} packets)`);
    t.equal(peer.sent - peer.received, 0, 'container -> container: 0 packets lost');
    t.equal(gw.sent - gw.received, 0, 'container -> gateway: 0 packets lost');
    t.equal(links(d), before.host, 'host interfaces untouched (same ifindex and MAC)');
    t.equal(links(d, a.sandbox_key), before.a, 'container a untouched');
    t.equal(links(d, b.sandbox_key), before.b, 'container b untouched');
    t.equal(ruleset(d), before.nft, 'rules as they were');
    t.same(await settle(d), [], 'store and kernel agree');
  });
}
