// lnetd as one of the systems: a daemon in its own host namespace, one bridge
// network, and this process as the runtime calling it over the socket.
// Two of them run side by side: `lnetd` attaches as a libnetwork runtime does
// (create endpoint + join, two requests; leave + delete endpoint), and
// `lnetd-docker` as dockerd's clients do (POST /networks/{id}/connect, one
// request that makes the endpoint and joins it in one controller operation;
// POST /networks/{id}/disconnect), on the daemon's Docker socket.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createHostNs } from '../netns.js';
import { deleteNetns } from '../cleanup.js';
import { runSync } from '../proc.js';
import { attachProblems } from '../verify.js';
import type { ProcCount, System, Timing } from '../system.js';
import { Daemon, cpuSince, type CpuMs } from './daemon.js';
import { LnetdClient } from './client.js';
import { hostVethName } from '../../../drivers/bridge/bridge.js';
import { sandboxKey } from '../../../daemon/controller/sandbox-key.js';

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

/** Docker's connect: one request, the endpoint is named after the container. */
export async function connectOne(docker: LnetdClient, net: string, cid: string): Promise<void> {
  await docker.call('POST', `/networks/${net}/connect`, { Container: cid });
}

export async function disconnectOne(docker: LnetdClient, net: string, cid: string): Promise<void> {
  await docker.call('POST', `/networks/${net}/disconnect`, { Container: cid });
}

/** How a runtime attaches: the seed API's two requests, or Docker's one. */
export type Surface = 'seed' | 'docker';

/** The host end of the veth behind eth0 of a sandbox, asked of the kernel (not of the daemon, whose CPU is being measured). */
function hostEndOf(hostNs: string, sandbox: string): string {
  const [eth0] = JSON.parse(runSync('nsenter', [`--net=${sandbox}`, 'ip', '-j', 'link', 'show', 'eth0']).stdout) as Array<{ link_index?: number }>;
  const links = JSON.parse(runSync('ip', ['-n', hostNs, '-j', 'link', 'show']).stdout) as Array<{ ifindex: number; ifname: string }>;
  const host = links.find((l) => l.ifindex === eth0?.link_index);
  if (!host) throw new Error(`no host end of ${sandbox}'s eth0 in ${hostNs}`);
  return host.ifname;
}

type Op = 'attach' | 'detach';
interface Cpu { user: number; sys: number; n: number }

export class LnetdSystem implements System {
  readonly name: string;
  private daemon?: Daemon;
  hostNs = '';
  private net = '';
  private readonly attached = new Map<number, { ep: string; cid: string; sandbox: string }>();
  private procsAt?: number;
  private attaches = 0;
  /** CPU windows: each measured operation owns the daemon's CPU from its start until the
   *  next operation on this daemon starts, or the rounds move on to another system
   *  (pause), so work it defers (the namespace pool's refill) is counted too; the
   *  warm-up container's operations own theirs and are not counted. */
  private window?: { op?: Op; at: CpuMs };
  private readonly cpuSum: Record<Op, Cpu> = { attach: { user: 0, sys: 0, n: 0 }, detach: { user: 0, sys: 0, n: 0 } };

  constructor(private readonly tmpDir: string, readonly surface: Surface = 'seed') {
    this.name = surface === 'seed' ? 'lnetd' : 'lnetd-docker';
  }

  async start(): Promise<void> {
    this.hostNs = createHostNs(this.name);
    this.daemon = new Daemon(this.hostNs, join(this.tmpDir, this.name));
    await this.daemon.start();
    this.net = await this.daemon.client.call<string>('POST', '/networks', NETWORK_BODY);
  }

  private nextWindow(op?: Op): void {
    const now = this.daemon!.cpuMs();
    const w = this.window;
    if (w?.op) {
      const d = cpuSince(w.at, now);
      const sum = this.cpuSum[w.op];
      sum.user += d.user;
      sum.sys += d.sys;
      sum.n++;
    }
    this.window = { op, at: now };
  }

  pause(): void {
    this.nextWindow();
  }

  /** The daemon's CPU per measured attach and detach (ms, user and sys apart). */
  cpu(): Record<Op, Cpu> {
    this.nextWindow();
    return this.cpuSum;
  }

  async attach(i: number): Promise<Timing> {
    const d = this.daemon!;
    const cid = randomBytes(32).toString('hex');
    // Index 0 is the warm-up container: its one-time work is not an attach's.
    if (i > 0 && this.procsAt === undefined) this.procsAt = await d.processesStarted();
    this.nextWindow(i > 0 ? 'attach' : undefined);
    const t0 = performance.now();
    let made = { ep: '', sandbox: '' };
    if (this.surface === 'seed') made = await attachOne(d.client, this.net, `c${i}`, cid);
    else await connectOne(d.docker, this.net, cid);
    const ms = performance.now() - t0;
    if (i > 0) this.attaches++;
    if (this.surface === 'docker') {
      // off the clock: the sandbox is the container's key (the name lnetd gives it) and its host veth the peer of its eth0
      const sandbox = sandboxKey(d.netnsDir, cid);
      this.attached.set(i, { ep: '', cid, sandbox });
      return { ms, hostVeth: hostEndOf(this.hostNs, sandbox) };
    }
    this.attached.set(i, { ...made, cid });
    return { ms, hostVeth: hostVethName(made.ep) };
  }

  async detach(i: number): Promise<Timing> {
    const a = this.attached.get(i);
    if (!a) throw new Error(`${this.name}: container ${i} is not attached`);
    const d = this.daemon!;
    this.nextWindow(i > 0 ? 'detach' : undefined);
    const t0 = performance.now();
    if (this.surface === 'seed') await detachOne(d.client, this.net, a.ep, a.cid);
    else await disconnectOne(d.docker, this.net, a.cid);
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

  /** lnetd counts its own children: /_stats before the first measured attach and now. */
  async processes(): Promise<ProcCount> {
    this.nextWindow();
    const started = (await this.daemon!.processesStarted()) - (this.procsAt ?? 0);
    return { perAttach: this.attaches && this.procsAt !== undefined ? started / this.attaches : NaN, method: 'daemon /_stats processes_started' };
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    deleteNetns(this.hostNs);
  }
}
