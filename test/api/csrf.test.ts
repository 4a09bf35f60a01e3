// A web page can't drive the daemon: over TCP (what a browser can reach) a
// form or text/plain body is 415, a rebound Host is 403 and a page's Origin is
// 403; the unix socket refuses the same bodies and Origins. Nothing changes.
// The curl client runs inside the daemon's throwaway namespace.

import t from 'tap';
import { TestDaemon } from '../lib/daemon.js';

const PORT = 23761;

if (process.getuid?.() !== 0) {
  t.plan(0, 'the api tier needs root (it runs the daemon in a throwaway network namespace)');
} else {
  t.test('TCP and unix listeners refuse what a web page can send', async (t) => {
    const d = new TestDaemon(['--tcp', `127.0.0.1:${PORT}`]);
    t.teardown(() => d.cleanup());
    await d.start();
    const body = JSON.stringify({ name: 'forged', network_type: 'null' });
    /** curl inside the daemon's namespace: [status, body]. */
    const curl = (headers: string[], data = body, url = `http://127.0.0.1:${PORT}/networks`): [number, any] => {
      const r = d.exec(['curl', '-s', '-o', '-', '-w', '\n%{http_code}', '-X', 'POST', ...headers.flatMap((h) => ['-H', h]), '--data-binary', data, url]);
      const lines = r.stdout.trimEnd().split('\n');
      const status = Number(lines.pop());
      let json: unknown;
      try { json = JSON.parse(lines.join('\n')); } catch { json = lines.join('\n'); }
      return [status, json];
    };
    const cases: Array<[string, string[], number, string]> = [
      ['text/plain body', ['Content-Type: text/plain'], 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['form body (curl -d default)', ['Content-Type: application/x-www-form-urlencoded'], 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['multipart body', ['Content-Type: multipart/form-data; boundary=x'], 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['no content type', ['Content-Type:'], 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['rebound Host', ['Content-Type: application/json', `Host: evil.example:${PORT}`], 403, 'FORBIDDEN_HOST'],
      ['Host on another port', ['Content-Type: application/json', 'Host: 127.0.0.1:80'], 403, 'FORBIDDEN_HOST'],
      ["a page's Origin", ['Content-Type: application/json', 'Origin: http://evil.example'], 403, 'FORBIDDEN_ORIGIN'],
      ['Origin null (sandboxed frame)', ['Content-Type: application/json', 'Origin: null'], 403, 'FORBIDDEN_ORIGIN'],
    ];
    for (const [what, headers, status, code] of cases) {
      const [got, json] = curl(headers);
      t.equal(got, status, `tcp: ${what} → ${status}`);
      t.equal(json?.code, code, json?.message);
    }
    t.equal((await d.req('GET', '/networks?name=forged')).json.length, 0, 'nothing was created');
    const [ok, id] = curl(['Content-Type: application/json']);
    t.equal(ok, 200, 'a JSON body with the listener\'s own Host is served');
    t.match(id, /^[0-9a-f]{64}$/);
    t.equal(curl(['Content-Type: application/json; charset=utf-8', `Host: localhost:${PORT}`], JSON.stringify({ name: 'viaLocalhost', network_type: 'null' }))[0], 200, 'localhost and a charset parameter are fine');
    t.equal(d.exec(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${PORT}/_ping`]).stdout, '200', 'a GET without a body needs no content type');

    const ws = (origin: string): string => d.exec(['curl', '-s', '-i', '--max-time', '3', '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...(origin ? ['-H', `Origin: ${origin}`] : []), `http://127.0.0.1:${PORT}/events`]).stdout.split('\r\n')[0] ?? '';
    t.match(ws('http://evil.example'), /^HTTP\/1\.1 403/, 'a websocket to /events from a page is 403');
    t.match(ws(''), /^HTTP\/1\.1 101/, 'and from a client without an Origin it upgrades');
    const unixBody = JSON.stringify({ name: 'overUnix', network_type: 'null' });
    const unix = (headers: string[]): number => Number(d.exec(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', d.socket, '-X', 'POST', ...headers.flatMap((h) => ['-H', h]), '--data-binary', unixBody, 'http://lnetd/networks']).stdout);
    t.equal(unix(['Content-Type: text/plain']), 415, 'unix socket: text/plain is 415');
    t.equal(unix(['Content-Type: application/json', 'Origin: http://evil.example']), 403, 'unix socket: an Origin is 403');
    t.equal(unix(['Content-Type: application/json', 'Host: anything']), 200, 'unix socket: any Host (no browser reaches it)');
  });
}
