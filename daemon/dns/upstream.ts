// The host's upstream resolvers, from its resolv.conf, re-read when the file
// changes (NetworkManager, systemd-resolved and DHCP clients replace it by
// rename, so the directory is watched and the file re-checked by mtime).

import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { isIP } from 'node:net';

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** resolv.conf as glibc reads it: the last search/domain line wins, comments start with # or ;. */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) {
      const addr = rest[0].replace(/%.*$/, '');
      if (isIP(addr) !== 0 && !out.nameservers.includes(addr)) out.nameservers.push(addr);
    } else if (key === 'search' || key === 'domain') out.search = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

export class Upstreams {
  current: ResolvConf = { nameservers: [], search: [], options: [] };
  private mtime = -1;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;

  constructor(readonly path: string, private readonly onError: (err: unknown) => void = () => undefined) {}

  async load(): Promise<void> {
    try {
      const st = await stat(this.path);
      if (st.mtimeMs === this.mtime) return;
      this.current = parseResolvConf(await readFile(this.path, 'utf8'));
      this.mtime = st.mtimeMs;
    } catch (err) {
      // no resolv.conf: nothing to forward to (answers SERVFAIL), as glibc would do without one
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') { this.current = { nameservers: [], search: [], options: [] }; this.mtime = -1; return; }
      this.onError(err);
    }
  }

  /** Re-read on every change in its directory, and every 5 s in case an event was missed. */
  async start(): Promise<void> {
    await this.load();
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_ev, file) => {
        if (!file || file === name) void this.load();
      });
      this.watcher.on('error', () => undefined);
    } catch (err) {
      this.onError(err);
    }
    this.timer = setInterval(() => void this.load(), 5000);
    this.timer.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }
}
