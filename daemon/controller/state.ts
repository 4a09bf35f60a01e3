// The in-memory index that serves reads. It changes only through `apply`,
// called with the very operations a store batch just committed, so it can't
// drift from the store.

import type { BatchOp, Store } from '../../store/store.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../store/records.js';
import { PortIndex } from '../../drivers/ipam/ports.js';

const addrOf = (cidr?: string) => (cidr ? cidr.split('/')[0] : undefined);

export class State {
  readonly networks = new Map<string, NetworkRecord>();
  readonly networkByName = new Map<string, string>();
  readonly endpoints = new Map<string, EndpointRecord>();
  /** Endpoint ids per network, in creation order. */
  readonly endpointsByNetwork = new Map<string, Set<string>>();
  readonly sandboxes = new Map<string, SandboxRecord>();
  /** Own-namespace sandboxes by key (netns path) → container id; the shared default one is left out. */
  readonly sandboxByKey = new Map<string, string>();
  /** Endpoint ids per network by endpoint name: a create's name check without a scan of the network. */
  private readonly endpointNames = new Map<string, Map<string, Set<string>>>();
  /** Addresses in use per network (endpoint addresses; gateway/aux are IPAM's). */
  readonly addressesByNetwork = new Map<string, Set<string>>();
  /** Host ports of the endpoints' port mappings, by canonical address (allocation reads it). */
  readonly ports = new PortIndex();
  /** Bumped on every change, so readers can cache what they derive (a listing's JSON). */
  version = 0;

  async load(store: Store): Promise<void> {
    this.version++;
    for (const [, n] of await store.entries<NetworkRecord>('networks')) this.putNetwork(n);
    for (const [, e] of await store.entries<EndpointRecord>('endpoints')) this.putEndpoint(e);
    for (const [, s] of await store.entries<SandboxRecord>('sandboxes')) this.putSandbox(s);
  }

  /** Forget everything and load again (after the store was reopened). */
  async reload(store: Store): Promise<void> {
    for (const m of [this.networks, this.networkByName, this.endpoints, this.endpointsByNetwork, this.endpointNames, this.sandboxes, this.sandboxByKey, this.addressesByNetwork]) m.clear();
    this.ports.clear();
    await this.load(store);
  }

  apply(ops: BatchOp[]): void {
    this.version++;
    for (const op of ops) {
      if (op.kind === 'networks') op.type === 'put' ? this.putNetwork(op.value as NetworkRecord) : this.delNetwork(op.key);
      else if (op.kind === 'endpoints') op.type === 'put' ? this.putEndpoint(op.value as EndpointRecord) : this.delEndpoint(op.key);
      else if (op.kind === 'sandboxes') op.type === 'put' ? this.putSandbox(op.value as SandboxRecord) : this.delSandbox(op.key);
    }
  }

  networkEndpoints(networkId: string): EndpointRecord[] {
    const ids = this.endpointsByNetwork.get(networkId) ?? new Set<string>();
    return [...ids].map((id) => this.endpoints.get(id)!).filter(Boolean);
  }

  /** Whether an endpoint of the network has this name (O(1), not a scan of its endpoints). */
  hasEndpointNamed(networkId: string, name: string): boolean {
    return (this.endpointNames.get(networkId)?.get(name)?.size ?? 0) > 0;
  }

  private putSandbox(s: SandboxRecord): void {
    this.sandboxes.set(s.containerId, s);
    if (!s.isDefault) this.sandboxByKey.set(s.key, s.containerId);
  }

  private delSandbox(containerId: string): void {
    const s = this.sandboxes.get(containerId);
    if (!s) return;
    this.sandboxes.delete(containerId);
    if (this.sandboxByKey.get(s.key) === containerId) this.sandboxByKey.delete(s.key);
  }

  private putNetwork(n: NetworkRecord): void {
    const old = this.networks.get(n.id);
    if (old && old.name !== n.name) this.networkByName.delete(old.name);
    this.networks.set(n.id, n);
    this.networkByName.set(n.name, n.id);
    if (!this.endpointsByNetwork.has(n.id)) this.endpointsByNetwork.set(n.id, new Set());
    if (!this.addressesByNetwork.has(n.id)) this.addressesByNetwork.set(n.id, new Set());
  }

  private delNetwork(id: string): void {
    const n = this.networks.get(id);
    if (!n) return;
    this.networks.delete(id);
    if (this.networkByName.get(n.name) === id) this.networkByName.delete(n.name);
    this.endpointsByNetwork.delete(id);
    this.endpointNames.delete(id);
    this.addressesByNetwork.delete(id);
  }

  private putEndpoint(e: EndpointRecord): void {
    this.delEndpoint(e.id);
    this.endpoints.set(e.id, e);
    if (!this.endpointsByNetwork.has(e.networkId)) this.endpointsByNetwork.set(e.networkId, new Set());
    this.endpointsByNetwork.get(e.networkId)!.add(e.id);
    let names = this.endpointNames.get(e.networkId);
    if (!names) this.endpointNames.set(e.networkId, (names = new Map()));
    let named = names.get(e.name);
    if (!named) names.set(e.name, (named = new Set()));
    named.add(e.id);
    const addrs = this.addressesByNetwork.get(e.networkId) ?? new Set<string>();
    this.addressesByNetwork.set(e.networkId, addrs);
    for (const a of [addrOf(e.ipv4), addrOf(e.ipv6), ...(e.extraAddresses ?? []).map(addrOf)]) if (a) addrs.add(a);
    for (const p of e.portMapping) this.ports.add(p.proto, p.hostIp, p.hostPort, e.id);
  }

  private delEndpoint(id: string): void {
    const e = this.endpoints.get(id);
    if (!e) return;
    this.endpoints.delete(id);
    this.endpointsByNetwork.get(e.networkId)?.delete(id);
    const names = this.endpointNames.get(e.networkId);
    const named = names?.get(e.name);
    named?.delete(id);
    if (named && named.size === 0) names!.delete(e.name);
    const addrs = this.addressesByNetwork.get(e.networkId);
    for (const a of [addrOf(e.ipv4), addrOf(e.ipv6), ...(e.extraAddresses ?? []).map(addrOf)]) if (a) addrs?.delete(a);
    for (const p of e.portMapping) this.ports.remove(p.proto, p.hostIp, p.hostPort, id);
  }
}
