// iproute2 batch, a peer (not the floor: three process starts per attach):
// the kernel work of an attach in two `ip -batch` processes and no firewall
// (PEERS.md). Two, because iproute2 can't switch namespace inside a batch and
// moving a link into a namespace drops its addresses.

import { type Peer, hostAddr } from './peer.js';

export function iproute2Peer(): Peer {
  return {
    setup: (exec) => {
      exec('ip', ['link', 'add', 'br0', 'type', 'bridge']);
      exec('ip', ['addr', 'add', '10.234.0.1/16', 'dev', 'br0']);
      exec('ip', ['link', 'set', 'br0', 'up']);
    },
    attach: (i, ns, exec) => {
      exec('ip', ['-batch', '-'], { input: `link add veth${i} master br0 up type veth peer name eth0 netns ${ns}\n` });
      exec('ip', ['-n', ns, '-batch', '-'], {
        input: ['link set lo up', `addr add ${hostAddr('10.234', i)}/16 dev eth0`, 'link set eth0 up',
          'route add default via 10.234.0.1 dev eth0', ''].join('\n'),
      });
    },
    detach: (i, _ns, exec) => exec('ip', ['link', 'del', `veth${i}`]),
  };
}
