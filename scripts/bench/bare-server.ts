// The API stage's yardstick: a bare node:http server on a unix socket that
// answers every request with the bytes lnetd gave for GET /networks.
// Usage: node bare-server.js <socket> <body file>

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const [socket, bodyFile] = process.argv.slice(2) as [string, string];
const body = readFileSync(bodyFile);
createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
}).listen(socket, () => process.stdout.write('ready\n'));
// Our parent holds our stdin; when it goes, so do we.
process.stdin.on('end', () => process.exit(0)).resume();
