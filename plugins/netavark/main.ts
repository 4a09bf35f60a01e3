#!/usr/bin/env node
// lnetd-netavark: a netavark-compatible binary for podman 4.x that gets the
// container's networks from lnetd. Output is netavark's: on success the status
// block (one entry per network) or nothing (teardown); on failure exactly
// {"error": "..."} on stdout and exit code 1, which is all podman decodes.
// Only node builtins and the files beside this one load: a plug-in is a
// process per call, and start-up is most of its cost.

import { readFileSync } from 'node:fs';
import { parseArgs, type Command } from './args.js';
import { Client } from '../lib/client.js';
import { parseOptions } from './options.js';
import { setup, teardown } from './setup.js';

/** The netavark release whose protocol this speaks (podman 4.3 ships with 1.4). */
export const NETAVARK_COMPAT = '1.4.0';
export const VERSION = '0.1.0';

function readInput(cmd: Extract<Command, { netns: string }>): string {
  try {
    return readFileSync(cmd.file ?? 0, 'utf8');
  } catch (e) {
    throw new Error(`failed to load network options: ${(e as Error).message}`);
  }
}

async function run(argv: string[]): Promise<string> {
  const cmd = parseArgs(argv);
  if (cmd.kind === 'version-text') return `netavark ${NETAVARK_COMPAT} (lnetd-netavark ${VERSION})`;
  if (cmd.kind === 'version') {
    return JSON.stringify({ version: NETAVARK_COMPAT, commit: `lnetd-netavark-${VERSION}`, build_time: '', target: `${process.arch}-linux` }, null, 2);
  }
  if (cmd.rootless) throw new Error('rootless podman is not supported: lnetd is a root daemon (run podman as root)');
  const opts = parseOptions(readInput(cmd));
  const c = Client.fromEnv();
  try {
    if (cmd.kind === 'setup') return JSON.stringify(await setup(c, cmd.netns, opts), null, 2);
    await teardown(c, opts);
    return '';
  } finally {
    c.close();
  }
}

run(process.argv.slice(2)).then(
  (text) => { if (text) process.stdout.write(text + '\n'); },
  (err: Error) => {
    process.stdout.write(JSON.stringify({ error: err.message }) + '\n');
    process.exitCode = 1;
  },
);
