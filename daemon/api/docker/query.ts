// What the Docker surface reads from the controller, and how dockerd finds a
// network from what a client typed: full id, then full name, then a unique id
// prefix; an ambiguous prefix is a 400 and nothing found a 404, in dockerd's words.

import type { Controller } from '../../controller/controller.js';
import type { EndpointRecord, NetworkRecord } from '../../../store/records.js';
import { DockerError } from './errors.js';

export interface View {
  networks(): NetworkRecord[];
  endpoints(networkId: string): EndpointRecord[];
  /** Ids of the networks the container is connected to. */
  containerNetworks(containerId: string): Set<string>;
  /** Bumped on every change: the answer of a read can be kept until it moves. */
  version(): number;
}

export function viewOf(c: Controller): View {
  return {
    // records, not the seed surface's views: a lookup must not build every network's endpoint list
    networks: () => c.networkRecords(),
    endpoints: (id) => c.endpointRecords(id),
    containerNetworks: (id) => c.containerNetworkIds(id),
    version: () => c.version,
  };
}

export function findNetwork(v: View, term: string): NetworkRecord {
  const all = v.networks();
  const byId = all.find((n) => n.id === term);
  if (byId) return byId;
  const byName = all.filter((n) => n.name === term);
  if (byName.length === 1) return byName[0];
  const byPrefix = term ? all.filter((n) => n.id.startsWith(term)) : [];
  if (byPrefix.length === 1) return byPrefix[0];
  if (byPrefix.length > 1) throw new DockerError(400, `network ${term} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
  throw new DockerError(404, `network ${term} not found`);
}

/** The endpoint a container holds in a network: by container id, else a unique prefix of one. */
export function containerEndpoint(v: View, net: NetworkRecord, container: string): EndpointRecord | undefined {
  const eps = v.endpoints(net.id).filter((e) => e.container);
  const exact = eps.find((e) => e.container === container);
  if (exact) return exact;
  const byName = eps.filter((e) => e.name === container);
  if (byName.length === 1) return byName[0];
  const prefix = eps.filter((e) => e.container!.startsWith(container));
  return prefix.length === 1 ? prefix[0] : undefined;
}
