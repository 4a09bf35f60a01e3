// Docker's `filters` query parameter: a JSON object of key → values, in the
// current form {"name": {"foo": true}} or the old {"name": ["foo"]}. Keys are
// checked against what a route accepts (dockerd's "invalid filter 'x'");
// values match the way dockerd matches them: exactly, as a regular
// expression (name, id), as label key or key=value (all must match).
// Expressions run on re2js, a port of RE2: Go's syntax, as dockerd reads it,
// and linear time, so no filter a client sends can stall the daemon.

import type { RE2JS } from 're2js';
import { lazy } from '../lazy.js';

/** re2js (linear-time expressions for the name and id filters), loaded with the first such filter. */
const re2js = lazy<typeof import('re2js')>('re2js');
import { DockerError } from './errors.js';

export type Filters = Map<string, Set<string>>;

const MAX_VALUES = 256;
const MAX_VALUE_BYTES = 1024;

function invalid(): never {
  throw new DockerError(400, 'invalid filter');
}

/** Parse the raw parameter (undefined or "" is no filter). */
export function parseFilters(raw: unknown): Filters {
  const out: Filters = new Map();
  if (raw === undefined || raw === '') return out;
  if (typeof raw !== 'string') throw new DockerError(400, 'filters must be given once');
  let o: unknown;
  try { o = JSON.parse(raw); } catch { invalid(); }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) invalid();
  for (const [key, v] of Object.entries(o as Record<string, unknown>)) {
    let values: string[];
    if (Array.isArray(v)) {
      if (!v.every((x) => typeof x === 'string')) invalid();
      values = v as string[];
    } else if (v !== null && typeof v === 'object') {
      if (!Object.values(v).every((x) => typeof x === 'boolean')) invalid();
      values = Object.keys(v);
    } else if (v === null) {
      values = [];
    } else {
      invalid();
    }
    if (values.length > MAX_VALUES || values.some((x) => Buffer.byteLength(x) > MAX_VALUE_BYTES)) {
      throw new DockerError(400, `filter '${key.slice(0, 64)}' has too many or too long values`);
    }
    out.set(key, new Set(values));
  }
  return out;
}

/** dockerd's refusal of a key a route does not take. */
export function accept(f: Filters, keys: readonly string[]): void {
  for (const k of f.keys()) if (!keys.includes(k)) throw new DockerError(400, `invalid filter '${k.slice(0, 64)}'`);
}

/** One value of a key that takes one (dangling, until), or undefined. */
export function single(f: Filters, key: string, what = `more than one ${key} filter specified`): string | undefined {
  const v = f.get(key);
  if (!v || v.size === 0) return undefined;
  if (v.size > 1) throw new DockerError(400, what);
  return [...v][0];
}

export function exact(f: Filters, key: string, value: string): boolean {
  const v = f.get(key);
  return !v || v.size === 0 || v.has(value);
}

const compiled = new Map<string, RE2JS | null>();

function regexp(src: string): RE2JS | null {
  let re = compiled.get(src);
  if (re === undefined) {
    // a value that is not a valid expression only matches exactly (dockerd skips it)
    try { re = re2js().RE2JS.compile(src); } catch { re = null; }
    if (compiled.size > 1024) compiled.clear();
    compiled.set(src, re);
  }
  return re;
}

/** Exact, else any value as an (unanchored) regular expression: "foo" matches "myfoo1". */
export function match(f: Filters, key: string, value: string): boolean {
  const v = f.get(key);
  if (!v || v.size === 0 || v.has(value)) return true;
  for (const src of v) if (regexp(src)?.matcher(value).find()) return true;
  return false;
}

/** Every `key` or `key=value` given must be among the labels. */
export function labels(f: Filters, key: string, have: Record<string, string>): boolean {
  const v = f.get(key);
  if (!v || v.size === 0) return true;
  for (const want of v) {
    const eq = want.indexOf('=');
    const k = eq < 0 ? want : want.slice(0, eq);
    if (!(k in have)) return false;
    if (eq >= 0 && have[k] !== want.slice(eq + 1)) return false;
  }
  return true;
}

/** A boolean filter value in dockerd's spellings. */
export function boolValue(value: string, message: string): boolean {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new DockerError(400, message);
}
