// The resolver's assembly: a table filled from the controller's records at
// start, kept in step with every commit, listeners bound before the API
// answers (so after a restart containers resolve again as soon as the daemon
// does), and resolv.conf plans for joins.

import type { Controller } from '../controller/controller.js';
import type { EndpointRecord } from '../../store/records.js';
import type { BatchOp } from '../../store/store.js';
import { Feed, type FeedSource, type Touched } from './feed.js';
import type { DnsFirewall } from './nft.js';
import { Resolver, type ResolverLog, type ResolverOptions } from './resolver.js';
import { resolvPlan } from './resolvconf.js';
import { Upstreams } from './upstream.js';

export { Resolver } from './resolver.js';

/** The networks, endpoints and containers a batch touched. */
export function touchedBy(ops: BatchOp[]): Touched {
  const t: Touched = { networks: [], endpoints: [], containers: [] };
  for (const op of ops) {
    if (op.kind === 'networks') t.networks.push(op.key);
    else if (op.kind === 'sandboxes') t.containers.push(op.key);
    else if (op.kind === 'endpoints') {
      t.endpoints.push(op.key);
      const c = op.type === 'put' ? (op.value as EndpointRecord).container : undefined;
      if (c) t.containers.push(c);
    }
  }
  return t;
}

export function stateSource(c: Controller): FeedSource {
  const s = c.state;
  return {
    networks: () => s.networks.values(),
    network: (id) => s.networks.get(id),
    endpoint: (id) => s.endpoints.get(id),
    networkEndpoints: (id) => s.networkEndpoints(id),
    sandbox: (cid) => s.sandboxes.get(cid),
  };
}

/** Start the resolver on the controller's records; hooks it into the commit path. */
export async function startDns(c: Controller, opts: ResolverOptions, fw: DnsFirewall, log: ResolverLog): Promise<Resolver> {
  const resolver = new Resolver(opts, fw, log);
  const feed = new Feed(resolver, stateSource(c));
  feed.loadAll();
  c.commitHooks.push((ops) => feed.apply(touchedBy(ops)));
  c.resolvPlan = (sb, joined) => resolvPlan(sb, joined, (id) => c.state.networks.get(id), resolver.upstreams.current, true);
  await resolver.start();
  return resolver;
}

/** DNS off daemon-wide: resolv.conf still lists the host's servers (not an empty file). */
export async function hostResolvOnly(c: Controller, resolvConf: string): Promise<Upstreams> {
  const up = new Upstreams(resolvConf);
  await up.start();
  c.resolvPlan = (sb, joined) => resolvPlan(sb, joined, (id) => c.state.networks.get(id), up.current, false);
  return up;
}
