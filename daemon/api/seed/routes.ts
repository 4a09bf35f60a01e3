// Every route of the seed API. Each handler parses, calls one controller
// operation, and shapes the reply.

import Router from '@koa/router';
import type { Controller } from '../../controller/controller.js';
import { createEndpoint, deleteEndpoint } from '../../controller/endpoints.js';
import { join, leave } from '../../controller/join.js';
import { createNetwork, deleteNetwork } from '../../controller/networks.js';
import { BadRequest, NotFound } from '../../../errors/index.js';
import { parseCreateEndpoint, parseCreateNetwork, parseFilters, parseJoin, parsePublish } from './requests.js';
import { CONTAINER_ID_RE } from './validate.js';
import * as wire from './wire.js';

interface Named { id: string; name: string }

function filtered<T extends Named>(items: T[], f: Record<string, string>): T[] {
  return items.filter((i) => (f.name === undefined || i.name === f.name) && (f['partial-id'] === undefined || i.id.startsWith(f['partial-id'])));
}

function containerParam(id: string): string {
  if (!CONTAINER_ID_RE.test(id)) throw new BadRequest(`container id ${JSON.stringify(id.slice(0, 80))} is not valid`);
  return id;
}

export interface Extra {
  version: () => object;
  stats: () => object;
  /** Rebuild lnetd's firewall tables from the records (after someone flushed the ruleset). */
  reapply?: () => Promise<object>;
}

export function routes(c: Controller, extra: Extra): Router {
  const r = new Router();
  const s = c.state;

  r.get('/_ping', (ctx) => { ctx.type = 'text/plain'; ctx.body = 'OK'; });
  r.head('/_ping', (ctx) => { ctx.type = 'text/plain'; ctx.body = 'OK'; });
  r.get('/version', (ctx) => { ctx.body = extra.version(); });
  r.get('/_stats', (ctx) => { ctx.body = extra.stats(); });
  r.post('/_reapply', async (ctx) => {
    if (!extra.reapply) throw new NotFound('this daemon has no firewall to re-apply');
    ctx.body = await extra.reapply();
  });

  r.get('/networks', (ctx) => {
    const f = parseFilters(ctx.query, ['name', 'partial-id']);
    ctx.body = filtered([...s.networks.values()], f).map((n) => wire.network(s, n));
  });
  r.post('/networks', async (ctx) => {
    ctx.body = JSON.stringify((await createNetwork(c, parseCreateNetwork(ctx.request.body))).id);
    ctx.type = 'application/json';
  });
  r.get('/networks/:nid', (ctx) => { ctx.body = wire.network(s, c.network(ctx.params.nid)); });
  r.delete('/networks/:nid', async (ctx) => { await deleteNetwork(c, ctx.params.nid); ctx.status = 200; ctx.body = ''; });

  r.get('/networks/:nid/endpoints', (ctx) => {
    const f = parseFilters(ctx.query, ['name', 'partial-id']);
    const net = c.network(ctx.params.nid);
    ctx.body = filtered(s.networkEndpoints(net.id), f).map((e) => wire.endpoint(s, e));
  });
  r.post('/networks/:nid/endpoints', async (ctx) => {
    ctx.body = JSON.stringify((await createEndpoint(c, ctx.params.nid, parseCreateEndpoint(ctx.request.body))).id);
    ctx.type = 'application/json';
  });
  r.get('/networks/:nid/endpoints/:eid', (ctx) => { ctx.body = wire.endpoint(s, c.endpoint(c.network(ctx.params.nid), ctx.params.eid)); });
  r.delete('/networks/:nid/endpoints/:eid', async (ctx) => { await deleteEndpoint(c, ctx.params.nid, ctx.params.eid); ctx.status = 200; ctx.body = ''; });

  r.post('/networks/:nid/endpoints/:eid/containers', async (ctx) => {
    ctx.body = JSON.stringify(await join(c, ctx.params.nid, ctx.params.eid, parseJoin(ctx.request.body)));
    ctx.type = 'application/json';
  });
  r.delete('/networks/:nid/endpoints/:eid/containers/:cid', async (ctx) => {
    await leave(c, ctx.params.nid, ctx.params.eid, containerParam(ctx.params.cid));
    ctx.status = 200;
    ctx.body = '';
  });

  r.get('/services', (ctx) => {
    const f = parseFilters(ctx.query, ['name', 'partial-id', 'network']);
    const net = f.network === undefined ? undefined : c.network(f.network);
    const eps = net ? s.networkEndpoints(net.id) : [...s.endpoints.values()];
    ctx.body = filtered(eps, f).map((e) => wire.endpoint(s, e));
  });
  r.post('/services', async (ctx) => {
    const req = parsePublish(ctx.request.body);
    ctx.body = JSON.stringify((await createEndpoint(c, req.networkName, req)).id);
    ctx.type = 'application/json';
  });
  r.get('/services/:sid', (ctx) => { ctx.body = wire.endpoint(s, c.service(ctx.params.sid)); });
  r.delete('/services/:sid', async (ctx) => {
    const e = c.service(ctx.params.sid);
    await deleteEndpoint(c, e.networkId, e.id);
    ctx.status = 200;
    ctx.body = '';
  });
  r.post('/services/:sid/backend', async (ctx) => {
    const e = c.service(ctx.params.sid);
    ctx.body = JSON.stringify(await join(c, e.networkId, e.id, parseJoin(ctx.request.body)));
    ctx.type = 'application/json';
  });
  r.get('/services/:sid/backend', (ctx) => {
    const e = c.service(ctx.params.sid);
    ctx.body = e.container ? [{ id: e.container }] : [];
  });
  r.delete('/services/:sid/backend/:cid', async (ctx) => {
    const e = c.service(ctx.params.sid);
    await leave(c, e.networkId, e.id, containerParam(ctx.params.cid));
    ctx.status = 200;
    ctx.body = '';
  });
  return r;
}
