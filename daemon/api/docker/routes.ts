// Every route of the Docker surface. Each handler parses, makes one
// controller call (through networks.ts) and shapes the reply in dockerd's
// wire format. Paths are without the /v1.NN prefix (app.ts strips it).

import Router from '@koa/router';
import type Koa from 'koa';
import type { Controller } from '../../controller/controller.js';
import { DockerError } from './errors.js';
import { parseFilters } from './filters.js';
import * as nets from './networks.js';
import { parseConnect, parseCreate, parseDisconnect } from './parse.js';
import type { View } from './query.js';
import { infoBody, versionBody, type ServerInfo } from './system.js';
import * as wire from './wire.js';

export interface DockerExtra {
  info: () => ServerInfo;
}

/** Route families of the Engine API that lnetd does not serve. */
const NOT_SERVED = /^\/(containers|images|volumes|build|swarm|services|nodes|tasks|secrets|configs|plugins|exec|system|distribution|session|auth|commit|grpc)(\/|$)/;

export function notServed(method: string, path: string): DockerError {
  const m = NOT_SERVED.exec(path);
  const what = m ? `${m[1]} are` : `${path.slice(0, 100)} is`;
  return new DockerError(404, `lnetd serves the Docker Engine network API only: ${what} not served (${method} ${path.slice(0, 100)}); networks, events, _ping, version and info are`);
}

function ping(ctx: Koa.Context): void {
  ctx.set('Cache-Control', 'no-cache, no-store, must-revalidate');
  ctx.set('Pragma', 'no-cache');
  ctx.set('Swarm', 'inactive');
  ctx.type = 'text/plain; charset=utf-8';
  if (ctx.method === 'HEAD') {
    ctx.status = 200;
    ctx.set('Content-Length', '0');
    return;
  }
  ctx.body = 'OK';
}

/** The routes an attach and a detach take (connect, disconnect), as functions
 *  of the network and the body: Koa's routes below and the fast lane (app.ts)
 *  both answer with these, an empty body when they succeed. */
export function dockerHotRoutes(c: Controller, v: View) {
  return {
    connect: async (id: string, body: unknown): Promise<void> => { await nets.connectContainer(c, v, id, parseConnect(body)); },
    disconnect: async (id: string, body: unknown): Promise<void> => {
      const req = parseDisconnect(body);
      await nets.disconnectContainer(c, v, id, req.container);
    },
  };
}

export function dockerRoutes(c: Controller, v: View, extra: DockerExtra): Router {
  const r = new Router();
  const hot = dockerHotRoutes(c, v);
  r.get('/_ping', ping);
  r.head('/_ping', ping);
  r.get('/version', (ctx) => { ctx.body = versionBody(extra.info()); });
  r.get('/info', (ctx) => { ctx.body = infoBody(extra.info()); });

  r.get('/networks', (ctx) => {
    ctx.body = nets.listNetworks(v, parseFilters(ctx.query.filters)).map((n) => wire.network(n, undefined));
  });
  r.post('/networks/create', async (ctx) => {
    const id = await nets.createDockerNetwork(c, v, parseCreate(ctx.request.body));
    ctx.status = 201;
    ctx.body = { Id: id, Warning: '' };
  });
  r.post('/networks/prune', async (ctx) => {
    ctx.body = { NetworksDeleted: await nets.pruneNetworks(c, v, parseFilters(ctx.query.filters)) };
  });
  r.get('/networks/:id', (ctx) => {
    const { net, eps } = nets.inspectNetwork(v, ctx.params.id, ctx.query);
    ctx.body = wire.network(net, eps);
  });
  r.delete('/networks/:id', async (ctx) => {
    await nets.removeNetwork(c, v, ctx.params.id);
    ctx.status = 204;
  });
  r.post('/networks/:id/connect', async (ctx) => {
    await hot.connect(ctx.params.id, ctx.request.body);
    ctx.status = 200;
    ctx.body = '';
  });
  r.post('/networks/:id/disconnect', async (ctx) => {
    await hot.disconnect(ctx.params.id, ctx.request.body);
    ctx.status = 200;
    ctx.body = '';
  });
  return r;
}
