// Checks every listener applies before any surface sees a request, so that a
// web page can't drive the daemon (CSRF) and a DNS name rebound to loopback
// can't either (DNS rebinding):
// - a request body must be JSON (`Content-Type: application/json`, as Docker's
//   API requires): forms and text/plain, which a page may send cross-site
//   without a preflight, are 415;
// - on TCP the Host header must name the listener itself (its address,
//   localhost or a loopback literal, with its port): a rebound name is 403;
// - an Origin header, which browsers send with cross-site requests and
//   runtimes and curl never do, is 403 unless it is in the allowed list.
// Unix-socket listeners can't be reached by a browser; they still get the
// body and Origin checks. Replies use the error shape every surface shares.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface ListenerIdentity {
  /** TCP listeners: the address and port bound; absent for unix sockets. */
  tcp?: { host: string; port: number };
  /** Origins allowed to call (exact `scheme://host[:port]`); none by default. */
  allowedOrigins?: readonly string[];
}

interface Refusal { status: number; code: string; message: string }

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** The Host values a TCP listener answers to. */
export function ownHosts(tcp: { host: string; port: number }): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]', tcp.host.includes(':') ? `[${tcp.host}]` : tcp.host]);
  return new Set([...names].map((n) => `${n.toLowerCase()}:${tcp.port}`));
}

/** Why this listener must not serve the request, or undefined. */
export function refusal(req: IncomingMessage, id: ListenerIdentity, hosts = id.tcp && ownHosts(id.tcp)): Refusal | undefined {
  if (hosts) {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!hosts.has(host)) return { status: 403, code: 'FORBIDDEN_HOST', message: `Host ${JSON.stringify(host.slice(0, 100))} is not this listener's address (use one of ${[...hosts].join(', ')})` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !(id.allowedOrigins ?? []).includes(origin)) {
    return { status: 403, code: 'FORBIDDEN_ORIGIN', message: `requests from web pages are refused (Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed)` };
  }
  if (hasBody(req) && !JSON_TYPE.test(req.headers['content-type'] ?? '')) {
    return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: `request bodies must be JSON: send Content-Type: application/json (got ${JSON.stringify((req.headers['content-type'] ?? 'none').slice(0, 100))})` };
  }
  return undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The handler behind the checks, for one listener. */
export function guarded(handler: Handler, id: ListenerIdentity, onRefuse?: (req: IncomingMessage, r: Refusal) => void): Handler {
  const hosts = id.tcp && ownHosts(id.tcp);
  return (req, res) => {
    const r = refusal(req, id, hosts);
    if (!r) return handler(req, res);
    onRefuse?.(req, r);
    const body = JSON.stringify({ message: r.message, code: r.code });
    // the body is not read: close the connection rather than parse what follows
    res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  };
}

type Upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The same checks for websocket upgrades: browsers open cross-site websockets
 *  freely, so an event stream must not answer a page (Host, Origin). */
export function guardedUpgrade(upgrade: Upgrade, id: ListenerIdentity, onRefuse?: (req: IncomingMessage, r: Refusal) => void): Upgrade {
  const hosts = id.tcp && ownHosts(id.tcp);
  return (req, socket, head) => {
    const r = refusal(req, id, hosts);
    if (!r) return upgrade(req, socket, head);
    onRefuse?.(req, r);
    const body = JSON.stringify({ message: r.message, code: r.code });
    socket.end(`HTTP/1.1 ${r.status} ${r.status === 415 ? 'Unsupported Media Type' : 'Forbidden'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  };
}
