// Command line of `npm run bench`.

import { parseArgs } from 'node:util';

/** floor: the true floor (native/floor.c), the yardstick of every ratio; always run.
 *  lnetd: create endpoint + join (two requests); lnetd-docker: the Docker API's connect (one). */
export const ALL_SYSTEMS = ['floor', 'lnetd', 'lnetd-docker', 'cni', 'netavark', 'iproute2'] as const;
export type SystemName = (typeof ALL_SYSTEMS)[number];

export interface Options {
  n: number; rounds: number; json?: string; only: SystemName[];
  scale: number; apiSeconds: number; apiNetworks: number; connections: number; smoke: boolean; profile?: string;
  /** Concurrency stage: numbers of concurrent clients (and floor processes), attaches per level. */
  clients: number[]; concurrentN: number;
}

export const USAGE = `usage: npm run bench -- [--n 200] [--rounds 5] [--json FILE] [--only lnetd,lnetd-docker,cni,netavark,iproute2]
                     [--scale 1000] [--clients 1,4,16] [--concurrent-n 320] [--api-seconds 10] [--api-networks 100]
                     [--connections 64] [--smoke] [--profile DIR]
  The floor always runs: every figure is reported as a ratio to it.
  --scale 0 skips scale+memory; --concurrent-n 0 skips concurrency; --api-seconds 0 skips api.
  --smoke: tiny sizes for the test suite.
  --profile DIR: every lnetd daemon runs with node --cpu-prof into DIR; then
  node dist/scripts/bench/profile.js DIR/*.cpuprofile shows where the time went.`;

function int(v: string | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0) throw new Error(`--${name} wants a whole number, got ${v}`);
  return x;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: {
      n: { type: 'string' }, rounds: { type: 'string' }, json: { type: 'string' }, only: { type: 'string' },
      scale: { type: 'string' }, 'api-seconds': { type: 'string' }, 'api-networks': { type: 'string' },
      connections: { type: 'string' }, clients: { type: 'string' }, 'concurrent-n': { type: 'string' }, smoke: { type: 'boolean' }, profile: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(USAGE + '\n'); process.exit(0); }
  const smoke = values.smoke ?? false;
  const only = (values.only ?? ALL_SYSTEMS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of only) if (!(ALL_SYSTEMS as readonly string[]).includes(s)) throw new Error(`--only: unknown system ${s}`);
  if (!only.includes('floor')) only.unshift('floor');
  const clients = (values.clients ?? (smoke ? '1,2' : '1,4,16')).split(',').map((c) => int(c.trim(), 0, 'clients'));
  if (clients.some((c) => c < 1)) throw new Error('--clients wants whole numbers of at least 1');
  const n = int(values.n, smoke ? 3 : 200, 'n');
  if (n < 1) throw new Error('--n must be at least 1');
  return {
    n, smoke, json: values.json, only: only as SystemName[], profile: values.profile,
    rounds: int(values.rounds, smoke ? 1 : 5, 'rounds'),
    scale: int(values.scale, smoke ? 20 : 1000, 'scale'),
    apiSeconds: int(values['api-seconds'], smoke ? 1 : 10, 'api-seconds'),
    apiNetworks: int(values['api-networks'], smoke ? 10 : 100, 'api-networks'),
    connections: int(values.connections, smoke ? 8 : 64, 'connections'),
    clients, concurrentN: int(values['concurrent-n'], smoke ? 4 : 320, 'concurrent-n'),
  };
}
