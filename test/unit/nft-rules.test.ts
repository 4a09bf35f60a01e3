// The nftables layout as text (nft-rules), and NftFirewall driven against a
// stand-in `nft` script and a tmp /proc/sys: no root, no kernel.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NFT_LAYOUT, checkNetwork, networkScript, parseListing, portElem, removeNetworkScript, restoreScript,
} from '../../drivers/linux/nft-rules.js';
import { NftFirewall } from '../../drivers/linux/nftables.js';
import { processCount } from '../../drivers/linux/exec.js';
import type { FwNetwork, FwPortMap } from '../../drivers/linux/firewall.js';

const NET: FwNetwork = { id: 'ab'.repeat(32), bridge: 'lnet-abababab', subnet4: '172.18.0.0/16', subnet6: 'FD00:1:0::/64', masquerade: true, icc: true, internal: false };
const PM: FwPortMap = { networkId: NET.id, proto: 'tcp', hostIp: '', hostPort: 8080, containerIp: '172.18.0.2', containerPort: 80, bridge: NET.bridge };

function code(fn: () => unknown): string | undefined {
  try { fn(); } catch (e) { return (e as { code?: string }).code; }
  return undefined;
}

t.test('checkNetwork validates and canonicalises', async (t) => {
  const n = checkNetwork(NET);
  t.equal(n.tag, 'abababababab');
  t.equal(n.subnet6, 'fd00:1::/64');
  for (const bad of [{ id: 'xyz' }, { id: 'ab' }, { bridge: 'a"b' }, { bridge: 'a b' }, { bridge: 'x'.repeat(16) }, { bridge: '' },
    { subnet4: 'fd00::/64' }, { subnet4: '10.0.0.1' }, { subnet6: '10.0.0.0/8' }]) {
    t.match(code(() => checkNetwork({ ...NET, ...bad })), /^INVALID_(NAME|ADDRESS)$/, JSON.stringify(bad));
  }
});

t.test('portElem picks the map by family and host address', async (t) => {
  t.same(portElem(PM), { map: 'ports4_any', key: 'tcp . 8080', value: '172.18.0.2 . 80' });
  t.same(portElem({ ...PM, hostIp: '0.0.0.0' }).map, 'ports4_any');
  t.same(portElem({ ...PM, proto: 'udp', hostIp: '10.0.0.1' }), { map: 'ports4', key: 'udp . 10.0.0.1 . 8080', value: '172.18.0.2 . 80' });
  t.same(portElem({ ...PM, hostIp: '::', containerIp: 'FD00:1::2' }), { map: 'ports6_any', key: 'tcp . 8080', value: 'fd00:1::2 . 80' });
  t.same(portElem({ ...PM, proto: 'sctp', hostIp: 'fd00::0:1', containerIp: 'fd00:1::2' }).key, 'sctp . fd00::1 . 8080');
  for (const bad of [{ proto: 'icmp' }, { hostPort: 0 }, { hostPort: 65536 }, { containerPort: 1.5 }, { containerIp: '172.18.0.2/16' },
    { containerIp: 'x' }, { hostIp: 'fd00::1' }, { hostIp: '1.2.3.4; flush ruleset' }]) {
    t.match(code(() => portElem({ ...PM, ...bad } as FwPortMap)), /^INVALID_(PORT|ADDRESS)$/, JSON.stringify(bad));
  }
});

t.test('network chains follow the options', async (t) => {
  const text = (o: Partial<FwNetwork>): string => networkScript(checkNetwork({ ...NET, ...o })).join('\n');
  const base = text({});
  t.match(base, /n-abababababab-from oifname "lnet-abababab" accept/);
  t.match(base, /n-abababababab-from oifname @bridges drop/);
  t.match(base, /n-abababababab-post oifname != "lnet-abababab" masquerade/);
  t.match(base, /add element inet lnetd src4 \{ 172\.18\.0\.0\/16 : jump n-abababababab-post \}/);
  t.match(base, /add element inet lnetd src6 \{ fd00:1::\/64 : jump n-abababababab-post \}/);
  const icc = text({ icc: false });
  t.match(icc, /oifname "lnet-abababab" ct status dnat accept\n.*oifname "lnet-abababab" drop/);
  t.notMatch(text({ masquerade: false }), /!= "lnet-abababab" masquerade/);
  const internal = text({ internal: true });
  t.notMatch(internal, /!= "lnet-abababab" masquerade/, 'internal never masquerades');
  t.match(internal, /n-abababababab-to drop/);
  t.match(internal, /n-abababababab-from drop/);
  t.notMatch(internal, /n-abababababab-from accept/);
});

t.test('removal adds each object before deleting it; restore declares chains before maps', async (t) => {
  const lines = removeNetworkScript(checkNetwork(NET), [portElem(PM)]);
  for (const [i, l] of lines.entries()) {
    const m = /^delete (element|chain) inet lnetd (\S+)/.exec(l);
    if (!m) continue;
    const added = lines.slice(0, i).some((x) => x.startsWith(`add ${m[1]} inet lnetd ${m[2]}`));
    t.ok(added, `"${l}" follows an add of the same object`);
  }
  const r = restoreScript([checkNetwork(NET)], [portElem(PM)]);
  t.same(r.slice(0, 2), ['add table inet lnetd', 'delete table inet lnetd']);
  t.match(r[2], NFT_LAYOUT);
  t.ok(r.indexOf('add chain inet lnetd n-abababababab-post') < r.findIndex((l) => l.startsWith('add map inet lnetd src4')));
});

// What `nft list table inet lnetd` printed on nft 1.0.6 (trimmed).
const LISTING = `table inet lnetd {
	comment "lnetd inet-lnetd/1"
	set bridges {
		type ifname
		elements = { "lnet-abababab" }
	}

	map fwd_from {
		type ifname : verdict
		comment "forward in from a bridge"
		elements = { "lnet-abababab" : jump n-abababababab-from,
			     "lnet-cdcdcdcd" : jump n-cdcdcdcdcdcd-from }
	}

	map src4 {
		type ipv4_addr : verdict
		flags interval
		elements = { 10.1.2.3 : jump n-cdcdcdcdcdcd-post, 172.18.0.0/16 : jump n-abababababab-post }
	}

	map src6 {
		type ipv6_addr : verdict
		flags interval
		elements = { fd00:1::/64 : jump n-abababababab-post }
	}

	map ports4 {
		type inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service
		elements = { udp . 10.0.0.1 . 53 : 172.18.0.9 . 53 }
	}

	map ports4_any {
		type inet_proto . inet_service : ipv4_addr . inet_service
		elements = { tcp . 8080 : 172.18.0.2 . 80,
			     sctp . 9 : 10.1.2.3 . 9 }
	}

	map ports6_any {
		type inet_proto . inet_service : ipv6_addr . inet_service
	}
}
`;

t.test('parseListing reads networks and ports back', async (t) => {
  const l = parseListing(LISTING);
  const n = l.networks.get('abababababab');
  t.same([n?.bridge, n?.subnet4, n?.subnet6], ['lnet-abababab', '172.18.0.0/16', 'fd00:1::/64']);
  t.same([l.networks.get('cdcdcdcdcdcd')?.bridge, l.networks.get('cdcdcdcdcdcd')?.subnet4], ['lnet-cdcdcdcd', '10.1.2.3/32']);
  t.same(l.ports, [
    { map: 'ports4', key: 'udp . 10.0.0.1 . 53', value: '172.18.0.9 . 53' },
    { map: 'ports4_any', key: 'tcp . 8080', value: '172.18.0.2 . 80' },
    { map: 'ports4_any', key: 'sctp . 9', value: '10.1.2.3 . 9' },
  ]);
});

/** A stand-in nft: logs argv and stdin, fails once with the text of `fail`, prints `listing` for a list command. */
function fakeNft(dir: string): { bin: string; log: () => string; failOnce: (stderr: string) => void } {
  const bin = join(dir, 'nft');
  writeFileSync(bin, `#!/bin/sh
d='${dir}'
in=$(cat)
printf 'ARGS %s\n%s\n' "$*" "$in" >> "$d/log"
if [ -f "$d/fail" ]; then cat "$d/fail" >&2; rm "$d/fail"; exit 1; fi
case "$in" in 'list table'*) cat "$d/listing" 2>/dev/null;; esac
exit 0
`);
  chmodSync(bin, 0o755);
  return {
    bin,
    log: () => (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : ''),
    failOnce: (stderr) => writeFileSync(join(dir, 'fail'), stderr),
  };
}

t.test('NftFirewall: one process per change, sysctls, errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-nft-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sys = join(dir, 'sys');
  for (const d of ['net/ipv4/conf/lnet-abababab', 'net/ipv6/conf/all', 'net/bridge']) mkdirSync(join(sys, d), { recursive: true });
  for (const f of ['net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding', 'net/ipv4/conf/lnet-abababab/route_localnet', 'net/bridge/bridge-nf-call-iptables', 'net/bridge/bridge-nf-call-ip6tables']) writeFileSync(join(sys, f), '0\n');
  const nft = fakeNft(dir);
  const fw = new NftFirewall({ nft: nft.bin, procSys: sys });
  const p0 = processCount();
  await fw.init();
  await fw.addNetwork({ ...NET, icc: false });
  await fw.addPortMaps([PM]);
  await fw.addPortMaps([]);
  t.equal(processCount() - p0, 3, 'init, addNetwork, addPortMaps: one nft each; no ports, no process');
  t.equal(fw.stats.transactions, 3);
  const sysctl = (f: string): string => readFileSync(join(sys, f), 'utf8').trim();
  t.same(['net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding', 'net/ipv4/conf/lnet-abababab/route_localnet', 'net/bridge/bridge-nf-call-iptables'].map(sysctl), ['1', '1', '1', '1']);
  t.match(nft.log(), /ARGS -f -\n.*add element inet lnetd ports4_any \{ tcp \. 8080 : 172\.18\.0\.2 \. 80 \}/s);

  nft.failOnce('Error: Could not process rule: File exists\n');
  await t.rejects(fw.addPortMaps([{ ...PM, containerIp: '172.18.0.3' }]), { code: 'PORT_IN_USE', kind: 'conflict' });
  nft.failOnce('Error: Could not process rule: Operation not permitted\n');
  await t.rejects(fw.addNetwork(NET), { message: /nft: add network .*Operation not permitted/ });
  const before = processCount();
  await t.rejects(fw.addNetwork({ ...NET, bridge: 'bad"name' }), { code: 'INVALID_NAME' });
  await t.rejects(fw.removeNetwork('abc; flush ruleset'), { code: 'INVALID_NAME' });
  t.equal(processCount(), before, 'bad input starts nothing');

  // A fresh instance removes by id what it never saw: it reads the table back.
  writeFileSync(join(dir, 'listing'), LISTING);
  const fresh = new NftFirewall({ nft: nft.bin, procSys: sys });
  await fresh.removeNetwork(NET.id);
  const last = nft.log().split('ARGS ').pop() ?? '';
  t.match(last, /delete element inet lnetd fwd_from \{ "lnet-abababab" \}/);
  t.match(last, /delete element inet lnetd ports4_any \{ tcp \. 8080 \}/);
  t.match(last, /delete chain inet lnetd n-abababababab-post/);
  t.match(last, /delete element inet lnetd ports4 \{ udp \. 10\.0\.0\.1 \. 53 \}/, 'its host-address port too');
  t.notMatch(last, /sctp/, 'ports of other networks stay');

  nft.failOnce('Error: No such file or directory\nlist table inet lnetd\n');
  const gone = new NftFirewall({ nft: nft.bin, procSys: sys });
  await gone.removeNetwork('cd'.repeat(32));
  t.pass('no table: removing is success');
});

t.test('NftFirewall: icc=false without br_netfilter is refused before any rule goes in', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lnetd-nft-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sys = join(dir, 'sys');
  for (const d of ['net/ipv4/conf/lnet-abababab', 'net/ipv6/conf/all']) mkdirSync(join(sys, d), { recursive: true });
  for (const f of ['net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding', 'net/ipv4/conf/lnet-abababab/route_localnet']) writeFileSync(join(sys, f), '0\n');
  const nft = fakeNft(dir);
  const fw = new NftFirewall({ nft: nft.bin, procSys: sys });
  await fw.init();
  const before = processCount();
  await t.rejects(fw.addNetwork({ ...NET, icc: false }), { message: /br_netfilter/ });
  t.equal(processCount(), before, 'no nft transaction for a network that cannot work');
  await fw.addNetwork(NET);
  t.pass('icc=true needs no br_netfilter');
});
