// CNI bridge plugin 1.1.1 with host-local IPAM and ipMasq, exactly as
// PEERS.md invokes it: config on stdin, parameters in CNI_* variables.

import { join } from 'node:path';
import { type Exec, type Peer, type PeerContext, containerId } from './peer.js';

export const CNI_BRIDGE = '/usr/lib/cni/bridge';

export function cniPeer(ctx: PeerContext): Peer {
  const conf = JSON.stringify({
    cniVersion: '1.0.0', name: 'benchnet', type: 'bridge', bridge: 'cnibr0',
    isGateway: true, ipMasq: true, hairpinMode: false,
    ipam: {
      type: 'host-local', dataDir: join(ctx.tmpDir, 'cni-ipam'),
      ranges: [[{ subnet: '10.231.0.0/16', gateway: '10.231.0.1' }]],
      routes: [{ dst: '0.0.0.0/0' }],
    },
  });
  const call = (command: 'ADD' | 'DEL', i: number, ns: string, exec: Exec): void => {
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0',
      CNI_CONTAINERID: containerId(ctx, i), CNI_PATH: '/usr/lib/cni',
    };
    exec(CNI_BRIDGE, [], { input: conf, env });
  };
  return {
    setup: () => { /* the plugin makes its bridge on the first ADD */ },
    attach: (i, ns, exec) => call('ADD', i, ns, exec),
    detach: (i, ns, exec) => call('DEL', i, ns, exec),
  };
}
