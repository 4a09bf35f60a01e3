// Where a daemon's CPU time went, from a V8 .cpuprofile written by
// `npm run bench -- --profile DIR`: self time summed per area of the code base
// (http, controller, store, drivers…, each dependency, node internals, GC).
// Usage: node dist/scripts/bench/profile.js [--functions] FILE.cpuprofile [...]
// A frame in the bundled daemon (dist/bundle/*.mjs) is put back in the
// source file it came from through the bundle's source map, so the areas
// read the same for the bundle as for the unbundled tree.

import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Node { id: number; callFrame: { url: string; functionName: string; lineNumber: number; columnNumber?: number }; children?: number[] }
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

const BUNDLED = /\/dist\/bundle\/[^/]+\.mjs$/;

/** Frames of the bundle at their original place: a file under the repo's
 *  dist/ (lnetd's sources, by their .ts name, where tsc's tree has them) or under
 *  node_modules, and the line there. Frames without a map stay as they are. */
export function unbundle(p: Profile): Profile {
  const maps = new Map<string, { map: SourceMap; dir: string; root: string } | null>();
  const mapOf = (url: string) => {
    if (!maps.has(url)) {
      let m: { map: SourceMap; dir: string; root: string } | null = null;
      try {
        const file = url.startsWith('file:') ? fileURLToPath(url) : url;
        if (existsSync(`${file}.map`)) {
          const dir = dirname(file);
          m = { map: new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))), dir, root: resolve(dir, '../..') };
        }
      } catch { m = null; }
      maps.set(url, m);
    }
    return maps.get(url)!;
  };
  const nodes = p.nodes.map((n) => {
    const { url, lineNumber, columnNumber } = n.callFrame;
    if (!BUNDLED.test(url)) return n;
    const m = mapOf(url);
    const e = m?.map.findEntry(lineNumber, columnNumber ?? 0) as { originalSource?: string; originalLine?: number } | undefined;
    if (!m || !e?.originalSource) return n;
    const src = resolve(m.dir, e.originalSource);
    // lnetd's own under dist/ as the unbundled tree's are (the area is its directory), by its .ts name and line
    const mapped = src.includes('/node_modules/') ? src : `${m.root}/dist/${src.slice(m.root.length + 1)}`;
    return { ...n, callFrame: { ...n.callFrame, url: `file://${mapped}`, lineNumber: e.originalLine ?? lineNumber } };
  });
  return { ...p, nodes };
}

/** Self time per area, or per function (name + file:line) when byFunction. */
export function summarize(p0: Profile, byFunction = false): Map<string, number> {
  const p = unbundle(p0);
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
