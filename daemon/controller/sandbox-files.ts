// /etc/hosts and /etc/resolv.conf for a sandbox: the text. They are written
// by daemon/files/write.ts (atomically, never through a symlink) at paths
// daemon/files/policy.ts allowed.

import type { SandboxRecord } from '../../store/records.js';

export interface HostEntry { address: string; names: string[] }

export function hostsText(sb: SandboxRecord, own: string[], extra: HostEntry[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];
  if (sb.hostName) {
    const names = sb.domainName ? [`${sb.hostName}.${sb.domainName}`, sb.hostName] : [sb.hostName];
    for (const a of own) lines.push(`${a}\t${names.join(' ')}`);
  }
  for (const e of extra) lines.push(`${e.address}\t${e.names.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** What resolv.conf says (the DNS module decides, see daemon/dns/resolvconf.ts). */
export interface ResolvPlan { comment?: string; nameservers: string[]; search: string[]; options: string[] }

export function resolvText(sb: SandboxRecord, plan?: ResolvPlan): string {
  const p = plan ?? { nameservers: sb.dns, search: sb.domainName ? [sb.domainName] : [], options: [] };
  const lines: string[] = [];
  if (p.comment) lines.push(`# ${p.comment.replace(/\n/g, ' ')}`);
  if (p.search.length) lines.push(`search ${p.search.join(' ')}`);
  for (const d of p.nameservers) lines.push(`nameserver ${d}`);
  if (p.options.length) lines.push(`options ${p.options.join(' ')}`);
  return lines.join('\n') + '\n';
}
