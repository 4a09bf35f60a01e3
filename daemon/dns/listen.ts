// One network's listeners: a UDP socket and a TCP server on the network's
// gateway address and lnetd's DNS port (the nft table redirects the
// gateway's port 53 there, so a resolver the host already runs on
// 0.0.0.0:53 is never in the way). TCP framing is bounded: a 2-byte length
// (at most 65535), one connection's buffer never more than one message,
// idle connections closed, connections per source and in total capped.

import dgram from 'node:dgram';
import net from 'node:net';

export type Handle = (msg: Buffer, source: string, tcp: boolean) => Buffer | undefined | Promise<Buffer | undefined>;

export const TCP_IDLE_MS = 10_000;
export const TCP_MAX_CONNS = 512;
export const TCP_MAX_PER_SOURCE = 16;

export class Listener {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly conns = new Map<string, number>();
  private total = 0;
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly address: string, readonly port: number, private readonly handle: Handle, private readonly onError: (err: unknown) => void) {}

  async start(): Promise<void> {
    const udp = dgram.createSocket({ type: net.isIPv6(this.address) ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: this.address, port: this.port, exclusive: true }, () => { udp.off('error', reject); resolve(); });
    });
    udp.on('error', (e) => this.onError(e));
    udp.on('message', (msg, rinfo) => this.onDatagram(udp, msg, rinfo));
    this.udp = udp;
    const tcp = net.createServer({ noDelay: true }, (s) => this.onConnection(s));
    tcp.maxConnections = TCP_MAX_CONNS;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: this.address, port: this.port, exclusive: true, backlog: 128 }, () => { tcp.off('error', reject); resolve(); });
      });
    } catch (err) {
      udp.close();
      this.udp = undefined;
      throw err;
    }
    tcp.on('error', (e) => this.onError(e));
    this.tcp = tcp;
  }

  private onDatagram(udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let out: Buffer | undefined | Promise<Buffer | undefined>;
    try {
      out = this.handle(msg, rinfo.address, false);
    } catch (err) {
      this.onError(err);
      return;
    }
    const send = (b: Buffer | undefined) => { if (b && this.udp === udp) udp.send(b, rinfo.port, rinfo.address); };
    if (out instanceof Promise) out.then(send, (err) => this.onError(err));
    else send(out);
  }

  private onConnection(s: net.Socket): void {
    const src = s.remoteAddress ?? '';
    const mine = this.conns.get(src) ?? 0;
    if (mine >= TCP_MAX_PER_SOURCE) { s.destroy(); return; }
    this.conns.set(src, mine + 1);
    this.total++;
    this.sockets.add(s);
    s.setTimeout(TCP_IDLE_MS, () => s.destroy());
    s.on('error', () => undefined);
    s.on('close', () => {
      this.total--;
      this.sockets.delete(s);
      const n = (this.conns.get(src) ?? 1) - 1;
      if (n <= 0) this.conns.delete(src);
      else this.conns.set(src, n);
    });
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      // a length prefix promises at most 65535 bytes: the buffer never holds more than one message and the next prefix
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (n < 12) { s.destroy(); return; }
        if (buf.length < n + 2) break;
        const msg = Buffer.from(buf.subarray(2, n + 2));
        buf = buf.subarray(n + 2);
        void this.answerTcp(s, msg, src);
      }
    });
  }

  private async answerTcp(s: net.Socket, msg: Buffer, src: string): Promise<void> {
    try {
      const out = await this.handle(msg, src, true);
      if (!out || s.destroyed) return;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length);
      s.write(Buffer.concat([len, out]));
    } catch (err) {
      this.onError(err);
      s.destroy();
    }
  }

  get connections(): number {
    return this.total;
  }

  async close(): Promise<void> {
    const udp = this.udp;
    this.udp = undefined;
    udp?.close();
    const tcp = this.tcp;
    this.tcp = undefined;
    if (!tcp) return;
    const closed = new Promise<void>((r) => { tcp.close(() => r()); });
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
