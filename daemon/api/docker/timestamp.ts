// Times as Docker clients send them: Go durations ("24h", "1h30m", counted
// back from now), RFC 3339 dates with or without time and zone, and unix
// seconds with an optional fraction ("1700000000.123456789"). The same rules
// as dockerd's timestamp package, so `until=24h` and `--since 10m` mean the
// same on lnetd.

import { DockerError } from './errors.js';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/;

/** A Go duration in milliseconds, or undefined if the text is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  let ms = 0;
  for (const part of text.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) ms += Number(part[1]) * UNITS[part[2]];
  return m[1] === '-' ? -ms : ms;
}

/** Unix seconds with an optional fraction of up to 9 digits, as nanoseconds. */
export function parseUnix(text: string): bigint | undefined {
  const m = /^(-?\d{1,12})(?:\.(\d{0,9}))?$/.exec(text);
  if (!m) return undefined;
  return BigInt(m[1]) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)?(?:Z|[+-]\d{2}:\d{2})?$/i;

/** A point in time in nanoseconds since the epoch; `field` names the parameter in the error. */
export function parseTime(text: string, field: string, now = Date.now()): bigint {
  const value = text.trim();
  if (!value) throw new DockerError(400, `failed to parse value as time or duration: value is empty (${field})`);
  const d = value === '0' ? undefined : parseDuration(value);
  if (d !== undefined) return BigInt(Math.round((now - d) * 1e6));
  if (DATE_RE.test(value)) {
    const [date, rest = ''] = value.split(/T/i);
    const zone = /(Z|[+-]\d{2}:\d{2})$/i.exec(rest || date.slice(10))?.[1] ?? 'Z';
    const clock = rest.replace(/(Z|[+-]\d{2}:\d{2})$/i, '');
    const [hh = '00', mm = '00', ssFrac = '00'] = clock ? clock.split(':') : [];
    const [ss, frac = ''] = ssFrac.split('.');
    const ms = Date.parse(`${date.slice(0, 10)}T${hh}:${mm}:${ss}${zone.toUpperCase() === 'Z' ? 'Z' : zone}`);
    if (Number.isNaN(ms)) throw new DockerError(400, `invalid time ${JSON.stringify(value.slice(0, 64))} in ${field}`);
    return BigInt(ms) * 1_000_000n + BigInt(frac.padEnd(9, '0') || '0');
  }
  const unix = parseUnix(value);
  if (unix === undefined) throw new DockerError(400, `failed to parse value as time or duration: ${JSON.stringify(value.slice(0, 64))} (${field})`);
  return unix;
}
