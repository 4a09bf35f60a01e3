// The index's per-network endpoint names (a create's name check asks it
// instead of scanning the network's endpoints): it follows puts, renames,
// deletes and a network's deletion exactly as a scan of the records would.

import t from 'tap';
import { State } from '../../daemon/controller/state.js';
import type { EndpointRecord, NetworkRecord } from '../../store/records.js';
import { RECORD_VERSION } from '../../store/records.js';

const net = (id: string): NetworkRecord => ({
  version: RECORD_VERSION, id, name: `n-${id}`, type: 'bridge', options: {}, internal: false, enableIpv6: false, created: '', labels: {}, driver: {},
} as unknown as NetworkRecord);
const ep = (id: string, networkId: string, name: string): EndpointRecord => ({
  version: RECORD_VERSION, id, name, networkId, created: '', exposedPorts: [], portMapping: [], service: false, driver: {},
} as EndpointRecord);
const scan = (s: State, netId: string, name: string): boolean => s.networkEndpoints(netId).some((e) => e.name === name);

t.test('hasEndpointNamed follows the records', async (t) => {
  const s = new State();
  s.apply([{ type: 'put', kind: 'networks', key: 'a', value: net('a') }, { type: 'put', kind: 'networks', key: 'b', value: net('b') }]);
  s.apply([{ type: 'put', kind: 'endpoints', key: 'e1', value: ep('e1', 'a', 'web') }]);
  const both = (netId: string, name: string, want: boolean, what: string) => {
    t.equal(s.hasEndpointNamed(netId, name), want, what);
    t.equal(scan(s, netId, name), want, `${what} (as a scan says)`);
  };
  both('a', 'web', true, 'a put endpoint holds its name in its network');
  both('b', 'web', false, 'not in another network');
  s.apply([{ type: 'put', kind: 'endpoints', key: 'e1', value: ep('e1', 'a', 'api') }]);
  both('a', 'web', false, 'a renamed endpoint frees its old name');
  both('a', 'api', true, 'and holds its new one');
  s.apply([{ type: 'put', kind: 'endpoints', key: 'e2', value: ep('e2', 'a', 'api') }]);
  s.apply([{ type: 'del', kind: 'endpoints', key: 'e1' }]);
  both('a', 'api', true, 'a name two records hold stays while one of them is left');
  s.apply([{ type: 'del', kind: 'endpoints', key: 'e2' }]);
  both('a', 'api', false, 'and goes with the last');
  s.apply([{ type: 'put', kind: 'endpoints', key: 'e3', value: ep('e3', 'b', 'db') }, { type: 'del', kind: 'networks', key: 'b' }]);
  t.equal(s.hasEndpointNamed('b', 'db'), false, 'a deleted network holds no names');
});
