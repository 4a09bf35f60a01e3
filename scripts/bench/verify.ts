// What PEERS.md calls attached, checked once per system on its warm-up
// container: a non-loopback interface up with an IPv4 address, a default route,
// and (unless the system is the firewall-less floor) a masquerade rule in the
// host namespace. A system that skipped any of it would win on false terms.

interface Addr { ifname: string; flags?: string[]; addr_info?: { family: string }[] }
interface Route { dst: string; gateway?: string }

export function attachProblems(addrJson: string, routeJson: string, ruleset: string | null): string[] {
  const problems: string[] = [];
  const addrs = JSON.parse(addrJson) as Addr[];
  const up = addrs.filter((a) => a.ifname !== 'lo' && (a.flags ?? []).includes('UP'));
  if (!up.some((a) => (a.addr_info ?? []).some((i) => i.family === 'inet'))) problems.push('no interface up with an IPv4 address');
  const routes = JSON.parse(routeJson) as Route[];
  if (!routes.some((r) => r.dst === 'default' && r.gateway)) problems.push('no default route via a gateway');
  if (ruleset !== null && !/masquerade/i.test(ruleset)) problems.push('no masquerade rule in the host namespace');
  return problems;
}
