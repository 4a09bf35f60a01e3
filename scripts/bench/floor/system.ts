// The true floor as one of the systems: one long-lived native process in its
// own host namespace (see native/floor.c).

import { deleteNetns } from '../cleanup.js';
import { runSync } from '../proc.js';
import { attachProblems } from '../verify.js';
import type { ProcCount, System, Timing } from '../system.js';
import { FloorProcess } from './process.js';
import { FLOOR_BRIDGE, createFloorHost, type FloorHost } from './host.js';

export class FloorSystem implements System {
  readonly name = 'floor';
  private host?: FloorHost;
  private proc?: FloorProcess;
  /** Medians of the parts, for the report: namespace, veth message, inside message. */
  readonly parts: { ns: number[]; veth: number[]; inside: number[] } = { ns: [], veth: [], inside: [] };

  constructor(private readonly tmpDir: string) {}

  get hostNs(): string { return this.host!.ns; }

  async start(): Promise<void> {
    this.host = createFloorHost(this.tmpDir, 'floor', '10.235');
    this.proc = new FloorProcess(this.host.ns, this.host.netnsDir, FLOOR_BRIDGE, this.host.prefix16);
  }

  async attach(i: number): Promise<Timing> {
    const a = await this.proc!.attach(i);
    if (i > 0) { this.parts.ns.push(a.nsMs); this.parts.veth.push(a.vethMs); this.parts.inside.push(a.insideMs); }
    return { ms: a.ms, hostVeth: `veth${i}` };
  }

  async detach(i: number): Promise<Timing> {
    return { ms: await this.proc!.detach(i) };
  }

  async verify(i: number): Promise<string[]> {
    const ipj = (what: string): string => runSync('nsenter', [`--net=${this.host!.netnsDir}/ns${i}`, 'ip', '-j', what, 'show']).stdout;
    return attachProblems(ipj('addr'), ipj('route'), null);
  }

  async processes(): Promise<ProcCount> {
    return { perAttach: 0, perDetach: 0, method: 'one long-lived process, no execs' };
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    if (this.host) deleteNetns(this.host.ns);
  }
}
