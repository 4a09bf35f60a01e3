// The daemon's logger: pino, with one of three line formats on stdout.
//
// - json: pino's own lines (numeric `level`, `time` in ms), for log shippers
//   and `jq`; what a pipe or a file gets.
// - text: one readable line per record (time, level, message, key=value
//   fields, an error's stack indented below), for a person at a terminal.
// - journal: the text line without the time (journald stamps it) behind an
//   sd-daemon priority prefix `<N>` (sd-daemon(3)), so journald files warnings
//   at 4, errors at 3 and `journalctl -p err` finds them. Every physical line
//   of a record carries the prefix: journald splits on newlines.
//
// `auto` (the default) picks journal when stdout is the stream systemd named in
// JOURNAL_STREAM (device:inode, compared with fstat of fd 1, as sd-daemon
// says to), text when stdout is a terminal, json otherwise.
//
// The formatter is our own rather than pino-pretty: the journal prefix has to
// be derived from each record's level (pino-pretty has no such output), it
// runs in the writing thread (pino-pretty as a transport runs in a worker
// thread, a second heap for a few lines a second, and lines in flight are
// lost on process.exit), and it is about a hundred lines with no dependencies.

import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';
import pino from 'pino';

export const LOG_FORMATS = ['auto', 'text', 'json', 'journal'] as const;
export type LogFormatSetting = (typeof LOG_FORMATS)[number];
export type LogFormat = Exclude<LogFormatSetting, 'auto'>;

/** pino's numeric levels → syslog priorities (sd-daemon prefixes). */
export function priorityOf(level: number): number {
  if (level >= 60) return 2; // fatal → crit
  if (level >= 50) return 3; // error → err
  if (level >= 40) return 4; // warn → warning
  if (level >= 30) return 6; // info → info
  return 7;                  // debug, trace → debug
}

const NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };

/** True when fd is the stream systemd's JOURNAL_STREAM ("dev:ino") names. */
export function isJournalStream(value: string | undefined, fd: number): boolean {
  const m = /^(\d+):(\d+)$/.exec(value ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return String(st.dev) === m[1] && String(st.ino) === m[2];
  } catch {
    return false;
  }
}

/** The format `auto` means for this process. */
export function resolveFormat(setting: LogFormatSetting, env: NodeJS.ProcessEnv, fd = 1): { format: LogFormat; color: boolean } {
  const tty = isatty(fd);
  const color = tty && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  if (setting !== 'auto') return { format: setting, color: setting === 'text' && color };
  if (isJournalStream(env.JOURNAL_STREAM, fd)) return { format: 'journal', color: false };
  return tty ? { format: 'text', color } : { format: 'json', color: false };
}

const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);
const BARE = /^[^\s"=\\]{1,200}$/;

function value(v: unknown): string {
  if (typeof v === 'string') return BARE.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

interface SerializedErr { message?: string; code?: string; stack?: string; type?: string; cause?: SerializedErr }

/** One pino JSON record as text lines (no trailing newline); `time` off for journal. */
export function formatRecord(rec: Record<string, unknown>, opts: { time: boolean; color?: boolean }): string[] {
  const level = Number(rec.level);
  let name = (NAMES[level] ?? `L${level}`).padEnd(5);
  if (opts.color) name = `\x1b[${COLORS[level] ?? '0'}m${name}\x1b[0m`;
  const parts: string[] = [];
  if (opts.time) parts.push(new Date(Number(rec.time)).toISOString());
  parts.push(name, String(rec.msg ?? ''));
  const err = rec.err as SerializedErr | undefined;
  if (err && typeof err === 'object') {
    parts.push(`err=${value(err.message ?? '')}`);
    if (err.code) parts.push(`err_code=${value(err.code)}`);
  } else if (err !== undefined) {
    parts.push(`err=${value(err)}`);
  }
  for (const [k, v] of Object.entries(rec)) if (!SKIP.has(k) && v !== undefined) parts.push(`${k}=${value(v)}`);
  const lines = [parts.join(' ')];
  // the stack's first line repeats the message: keep the frames (and causes)
  if (err?.stack && level >= 50) {
    for (const l of err.stack.split('\n').slice(1)) lines.push(`    ${l.trim()}`);
    // causes whose text the message does not already carry
    for (let c = err.cause, n = 0; c && typeof c === 'object' && n < 5; c = c.cause, n++) {
      if (c.message && !String(err.message ?? '').includes(c.message)) lines.push(`    caused by: ${c.message}`);
    }
  }
  return lines;
}

/** pino's serialized line → what the format writes (newline-terminated). */
export function formatLine(line: string, format: LogFormat, color = false): string {
  if (format === 'json') return line;
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const lines = formatRecord(rec, { time: format === 'text', color });
  if (format === 'text') return `${lines.join('\n')}\n`;
  const p = `<${priorityOf(Number(rec.level))}>`;
  return `${lines.map((l) => p + l).join('\n')}\n`;
}

export interface Sink { write(s: string): unknown }

/** The daemon's logger. `out` defaults to fd 1 (synchronous writes: nothing is
 *  lost on exit); tests pass a sink to capture lines. */
export function createLogger(opts: { level: string; format: LogFormat; color?: boolean; out?: Sink; base?: Record<string, unknown> }): pino.Logger {
  const out = opts.out ?? pino.destination({ dest: 1, sync: true });
  // errWithCause, not pino's default err serializer: that one appends each
  // cause's message to the error's own ("…: EINVAL" + ": EINVAL"), and wrap()
  // (errors/index.ts) already keeps the inner text in the message; the causes
  // stay whole under err.cause
  const popts = { level: opts.level, base: opts.base ?? { pid: process.pid }, serializers: { err: pino.stdSerializers.errWithCause } };
  if (opts.format === 'json') return pino(popts, out as pino.DestinationStream);
  const stream = { write: (s: string) => { out.write(formatLine(s, opts.format, opts.color)); } };
  return pino(popts, stream);
}

/** The sd-daemon prefix for a line written to fd (stderr at start-up) when it is the journal. */
export function journalPrefix(priority: number, env: NodeJS.ProcessEnv, fd: number): string {
  return isJournalStream(env.JOURNAL_STREAM, fd) ? `<${priority}>` : '';
}
