// netavark 1.4.0 with its iptables backend and NAT, as PEERS.md invokes it.
// netavark does no IPAM, so the address is ours to pick (one per index).

import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { type Exec, type Peer, type PeerContext, containerId, hostAddr } from './peer.js';

export const NETAVARK = '/usr/lib/podman/netavark';

export function netavarkPeer(ctx: PeerContext): Peer {
  const configDir = join(ctx.tmpDir, 'netavark');
  const networkId = createHash('sha256').update(`net-${ctx.nsPrefix}`).digest('hex');
  const options = (i: number): string => JSON.stringify({
    container_id: containerId(ctx, i), container_name: `c${i}`,
    networks: { benchnet: { interface_name: 'eth0', static_ips: [hostAddr('10.232', i)] } },
    network_info: {
      benchnet: {
        dns_enabled: false, driver: 'bridge', id: networkId, internal: false, ipv6_enabled: false,
        name: 'benchnet', network_interface: 'nvbr0',
        subnets: [{ gateway: '10.232.0.1', subnet: '10.232.0.0/16' }],
      },
    },
  });
  const env = { ...process.env, NETAVARK_FW: 'iptables' };
  const call = (verb: 'setup' | 'teardown', i: number, ns: string, exec: Exec): void =>
    exec(NETAVARK, ['--config', configDir, verb, `/run/netns/${ns}`], { input: options(i), env });
  return {
    setup: (exec) => exec('mkdir', ['-p', configDir]),
    attach: (i, ns, exec) => call('setup', i, ns, exec),
    detach: (i, ns, exec) => call('teardown', i, ns, exec),
  };
}
