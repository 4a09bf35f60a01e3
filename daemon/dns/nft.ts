// lnetd's DNS table in nftables, `inet lnetd_dns`, beside the bridge
// driver's `inet lnetd` (its rebuilds never touch this one). Containers ask
// their gateway on port 53; prerouting redirects that to lnetd's DNS port on
// the same address, so a resolver the host already runs on 0.0.0.0:53 never
// collides with ours. While the daemon is down (a restart, a kill -9) no
// socket is bound on the DNS port: the input chain then drops the query
// instead of letting the kernel answer "port unreachable", so the client's
// normal retry reaches the restarted daemon instead of failing at once.
// The table is left in place when the daemon stops, for the same reason.

import { isIPv4 } from 'node:net';
import { run } from '../../drivers/linux/exec.js';

export const DNS_TABLE = 'inet lnetd_dns';
export const DNS_LAYOUT = 'lnetd-dns/1';

export interface DnsFirewall {
  /** Make the table hold exactly these gateway addresses, in one transaction. */
  apply(gateways: string[], port: number, ratePerSource: number): Promise<void>;
  /** Forget what was installed, so the next apply writes it again (after someone flushed the ruleset). */
  reset(): void;
}

/** The whole table as one nft script: declared if missing, rules and set replaced. */
export function dnsScript(gateways: string[], port: number, ratePerSource: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`dns port ${port} is not 1-65535`);
  if (!Number.isInteger(ratePerSource) || ratePerSource < 1) throw new Error(`dns rate ${ratePerSource} is not a whole number above 0`);
  for (const g of gateways) if (!isIPv4(g)) throw new Error(`dns gateway ${JSON.stringify(g)} is not an IPv4 address`);
  const T = DNS_TABLE;
  const match = `ip daddr @gw4 meta l4proto { udp, tcp } th dport`;
  const lines = [
    `add table ${T} { comment "${DNS_LAYOUT}"; }`,
    `add set ${T} gw4 { type ipv4_addr; comment "gateways of networks with DNS on"; }`,
    // one limiter per source address, in the kernel: a flood is dropped before it fills the socket's queue,
    // so the other containers' queries still get in
    `add set ${T} flood4 { type ipv4_addr; size 65535; flags dynamic,timeout; timeout 10s; comment "per-source query rate"; }`,
    `add chain ${T} prerouting { type nat hook prerouting priority dstnat - 5; policy accept; }`,
    `add chain ${T} input { type filter hook input priority filter - 5; policy accept; }`,
    `flush chain ${T} prerouting`,
    `flush chain ${T} input`,
    `flush set ${T} gw4`,
    `add rule ${T} prerouting ${match} 53 redirect to :${port}`,
    `add rule ${T} input ip daddr @gw4 udp dport ${port} update @flood4 { ip saddr limit rate over ${ratePerSource}/second burst ${ratePerSource} packets } drop`,
    // a socket bound (transparent or not): deliver; none (daemon down): drop silently, the client retries
    `add rule ${T} input ${match} ${port} socket transparent 0 accept`,
    `add rule ${T} input ${match} ${port} socket transparent 1 accept`,
    `add rule ${T} input ${match} ${port} drop`,
  ];
  if (gateways.length) lines.push(`add element ${T} gw4 { ${[...new Set(gateways)].join(', ')} }`);
  return lines.join('\n') + '\n';
}

export class NftDnsFirewall implements DnsFirewall {
  private last = '';
  constructor(private readonly nft = 'nft') {}

  reset(): void {
    this.last = '';
  }

  async apply(gateways: string[], port: number, ratePerSource: number): Promise<void> {
    const text = dnsScript([...gateways].sort(), port, ratePerSource);
    if (text === this.last) return;
    await run(this.nft, ['-f', '-'], text);
    this.last = text;
  }
}
