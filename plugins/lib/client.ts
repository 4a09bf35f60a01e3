// The plug-ins' one client of lnetd's API over its unix socket (lnetd-cni and
// lnetd-netavark), with node builtins only: a plug-in is a process per call, so
// it must start fast (no daemon code, no npm modules). Every call has a
// deadline, so a daemon that is down, stuck or gone answers an error, never a hang.

import http from 'node:http';

export const DEFAULT_SOCKET = '/run/lnetd/lnetd.sock';
/** Per request: long enough for a loaded daemon's join, short enough that a runtime never hangs. */
export const DEFAULT_TIMEOUT_MS = 5000;

export interface Reply { status: number; body: any; text: string }

/** An answer of lnetd that is not 2xx: status and the daemon's stable code. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

/** The daemon could not be reached or did not answer in time. */
export class Unreachable extends Error {}

export class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(readonly socket: string, readonly timeoutMs = DEFAULT_TIMEOUT_MS) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): Client {
    const raw = env.LNETD_TIMEOUT_MS;
    const ms = raw && /^\d{1,7}$/.test(raw) && Number(raw) > 0 ? Number(raw) : DEFAULT_TIMEOUT_MS;
    return new Client(env.LNETD_SOCKET || DEFAULT_SOCKET, ms);
  }

  /** One request; resolves with any status, rejects Unreachable on connect failure or timeout. */
  raw(method: string, path: string, body?: unknown): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => { if (!settled) { settled = true; clearTimeout(timer); reject(err); } };
      const req = http.request({
        socketPath: this.socket, method, path, agent: this.agent,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => fail(new Unreachable(`lnetd at ${this.socket}: ${e.message}`)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      });
      const timer = setTimeout(() => {
        fail(new Unreachable(`lnetd at ${this.socket} did not answer ${method} ${path.split('?')[0]} within ${this.timeoutMs} ms`));
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => {
        const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is the daemon running? set LNETD_SOCKET to its socket)' : '';
        fail(new Unreachable(`lnetd is not reachable at ${this.socket}: ${e.code ?? e.message}${hint}`));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** A 2xx answer's body, else ApiError with the daemon's message and code. */
  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.raw(method, path, body);
    if (r.status >= 200 && r.status < 300) return r.body as T;
    const msg = typeof r.body?.message === 'string' ? r.body.message : r.text.slice(0, 300) || `HTTP ${r.status}`;
    throw new ApiError(r.status, typeof r.body?.code === 'string' ? r.body.code : '', msg);
  }

  close(): void { this.agent.destroy(); }
}
