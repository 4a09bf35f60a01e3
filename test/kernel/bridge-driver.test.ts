// The bridge driver on the real kernel and nftables, inside a throwaway host
// namespace: sandboxes on one network ping and TCP-connect to each other,
// a published port is reachable from an upstream namespace, different
// networks can't talk, and deleting everything leaves the host as it was.
//
//   upstream (10.97.0.2) ── up0 ── host ── lnet-a… 10.88.0.0/24 + fd88::/64: a1 a2
//                                       └─ lnet-b… 10.89.0.0/24: b1

import t from 'tap';
import { once } from 'node:events';
import { BridgeDriver } from '../../drivers/bridge/bridge.js';
import type { JoinTarget } from '../../drivers/driver.js';
import { NetlinkKernel } from '../../drivers/linux/netlink.js';
import { NftFirewall } from '../../drivers/linux/nftables.js';
import type { EndpointRecord, NetworkRecord } from '../../store/records.js';
import { nsExec, withHostNs } from './_hostns.js';

t.setTimeout(120_000);

const SERVER = `require('net').createServer((s) => s.end('hello from ' + process.argv[1])).listen(Number(process.argv[2]), '::', () => console.log('ready'));`;
const CLIENT = `const s = require('net').connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: 1500 });
let got = ''; s.on('data', (d) => got += d); s.on('end', () => { console.log(got); process.exit(0); });
s.on('timeout', () => process.exit(2)); s.on('error', () => process.exit(3));`;

const net = (id: string, n: number, v6: boolean): NetworkRecord => ({
  version: 1, id: id.repeat(64 / id.length), name: `net-${id}`, type: 'bridge', created: '', predefined: false, internal: false,
  enableIpv6: v6, options: {}, driver: {},
  ipv4: { subnet: `10.${n}.0.0/24`, gateway: `10.${n}.0.1`, aux: {} },
  ...(v6 ? { ipv6: { subnet: `fd${n}::/64`, gateway: `fd${n}::1`, aux: {} } } : {}),
});

const ep = (netRec: NetworkRecord, i: number, portMapping: EndpointRecord['portMapping'] = []): EndpointRecord => ({
  version: 1, id: `${netRec.id.slice(0, 1)}${i}`.repeat(32), name: `e${i}`, networkId: netRec.id, created: '', exposedPorts: [], portMapping,
  ipv4: `${netRec.ipv4!.gateway.replace(/\.1$/, `.${i + 10}`)}/24`, ipv6: netRec.ipv6 ? `${netRec.ipv6.gateway.replace(/::1$/, `::${i + 10}`)}/64` : undefined,
  mac: `02:42:0a:00:${i.toString(16).padStart(2, '0')}:${netRec.id.slice(0, 2)}`, service: false, driver: {},
});

const names = (links: { ifname: string }[]): string[] => links.map((l) => l.ifname).sort();
const addrs = (links: { ifname: string; addr_info: { local: string; prefixlen: number }[] }[]): string[] =>
  links.flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)).sort();

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  const host = withHostNs(t);
  const kernel = new NetlinkKernel();
  t.teardown(() => kernel.close());
  const firewall = new NftFirewall();
  await firewall.init();
  const driver = new BridgeDriver({ kernel, firewall, netnsDir: host.dir });

  const before = { links: names(await host.ipJson(['link'])), addrs: addrs(await host.ipJson(['addr'])) };
  const A = net('a', 88, true);
  const B = net('b', 89, false);
  const joined: [NetworkRecord, EndpointRecord, JoinTarget][] = [];

  async function join(n: NetworkRecord, e: EndpointRecord): Promise<string> {
    const key = host.nsPath(e.name);
    await kernel.createNetns(key);
    const target: JoinTarget = { containerId: e.id, key, isDefault: false, ifname: 'eth0', gatewayProvider: true };
    await driver.join(n, e, target);
    joined.push([n, e, target]);
    return key;
  }

  async function connect(from: string, to: string, port: number): Promise<string> {
    const r = await nsExec(from, [process.execPath, '-e', CLIENT, to, String(port)]);
    return r.code === 0 ? r.stdout.trim() : `FAIL(${r.code})`;
  }

  const ping = async (from: string, to: string): Promise<boolean> => (await nsExec(from, ['ping', '-c', '1', '-W', '1', to])).code === 0;

  const sb: Record<string, string> = {};
  const a2 = ep(A, 2, [{ proto: 6, port: 80, hostIp: '', hostPort: 8080, hostPortEnd: 0 }]);

  t.test('create networks and join sandboxes', async (t) => {
    let t0 = performance.now();
    A.driver = await driver.createNetwork(A);
    t.comment(`createNetwork (bridge, 2 gateways, nft): ${(performance.now() - t0).toFixed(1)} ms`);
    B.driver = await driver.createNetwork(B);
    t.match(A.driver, { bridge: 'lnet-aaaaaaaa', createdBridge: true, mtu: 1500 });
    t0 = performance.now();
    sb.a1 = await join(A, ep(A, 1));
    t.comment(`netns + join (veth, up, v4+v6 addresses and routes): ${(performance.now() - t0).toFixed(1)} ms`);
    sb.a2 = await join(A, a2);
    sb.b1 = await join(B, ep(B, 1));
    const [br] = await host.ipJson<{ flags: string[]; linkinfo: { info_kind: string } }[]>(['-d', 'link', 'show', 'lnet-aaaaaaaa']);
    t.equal(br?.linkinfo.info_kind, 'bridge');
    t.ok(br?.flags.includes('UP'));
    const [eth0] = await host.ipJson<{ address: string; addr_info: { local: string }[] }[]>(['addr', 'show', 'eth0'], sb.a1);
    t.equal(eth0?.address, ep(A, 1).mac);
    t.match(eth0?.addr_info.map((a) => a.local), ['10.88.0.11', 'fd88::11']);
  });

  t.test('sandboxes on one network ping and TCP-connect each other', async (t) => {
    for (const [from, to] of [[sb.a1, '10.88.0.12'], [sb.a2, '10.88.0.11'], [sb.a1, 'fd88::12'], [sb.a1, '10.88.0.1']] as const) {
      t.ok(await ping(from!, to), `ping ${to}`);
    }
    // runs until withHostNs' cleanup kills it (by pid); the next test needs it too
    const server = host.spawnIn(sb.a2!, [process.execPath, '-e', SERVER, 'a2', '80']);
    await once(server.stdout!, 'data');
    t.equal(await connect(sb.a1!, '10.88.0.12', 80), 'hello from a2');
    t.equal(await connect(sb.a1!, 'fd88::12', 80), 'hello from a2');
  });

  t.test('a published port is reachable from upstream', async (t) => {
    const up = host.nsPath('upstream');
    await kernel.createNetns(up);
    await kernel.createVeth({ name: 'up0', peer: { name: 'eth0', ns: up } });
    await kernel.addAddress('up0', '10.97.0.1/24');
    await kernel.setLinkUp('eth0', up);
    await kernel.addAddress('eth0', '10.97.0.2/24', up);
    t.equal(await connect(up, '10.97.0.1', 8080), 'hello from a2', 'DNAT 10.97.0.1:8080 -> a2:80');
    await kernel.deleteLink('up0');
    await kernel.deleteNetns(up);
  });

  t.test('different networks cannot talk', async (t) => {
    t.ok(await ping(sb.b1!, '10.89.0.1'), 'b1 reaches its own gateway');
    t.notOk(await ping(sb.b1!, '10.88.0.11'), 'b1 -/-> a1');
    t.notOk(await ping(sb.a1!, '10.89.0.11'), 'a1 -/-> b1');
    t.match(await connect(sb.b1!, '10.88.0.12', 80), /^FAIL/, 'no TCP from b1 to a2');
  });

  t.test('leave and delete leave nothing behind', async (t) => {
    const t0 = performance.now();
    for (const [n, e, target] of joined) {
      await driver.leave(n, e, target);
      await kernel.deleteNetns(target.key);
    }
    t.comment(`leave + netns delete, ${joined.length} sandboxes: ${(performance.now() - t0).toFixed(1)} ms`);
    await driver.deleteNetwork(A);
    await driver.deleteNetwork(B);
    t.same(names(await host.ipJson(['link'])), before.links, 'same links as before');
    t.same(addrs(await host.ipJson(['addr'])), before.addrs, 'same addresses as before');
    const rules = (await host.exec(['nft', 'list', 'ruleset'])).stdout;
    t.notMatch(rules, /lnet-aaaaaaaa|lnet-bbbbbbbb|10\.88\.0\.|10\.89\.0\./, 'no rules of the networks left');
    await driver.deleteNetwork(A);  // again: missing is success
  });
}
