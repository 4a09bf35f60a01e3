// One parser per request body of the seed API. Each returns a typed request
// or throws BadRequest naming the field.

import { isIP, isIPv4 } from 'node:net';
import { BadRequest } from '../../../errors/index.js';
import type { CreateEndpointInput, CreateNetworkInput, IpamInput, JoinInput, PublishInput } from '../../controller/types.js';
import {
  arr, asObject, bool, CONTAINER_ID_RE, ENDPOINT_NAME_RE, exposedPorts, int, NAME_RE, portMapping, str, stringMap,
} from './validate.js';

const HOSTNAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const DOMAIN_RE = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$/;
const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

function ipamEntry(raw: unknown, field: string): IpamInput {
  const o = asObject(raw, field);
  const cidr = (k: string) => str(o, k, { max: 64 });
  return { subnet: cidr('subnet') ?? cidr('Subnet'), gateway: cidr('gateway') ?? cidr('Gateway'), ipRange: cidr('ip_range') ?? cidr('IPRange'), aux: { ...stringMap(o, 'aux_addresses'), ...stringMap(o, 'AuxiliaryAddresses') } };
}

/** ipam: {subnet, gateway, ip_range, aux_addresses} or Docker's {config: [...]} with one entry per family. */
function ipamReqs(body: Record<string, unknown>): IpamInput[] {
  const raw = body.ipam;
  if (raw === undefined || raw === null) return [];
  const o = asObject(raw, 'ipam');
  if (o.config !== undefined && o.config !== null) {
    const list = arr(o, 'config').map((c, i) => ipamEntry(c, `ipam.config[${i}]`));
    if (list.length > 2) throw new BadRequest('ipam.config takes at most one IPv4 and one IPv6 entry', 'INVALID_IPAM');
    return list;
  }
  return [ipamEntry(o, 'ipam')];
}

export function parseCreateNetwork(body: unknown): CreateNetworkInput {
  const o = asObject(body);
  const options = o.options === undefined || o.options === null ? {} : asObject(o.options, 'options');
  return {
    name: str(o, 'name', { required: true, re: NAME_RE, hint: 'use 1-64 letters, digits, "_", "." or "-", starting with a letter or digit' })!,
    networkType: str(o, 'network_type', { max: 64 }) ?? '',
    options,
    ipam: ipamReqs(o),
    enableIpv6: bool(o, 'enable_ipv6'),
    enableIpv4: bool(o, 'enable_ipv4'),
    internal: bool(o, 'internal'),
    labels: stringMap(o, 'labels'),
  };
}

/** ipv4_addresses / ipv6_addresses: lists of addresses of one family; the first is the primary. */
function addressList(o: Record<string, unknown>, field: string, family: 4 | 6): string[] {
  const list = arr(o, field);
  if (list.length > 64) throw new BadRequest(`${field} takes at most 64 addresses`, 'INVALID_FIELD');
  return list.map((a, i) => {
    if (typeof a !== 'string' || isIP(a) !== family) throw new BadRequest(`${field}[${i}] must be an IPv${family} address`, 'INVALID_ADDRESS');
    return a;
  });
}

/** ipv4_address/ipv6_address and the lists, merged: the primary of each family and the rest. */
function endpointAddresses(o: Record<string, unknown>): { ipv4?: string; ipv6?: string; extra: string[]; none: boolean } {
  let ipv4 = str(o, 'ipv4_address', { max: 64 });
  if (ipv4 !== undefined && !isIPv4(ipv4)) throw new BadRequest('ipv4_address must be an IPv4 address', 'INVALID_ADDRESS');
  let ipv6 = str(o, 'ipv6_address', { max: 64 });
  if (ipv6 !== undefined && isIP(ipv6) !== 6) throw new BadRequest('ipv6_address must be an IPv6 address', 'INVALID_ADDRESS');
  const v4 = addressList(o, 'ipv4_addresses', 4);
  const v6 = addressList(o, 'ipv6_addresses', 6);
  ipv4 ??= v4.shift();
  ipv6 ??= v6.shift();
  const extra = [...v4, ...v6].filter((a) => a !== ipv4 && a !== ipv6);
  if (new Set(extra).size !== extra.length) throw new BadRequest('ipv4_addresses/ipv6_addresses name an address twice', 'INVALID_ADDRESS');
  const ipam = str(o, 'ipam', { max: 16 });
  if (ipam !== undefined && ipam !== 'none' && ipam !== 'default') throw new BadRequest('ipam must be "none" (no address) or "default"', 'INVALID_FIELD');
  const none = ipam === 'none';
  if (none && (ipv4 || ipv6)) throw new BadRequest('ipam "none" takes no ipv4/ipv6 addresses', 'INVALID_FIELD');
  return { ipv4, ipv6, extra, none };
}

export function parseCreateEndpoint(body: unknown): CreateEndpointInput {
  const o = asObject(body);
  const { ipv4, ipv6, extra, none } = endpointAddresses(o);
  const metric = o.route_metric === undefined || o.route_metric === null ? undefined : int(o.route_metric, 'route_metric', 0, 0xffffffff);
  return {
    name: str(o, 'name', { required: true, re: ENDPOINT_NAME_RE, hint: 'use 1-64 letters, digits, "_", "." or "-" (an optional leading "/")' })!,
    exposedPorts: exposedPorts(o),
    portMapping: portMapping(o),
    ipv4,
    ipv6,
    extraAddresses: extra,
    noAddress: none,
    routeMetric: metric,
    mac: str(o, 'mac_address', { re: MAC_RE, hint: 'use aa:bb:cc:dd:ee:ff' })?.toLowerCase(),
    labels: stringMap(o, 'labels'),
    reservePorts: bool(o, 'reserve_ports'),
  };
}

function dnsList(o: Record<string, unknown>): string[] {
  return arr(o, 'dns').map((d, i) => {
    if (typeof d !== 'string' || isIP(d) === 0) throw new BadRequest(`dns[${i}] must be an IP address`, 'INVALID_ADDRESS');
    return d;
  });
}

/** dns_search / dns_options / aliases: lists of short words that land in resolv.conf or DNS answers. */
function words(o: Record<string, unknown>, field: string, re: RegExp, hint: string): string[] {
  const list = arr(o, field);
  if (list.length > 32) throw new BadRequest(`${field} takes at most 32 entries`, 'INVALID_FIELD');
  return list.map((d, i) => {
    if (typeof d !== 'string' || !re.test(d)) throw new BadRequest(`${field}[${i}] must be ${hint}`, field === 'aliases' ? 'INVALID_NAME' : 'INVALID_FIELD');
    return d;
  });
}

const OPTION_RE = /^[a-zA-Z0-9][a-zA-Z0-9_:.-]{0,63}$/;

/** extra_hosts as Docker's "name:address" strings or libnetwork's {name, address}. */
function extraHosts(o: Record<string, unknown>): Array<{ name: string; address: string }> {
  return arr(o, 'extra_hosts').map((h, i) => {
    let name: unknown;
    let address: unknown;
    if (typeof h === 'string') {
      const at = h.indexOf(':');
      [name, address] = at < 0 ? [h, ''] : [h.slice(0, at), h.slice(at + 1)];
    } else {
      const e = asObject(h, `extra_hosts[${i}]`);
      name = e.name;
      address = e.address;
    }
    if (typeof name !== 'string' || !DOMAIN_RE.test(name)) throw new BadRequest(`extra_hosts[${i}] needs a host name`, 'INVALID_NAME');
    if (typeof address !== 'string' || isIP(address) === 0) throw new BadRequest(`extra_hosts[${i}] needs an IP address`, 'INVALID_ADDRESS');
    return { name, address };
  });
}

/** hosts_path / resolv_conf_path: absolute, normalised paths of files we may write. */
function filePath(o: Record<string, unknown>, field: string): string | undefined {
  const p = str(o, field, { max: 4096 });
  if (p === undefined) return undefined;
  if (!p.startsWith('/') || p.endsWith('/') || p.split('/').some((seg) => seg === '..' || seg === '.') || p.includes('\0')) {
    throw new BadRequest(`${field} must be an absolute file path without "." or ".." parts`, 'INVALID_PATH');
  }
  return p;
}

export function parseJoin(body: unknown): JoinInput {
  const o = asObject(body);
  const parent = o.parent_updates;
  if (parent !== undefined && parent !== null && !Array.isArray(parent)) throw new BadRequest('parent_updates must be an array or null', 'INVALID_FIELD');
  return {
    containerId: str(o, 'container_id', { required: true, re: CONTAINER_ID_RE, hint: 'use 1-128 letters, digits, "_", "." or "-"' })!,
    hostName: str(o, 'host_name', { re: HOSTNAME_RE, hint: 'use a DNS label' }),
    domainName: str(o, 'domain_name', { re: DOMAIN_RE, hint: 'use a DNS name' }),
    hostsPath: filePath(o, 'hosts_path'),
    resolvConfPath: filePath(o, 'resolv_conf_path'),
    dns: dnsList(o),
    dnsSearch: words(o, 'dns_search', DOMAIN_RE, 'a DNS domain'),
    dnsOptions: words(o, 'dns_options', OPTION_RE, 'a resolv.conf option such as ndots:2'),
    aliases: words(o, 'aliases', DOMAIN_RE, 'a DNS name'),
    extraHosts: extraHosts(o),
    useDefaultSandbox: bool(o, 'use_default_sandbox') ?? false,
    ...runtimeNetns(o),
  };
}

/** Where a runtime's namespace may be named from: a live process's namespace,
 *  an open fd of a live process (the CNI plugin's own, so it works from any
 *  mount namespace), or a file in a runtime's netns directory. */
const RUNTIME_NETNS = [
  /^\/proc\/[1-9][0-9]{0,9}\/(task\/[1-9][0-9]{0,9}\/)?ns\/net$/,
  /^\/proc\/[1-9][0-9]{0,9}\/fd\/[0-9]{1,9}$/,
  /^\/(var\/)?run\/netns\/[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/,
  /^\/run\/user\/[0-9]{1,10}\/netns\/[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/,
];
/** An interface name the kernel takes (15 bytes), nothing a shell or nft would parse. */
const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

function runtimeNetns(o: Record<string, unknown>): Pick<JoinInput, 'sandboxKey' | 'netnsInode' | 'interfaceName'> {
  const sandboxKey = str(o, 'sandbox_key', { max: 300 });
  if (sandboxKey !== undefined && !RUNTIME_NETNS.some((re) => re.test(sandboxKey))) {
    throw new BadRequest('sandbox_key must be /proc/<pid>/ns/net, /proc/<pid>/fd/<n>, or a file in /run/netns, /var/run/netns or /run/user/<uid>/netns', 'INVALID_PATH');
  }
  const ino = o.netns_inode;
  const netnsInode = ino === undefined || ino === null ? undefined : int(ino, 'netns_inode', 1, Number.MAX_SAFE_INTEGER);
  if (netnsInode !== undefined && sandboxKey === undefined) throw new BadRequest('netns_inode needs sandbox_key', 'INVALID_FIELD');
  const interfaceName = str(o, 'interface_name', { re: IFNAME_RE, hint: 'use 1-15 letters, digits, "_", "." or "-"' });
  return { sandboxKey, netnsInode, interfaceName };
}

export function parsePublish(body: unknown): PublishInput {
  const o = asObject(body);
  const networkName = str(o, 'network_name', { required: true, max: 64 })!;
  return { ...parseCreateEndpoint(o), networkName, service: true };
}

/** List filters: only the ones a route supports; anything else is a 400. */
export function parseFilters(query: Record<string, unknown>, allowed: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (!allowed.includes(k)) throw new BadRequest(`unsupported filter "${k.slice(0, 64)}": use ${allowed.join(', ')}`, 'UNSUPPORTED_FILTER');
    if (typeof v !== 'string') throw new BadRequest(`filter ${k} must be given once`, 'INVALID_FILTER');
    if (v.length > 256) throw new BadRequest(`filter ${k} is longer than 256 bytes`, 'INVALID_FILTER');
    out[k] = v;
  }
  return out;
}
