// Real traffic between test namespaces: small TCP servers and clients run
// with node inside a namespace (nsenter, argument arrays). A server answers
// "<tag> <peer address>" so a test can see both who answered and whom it saw.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const SERVER = `const net=require('net');const [tag,port,host]=process.argv.slice(1);
net.createServer(s=>{s.end(tag+' '+s.remoteAddress.replace(/^::ffff:/,''))}).listen(+port,host||'::',()=>console.log('ready'));`;
const CLIENT = `const net=require('net');const [host,port]=process.argv.slice(1);
const s=net.connect({host,port:+port,timeout:1500});let b='';s.on('data',d=>b+=d);
s.on('end',()=>{console.log(b);process.exit(0)});s.on('timeout',()=>{console.log('TIMEOUT');process.exit(1)});
s.on('error',e=>{console.log('ERR '+e.code);process.exit(1)});`;

const servers: ChildProcess[] = [];
process.on('exit', () => { for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL'); });

/** A TCP server inside nsPath; resolves when it listens. */
export function serve(nsPath: string, port: number, tag: string, host = '::'): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${nsPath}`, process.execPath, '-e', SERVER, tag, String(port), host], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (b: Buffer) => { err += b; });
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`server in ${nsPath} exited ${code}: ${err}`)));
  });
}

/** Connect from nsPath; the server's answer, or "ERR …"/"TIMEOUT". */
export function connect(nsPath: string, host: string, port: number): string {
  const r = spawnSync('nsenter', [`--net=${nsPath}`, process.execPath, '-e', CLIENT, host, String(port)], { encoding: 'utf8', timeout: 5000 });
  return (r.stdout ?? '').trim() || `ERR exit ${r.status}`;
}

/** Ping from nsPath until one answer comes (every 0.2 s, for up to 2 s, so a
 *  first ARP exchange on a loaded machine doesn't fail it): true when answered. */
export function ping(nsPath: string, addr: string): boolean {
  const r = spawnSync('nsenter', [`--net=${nsPath}`, 'ping', '-n', '-q', '-c', '1', '-i', '0.2', '-w', '2', addr], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0;
}

export function stopAll(): void {
  for (const s of servers.splice(0)) if (s.exitCode === null) s.kill('SIGKILL');
}
