// A tiny client of lnetd's API over its unix socket, node builtins only (a CNI
// plugin is a process per call: start-up is most of its cost). Every call has
// a deadline, so a daemon that is down or stuck gives an error, never a hang.

import http from 'node:http';

export const DEFAULT_SOCKET = '/run/lnetd/lnetd.sock';
export const DEFAULT_TIMEOUT_MS = 5000;

export interface Reply { status: number; body: any; text: string }

/** The daemon did not answer: not listening, refused, or too slow. */
export class Unreachable extends Error {}

/** A non-2xx answer of the daemon, with its stable code. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

export class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(readonly socket: string, readonly timeoutMs = DEFAULT_TIMEOUT_MS) {}

  raw(method: string, path: string, body?: unknown): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      let done = false;
      const fail = (e: Error): void => { if (!done) { done = true; clearTimeout(timer); reject(e); } };
      const req = http.request({
        socketPath: this.socket, method, path, agent: this.agent,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => fail(new Unreachable(`lnetd at ${this.socket}: ${e.message}`)));
        res.on('end', () => {
          if (done) return;
          done = true;
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
      req.on('error', (e: NodeJS.ErrnoException) => fail(new Unreachable(`lnetd at ${this.socket}: ${e.code ?? e.message}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** A call that must answer 2xx: its body, or ApiError. */
  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.raw(method, path, body);
    if (r.status < 200 || r.status >= 300) throw new ApiError(r.status, r.body?.code ?? '', `${method} ${path.split('?')[0]}: ${r.body?.message ?? r.text}`);
    return r.body as T;
  }

  close(): void {
    this.agent.destroy();
  }
}
