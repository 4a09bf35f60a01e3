// One closed-loop DNS client for the bench's DNS stage, run inside a
// container's namespace: asks SERVER for NAME (A) over UDP for SECONDS, one
// query in flight at a time, and prints {"answered","lost","lat_us":[…]}
// (a query unanswered after 1 s is lost and asked again).

import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

const [server, name, seconds] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4] ?? 3)];
const sock = dgram.createSocket('udp4');
const lat: number[] = [];
let lost = 0;
let id = 0;
let sentAt = 0;
let timer: NodeJS.Timeout | undefined;
const end = performance.now() + seconds * 1000;

function ask(): void {
  if (performance.now() >= end) {
    sock.close();
    process.stdout.write(JSON.stringify({ answered: lat.length, lost, lat_us: lat }) + '\n');
    return;
  }
  id = (id + 1) & 0xffff;
  sentAt = performance.now();
  sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), 53, server);
  timer = setTimeout(() => { lost++; ask(); }, 1000);
}

sock.on('message', (m) => {
  if (m.length < 12 || m.readUInt16BE(0) !== id) return;
  clearTimeout(timer);
  lat.push(Math.round((performance.now() - sentAt) * 1000));
  ask();
});
sock.bind(0, () => ask());
