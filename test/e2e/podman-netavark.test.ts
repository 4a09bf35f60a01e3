// podman 4.3 with lnetd-netavark as its netavark, on the real kernel, with
// real traffic: podman runs in the daemon's throwaway host namespace with all
// its state under a tmp dir; an "upstream" namespace wired to the host stands
// for another machine. Containers are busybox-static (imported, no registry).
// After removal nothing of the containers is left in lnetd's store or the
// host namespace.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TestDaemon } from '../lib/daemon.js';
import { guardSystemPaths, missingTool, Podman, PODMAN_SYSTEM_PATHS, runtimeLock } from './_runtime.js';

const missing = process.getuid?.() !== 0 ? 'root' : missingTool(['podman', 'runc', 'busybox', 'curl', 'nft']);
if (missing) t.test('podman with lnetd-netavark', { skip: `needs ${missing}` }, () => undefined);
else await main();

async function main(): Promise<void> {
  await runtimeLock(t);
  guardSystemPaths(t, PODMAN_SYSTEM_PATHS);
  const d = new TestDaemon();
  const up = `${d.name}-up`;
  let pm: Podman | undefined;
  t.teardown(async () => { pm?.cleanup(); spawnSync('ip', ['netns', 'del', up]); await d.cleanup(); });

  const HOST_IP = '192.0.2.1';
  const sh = (argv: string[]) => {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** An HTTP GET from a namespace: the body, or "" when nothing answered. */
  const http = (nsPath: string, url: string) =>
    spawnSync('nsenter', [`--net=${nsPath}`, 'curl', '-s', '--max-time', '3', url], { encoding: 'utf8', timeout: 8000 }).stdout.trim();
  const links = () => (JSON.parse(d.exec(['ip', '-j', 'link']).stdout) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
  const services = async () => (await d.req('GET', '/services')).json as Array<{ name: string; network: string; container_id: string; port_mapping: unknown[]; ipv4_address: string; mac_address: string; sandbox_key: string }>;
  const lnetdNetworks = async () => ((await d.req('GET', '/networks')).json as Array<{ name: string; predefined: boolean }>).filter((n) => !n.predefined).map((n) => n.name);
  const inspect = (name: string) => JSON.parse(pm!.ok(['inspect', name]))[0];

  await d.start();
  sh(['ip', 'netns', 'add', up]);
  sh(['ip', '-n', d.name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', up]);
  sh(['ip', '-n', d.name, 'addr', 'add', `${HOST_IP}/24`, 'dev', 'uplink']);
  sh(['ip', '-n', d.name, 'link', 'set', 'uplink', 'up']);
  sh(['ip', '-n', up, 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
  sh(['ip', '-n', up, 'link', 'set', 'eth0', 'up']);
  const upPath = `/run/netns/${up}`;
  const linksBefore = links();

  pm = new Podman(d, { backend: 'netavark' });
  pm.importBusybox();
  pm.ok(['network', 'create', '--subnet', '10.89.30.0/24', '--gateway', '10.89.30.1', 'lnt-a']);
  pm.ok(['network', 'create', '--subnet', '10.89.31.0/24', '--gateway', '10.89.31.1', 'lnt-b']);
  const web = 'httpd -p 80 -h /www && httpd -p 7000 -h /www && httpd -p 7001 -h /www && exec sleep 100000';

  await t.test('podman run with --ip, --mac-address and -p (host port, range, 127.0.0.1:)', async (t) => {
    pm!.ok(['run', '-d', '--name', 'c1', '--network', 'lnt-a', '--ip', '10.89.30.10', '--mac-address', '02:aa:bb:cc:dd:01',
      '-p', '8080:80', '-p', '127.0.0.1:8081:80', '-p', '9000-9001:7000-7001', 'localhost/bb', 'sh', '-c', web]);
    const c1 = inspect('c1');
    const key: string = c1.NetworkSettings.SandboxKey;
    t.match(key, /^\/run\/netns\//, 'podman made the namespace');
    t.equal(c1.NetworkSettings.Networks['lnt-a'].IPAddress, '10.89.30.10');
    t.equal(c1.NetworkSettings.Networks['lnt-a'].MacAddress, '02:aa:bb:cc:dd:01');
    const eth0 = JSON.parse(spawnSync('nsenter', [`--net=${key}`, 'ip', '-j', 'addr', 'show', 'eth0'], { encoding: 'utf8' }).stdout)[0];
    t.equal(eth0.address, '02:aa:bb:cc:dd:01', 'the MAC inside the container');
    t.ok(eth0.addr_info.some((a: { local: string; prefixlen: number }) => a.local === '10.89.30.10' && a.prefixlen === 24), 'the address inside the container');
    const eps = (await services()).filter((e) => e.network === 'lnt-a');
    t.same(eps.map((e) => [e.name, e.ipv4_address, e.container_id]), [['c1', '10.89.30.10/24', c1.Id]], 'lnetd holds the endpoint');
    t.same((await lnetdNetworks()).sort(), ['lnt-a'], 'lnetd made the network on first sight');
    t.equal(http(d.nsPath, 'http://10.89.30.10/'), 'hello', 'the host reaches the container');
    t.equal(http(upPath, `http://${HOST_IP}:8080/`), 'hello', 'another host reaches the published port');
    t.equal(http(d.nsPath, 'http://127.0.0.1:8081/'), 'hello', '127.0.0.1:8081 answers on the host');
    t.equal(http(upPath, `http://${HOST_IP}:8081/`), '', '127.0.0.1:8081 is not published on other addresses');
    t.equal(http(upPath, `http://${HOST_IP}:9000/`), 'hello', 'range: 9000 -> 7000');
    t.equal(http(upPath, `http://${HOST_IP}:9001/`), 'hello', 'range: 9001 -> 7001');
    t.equal(http(upPath, `http://${HOST_IP}:9002/`), '', 'nothing past the range');
  });

  await t.test('two containers ping each other', async (t) => {
    pm!.ok(['run', '-d', '--name', 'c2', '--network', 'lnt-a', 'localhost/bb', 'sleep', '100000']);
    const ip2: string = inspect('c2').NetworkSettings.Networks['lnt-a'].IPAddress;
    t.match(ip2, /^10\.89\.30\./, 'podman picked an address');
    t.equal(pm!.run(['exec', 'c2', 'ping', '-c', '1', '-w', '4', '10.89.30.10']).status, 0, 'c2 pings c1');
    t.equal(pm!.run(['exec', 'c1', 'ping', '-c', '1', '-w', '4', ip2]).status, 0, 'c1 pings c2');
    t.equal(pm!.run(['exec', 'c1', 'ping', '-c', '1', '-w', '4', '127.0.0.1']).status, 0, 'loopback is up in the container');
  });

  await t.test('network connect and disconnect', async (t) => {
    pm!.ok(['network', 'connect', 'lnt-b', 'c1']);
    const c1 = inspect('c1');
    const ipB: string = c1.NetworkSettings.Networks['lnt-b'].IPAddress;
    t.match(ipB, /^10\.89\.31\./);
    const eps = (await services()).filter((e) => e.container_id === c1.Id);
    t.same(eps.map((e) => e.network).sort(), ['lnt-a', 'lnt-b']);
    t.same(eps.map((e) => e.port_mapping.length).sort(), [0, 4], 'the re-sent port mappings are applied once');
    const eth1 = spawnSync('nsenter', [`--net=${c1.NetworkSettings.SandboxKey}`, 'ip', '-j', 'addr', 'show', 'eth1'], { encoding: 'utf8' });
    t.equal(eth1.status, 0, 'eth1 in the container');
    t.equal(http(d.nsPath, `http://${ipB}/`), 'hello', 'the host reaches the container on the second network');
    t.equal(http(upPath, `http://${HOST_IP}:8080/`), 'hello', 'the published port still answers');
    pm!.ok(['network', 'disconnect', 'lnt-b', 'c1']);
    t.same((await services()).filter((e) => e.container_id === c1.Id).map((e) => e.network), ['lnt-a']);
    t.notOk((await lnetdNetworks()).includes('lnt-b'), 'the emptied network is gone from lnetd');
    t.not(spawnSync('nsenter', [`--net=${c1.NetworkSettings.SandboxKey}`, 'ip', 'link', 'show', 'eth1']).status, 0, 'eth1 is gone');
    t.equal(http(upPath, `http://${HOST_IP}:8080/`), 'hello', 'the published port still answers');
  });

  await t.test('stop, start and network reload', async (t) => {
    pm!.ok(['stop', '-t', '0', 'c1']);
    t.same((await services()).filter((e) => e.name === 'c1'), [], 'stop leaves the network');
    t.equal(http(upPath, `http://${HOST_IP}:8080/`), '', 'the published port is closed');
    pm!.ok(['start', 'c1']);
    t.equal(inspect('c1').NetworkSettings.Networks['lnt-a'].IPAddress, '10.89.30.10', 'the same address after start');
    t.equal(http(upPath, `http://${HOST_IP}:8080/`), 'hello', 'the published port answers again');
    pm!.ok(['network', 'reload', 'c1']);
    t.equal(http(upPath, `http://${HOST_IP}:8080/`), 'hello', 'after network reload');
    t.equal(pm!.run(['exec', 'c2', 'ping', '-c', '1', '-w', '4', '10.89.30.10']).status, 0, 'c2 pings c1 after reload');
  });

  await t.test('a failed setup is rolled back', async (t) => {
    pm!.ok(['network', 'create', '--subnet', '10.89.32.0/24', 'lnt-c']);
    const r = pm!.run(['run', '-d', '--name', 'c3', '--network', 'lnt-c', '-p', '8080:80', 'localhost/bb', 'sleep', '100000']);
    t.not(r.status, 0, 'host port 8080 is taken by c1: podman reports the error');
    t.match(r.stderr, /netavark.*8080/, 'with lnetd\'s message');
    t.same((await services()).filter((e) => e.name === 'c3'), [], 'no endpoint left');
    t.notOk((await lnetdNetworks()).includes('lnt-c'), 'the network it made is gone');
    pm!.run(['rm', '-f', '-t', '0', 'c3']);

    // the second network fails (lnetd has a network of that name on another subnet): the first is undone
    t.equal((await d.req('POST', '/networks', { name: 'lnt-x', network_type: 'bridge', options: {}, ipam: { subnet: '10.89.40.0/24' } })).status, 200);
    pm!.ok(['network', 'create', '--subnet', '10.89.33.0/24', 'lnt-x']);
    const r2 = pm!.run(['run', '-d', '--name', 'c4', '--network', 'lnt-c,lnt-x', 'localhost/bb', 'sleep', '100000']);
    t.not(r2.status, 0, 'podman reports the error');
    t.match(r2.stderr, /lnetd network lnt-x exists with other subnets/);
    t.same((await services()).filter((e) => e.name === 'c4'), [], 'the endpoint on the first network is undone');
    t.same((await lnetdNetworks()).sort(), ['lnt-a', 'lnt-x'], 'the network the setup made is gone; the one it did not make stays');
    pm!.run(['rm', '-f', '-t', '0', 'c4']);
    t.equal((await d.req('DELETE', '/networks/lnt-x')).status, 200);
  });

  await t.test('dual stack: --ip and --ip6', async (t) => {
    pm!.ok(['network', 'create', '--ipv6', '--subnet', '10.89.50.0/24', '--subnet', 'fd00:89:50::/64', 'lnt-6']);
    pm!.ok(['run', '-d', '--name', 'c6', '--network', 'lnt-6', '--ip', '10.89.50.6', '--ip6', 'fd00:89:50::6', 'localhost/bb', 'sleep', '100000']);
    const net = inspect('c6').NetworkSettings.Networks['lnt-6'];
    t.same([net.IPAddress, net.GlobalIPv6Address], ['10.89.50.6', 'fd00:89:50::6']);
    const ep = (await services()).find((e) => e.name === 'c6') as unknown as { ipv6_address: string } | undefined;
    t.equal(ep?.ipv6_address, 'fd00:89:50::6/64', 'lnetd holds both addresses');
    t.equal(pm!.run(['exec', 'c6', 'ping', '-6', '-c', '1', '-w', '5', 'fd00:89:50::1']).status, 0, 'the container pings its IPv6 gateway');
    pm!.ok(['rm', '-f', '-t', '0', 'c6']);
    t.notOk((await lnetdNetworks()).includes('lnt-6'));
  });

  await t.test('rm leaves nothing behind', async (t) => {
    const keys = ['c1', 'c2'].map((c) => inspect(c).NetworkSettings.SandboxKey as string);
    pm!.ok(['rm', '-f', '-t', '0', 'c1', 'c2']);
    t.same(await services(), [], 'no endpoint in lnetd');
    t.same(await lnetdNetworks(), [], 'no network of podman\'s in lnetd');
    t.same(links(), linksBefore, 'no bridge or veth left in the host namespace');
    const nft = d.exec(['nft', '-j', 'list', 'table', 'inet', 'lnetd']).stdout;
    t.notMatch(nft, /8080|9000|10\.89\./, 'no rule or map element of theirs in lnetd\'s table');
    for (const k of keys) t.notOk(existsSync(k), `${k} removed`);
  });
}
