// A network's firewall settings go with it: route_localnet, which the rules
// set on the network's bridge, is put back when the network is removed (a
// failed create's undo, or a delete), so a bridge that existed before lnetd
// is left as it was. Real nft and /proc/sys in a throwaway namespace.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NftFirewall } from '../../drivers/linux/nftables.js';
import { nsExec, withHostNs } from './_hostns.js';

t.test('route_localnet on a bridge that was there before is put back when the network goes', async (t) => {
  const ns = withHostNs(t);
  for (const argv of [['ip', 'link', 'add', 'brpre', 'type', 'bridge'], ['ip', 'link', 'set', 'brpre', 'up']]) {
    const r = await nsExec(ns.path, argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  }
  const rl = () => readFileSync('/proc/sys/net/ipv4/conf/brpre/route_localnet', 'utf8').trim();
  t.equal(rl(), '0', 'off on the bridge to begin with');
  const fw = new NftFirewall({ forwardingFile: join(ns.dir, 'forwarding') });
  t.teardown(() => fw.destroy().catch(() => undefined));
  await fw.init();
  const net = { id: 'd4'.repeat(32), bridge: 'brpre', subnet4: '172.21.0.0/16', masquerade: true, icc: true, internal: false };
  await fw.addNetwork(net);
  t.equal(rl(), '1', 'the network\'s rules need it on');
  await fw.removeNetwork(net.id);
  t.equal(rl(), '0', 'put back when the network goes');
  await fw.addNetwork(net);
  await fw.addNetwork({ ...net, id: 'e5'.repeat(32), bridge: 'brpre2' }).catch(() => undefined);
  await fw.removeNetwork(net.id);
  t.equal(rl(), '0', 'again, with another network added and refused meanwhile');
});
