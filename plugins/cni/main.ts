#!/usr/bin/env node
// lnetd-cni: a CNI plugin (spec 1.1) whose networks come from lnetd. It holds
// no state and loads only node builtins and the files beside it: a plugin is
// a process per call, and start-up is most of what it costs. Output is the
// spec's: a result (ADD), version info (VERSION) or nothing on stdout, exit 0;
// on failure exactly the spec's error object on stdout and exit 1.

import { readFileSync } from 'node:fs';
import { ApiError, Client, DEFAULT_SOCKET, DEFAULT_TIMEOUT_MS, Unreachable } from '../lib/client.js';
import { add, check, del, gc, status } from './ops.js';
import {
  CniError, CODES, formatError, formatResult, parseConf, parseEnv, SPEC_VERSION, SUPPORTED_VERSIONS, type Command,
} from './spec.js';

/** The daemon's socket: the config's `socket` key, else LNETD_SOCKET, else the default. */
function client(confSocket: string | undefined, env: NodeJS.ProcessEnv): Client {
  const raw = env.LNETD_TIMEOUT_MS;
  const ms = raw && /^[0-9]{1,7}$/.test(raw) && Number(raw) > 0 ? Number(raw) : DEFAULT_TIMEOUT_MS;
  return new Client(confSocket ?? (env.LNETD_SOCKET || DEFAULT_SOCKET), ms);
}

/** A failure in the spec's terms: the daemon unreachable is "try again later" (STATUS: "not available"). */
function asCniError(err: unknown, command: Command | undefined): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Unreachable) {
    return command === 'STATUS'
      ? new CniError(CODES.NOT_AVAILABLE, 'lnetd is not available', err.message)
      : new CniError(CODES.TRY_AGAIN_LATER, 'lnetd is not reachable: try again later', err.message);
  }
  if (err instanceof ApiError) {
    if (err.status === 503) return new CniError(CODES.TRY_AGAIN_LATER, err.message, err.code);
    if (err.status >= 400 && err.status < 500) return new CniError(CODES.INVALID_CONFIG, err.message, err.code);
    return new CniError(CODES.IO_FAILURE, err.message, err.code);
  }
  return new CniError(CODES.IO_FAILURE, String((err as Error)?.message ?? err));
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    throw new CniError(CODES.IO_FAILURE, 'could not read the network configuration from stdin', (e as Error).message);
  }
}

async function run(env: NodeJS.ProcessEnv): Promise<{ out?: unknown; version: string }> {
  let version = SPEC_VERSION;
  let command: Command | undefined;
  try {
    const e = parseEnv(env);
    command = e.command;
    const stdin = readStdin();
    if (command === 'VERSION') {
      let asked: unknown;
      try { asked = JSON.parse(stdin).cniVersion; } catch { asked = undefined; }
      version = typeof asked === 'string' && SUPPORTED_VERSIONS.includes(asked) ? asked : SPEC_VERSION;
      return { version, out: { cniVersion: version, supportedVersions: SUPPORTED_VERSIONS } };
    }
    const conf = parseConf(stdin, command);
    version = conf.cniVersion;
    const c = client(conf.socket, env);
    try {
      if (command === 'ADD') return { version, out: formatResult(version, await add(c, e, conf, stdin)) };
      if (command === 'DEL') await del(c, e, conf, stdin);
      else if (command === 'CHECK') await check(c, e, conf, stdin);
      else if (command === 'GC') await gc(c, e, conf, stdin);
      else await status(c);
      return { version };
    } finally {
      c.close();
    }
  } catch (err) {
    const ce = asCniError(err, command);
    return { version, out: { error: formatError(version, ce) } };
  }
}

const { out } = await run(process.env);
const failed = !!out && typeof out === 'object' && 'error' in (out as object);
if (out !== undefined) process.stdout.write(`${JSON.stringify(failed ? (out as { error: unknown }).error : out)}\n`);
process.exitCode = failed ? 1 : 0;
