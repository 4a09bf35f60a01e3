// GET /events query parameters: since, until, filters. Raw strings in, a typed
// selection out, or a BadRequest naming the parameter.

import { BadRequest } from '../../../errors/index.js';
import type { EventLog, LnetdEvent } from '../../controller/events.js';
import { EVENT_ACTIONS, EVENT_TYPES } from '../../controller/event-types.js';

/** Integers below this are sequence numbers, at or above it unix seconds (2001-09-09). */
const UNIX_SECONDS_FROM = 1e9;

export type Bound = { seq: number } | { ms: number };

export interface Selection {
  /** First seq to deliver (inclusive); undefined: only events from now on. */
  fromSeq?: number;
  /** Stop after the last event at or before this bound. */
  until?: Bound;
  match: (e: LnetdEvent) => boolean;
}

const FILTER_KEYS = ['type', 'action', 'network', 'container', 'endpoint'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

/** A sequence number (`42`), unix seconds (`1700000000`, `1700000000.5`) or RFC 3339. */
export function parseBound(raw: string, field: string): Bound {
  if (/^\d{1,16}$/.test(raw) && Number(raw) < UNIX_SECONDS_FROM) return { seq: Number(raw) };
  if (/^\d{1,12}(\.\d{1,9})?$/.test(raw)) return { ms: Math.floor(Number(raw) * 1000) };
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(raw)) {
    const ms = Date.parse(raw);
    if (!Number.isNaN(ms)) return { ms };
  }
  throw new BadRequest(`${field} ${JSON.stringify(raw.slice(0, 64))} is not a sequence number, unix seconds or an RFC 3339 time`, 'INVALID_PARAMETER');
}

/** Docker's filter JSON: {"type": ["network"]} or {"type": {"network": true}}. */
export function parseFilters(raw: string): Partial<Record<FilterKey, Set<string>>> {
  let o: unknown;
  try { o = JSON.parse(raw); } catch { throw new BadRequest('filters must be a JSON object, e.g. {"type":["network"]}', 'INVALID_FILTER'); }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new BadRequest('filters must be a JSON object, e.g. {"type":["network"]}', 'INVALID_FILTER');
  const out: Partial<Record<FilterKey, Set<string>>> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!(FILTER_KEYS as readonly string[]).includes(k)) throw new BadRequest(`unsupported filter "${k.slice(0, 64)}": use ${FILTER_KEYS.join(', ')}`, 'UNSUPPORTED_FILTER');
    const values = Array.isArray(v) ? v : v !== null && typeof v === 'object' ? Object.keys(v).filter((x) => (v as Record<string, unknown>)[x] === true) : undefined;
    if (!values || values.some((x) => typeof x !== 'string' || x.length > 256) || values.length > 64) {
      throw new BadRequest(`filters.${k} must be a list of strings (or a map of string to true)`, 'INVALID_FILTER');
    }
    const allowed = k === 'type' ? EVENT_TYPES : k === 'action' ? EVENT_ACTIONS : undefined;
    const bad = allowed && values.find((x) => !(allowed as readonly string[]).includes(x));
    if (bad) throw new BadRequest(`filters.${k}: ${JSON.stringify(bad.slice(0, 64))} is not one of ${allowed!.join(', ')}`, 'INVALID_FILTER');
    if (values.length) out[k as FilterKey] = new Set(values as string[]);
  }
  return out;
}

function matcher(f: Partial<Record<FilterKey, Set<string>>>): (e: LnetdEvent) => boolean {
  return (e) => {
    if (f.type && !f.type.has(e.type)) return false;
    if (f.action && !f.action.has(e.action)) return false;
    if (f.network && !f.network.has(e.network.id) && !f.network.has(e.network.name)) return false;
    if (f.endpoint && (!('endpoint' in e) || (!f.endpoint.has(e.endpoint.id) && !f.endpoint.has(e.endpoint.name)))) return false;
    if (f.container && (!('container' in e) || !f.container.has(e.container.id))) return false;
    return true;
  };
}

const one = (q: URLSearchParams, k: string): string | undefined => {
  const all = q.getAll(k);
  if (all.length > 1) throw new BadRequest(`${k} must be given once`, 'INVALID_PARAMETER');
  return all[0] === '' ? undefined : all[0];
};

/** The selection a query asks for; Gone (410) when `since` reaches before the oldest kept event. */
export function selection(q: URLSearchParams, log: EventLog): Selection {
  for (const k of q.keys()) if (!['since', 'until', 'filters'].includes(k)) throw new BadRequest(`unsupported parameter "${k.slice(0, 64)}": use since, until, filters`, 'INVALID_PARAMETER');
  const sinceRaw = one(q, 'since');
  const untilRaw = one(q, 'until');
  const filtersRaw = one(q, 'filters');
  const since = sinceRaw === undefined ? undefined : parseBound(sinceRaw, 'since');
  const until = untilRaw === undefined ? undefined : parseBound(untilRaw, 'until');
  const match = matcher(filtersRaw === undefined ? {} : parseFilters(filtersRaw));
  let fromSeq: number | undefined;
  if (since && 'seq' in since) fromSeq = since.seq + 1;          // since=N: the events after N
  else if (since) fromSeq = log.seqAtTime(since.ms);
  if (fromSeq !== undefined) log.replay(fromSeq);                  // throws Gone before any byte is sent
  return { fromSeq, until, match };
}

export function pastUntil(e: LnetdEvent, until: Bound | undefined): boolean {
  if (!until) return false;
  return 'seq' in until ? e.seq > until.seq : Date.parse(e.time) > until.ms;
}
