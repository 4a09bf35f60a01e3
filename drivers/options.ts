// Option maps arrive as JSON; drivers keep them as strings on the record.

import { BadRequest } from '../errors/index.js';

export function normaliseOptions(raw: Record<string, unknown>): Record<string, string> {
  // own data properties only (a "__proto__" key stays an option, it never becomes the prototype)
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw new BadRequest(`options.${k.slice(0, 64)} must be a string, number or boolean`, 'INVALID_OPTION');
  }
  return Object.fromEntries(Object.entries(out));
}
