// Events from a commit batch: compare what each record op does with the index
// as it stands before the batch. Pure; the commit path calls it, so every
// writer (operations, journal recovery, reconcile) emits the same events.

import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../store/records.js';
import type { BatchOp } from '../../store/store.js';
import type { EventBody, EventEndpoint, EventNetwork } from './event-types.js';
import type { State } from './state.js';

const network = (n: NetworkRecord): EventNetwork => ({ id: n.id, name: n.name, driver: n.type });

function endpoint(e: EndpointRecord): EventEndpoint {
  return {
    id: e.id, name: e.name, ipv4: e.ipv4, ipv6: e.ipv6, mac: e.mac,
    ...(e.aliases?.length ? { aliases: [...e.aliases] } : {}),
    service: e.service,
  };
}

export function deriveEvents(state: State, ops: readonly BatchOp[]): EventBody[] {
  const out: EventBody[] = [];
  // records this batch puts, so a join finds the sandbox written beside it
  const nets = new Map<string, NetworkRecord>();
  const sandboxes = new Map<string, SandboxRecord>();
  for (const op of ops) {
    if (op.type === 'put' && op.kind === 'networks') nets.set(op.key, op.value as NetworkRecord);
    if (op.type === 'put' && op.kind === 'sandboxes') sandboxes.set(op.key, op.value as SandboxRecord);
  }
  const netOf = (id: string) => nets.get(id) ?? state.networks.get(id);
  for (const op of ops) {
    if (op.kind === 'networks') {
      const before = state.networks.get(op.key);
      if (op.type === 'put' && !before) out.push({ type: 'network', action: 'create', network: network(op.value as NetworkRecord) });
      if (op.type === 'del' && before) out.push({ type: 'network', action: 'delete', network: network(before) });
    } else if (op.kind === 'endpoints') {
      const before = state.endpoints.get(op.key);
      const after = op.type === 'put' ? (op.value as EndpointRecord) : undefined;
      const net = netOf((after ?? before)?.networkId ?? '');
      if (!net) continue;
      if (before?.container && before.container !== after?.container) {
        const sb = state.sandboxes.get(before.container);
        out.push({
          type: 'container', action: 'leave', network: network(net), endpoint: endpoint(before),
          container: { id: before.container, sandboxKey: sb?.key ?? '', ifname: before.ifname ?? '', hostName: sb?.hostName },
        });
      }
      if (!before && after) out.push({ type: 'endpoint', action: 'create', network: network(net), endpoint: endpoint(after) });
      if (after?.container && after.container !== before?.container) {
        const sb = sandboxes.get(after.container) ?? state.sandboxes.get(after.container);
        out.push({
          type: 'container', action: 'join', network: network(net), endpoint: endpoint(after),
          container: { id: after.container, sandboxKey: sb?.key ?? '', ifname: after.ifname ?? '', hostName: sb?.hostName },
        });
      }
      if (before && !after) out.push({ type: 'endpoint', action: 'delete', network: network(net), endpoint: endpoint(before) });
    }
  }
  return out;
}
