// Does the kernel say what the store says? The store is read through the API,
// the kernel through the independent oracles: `ip -j` in the daemon's test
// host namespace and in every sandbox, `nft -j list ruleset`, and the files
// and mounts in the netns dir. Shared by the crash, reconcile and concurrency
// tests. Our naming is assumed (lnet-<net id 8>, lv<endpoint id 11>): the
// tests make no network with a bridge name of its own.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { mountsUnder, type TestDaemon } from '../lib/daemon.js';

export interface ApiNet { id: string; name: string; type: string; internal: boolean; enable_ipv6: boolean; ipam: { config: Array<{ subnet: string; gateway: string }> } }
export interface ApiEp {
  id: string; name: string; network_id: string; ipv4_address: string; ipv6_address: string; container_id: string; sandbox_key: string;
  interface_name: string; port_mapping: Array<{ proto: number; port: number; host_ip: string; host_port: number }>;
}
export interface Model { nets: ApiNet[]; eps: ApiEp[]; stats: Record<string, number> }

const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const bridgeOf = (netId: string): string => `lnet-${netId.slice(0, 8)}`;
const vethOf = (epId: string): string => `lv${epId.slice(0, 11)}`;
const prefixOf = (cidr: string): string => cidr.split('/')[1];
const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

export async function model(d: TestDaemon): Promise<Model> {
  const nets = (await d.req('GET', '/networks')).json as ApiNet[];
  const eps = (await d.req('GET', '/services')).json as ApiEp[];
  const stats = (await d.req('GET', '/_stats')).json as Record<string, number>;
  return { nets, eps, stats };
}

interface IpLink { ifname: string; master?: string; addr_info: Array<{ local: string; prefixlen: number; scope: string }> }

function ipJson(ns: string, args: string[]): IpLink[] {
  const r = spawnSync('nsenter', [`--net=${ns}`, 'ip', '-j', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -j ${args.join(' ')} in ${ns}: ${r.stderr}`);
  return JSON.parse(r.stdout || '[]');
}

const globalAddrs = (l: IpLink): string[] => l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`).sort();

/** nft JSON values as the text nft prints them. */
function nftText(v: unknown): string {
  if (Array.isArray(v)) return v.map(nftText).join(' . ');
  if (v && typeof v === 'object') {
    const o = v as Record<string, any>;
    if (o.concat) return nftText(o.concat);
    if (o.prefix) return `${o.prefix.addr}/${o.prefix.len}`;
    if (o.jump) return `jump ${o.jump.target}`;
    return JSON.stringify(v);
  }
  return String(v);
}

/** Our table as {chains, elements by set/map}; undefined when the table is missing. */
export function nftTable(d: TestDaemon): { chains: string[]; elems: Map<string, string[]> } | undefined {
  const r = d.exec(['nft', '-j', 'list', 'ruleset']);
  if (r.status !== 0) throw new Error(`nft -j list ruleset: ${r.stderr}`);
  const items = (JSON.parse(r.stdout).nftables as Array<Record<string, any>>);
  if (!items.some((i) => i.table?.family === 'inet' && i.table?.name === 'lnetd')) return undefined;
  const ours = (o: any) => o.family === 'inet' && o.table === 'lnetd';
  const chains = items.filter((i) => i.chain && ours(i.chain)).map((i) => i.chain.name as string);
  const elems = new Map<string, string[]>();
  for (const i of items) {
    const s = i.set ?? i.map;
    if (!s || !ours(s)) continue;
    elems.set(s.name, (s.elem ?? []).map((e: unknown) => (Array.isArray(e) ? `${nftText(e[0])} : ${nftText(e[1])}` : nftText(e))).sort());
  }
  return { chains: sorted(chains), elems };
}

/** The port-map elements a joined endpoint implies (map name → "key : value"). */
function portElems(net: ApiNet, ep: ApiEp): Array<[string, string]> {
  if (net.internal || !ep.container_id) return [];
  const v4 = ep.ipv4_address.split('/')[0];
  const v6 = net.enable_ipv6 ? ep.ipv6_address.split('/')[0] : '';
  const out: Array<[string, string]> = [];
  for (const p of ep.port_mapping) {
    const any = p.host_ip === '';
    if (v4 && (any || p.host_ip === '0.0.0.0')) out.push(['ports4_any', `${PROTO[p.proto]} . ${p.host_port} : ${v4} . ${p.port}`]);
    if (v6 && (any || p.host_ip === '::')) out.push(['ports6_any', `${PROTO[p.proto]} . ${p.host_port} : ${v6} . ${p.port}`]);
  }
  return out;
}

function checkHost(d: TestDaemon, bridgeNets: ApiNet[], joined: ApiEp[], ignore: string[], out: string[]): void {
  const want = new Map<string, { master?: string; addrs: string[] }>([['lo', { addrs: [] }]]);
  for (const n of bridgeNets) {
    const gws = n.ipam.config.filter((c) => n.enable_ipv6 || !c.subnet.includes(':')).map((c) => `${c.gateway}/${prefixOf(c.subnet)}`);
    want.set(bridgeOf(n.id), { addrs: gws.sort() });
  }
  for (const e of joined) {
    const n = bridgeNets.find((x) => x.id === e.network_id);
    if (n) want.set(vethOf(e.id), { master: bridgeOf(n.id), addrs: [] });
  }
  const links = ipJson(d.nsPath, ['addr']).filter((l) => !ignore.includes(l.ifname));
  const names = sorted(links.map((l) => l.ifname));
  if (names.join() !== sorted(want.keys()).join()) out.push(`host links: want ${sorted(want.keys())} have ${names}`);
  for (const l of links) {
    const w = want.get(l.ifname);
    if (!w || l.ifname === 'lo') continue;
    if (globalAddrs(l).join() !== w.addrs.join()) out.push(`${l.ifname} addresses: want ${w.addrs} have ${globalAddrs(l)}`);
    if (w.master && l.master !== w.master) out.push(`${l.ifname} master: want ${w.master} have ${l.master}`);
  }
}

function checkSandboxes(d: TestDaemon, m: Model, joined: ApiEp[], out: string[]): void {
  const keys = new Set(joined.map((e) => e.sandbox_key).filter((k) => !k.endsWith('/default')));
  const want = sorted(['default', ...[...keys].map((k) => basename(k))]);
  // .lnetd-instance: the dir's instance mark (daemon/controller/sweep.ts), not a sandbox
  const files = sorted(readdirSync(d.netnsDir).filter((f) => f !== '.lnetd-instance'));
  const mounts = sorted(mountsUnder(d.netnsDir).filter((p) => p !== d.netnsDir).map((p) => basename(p)));
  if (files.join() !== want.join()) out.push(`netns files: want ${want} have ${files}`);
  if (mounts.join() !== want.join()) out.push(`netns mounts: want ${want} have ${mounts}`);
  for (const key of keys) {
    const mine = joined.filter((e) => e.sandbox_key === key);
    let links: IpLink[];
    try { links = ipJson(key, ['addr']); } catch (err) { out.push(`sandbox ${key}: ${err}`); continue; }
    const wantIfs = sorted(['lo', ...mine.map((e) => e.interface_name)]);
    if (sorted(links.map((l) => l.ifname)).join() !== wantIfs.join()) out.push(`sandbox ${basename(key)} links: want ${wantIfs} have ${sorted(links.map((l) => l.ifname))}`);
    for (const e of mine) {
      const n = m.nets.find((x) => x.id === e.network_id)!;
      const wantA = [e.ipv4_address, n.enable_ipv6 ? e.ipv6_address : ''].filter(Boolean).sort();
      const l = links.find((x) => x.ifname === e.interface_name);
      if (l && globalAddrs(l).join() !== wantA.join()) out.push(`sandbox ${basename(key)} ${e.interface_name}: want ${wantA} have ${globalAddrs(l)}`);
    }
  }
  if (m.stats.sandboxes !== new Set(joined.map((e) => e.container_id)).size) out.push(`stats: ${m.stats.sandboxes} sandboxes for ${new Set(joined.map((e) => e.container_id)).size} containers`);
}

function checkFirewall(d: TestDaemon, bridgeNets: ApiNet[], joined: ApiEp[], out: string[]): void {
  const t = nftTable(d);
  if (!t) { out.push('nft: table inet lnetd is missing'); return; }
  const tags = sorted(t.chains.map((c) => /^n-([0-9a-f]{12})-(from|to|post)$/.exec(c)?.[1]).filter((x): x is string => !!x));
  const wantTags = sorted(bridgeNets.flatMap((n) => [0, 1, 2].map(() => n.id.slice(0, 12))));
  if (tags.join() !== wantTags.join()) out.push(`nft network chains: want ${wantTags} have ${tags}`);
  const bridges = sorted(bridgeNets.map((n) => bridgeOf(n.id)));
  if ((t.elems.get('bridges') ?? []).join() !== bridges.join()) out.push(`nft bridges: want ${bridges} have ${t.elems.get('bridges')}`);
  const want = new Map<string, string[]>();
  for (const e of joined) {
    const n = bridgeNets.find((x) => x.id === e.network_id);
    for (const [map, el] of n ? portElems(n, e) : []) want.set(map, [...(want.get(map) ?? []), el]);
  }
  for (const map of ['ports4', 'ports4_any', 'ports6', 'ports6_any']) {
    const w = sorted(want.get(map) ?? []);
    if ((t.elems.get(map) ?? []).join() !== w.join()) out.push(`nft ${map}: want ${w} have ${t.elems.get(map)}`);
  }
}

function checkIpam(m: Model, out: string[]): void {
  for (const n of m.nets) {
    const seen = new Set<string>();
    for (const e of m.eps.filter((x) => x.network_id === n.id)) {
      for (const a of [e.ipv4_address, e.ipv6_address].filter(Boolean)) {
        if (seen.has(a)) out.push(`network ${n.name}: address ${a} handed out twice`);
        seen.add(a);
      }
    }
  }
  if (m.stats.endpoints !== m.eps.length || m.stats.networks !== m.nets.length) out.push(`stats disagree with the listings: ${JSON.stringify(m.stats)}`);
}

/** Links in the test host namespace that the test made on purpose (not lnetd's). */
export interface AgreeOptions { ignoreLinks?: string[] }

/** Every way the kernel and the store disagree, once. */
export async function disagreements(d: TestDaemon, opts: AgreeOptions = {}): Promise<string[]> {
  const m = await model(d);
  const out: string[] = [];
  const bridgeNets = m.nets.filter((n) => n.type === 'bridge');
  const joined = m.eps.filter((e) => e.container_id);
  checkHost(d, bridgeNets, joined, opts.ignoreLinks ?? [], out);
  checkSandboxes(d, m, joined, out);
  checkFirewall(d, bridgeNets, joined, out);
  checkIpam(m, out);
  return out;
}

/** Disagreements after the kernel had time to reap what a deleted namespace
 *  held (it does so in the background): polls until none, or until timeout. */
export async function settle(d: TestDaemon, opts: AgreeOptions = {}, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await disagreements(d, opts);
    if (out.length === 0 || Date.now() > deadline) return out;
    await new Promise((r) => setTimeout(r, 100));
  }
}
