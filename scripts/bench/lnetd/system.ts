// lnetd as one of the systems: a daemon in its own host namespace, one bridge
// network, and this process as the runtime calling it over the socket.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createHostNs } from '../netns.js';
import { deleteNetns } from '../cleanup.js';
import { runSync } from '../proc.js';
import { attachProblems } from '../verify.js';
import type { ProcCount, System, Timing } from '../system.js';
import { Daemon } from './daemon.js';
import { LnetdClient } from './client.js';
import { hostVethName } from '../../../drivers/bridge/bridge.js';

export const NETWORK_BODY = { name: 'benchnet', network_type: 'bridge', options: {} };

export function joinBody(containerId: string): Record<string, unknown> {
  return {
    container_id: containerId, host_name: null, domain_name: null, hosts_path: null,
    resolv_conf_path: null, dns: null, extra_hosts: null, parent_updates: null, use_default_sandbox: false,
  };
}

/** Create endpoint + join: one attach as a runtime does it. Returns the
 * endpoint id and the sandbox (netns path) the join made. */
export async function attachOne(client: LnetdClient, net: string, name: string, cid: string): Promise<{ ep: string; sandbox: string }> {
  const ep = await client.call<string>('POST', `/networks/${net}/endpoints`, { name, exposed_ports: [], port_mapping: null });
  const sandbox = await client.call<string>('POST', `/networks/${net}/endpoints/${ep}/containers`, joinBody(cid));
  return { ep, sandbox };
}

export async function detachOne(client: LnetdClient, net: string, ep: string, cid: string): Promise<void> {
  await client.call('DELETE', `/networks/${net}/endpoints/${ep}/containers/${cid}`);
  await client.call('DELETE', `/networks/${net}/endpoints/${ep}`);
}

export class LnetdSystem implements System {
  readonly name = 'lnetd';
  private daemon?: Daemon;
  hostNs = '';
  private net = '';
  private readonly attached = new Map<number, { ep: string; cid: string; sandbox: string }>();
  private procs = 0;
  private attaches = 0;

  constructor(private readonly tmpDir: string, private readonly tag = 'lnetd') {}

  async start(): Promise<void> {
    this.hostNs = createHostNs(this.tag);
    this.daemon = new Daemon(this.hostNs, join(this.tmpDir, this.tag));
    await this.daemon.start();
    this.net = await this.daemon.client.call<string>('POST', '/networks', NETWORK_BODY);
  }

  async attach(i: number): Promise<Timing> {
    const client = this.daemon!.client;
    const cid = randomBytes(32).toString('hex');
    const before = await this.daemon!.processesStarted();
    const t0 = performance.now();
    const { ep, sandbox } = await attachOne(client, this.net, `c${i}`, cid);
    const ms = performance.now() - t0;
    // Index 0 is the warm-up container: its one-time work is not an attach's.
    if (i > 0) { this.procs += (await this.daemon!.processesStarted()) - before; this.attaches++; }
    this.attached.set(i, { ep, cid, sandbox });
    return { ms, hostVeth: hostVethName(ep) };
  }

  async detach(i: number): Promise<Timing> {
    const a = this.attached.get(i);
    if (!a) throw new Error(`lnetd: container ${i} is not attached`);
    const t0 = performance.now();
    await detachOne(this.daemon!.client, this.net, a.ep, a.cid);
    const ms = performance.now() - t0;
    this.attached.delete(i);
    return { ms };
  }

  async verify(i: number): Promise<string[]> {
    const a = this.attached.get(i);
    if (!a) return [`container ${i} is not attached`];
    const ipj = (what: string): string => runSync('nsenter', [`--net=${a.sandbox}`, 'ip', '-j', what, 'show']).stdout;
    const ruleset = runSync('nsenter', [`--net=/run/netns/${this.hostNs}`, 'nft', 'list', 'ruleset']).stdout;
    return attachProblems(ipj('addr'), ipj('route'), ruleset);
  }

  /** lnetd counts its own children; we diffed /_stats around every attach. */
  async processes(): Promise<ProcCount> {
    return { perAttach: this.attaches ? this.procs / this.attaches : NaN, method: 'daemon /_stats processes_started' };
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    deleteNetns(this.hostNs);
  }
}
