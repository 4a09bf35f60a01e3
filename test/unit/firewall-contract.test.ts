// The firewall contract suite on the fake firewall; test/kernel/firewall-contract
// runs the same cases on NftFirewall, so the fake answers like nftables.

import t from 'tap';
import { portElem } from '../../drivers/linux/nft-rules.js';
import { firewallSuite } from '../lib/firewall-suite.js';
import { FakeFirewall } from '../lib/fake-firewall.js';

firewallSuite(t, async () => {
  const fw = new FakeFirewall();
  return {
    fw,
    observe: async () => ({
      table: fw.initialized,
      bridges: [...fw.networks.values()].map((n) => n.bridge).sort(),
      ports: [...fw.portMaps.values()].map((m) => { const e = portElem(m); return `${e.map} ${e.key} : ${e.value}`; }).sort(),
    }),
  };
});
