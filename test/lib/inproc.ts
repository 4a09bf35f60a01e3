// The Koa app in-process on a memory level and the fake kernel and firewall:
// the unit tier's way to drive the whole API without root.

import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController } from '../../daemon/daemon.js';
import { createApi, type Api } from '../../daemon/api/handler.js';
import { createDockerApi, type DockerApi } from '../../daemon/api/docker/app.js';
import type { Controller, Logger } from '../../daemon/controller/controller.js';
import { refusalLogger } from '../../daemon/log-request.js';
import { FakeKernel } from './fake-kernel.js';
import { FakeFirewall } from './fake-firewall.js';
import { MemoryReserver } from './fake-ports.js';
import { openMemoryStore, type LevelStore } from '../../store/level.js';
import { request, type Reply } from './daemon.js';
import { guarded, guardedUpgrade } from '../../daemon/api/guard.js';

export const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class InProc {
  readonly dir = mkdtempSync(join(tmpdir(), 'lnetd-unit-'));
  readonly socket = join(this.dir, 'api.sock');
  /** The Docker Engine API on a socket of its own, over the same controller. */
  readonly dockerSocket = join(this.dir, 'docker.sock');
  readonly netnsDir = join(this.dir, 'netns');
  /** The one directory hosts_path / resolv_conf_path may name (files_dirs). */
  readonly filesDir = join(this.dir, 'files');
  kernel = new FakeKernel();
  firewall = new FakeFirewall();
  /** Host-port reservations in memory: `ports.external` plays other processes' sockets. */
  ports = new MemoryReserver();
  store!: LevelStore;
  c!: Controller;
  api!: Api;
  dockerApi!: DockerApi;
  private server?: http.Server;
  private closeApi = () => undefined as void;
  private dockerServer?: http.Server;
  private closeDocker = () => undefined as void;
  /** The tmp dir goes when the test process ends, also for instances that
   *  share a store and are never closed themselves. */
  private readonly removeDir = () => rmSync(this.dir, { recursive: true, force: true });

  constructor() {
    mkdirSync(this.filesDir);
    process.once('exit', this.removeDir);
  }

  /** opts.log: a logger to read what the daemon would log (default: none);
   *  opts.fastLane: false answers the attach/detach routes through Koa too. */
  async start(opts: { store?: LevelStore; fault?: (step: string) => void; eventsMax?: number; instance?: string; log?: Logger; minSubnetPrefix?: number; fastLane?: boolean } = {}): Promise<this> {
    const log = opts.log ?? quiet;
    this.store = opts.store ?? (await openMemoryStore());
    this.c = await startController({ netnsDir: this.netnsDir, defaultAddressPools: '10.100.0.0/16:24', filesDirs: [this.filesDir], eventsMax: opts.eventsMax, minSubnetPrefix: opts.minSubnetPrefix }, { store: this.store, kernel: this.kernel, firewall: this.firewall, log, fault: opts.fault, instance: opts.instance, ports: this.ports });
    const api = createApi(this.c, log, { version: () => ({}), stats: () => ({}) }, { fastLane: opts.fastLane });
    this.api = api;
    // behind the same listener checks as the daemon's sockets (Origin, body type), refusals logged as the daemon does
    this.server = http.createServer(guarded(api.request, {}, refusalLogger(log)));
    this.server.on('upgrade', guardedUpgrade(api.upgrade, {}, refusalLogger(log)));
    this.closeApi = () => api.close();
    await new Promise<void>((r) => this.server!.listen(this.socket, r));
    const info = () => ({ version: '0.0.0-test', drivers: [...this.c.drivers.keys()], networks: this.c.counts().networks, started: new Date() });
    const docker = createDockerApi(this.c, log, { info }, { fastLane: opts.fastLane });
    this.dockerApi = docker;
    this.closeDocker = () => docker.close();
    this.dockerServer = http.createServer(docker.request);
    await new Promise<void>((r) => this.dockerServer!.listen(this.dockerSocket, r));
    return this;
  }

  req(method: string, path: string, body?: unknown): Promise<Reply> {
    return request(this.socket, method, path, body);
  }

  docker(method: string, path: string, body?: unknown, raw?: string): Promise<Reply> {
    return request(this.dockerSocket, method, path, body, raw);
  }

  /** A restart: stop serving, then a new controller (a new InProc) on the same
   *  store, kernel and firewall, as the daemon's next start would find them. */
  async restart(opts: Omit<NonNullable<Parameters<InProc['start']>[0]>, 'store'> = {}): Promise<InProc> {
    await this.stopServing();
    const q = new InProc();
    q.kernel = this.kernel;
    q.firewall = this.firewall;
    return q.start({ ...opts, store: this.store });
  }

  /** Stop serving but keep store and kernel, to start a new controller on them. */
  async stopServing(): Promise<void> {
    this.closeApi();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
    this.closeDocker();
    await new Promise<void>((r) => this.dockerServer?.close(() => r()) ?? r());
  }

  async close(): Promise<void> {
    await this.stopServing();
    await this.store.close();
    this.removeDir();
    process.off('exit', this.removeDir);
  }
}
