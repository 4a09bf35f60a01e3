// The resolver's table: an asker answers under the domain names of the
// containers on its own networks (and only those), and what it sees follows
// every change (a container's domain, an endpoint leaving, a network going),
// though the per-network domain sets are built once per change, not per asker.

import t from 'tap';
import { DnsTable } from '../../daemon/dns/table.js';

const net = (id: string) => ({ id, name: id, enabled: true, internal: false, gateway4: '10.0.0.1', subnets: [] });
const ep = (id: string, networkId: string, containerId: string, v4: string) => ({ id, networkId, containerId, names: [id], v4 });

t.test('askers see the domains of their networks\' containers, after every change', async (t) => {
  const tb = new DnsTable();
  tb.setNetwork(net('a'));
  tb.setNetwork(net('b'));
  tb.setContainer('c1', { endpoints: ['e1'], domain: 'one.test', dns: [] });
  tb.setContainer('c2', { endpoints: ['e2'], domain: 'Two.Test.', dns: [] });
  tb.setContainer('c3', { endpoints: ['e3'], domain: 'three.test', dns: [] });
  tb.setEndpoint(ep('e1', 'a', 'c1', '10.0.0.2'));
  tb.setEndpoint(ep('e2', 'a', 'c2', '10.0.0.3'));
  tb.setEndpoint(ep('e3', 'b', 'c3', '10.1.0.2'));
  const doms = (addr: string) => [...(tb.asker(addr)?.domains ?? [])].sort();
  t.same(doms('10.0.0.2'), ['one.test', 'two.test'], 'network a: its two containers\' domains');
  t.same(doms('10.1.0.2'), ['three.test'], 'network b: only its own');
  tb.setContainer('c2', { endpoints: ['e2'], domain: 'other.test', dns: [] });
  t.same(doms('10.0.0.3'), ['one.test', 'other.test'], 'a container\'s new domain is seen at once');
  tb.dropEndpoint('e1');
  t.same(doms('10.0.0.3'), ['other.test'], 'a left endpoint\'s domain goes');
  t.equal(tb.asker('10.0.0.2'), undefined, 'and its address asks as a stranger');
  tb.dropNetwork('a');
  t.equal(tb.asker('10.0.0.3'), undefined, 'a dropped network\'s endpoints are gone');
  t.same(doms('10.1.0.2'), ['three.test'], 'the other network is untouched');
  t.equal(tb.size, 1);
});
