// A DNS client the kernel tests run inside a sandbox (nsenter … node this):
//   every SERVER NAME MS   one query every MS ms, each retried every 2 s up to 5
//                          tries (10 s in all, as long as glibc's default 5 s x 2
//                          attempts), until stdin closes; prints
//                          {"sent","answered","lost","refused","retried","maxMs"}
//                          (refused: ECONNREFUSED, which fails a glibc lookup at once)
//   flood SERVER NAME QPS SECONDS   QPS queries a second, no waiting; prints {"sent","answered"}
//   upstream ADDR           a tiny upstream resolver for the "upstream" namespace:
//                          A for *.example → 198.51.100.7 (UDP and TCP)

import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

const [mode, a1, a2, a3, a4] = process.argv.slice(2);

function query(name: string, id: number): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
}

if (mode === 'every') {
  // as glibc's resolver does: a connected UDP socket per query, so a "port
  // unreachable" comes back as ECONNREFUSED and fails the query at once
  const [server, name, ms] = [a1!, a2!, Number(a3)];
  const stats = { sent: 0, answered: 0, lost: 0, refused: 0, retried: 0, maxMs: 0 };
  let open = 0;
  let stopping = false;
  let next = 1;
  const finish = () => {
    if (stopping && open === 0) {
      clearInterval(tick);
      process.stdout.write(JSON.stringify(stats) + '\n');
    }
  };
  const ask = () => {
    const id = next++ & 0xffff;
    const at = Date.now();
    const sock = dgram.createSocket('udp4');
    let tries = 1;
    let done = false;
    open++;
    stats.sent++;
    const end = (field?: 'lost' | 'refused') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      open--;
      if (field) stats[field]++;
      else { stats.answered++; stats.maxMs = Math.max(stats.maxMs, Date.now() - at); }
      finish();
    };
    const send = () => sock.send(query(name, id), (err) => { if (err) end((err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'refused' : 'lost'); });
    let timer: NodeJS.Timeout = setTimeout(function retry() {
      if (tries >= 5) return end('lost');
      tries++;
      stats.retried++;
      send();
      timer = setTimeout(retry, 2000);
    }, 2000);
    sock.on('error', (err) => end((err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'refused' : 'lost'));
    sock.on('message', (m) => {
      const p = dnsPacket.decode(m);
      if (p.id === id && (p.answers ?? []).length > 0) end();
    });
    sock.connect(53, server, () => send());
  };
  const tick = setInterval(() => { if (!stopping) ask(); }, ms);
  process.stdin.on('end', () => { stopping = true; finish(); });
  process.stdin.resume();
} else if (mode === 'flood') {
  const [server, name, qps, seconds] = [a1!, a2!, Number(a3), Number(a4)];
  const sock = dgram.createSocket('udp4');
  const stats = { sent: 0, answered: 0 };
  sock.on('message', () => stats.answered++);
  const end = Date.now() + seconds * 1000;
  const start = Date.now();
  const burst = () => {
    const due = Math.floor(((Date.now() - start) / 1000) * qps);
    while (stats.sent < due) { sock.send(query(name, stats.sent & 0xffff), 53, server); stats.sent++; }
    if (Date.now() < end) setTimeout(burst, 5);
    else setTimeout(() => { process.stdout.write(JSON.stringify(stats) + '\n'); sock.close(); }, 300);
  };
  burst();
} else if (mode === 'upstream') {
  const addr = a1!;
  const answer = (m: Buffer): Buffer | undefined => {
    const p = dnsPacket.decode(m);
    const qn = p.questions?.[0];
    if (!qn) return undefined;
    const ours = qn.type === 'A' && qn.name.toLowerCase().endsWith('.example');
    return dnsPacket.encode({ type: 'response', id: p.id, flags: dnsPacket.RECURSION_AVAILABLE | (ours ? 0 : 3), questions: p.questions, answers: ours ? [{ type: 'A', name: qn.name, ttl: 30, data: '198.51.100.7' }] : [] });
  };
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => { const a = answer(m); if (a) u.send(a, r.port, r.address); });
  u.bind(53, addr);
  net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < buf.readUInt16BE(0) + 2) return;
      const a = answer(buf.subarray(2, buf.readUInt16BE(0) + 2));
      if (!a) return void s.destroy();
      const l = Buffer.alloc(2);
      l.writeUInt16BE(a.length);
      s.end(Buffer.concat([l, a]));
    });
    s.on('error', () => undefined);
  }).listen(53, addr, () => process.stdout.write('ready\n'));
} else {
  process.stderr.write('usage: every|flood|upstream …\n');
  process.exit(2);
}
