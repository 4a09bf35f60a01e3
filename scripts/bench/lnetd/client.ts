// A runtime's view of lnetd: HTTP/1.1 over the unix socket with one
// keep-alive connection, reused for every call.

import { Agent, request } from 'node:http';

export interface Reply { status: number; body: string }

export class LnetdClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  constructor(readonly socketPath: string) {}

  request(method: string, path: string, body?: unknown): Promise<Reply> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { host: 'lnetd' };
    if (data !== undefined) { headers['content-type'] = 'application/json'; headers['content-length'] = Buffer.byteLength(data); }
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, agent: this.agent, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  /** A call that must succeed; returns the parsed JSON body (or undefined if empty). */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(method, path, body);
    if (r.status < 200 || r.status > 299) throw new Error(`lnetd ${method} ${path}: ${r.status} ${r.body.trim()}`);
    return (r.body.trim() === '' ? undefined : JSON.parse(r.body)) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}
