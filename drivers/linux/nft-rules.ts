// Text of lnetd's nftables transactions. Pure: nothing here runs nft, so the
// layout is unit-tested as text and the kernel test checks what it does.
//
// One table, `inet lnetd` (filter and nat for both families; kernel ≥ 5.2).
// Base chains only dispatch, through verdict maps keyed by bridge name or
// source subnet, into three regular chains per network; port mappings are
// elements of four maps. A join adds map elements (only when it publishes
// ports); a network adds chains and elements; nothing ever adds a base rule.

import { BadRequest } from '../../errors/index.js';
import { addrText, contains, parseCidr, type Cidr } from '../ipam/addr.js';
import type { FwNetwork, FwPortMap } from './firewall.js';
import { BRIDGE_NAME_RULE, validBridgeName } from './ifname.js';

/** Bump when the layout changes, so an upgrade knows which rules it is looking at. */
export const NFT_LAYOUT = 'inet-lnetd/1';
export const TABLE = 'inet lnetd';

/** A network checked and reduced to what the rules need. */
export interface NetRules {
  id: string;
  tag: string;               // first 12 hex of the id: names the chains
  bridge: string;
  subnet4?: string;
  subnet6?: string;
  masquerade: boolean;
  icc: boolean;
  internal: boolean;
}

/** A port mapping checked and reduced to one map element. */
export interface PortElem {
  map: 'ports4' | 'ports4_any' | 'ports6' | 'ports6_any';
  key: string;               // proto . [host addr .] port
  value: string;             // container addr . port
}

const ID = /^[0-9a-f]{12,64}$/;

export function chains(tag: string): { from: string; to: string; post: string } {
  return { from: `n-${tag}-from`, to: `n-${tag}-to`, post: `n-${tag}-post` };
}

function subnetOf(text: string | undefined, family: 4 | 6, field: string): string | undefined {
  if (text === undefined || text === '') return undefined;
  const c = parseCidr(text);
  if (!c || c.family !== family || !text.includes('/')) throw new BadRequest(`firewall: ${field} ${JSON.stringify(text)} is not an IPv${family} CIDR`, 'INVALID_ADDRESS');
  return `${addrText(family, networkBase(c))}/${c.prefix}`;
}

function networkBase(c: Cidr): bigint {
  const host = BigInt((c.family === 4 ? 32 : 128) - c.prefix);
  return (c.base >> host) << host;
}

/** A network id as chain names use it: hex only, so nothing in it is nft syntax. */
export function checkId(id: unknown): string {
  if (typeof id !== 'string' || !ID.test(id)) throw new BadRequest(`firewall: network id ${JSON.stringify(id)} is not hex`, 'INVALID_NAME');
  return id;
}

/** Validate a network before any of it reaches a script (names are ours, but check anyway). */
export function checkNetwork(net: FwNetwork): NetRules {
  checkId(net.id);
  if (!validBridgeName(net.bridge)) throw new BadRequest(`firewall: bridge ${JSON.stringify(net.bridge)} is not ${BRIDGE_NAME_RULE}`, 'INVALID_NAME');
  return {
    id: net.id, tag: net.id.slice(0, 12), bridge: net.bridge,
    subnet4: subnetOf(net.subnet4, 4, 'subnet4'), subnet6: subnetOf(net.subnet6, 6, 'subnet6'),
    masquerade: !!net.masquerade, icc: !!net.icc, internal: !!net.internal,
  };
}

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

function port(n: unknown, field: string): number {
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 65535) throw new BadRequest(`firewall: ${field} ${JSON.stringify(n)} is not a port (1-65535)`, 'INVALID_PORT');
  return n as number;
}

/** One port mapping → one map element. '' (or 0.0.0.0 / ::) host ip = every local address of the family. */
export function portElem(m: FwPortMap): PortElem {
  if (!PROTOS.has(m.proto)) throw new BadRequest(`firewall: protocol ${JSON.stringify(m.proto)} is not tcp, udp or sctp`, 'INVALID_PORT');
  const c = parseCidr(m.containerIp);
  if (!c || m.containerIp.includes('/')) throw new BadRequest(`firewall: container address ${JSON.stringify(m.containerIp)} is not an IP address`, 'INVALID_ADDRESS');
  const fam = c.family;
  const value = `${addrText(fam, c.base)} . ${port(m.containerPort, 'container port')}`;
  const hp = port(m.hostPort, 'host port');
  const any = m.hostIp === '' || m.hostIp === '0.0.0.0' || m.hostIp === '::';
  if (any) return { map: fam === 4 ? 'ports4_any' : 'ports6_any', key: `${m.proto} . ${hp}`, value };
  const h = parseCidr(m.hostIp);
  if (!h || m.hostIp.includes('/')) throw new BadRequest(`firewall: host address ${JSON.stringify(m.hostIp)} is not an IP address`, 'INVALID_ADDRESS');
  if (h.family !== fam) throw new BadRequest(`firewall: host address ${m.hostIp} and container address ${m.containerIp} are of different families`, 'INVALID_ADDRESS');
  return { map: fam === 4 ? 'ports4' : 'ports6', key: `${m.proto} . ${addrText(fam, h.base)} . ${hp}`, value };
}

/** Who made the table: the daemon's instance id and pid, in the table's comment
 *  (set when the table is made; `add table` never changes it afterwards). */
export interface TableOwner { instance: string; pid: number }

/** Forwarded traffic to drop when it is neither to nor from an lnetd bridge, by family. */
export interface ForwardDrop { ipv4: boolean; ipv6: boolean }

export interface BaseOptions { owner?: TableOwner; drop?: ForwardDrop }

const ownerText = (o?: TableOwner): string => (o ? ` instance=${o.instance} pid=${o.pid}` : '');

/** The owner named in a listing's table comment, if any. */
export function parseOwner(text: string): TableOwner | undefined {
  const m = /^\s*comment "lnetd [^"]*?instance=([0-9a-f]+) pid=(\d+)"/m.exec(text.split(/\n\s*(?:set|map|chain) /)[0]);
  return m ? { instance: m[1], pid: Number(m[2]) } : undefined;
}

/** Tables, maps and base chains, created when missing, never emptied: safe in every transaction. */
export function declareScript(owner?: TableOwner): string[] {
  const T = TABLE;
  return [
    `add table ${T} { comment "lnetd ${NFT_LAYOUT}${ownerText(owner)}"; }`,
    `add set ${T} bridges { type ifname; comment "every lnetd bridge: isolation"; }`,
    `add map ${T} fwd_from { type ifname : verdict; comment "forward in from a bridge"; }`,
    `add map ${T} fwd_to { type ifname : verdict; comment "forward out to a bridge"; }`,
    `add map ${T} src4 { type ipv4_addr : verdict; flags interval; comment "postrouting by source subnet"; }`,
    `add map ${T} src6 { type ipv6_addr : verdict; flags interval; }`,
    `add map ${T} ports4 { type inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service; }`,
    `add map ${T} ports4_any { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map ${T} ports6 { type inet_proto . ipv6_addr . inet_service : ipv6_addr . inet_service; }`,
    `add map ${T} ports6_any { type inet_proto . inet_service : ipv6_addr . inet_service; }`,
    `add chain ${T} ports`,
    `add chain ${T} forward { type filter hook forward priority filter; policy accept; }`,
    `add chain ${T} guard { type filter hook prerouting priority raw; policy accept; }`,
    `add chain ${T} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${T} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${T} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
  ];
}

/** The dispatch rules of the base chains, replaced whole (flush + add in one transaction). */
export function baseRulesScript(drop: ForwardDrop = { ipv4: false, ipv6: false }): string[] {
  const T = TABLE;
  const base = ['ports', 'forward', 'guard', 'prerouting', 'output', 'postrouting'];
  return [
    ...base.map((c) => `flush chain ${T} ${c}`),
    `add rule ${T} forward iifname vmap @fwd_from`,
    `add rule ${T} forward oifname vmap @fwd_to`,
    // Every bridge's chains end in a verdict, so what gets here is neither to
    // nor from a bridge: where lnetd turned forwarding on, the host must not
    // start routing between its other interfaces because of it.
    ...(['ipv4', 'ipv6'] as const).filter((f) => drop[f]).map((f) => `add rule ${T} forward meta nfproto ${f} counter drop comment "not lnetd's: forwarding was off before lnetd"`),
    // Bridges get route_localnet so the host can reach published ports on
    // 127.0.0.1; without this guard a container could then reach the host's
    // loopback services through its gateway (CVE-2020-8558).
    `add rule ${T} guard iifname @bridges ip daddr 127.0.0.0/8 drop`,
    `add rule ${T} prerouting fib daddr type local jump ports`,
    // Locally originated connections to a host address never pass prerouting.
    `add rule ${T} output fib daddr type local jump ports`,
    `add rule ${T} ports dnat ip to meta l4proto . ip daddr . th dport map @ports4`,
    `add rule ${T} ports dnat ip to meta l4proto . th dport map @ports4_any`,
    `add rule ${T} ports dnat ip6 to meta l4proto . ip6 daddr . th dport map @ports6`,
    `add rule ${T} ports dnat ip6 to meta l4proto . th dport map @ports6_any`,
    // 127.0.0.1 → container after output DNAT: the container can't answer 127.0.0.1.
    `add rule ${T} postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade`,
    `add rule ${T} postrouting ip saddr vmap @src4`,
    `add rule ${T} postrouting ip6 saddr vmap @src6`,
  ];
}

function chainRules(n: NetRules): { from: string[]; to: string[]; post: string[] } {
  const br = `"${n.bridge}"`;
  // from: forwarded packets that entered through the bridge (the bridge→bridge
  // case is seen here too because br_netfilter hands bridged IP to the forward hook)
  const from = n.icc
    ? [`oifname ${br} accept`]
    : [`oifname ${br} ct status dnat accept`, `oifname ${br} drop`];
  from.push('oifname @bridges drop', n.internal ? 'drop' : 'accept');
  // to: forwarded packets leaving through the bridge from elsewhere: replies and published ports only
  const to = n.internal ? ['drop'] : ['ct state established,related accept', 'ct status dnat accept', 'drop'];
  // post: by source subnet. Hairpin: a container reaching a published port of
  // its own network through a host address must not see its own address as the peer.
  const post = [`oifname ${br} ct status dnat masquerade`];
  if (n.masquerade && !n.internal) post.push(`oifname != ${br} masquerade`);
  return { from, to, post };
}

/** Install or replace one network: its chains refilled, its dispatch elements added. */
export function networkScript(n: NetRules): string[] {
  const T = TABLE;
  const c = chains(n.tag);
  const r = chainRules(n);
  const out: string[] = [];
  for (const [name, rules] of [[c.from, r.from], [c.to, r.to], [c.post, r.post]] as const) {
    out.push(`add chain ${T} ${name}`, `flush chain ${T} ${name}`, ...rules.map((x) => `add rule ${T} ${name} ${x}`));
  }
  out.push(...networkElems(n).map(([set, el]) => `add element ${T} ${set} { ${el} }`));
  return out;
}

/** The set and map elements that point at one network's chains. */
function networkElems(n: NetRules): [string, string][] {
  const c = chains(n.tag);
  const br = `"${n.bridge}"`;
  const out: [string, string][] = [['bridges', br], ['fwd_from', `${br} : jump ${c.from}`], ['fwd_to', `${br} : jump ${c.to}`]];
  if (n.subnet4) out.push(['src4', `${n.subnet4} : jump ${c.post}`]);
  if (n.subnet6) out.push(['src6', `${n.subnet6} : jump ${c.post}`]);
  return out;
}

/** Strip the ` : data` of an element, leaving its key. */
function keyOf(el: string): string {
  const i = el.indexOf(' : ');
  return i < 0 ? el : el.slice(0, i);
}

/**
 * Remove a network. nft 1.0.6 has no `destroy`, and deleting a missing
 * element or chain fails the whole transaction, so each object is first added
 * (a no-op when present) and then deleted: missing is success, in one go.
 */
export function removeNetworkScript(n: NetRules, ports: PortElem[]): string[] {
  const T = TABLE;
  const c = chains(n.tag);
  const out = [c.from, c.to, c.post].map((name) => `add chain ${T} ${name}`);
  for (const [set, el] of networkElems(n)) out.push(`add element ${T} ${set} { ${el} }`, `delete element ${T} ${set} { ${keyOf(el)} }`);
  out.push(...removePortsScript(ports));
  for (const name of [c.from, c.to, c.post]) out.push(`flush chain ${T} ${name}`, `delete chain ${T} ${name}`);
  return out;
}

export function addPortsScript(ports: PortElem[]): string[] {
  return ports.map((p) => `add element ${TABLE} ${p.map} { ${p.key} : ${p.value} }`);
}

/** Delete port elements, missing ones included (see removeNetworkScript). */
export function removePortsScript(ports: PortElem[]): string[] {
  return ports.flatMap((p) => [`add element ${TABLE} ${p.map} { ${p.key} : ${p.value} }`, `delete element ${TABLE} ${p.map} { ${p.key} }`]);
}

/** Delete our table whether or not it exists. */
export function destroyScript(): string[] {
  return [`add table ${TABLE}`, `delete table ${TABLE}`];
}

/**
 * Everything from scratch in one transaction: after a flush, a reboot, or an
 * old layout. The network chains are declared before the maps: nft 1.0.6
 * fails (ENOENT) to add a jump element to an interval map that was created
 * earlier in the same transaction than the chain it jumps to.
 */
export function restoreScript(nets: NetRules[], ports: PortElem[], opts: BaseOptions = {}): string[] {
  const declare = declareScript(opts.owner);
  const early = nets.flatMap((n) => Object.values(chains(n.tag)).map((c) => `add chain ${TABLE} ${c}`));
  return [...destroyScript(), declare[0], ...early, ...declare.slice(1), ...baseRulesScript(opts.drop), ...nets.flatMap(networkScript), ...addPortsScript(ports)];
}

/** Port elements whose container address lies in one of the network's subnets. */
export function portsOfNetwork(n: NetRules, ports: Iterable<PortElem>): PortElem[] {
  const subs = [n.subnet4, n.subnet6].filter((s): s is string => !!s);
  return [...ports].filter((p) => subs.some((s) => contains(s, p.value.split(' . ')[0])));
}

/** Final text of a transaction: one command a line, ending in a newline. */
export function script(lines: string[]): string {
  return lines.join('\n') + '\n';
}

/** What `nft list table inet lnetd` says about networks and published ports. */
export interface Listing { networks: Map<string, NetRules>; ports: PortElem[] }

const canon = (a: string): string => {
  const c = parseCidr(a);
  return c ? addrText(c.family, c.base) : a;
};

/** Elements of every set and map in a text listing, by name: `key : value` strings. */
function elementsByMap(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  // Elements hold no braces, so each list runs from `elements = {` to the next `}`.
  const re = /\b(?:map|set) (\S+) \{[^}]*?elements = \{([^}]*)\}/g;
  for (const m of text.matchAll(re)) out.set(m[1], m[2].split(',').map((e) => e.trim().replace(/\s+/g, ' ')).filter(Boolean));
  return out;
}

function portFromText(map: PortElem['map'], el: string): PortElem | undefined {
  const [k, v] = el.split(' : ');
  if (!v) return undefined;
  const key = k.split(' . ');
  const val = v.split(' . ');
  if (key.length === 3) key[1] = canon(key[1]);
  return { map, key: key.join(' . '), value: `${canon(val[0])} . ${val[1]}` };
}

/**
 * Parse a text listing of our table, for removing by id what an earlier
 * process installed. Text, not `nft -j`: with -j nft reads its input by
 * opening /dev/stdin, which fails on the socket Node gives a child as stdin.
 */
export function parseListing(text: string): Listing {
  const out: Listing = { networks: new Map(), ports: [] };
  const net = (tag: string): NetRules => {
    let n = out.networks.get(tag);
    if (!n) out.networks.set(tag, (n = { id: tag, tag, bridge: '', masquerade: false, icc: true, internal: false }));
    return n;
  };
  for (const [name, elems] of elementsByMap(text)) {
    for (const el of elems) {
      if (name.startsWith('ports')) {
        const p = portFromText(name as PortElem['map'], el);
        if (p) out.ports.push(p);
        continue;
      }
      const m = /^(\S+) : jump n-([0-9a-f]{12})-(from|post)$/.exec(el);
      if (!m) continue;
      const [, key, tag] = m;
      if (name === 'fwd_from') net(tag).bridge = key.replace(/^"|"$/g, '');
      const [addr, len] = key.split('/');
      if (name === 'src4') net(tag).subnet4 = `${canon(addr)}/${len ?? 32}`;
      if (name === 'src6') net(tag).subnet6 = `${canon(addr)}/${len ?? 128}`;
    }
  }
  return out;
}
