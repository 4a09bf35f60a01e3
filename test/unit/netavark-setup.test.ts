// lnetd-netavark's setup and teardown against the whole daemon in-process
// (the API on memory-level and the fake kernel): what podman sees (the status
// block) and what lnetd keeps, for first sight of a network, connect with
// re-sent ports, rollback, leftovers and teardown. The runtime's namespace is
// a tmp file; the fake kernel adopts whatever the plug-in hands over.

import t from 'tap';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../plugins/lib/client.js';
import { OPT_PODMAN_ID } from '../../plugins/netavark/lnetd.js';
import { parseOptions, type Options } from '../../plugins/netavark/options.js';
import { setup, teardown } from '../../plugins/netavark/setup.js';
import { ROOT } from '../lib/daemon.js';
import { InProc } from '../lib/inproc.js';

const d = await new InProc().start();
const dir = mkdtempSync(join(tmpdir(), 'lnetd-nv-unit-'));
t.teardown(async () => { await d.close(); rmSync(dir, { recursive: true, force: true }); });
// the plug-in names the namespace by its own fd (a tmp file is not in /run/netns) with the file's inode:
// the fake kernel takes that file as a namespace, with that inode
const adopt = d.kernel.adoptNetns.bind(d.kernel);
d.kernel.adoptNetns = async (path: string, source: string) => { d.kernel.runtimeNetns(source); await adopt(path, source); return statSync(source).ino; };
d.kernel.netnsInode = async (source: string) => statSync(source).ino;
const c = new Client(d.socket, 2000);
t.teardown(() => c.close());

let n = 0;
function netns(): string {
  const p = join(dir, `ns-${++n}`);
  closeSync(openSync(p, 'w'));
  return p;
}
const fixture = (name: string): Options => parseOptions(readFileSync(join(ROOT, 'test/fixtures/netavark', name), 'utf8'));
const services = async () => (await d.req('GET', '/services')).json as Array<{ name: string; network: string; container_id: string; port_mapping: unknown[]; ipv4_address: string; ipv6_address: string; mac_address: string; interface_name: string }>;
const networks = async () => ((await d.req('GET', '/networks')).json as Array<{ name: string; predefined: boolean; options: Record<string, string>; ipam: { config: Array<{ subnet: string; gateway: string }> } }>).filter((x) => !x.predefined);

t.test('first setup makes the network as podman described it and answers the status block', async (t) => {
  const o = fixture('podman-run-ports.json');
  const out = await setup(c, netns(), o);
  t.same(out, {
    tnet: { dns_search_domains: [], dns_server_ips: [], interfaces: { eth0: { mac_address: '02:aa:bb:cc:dd:01', subnets: [{ ipnet: '10.89.7.10/24', gateway: '10.89.7.1' }] } } },
  }, 'one entry per network, keyed by podman\'s interface name');
  const [net] = await networks();
  t.equal(net.name, 'tnet');
  t.equal(net.options['com.docker.network.bridge.name'], 'podman1', 'the bridge podman named');
  t.equal(net.options[OPT_PODMAN_ID], o.networks[0].info.id, 'marked as made for this podman network');
  t.same(net.ipam.config.map((x) => [x.subnet, x.gateway]), [['10.89.7.0/24', '10.89.7.1']]);
  const [ep] = await services();
  t.same([ep.name, ep.container_id, ep.interface_name, ep.port_mapping.length], ['c1', o.containerId, 'eth0', 5], 'ports and the range, per protocol');
  await teardown(c, o);
  t.same(await services(), [], 'teardown leaves and deletes the endpoint');
  t.same(await networks(), [], 'and the network it made, now empty');
  await teardown(c, o);
  t.pass('a second teardown succeeds');
});

t.test('connect: the re-sent ports are published once; two networks, dual stack, internal', async (t) => {
  const o = fixture('podman-connect-two-networks.json');
  const ns = netns();
  const alpha: Options = { ...o, networks: o.networks.filter((x) => x.name === 'alpha') };
  const beta: Options = { ...o, networks: o.networks.filter((x) => x.name === 'beta') };
  await setup(c, ns, alpha);
  const out = await setup(c, ns, beta);
  t.same(out.beta.interfaces.eth1.subnets, [{ ipnet: '10.90.2.5/24' }, { ipnet: 'fd00:90:2::5/64' }], 'an internal network answers no gateway');
  const eps = await services();
  t.same(eps.map((e) => [e.network, e.port_mapping.length]).sort(), [['alpha', 1], ['beta', 0]], 'ports stay on the first network');
  await teardown(c, beta);
  t.same((await networks()).map((x) => x.name), ['alpha']);
  await teardown(c, alpha);
  t.same(await networks(), []);

  const both = await setup(c, netns(), o);
  t.same(Object.keys(both).sort(), ['alpha', 'beta'], 'two networks in one call');
  t.same((await services()).map((e) => [e.network, e.port_mapping.length]).sort(), [['alpha', 1], ['beta', 0]], 'ports once within one call too');
  await teardown(c, o);
  t.same(await services(), []);
});

t.test('a failed setup undoes what it did', async (t) => {
  const o = fixture('podman-connect-two-networks.json');
  // lnetd already has a network named beta on another subnet: the second network fails
  t.equal((await d.req('POST', '/networks', { name: 'beta', network_type: 'bridge', options: {}, ipam: { subnet: '10.91.0.0/24' } })).status, 200);
  await t.rejects(setup(c, netns(), o), /lnetd network beta exists with other subnets/);
  t.same(await services(), [], 'no endpoint left');
  t.same((await networks()).map((x) => x.name), ['beta'], 'alpha (made by this setup) is gone, beta (not ours) stays');
  await teardown(c, o);
  t.same((await networks()).map((x) => x.name), ['beta'], 'teardown never deletes a network it did not make');
  t.equal((await d.req('DELETE', '/networks/beta')).status, 200);

  // the bad namespace path fails before anything is made
  await t.rejects(setup(c, join(dir, 'missing'), o), /invalid namespace path .*missing: ENOENT/);
  t.same(await networks(), []);
});

t.test('leftovers: the same container again, another container on the name', async (t) => {
  const o = fixture('podman-run-ports.json');
  await setup(c, netns(), o);
  // podman lost track (e.g. a crash before teardown) and sets the container up in a new namespace
  const again = await setup(c, netns(), o);
  t.ok(again.tnet, 'the old endpoint is replaced');
  t.equal((await services()).length, 1);
  const other: Options = { ...o, containerId: 'b'.repeat(64), ports: [], networks: [{ ...o.networks[0], opts: { ...o.networks[0].opts, staticIps: ['10.89.7.11'] } }] };
  await t.rejects(setup(c, netns(), other), /lnetd endpoint c1 on network tnet is joined to container 67483a3ea84d/);
  t.equal((await services()).length, 1, 'the other container\'s failure changed nothing');
  await teardown(c, other);
  t.equal((await services()).length, 1, 'a teardown for another container id leaves the endpoint alone');
  await teardown(c, o);
  t.same(await services(), []);
  t.same(await networks(), []);
});
