// The resolver's assembly: a table filled from the controller's records at
// start, kept in step with every commit through the controller's events, listeners bound before the API
// answers (so after a restart containers resolve again as soon as the daemon
// does), and resolv.conf plans for joins.

import type { Controller } from '../controller/controller.js';
import type { LnetdEvent } from '../controller/events.js';
import { Feed, type FeedSource, type Touched } from './feed.js';
import type { DnsFirewall } from './nft.js';
import { Resolver, type ResolverLog, type ResolverOptions } from './resolver.js';
import { resolvPlan } from './resolvconf.js';
import { Upstreams } from './upstream.js';

export { Resolver } from './resolver.js';

/** The network, endpoint and container an event names: the feed re-reads those. */
export function touchedBy(e: LnetdEvent): Touched {
  return {
    networks: [e.network.id],
    endpoints: e.type === 'network' ? [] : [e.endpoint.id],
    containers: e.type === 'container' ? [e.container.id] : [],
  };
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
  // the view and the subscription in one tick: no change falls between them; events are
  // published in the commit's tick, after the index shows the change and before the API answers
  feed.loadAll();
  const sub = c.events.subscribe(undefined, (e) => feed.apply(touchedBy(e)));
  resolver.onStop(() => sub.close());
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
