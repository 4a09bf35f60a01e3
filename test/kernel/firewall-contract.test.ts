// The firewall contract suite on NftFirewall (nftables), inside a throwaway
// host namespace; test/unit/firewall-contract runs the same cases on the fake
// firewall, so the fake answers like nftables. The table is read back with
// `nft -j list`, independent of NftFirewall's own bookkeeping.

import t from 'tap';
import { readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NftFirewall } from '../../drivers/linux/nftables.js';
import { firewallSuite, type Installed } from '../lib/firewall-suite.js';
import { nsExec, withHostNs } from './_hostns.js';

type Elem = string | number | { concat: (string | number)[] };
const text = (e: Elem): string => (typeof e === 'object' ? e.concat.join(' . ') : String(e));

if (process.getuid?.() !== 0) {
  t.plan(0, 'kernel tests need root');
} else {
  const host = withHostNs(t);
  // nft runs in this thread's namespace: make sure it is the throwaway one
  if (readlinkSync('/proc/thread-self/ns/net') !== `net:[${statSync(host.path).ino}]`) throw new Error('not inside the throwaway namespace: refusing to touch nftables');

  async function observe(): Promise<Installed> {
    const r = await nsExec(host.path, ['nft', '-j', 'list', 'table', 'inet', 'lnetd']);
    if (r.code !== 0) return { table: false, bridges: [], ports: [] };
    const items = (JSON.parse(r.stdout) as { nftables: Record<string, any>[] }).nftables;
    const bridges = items.find((i) => i.set?.name === 'bridges')?.set.elem ?? [];
    const ports = items.filter((i) => /^ports[46](_any)?$/.test(i.map?.name ?? ''))
      .flatMap((i) => ((i.map.elem ?? []) as [Elem, Elem][]).map(([k, v]) => `${i.map.name} ${text(k)} : ${text(v)}`));
    return { table: true, bridges: [...bridges].sort(), ports: ports.sort() };
  }

  let n = 0;
  firewallSuite(t, async () => {
    const fw = new NftFirewall({ forwardingFile: join(host.dir, `forwarding-${++n}`) });
    await fw.destroy();  // each case starts from no table
    return { fw, observe };
  });
}
