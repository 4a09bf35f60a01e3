// Where a daemon's CPU time went, from a V8 .cpuprofile written by
// `npm run bench -- --profile DIR`: self time summed per area of the code base
// (http, controller, store, drivers…, each dependency, node internals, GC).
// Usage: node dist/scripts/bench/profile.js [--functions] FILE.cpuprofile [...]

import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { url: string; functionName: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

/** The area a frame belongs to: a repo directory two deep, a package, or a V8 pseudo-frame. */
export function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : `(native) ${fn || 'anonymous'}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const repo = /\/dist\/((?:[^/]+\/)?[^/]+)\//.exec(url) ?? /\/dist\/([^/]+)/.exec(url);
  return repo ? repo[1]! : url;
}

/** Self time per area, or per function (name + file:line) when byFunction. */
export function summarize(p: Profile, byFunction = false): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  p.samples.forEach((id, k) => {
    const n = byId.get(id);
    if (!n) return;
    const { url, functionName, lineNumber } = n.callFrame;
    const key = byFunction && url ? `${area(url, functionName)}  ${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber + 1}` : area(url, functionName);
    out.set(key, (out.get(key) ?? 0) + (p.timeDeltas[k] ?? 0) / 1000);
  });
  return out;
}

function main(args: string[]): void {
  const byFunction = args[0] === '--functions';
  for (const f of byFunction ? args.slice(1) : args) {
    const s = summarize(JSON.parse(readFileSync(f, 'utf8')) as Profile, byFunction);
    const busy = [...s].filter(([k]) => k !== '(idle)').reduce((a, [, v]) => a + v, 0);
    process.stdout.write(`${f}: ${busy.toFixed(0)} ms busy (idle ${(s.get('(idle)') ?? 0).toFixed(0)} ms)\n`);
    for (const [k, v] of [...s].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 25)) {
      process.stdout.write(`  ${(100 * v / busy).toFixed(1).padStart(5)}%  ${v.toFixed(0).padStart(7)} ms  ${k}\n`);
    }
  }
}

if (process.argv[1]?.endsWith('profile.js')) main(process.argv.slice(2));
