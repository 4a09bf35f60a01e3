// Start-up recovery: every intent left in the journal belongs to an operation
// the daemon did not finish (it crashed, or was killed). Each is finished or
// undone from what the store says, with idempotent kernel steps.

import { sweepTemporaries as sweepFileTemporaries } from '../files/write.js';
import type { JoinTarget } from '../../drivers/driver.js';
import type { EndpointRecord, JournalIntents, JournalOp, JournalRecord } from '../../store/records.js';
import type { BatchOp } from '../../store/store.js';
import type { Controller } from './controller.js';
import { handOverGateway } from './join.js';

/** One recovery step per journal op, each typed by its own intent. */
type Steps = { [Op in JournalOp]: (c: Controller, d: JournalIntents[Op]) => Promise<BatchOp[]> };

const target = (d: { containerId: string; key: string; ifname?: string }, isDefault: boolean): JoinTarget => ({
  containerId: d.containerId, key: d.key, isDefault, ifname: d.ifname ?? 'eth0', gatewayProvider: false,
});

/** A kill between writing a sandbox file's temporary copy and renaming it
 *  over the file leaves `.<name>.lnetd-<random>` beside it (files/write.ts). */
async function sweepTemporaries(files: readonly string[] | undefined): Promise<void> {
  for (const f of files ?? []) if (typeof f === 'string' && f.startsWith('/')) await sweepFileTemporaries(f);
}

/** The join a leave intent was written for is the one in the records: same
 *  sandbox record, same interface, and no join into the sandbox since (every
 *  join moves nextIf on). Intents from before these fields were kept match. */
function sameJoin(d: LeaveLike, ep: EndpointRecord, sb: { created: string; nextIf: number }): boolean {
  if (d.sandboxCreated !== undefined && d.sandboxCreated !== sb.created) return false;
  if (d.nextIf !== undefined && d.nextIf !== sb.nextIf) return false;
  return d.ifname === undefined || d.ifname === ep.ifname;
}

/** What finishing a leave needs: a leave's intent, or a disconnect's. */
type LeaveLike = Pick<JournalIntents['leave'], 'networkId' | 'endpointId' | 'containerId' | 'key' | 'ifname' | 'sandboxCreated' | 'nextIf'>;

/** A leave that did not commit is finished: the runtime asked for it. */
async function finishLeave(c: Controller, d: LeaveLike): Promise<BatchOp[]> {
  const ep = c.state.endpoints.get(d.endpointId);
  const net = c.state.networks.get(d.networkId);
  const sb = c.state.sandboxes.get(d.containerId);
  if (!ep || !net || !sb || ep.container !== d.containerId) return [];
  if (!sameJoin(d, ep, sb)) {
    c.log.warn({ endpoint: ep.name, container: sb.containerId }, 'journal: not replaying a leave: the endpoint was joined again since');
    return [];
  }
  await c.driver(net.type).leave(net, ep, target(d, sb.isDefault));
  const last = sb.endpoints.length <= 1;
  if (!last && !sb.isDefault && (await c.kernel.isNetns(sb.key))) {
    await handOverGateway(c, sb, ep.id).catch((err) => c.log.warn({ err }, 'journal: could not move the default route'));
  }
  if (last && !sb.isDefault) await c.kernel.deleteNetns(sb.key);
  const { container: _c, ifname: _i, ...rest } = ep;
  const ops: BatchOp[] = [{ type: 'put', kind: 'endpoints', key: ep.id, value: rest }];
  ops.push(last ? { type: 'del', kind: 'sandboxes', key: sb.containerId } : { type: 'put', kind: 'sandboxes', key: sb.containerId, value: { ...sb, endpoints: sb.endpoints.filter((id) => id !== ep.id) } });
  return ops;
}

const steps: Steps = {
  // Not committed: undo. Committed: the intent was cleared in the same batch, so we never get here.
  async createNetwork(c, d) {
    if (!c.state.networks.has(d.network.id)) await c.driver(d.network.type).deleteNetwork(d.network);
    return [];
  },
  // Finish the delete only if it is still valid: the network had no endpoints
  // when it was asked for, and must have none now (the live check, again).
  async deleteNetwork(c, d) {
    const net = c.state.networks.get(d.network.id);
    if (!net) return [];
    const eps = c.state.networkEndpoints(net.id);
    if (eps.length) {
      c.log.warn({ network: net.name, endpoints: eps.length }, 'journal: not finishing a network delete: the network has endpoints made since; it is restored instead');
      return [];
    }
    await c.driver(net.type).deleteNetwork(net);
    return [{ type: 'del', kind: 'networks', key: net.id }];
  },
  // Only for drivers whose endpoints have kernel work (endpointKernelWork): others write no intent.
  async createEndpoint(c, d) {
    const net = c.state.networks.get(d.endpoint.networkId);
    if (net && !c.state.endpoints.has(d.endpoint.id)) await c.driver(net.type).deleteEndpoint(net, d.endpoint);
    return [];
  },
  async deleteEndpoint(c, d) {
    const ep = c.state.endpoints.get(d.endpoint.id);
    const net = ep && c.state.networks.get(ep.networkId);
    if (!ep || !net || ep.container) return [];
    await c.driver(net.type).deleteEndpoint(net, ep);
    return [{ type: 'del', kind: 'endpoints', key: ep.id }];
  },
  // A join that did not commit is undone: its veth, and its sandbox if the join made it.
  async join(c, d) {
    await sweepTemporaries(d.files);
    const ep = c.state.endpoints.get(d.endpointId);
    const net = c.state.networks.get(d.networkId);
    if (!ep || !net || ep.container === d.containerId) return [];
    const sb = c.state.sandboxes.get(d.containerId);
    await c.driver(net.type).leave(net, ep, target(d, sb?.isDefault ?? false));
    if (d.fresh && !sb && d.key !== c.defaultSandboxKey) await c.kernel.deleteNetns(d.key);
    return [];
  },
  leave: finishLeave,
  // Docker connect that did not commit is undone whole: the join, a sandbox it made, the endpoint.
  async connect(c, d) {
    const ep = d.endpoint;
    const net = c.state.networks.get(ep.networkId);
    if (!net || c.state.endpoints.has(ep.id)) return [];
    const driver = c.driver(net.type);
    await driver.leave(net, ep, target(d, false));
    if (d.fresh && !c.state.sandboxes.has(d.containerId)) await c.kernel.deleteNetns(d.key);
    await driver.deleteEndpoint(net, ep);
    return [];
  },
  // Docker disconnect is finished: leave (if still joined), then the endpoint goes.
  async disconnect(c, d) {
    const ep = c.state.endpoints.get(d.endpointId);
    const net = c.state.networks.get(d.networkId);
    if (!ep || !net) return [];
    const ops = ep.container === d.containerId ? await finishLeave(c, d) : [];
    await c.driver(net.type).deleteEndpoint(net, ep);
    return [...ops, { type: 'del', kind: 'endpoints', key: ep.id }];
  },
};

/** Run the step of rec's op with rec's own intent: the switch narrows the
 *  union, so each step is type-checked against its op's intent. */
function runStep(c: Controller, rec: JournalRecord): Promise<BatchOp[]> | undefined {
  switch (rec.op) {
    case 'createNetwork': return steps.createNetwork(c, rec.data);
    case 'deleteNetwork': return steps.deleteNetwork(c, rec.data);
    case 'createEndpoint': return steps.createEndpoint(c, rec.data);
    case 'deleteEndpoint': return steps.deleteEndpoint(c, rec.data);
    case 'join': return steps.join(c, rec.data);
    case 'leave': return steps.leave(c, rec.data);
    case 'connect': return steps.connect(c, rec.data);
    case 'disconnect': return steps.disconnect(c, rec.data);
    default: {
      // an op this lnetd does not know (from a newer one): the caller logs and drops it
      const unknown: never = rec;
      void unknown;
      return undefined;
    }
  }
}

export async function recoverJournal(c: Controller): Promise<number> {
  const intents = await c.store.entries<JournalRecord>('journal');
  for (const [key, rec] of intents) {
    let ops: BatchOp[] = [];
    try {
      // an intent is read back as stored: a missing or malformed field fails its step, which is logged
      const run = runStep(c, rec);
      if (run) ops = await run;
      else c.log.warn({ op: rec.op }, 'journal: unknown operation, dropped');
    } catch (err) {
      c.log.error({ err, op: rec.op, key }, 'journal: recovery step failed; dropping the intent, reconcile cleans up');
    }
    await c.commit([...ops, { type: 'del', kind: 'journal', key }]);
    c.log.info({ op: rec.op, key }, 'journal: recovered unfinished operation');
  }
  return intents.length;
}
