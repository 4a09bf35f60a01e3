// Every route of the seed API. Each handler parses, calls one controller
// operation, and shapes the reply.

import Router from '@koa/router';
import type { Controller } from '../../controller/controller.js';
import type { NameFilter } from '../../controller/types.js';
import { BadRequest, NotFound } from '../../../errors/index.js';
import { parseCreateEndpoint, parseCreateNetwork, parseFilters, parseJoin, parsePublish } from './requests.js';
import { CONTAINER_ID_RE } from './validate.js';
import * as wire from './wire.js';

/** The seed's `name` and `partial-id` query filters. */
const nameFilter = (f: Record<string, string>): NameFilter => ({ name: f.name, idPrefix: f['partial-id'] });

function containerParam(id: string): string {
  if (!CONTAINER_ID_RE.test(id)) throw new BadRequest(`container id ${JSON.stringify(id.slice(0, 80))} is not valid`, 'INVALID_PARAMETER');
  return id;
}

export interface Extra {
  version: () => object;
  stats: () => object;
  /** Rebuild lnetd's firewall tables from the records (after someone flushed the ruleset). */
  reapply?: () => Promise<object>;
  /** What is wrong with the daemon (a failed store), or undefined when healthy: /_ping answers 503 with it. */
  health?: () => string | undefined;
  /** GET /_reconcile: the last sweep's report; POST /_reconcile[?apply=true]: sweep now (a dry run without apply=true). */
  reconcile?: { report: () => object; run: (apply: boolean) => Promise<object> };
}

/** A JSON answer set as its text: Koa's body setter, handed an object, first
 *  checks it against the fetch globals (ReadableStream, Blob, Response), and
 *  the first such check loads Node's bundled undici (~50-85 ms of CPU in a
 *  restarted daemon's first answer). The bytes are the same (Koa stringifies
 *  objects the same way). */
function json(ctx: { type: string; body: unknown }, value: unknown): void {
  ctx.body = JSON.stringify(value);
  ctx.type = 'application/json';
}

/** The routes an attach and a detach take, as functions of their parameters
 *  and body: Koa's routes below and the fast lane (app.ts) both answer with
 *  these. The first two answer JSON text, the last two an empty body. */
export function hotRoutes(c: Controller) {
  return {
    createEndpoint: async (nid: string, body: unknown): Promise<string> => JSON.stringify((await c.createEndpoint(nid, parseCreateEndpoint(body))).id),
    join: async (nid: string, eid: string, body: unknown): Promise<string> => JSON.stringify(await c.join(nid, eid, parseJoin(body))),
    leave: async (nid: string, eid: string, cid: string): Promise<void> => { await c.leave(nid, eid, containerParam(cid)); },
    deleteEndpoint: async (nid: string, eid: string): Promise<void> => { await c.deleteEndpoint(nid, eid); },
  };
}

export function routes(c: Controller, extra: Extra): Router {
  const r = new Router();
  const hot = hotRoutes(c);

  const ping = (ctx: { type: string; body: unknown; status: number }) => {
    const problem = extra.health?.();
    ctx.type = 'text/plain';
    ctx.status = problem ? 503 : 200;
    ctx.body = problem ?? 'OK';
  };
  r.get('/_reconcile', (ctx) => {
    if (!extra.reconcile) throw new NotFound('this daemon has no reconcile report');
    json(ctx, extra.reconcile.report());
  });
  r.post('/_reconcile', async (ctx) => {
    if (!extra.reconcile) throw new NotFound('this daemon has no reconcile report');
    const apply = ctx.query.apply;
    if (apply !== undefined && apply !== 'true' && apply !== 'false') throw new BadRequest(`apply must be true or false, not ${JSON.stringify(String(apply).slice(0, 20))}`, 'INVALID_PARAMETER');
    ctx.body = await extra.reconcile.run(apply === 'true');
  });
  r.get('/_ping', ping);
  r.head('/_ping', ping);
  r.get('/version', (ctx) => { json(ctx, extra.version()); });
  r.get('/_stats', (ctx) => { json(ctx, extra.stats()); });
  r.post('/_reapply', async (ctx) => {
    if (!extra.reapply) throw new NotFound('this daemon has no firewall to re-apply');
    ctx.body = await extra.reapply();
  });

  r.get('/networks', (ctx) => {
    const f = parseFilters(ctx.query, ['name', 'partial-id']);
    json(ctx, c.listNetworks(nameFilter(f)).map(wire.network));
  });
  r.post('/networks', async (ctx) => {
    ctx.body = JSON.stringify((await c.createNetwork(parseCreateNetwork(ctx.request.body))).id);
    ctx.type = 'application/json';
  });
  r.get('/networks/:nid', (ctx) => { json(ctx, wire.network(c.inspectNetwork(ctx.params.nid))); });
  r.delete('/networks/:nid', async (ctx) => { await c.deleteNetwork(ctx.params.nid); ctx.status = 200; ctx.body = ''; });

  r.get('/networks/:nid/endpoints', (ctx) => {
    const f = parseFilters(ctx.query, ['name', 'partial-id']);
    json(ctx, c.listEndpoints(ctx.params.nid, nameFilter(f)).map(wire.endpoint));
  });
  r.post('/networks/:nid/endpoints', async (ctx) => {
    ctx.body = await hot.createEndpoint(ctx.params.nid, ctx.request.body);
    ctx.type = 'application/json';
  });
  r.get('/networks/:nid/endpoints/:eid', (ctx) => { json(ctx, wire.endpoint(c.inspectEndpoint(ctx.params.nid, ctx.params.eid))); });
  r.delete('/networks/:nid/endpoints/:eid', async (ctx) => { await hot.deleteEndpoint(ctx.params.nid, ctx.params.eid); ctx.status = 200; ctx.body = ''; });

  r.post('/networks/:nid/endpoints/:eid/containers', async (ctx) => {
    ctx.body = await hot.join(ctx.params.nid, ctx.params.eid, ctx.request.body);
    ctx.type = 'application/json';
  });
  r.delete('/networks/:nid/endpoints/:eid/containers/:cid', async (ctx) => {
    await hot.leave(ctx.params.nid, ctx.params.eid, ctx.params.cid);
    ctx.status = 200;
    ctx.body = '';
  });

  r.get('/services', (ctx) => {
    const f = parseFilters(ctx.query, ['name', 'partial-id', 'network']);
    json(ctx, c.listServices({ ...nameFilter(f), network: f.network }).map(wire.endpoint));
  });
  r.post('/services', async (ctx) => {
    ctx.body = JSON.stringify((await c.publish(parsePublish(ctx.request.body))).id);
    ctx.type = 'application/json';
  });
  r.get('/services/:sid', (ctx) => { json(ctx, wire.endpoint(c.inspectService(ctx.params.sid))); });
  r.delete('/services/:sid', async (ctx) => {
    await c.unpublish(ctx.params.sid);
    ctx.status = 200;
    ctx.body = '';
  });
  r.post('/services/:sid/backend', async (ctx) => {
    ctx.body = JSON.stringify(await c.attachBackend(ctx.params.sid, parseJoin(ctx.request.body)));
    ctx.type = 'application/json';
  });
  r.get('/services/:sid/backend', (ctx) => {
    json(ctx, c.serviceBackends(ctx.params.sid).map((id) => ({ id })));
  });
  r.delete('/services/:sid/backend/:cid', async (ctx) => {
    await c.detachBackend(ctx.params.sid, containerParam(ctx.params.cid));
    ctx.status = 200;
    ctx.body = '';
  });
  return r;
}
