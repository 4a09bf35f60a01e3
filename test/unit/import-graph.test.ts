// Test code never ships: nothing reachable from what `npm start` runs
// (dist/bundle/lnetd.mjs, bundled from dist/daemon/main.js) or from a plug-in
// entry point (every `bin` of package.json) may import a module under test/
// (the fake kernel and firewall live in test/lib/). The bundle's own list of
// inputs (esbuild's metafile) is checked too. The walk follows every relative import of the
// compiled JavaScript, static, re-export and dynamic, as TypeScript's own
// pre-processor finds them; an import it cannot follow (a computed dynamic
// import of a relative path) fails the test rather than hiding an edge.

import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { BUNDLE, BUNDLE_ENTRY, BUNDLE_META } from '../../scripts/bundle.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..');
const DIST = join(ROOT, 'dist');

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const start = readFileSync(join(ROOT, 'scripts/start.sh'), 'utf8');
const started = /\b(dist\/\S+\.m?js)\b/.exec(start)?.[1];

/** Every module reachable from entry, with the chain that reached it. */
function walk(entry: string): { reached: Map<string, string[]>; unfollowed: string[] } {
  const reached = new Map<string, string[]>([[entry, [entry]]]);
  const unfollowed: string[] = [];
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    const text = readFileSync(file, 'utf8');
    const info = ts.preProcessFile(text, true, true);
    for (const { fileName: spec } of info.importedFiles) {
      if (!spec.startsWith('.') && !spec.startsWith('/')) continue;  // a package or node builtin
      const target = resolve(dirname(file), spec);
      if (!reached.has(target)) {
        reached.set(target, [...reached.get(file)!, target]);
        if (existsSync(target)) todo.push(target);
      }
    }
    // import(x) with x computed: the pre-processor cannot see where it goes
    for (const m of text.matchAll(/\bimport\(\s*([^'"`\s)][^)]*)\)/g)) unfollowed.push(`${relative(ROOT, file)}: import(${m[1]})`);
  }
  return { reached, unfollowed };
}

/** The modules under dist/test/ in a walk, each with the chain that reached it. */
export function testModules(reached: Map<string, string[]>): string[] {
  const under = join(DIST, 'test') + '/';
  return [...reached].filter(([f]) => f.startsWith(under)).map(([, chain]) => chain.map((f) => relative(DIST, f)).join(' -> '));
}

t.test('npm start and the bin run the bundle of dist/daemon/main.js', async (t) => {
  t.equal(started, BUNDLE);
  t.equal(pkg.bin.lnetd, BUNDLE);
  t.equal(BUNDLE_ENTRY, 'dist/daemon/main.js');
});

t.test('nothing under test/ is in the bundle', async (t) => {
  const inputs = Object.keys((JSON.parse(readFileSync(join(ROOT, BUNDLE_META), 'utf8')) as { inputs: Record<string, unknown> }).inputs);
  t.ok(inputs.includes(BUNDLE_ENTRY) && inputs.includes('dist/drivers/linux/netlink.js'), `the metafile lists the daemon's modules (${inputs.length} inputs)`);
  t.same(inputs.filter((f) => f.startsWith('dist/test/')), [], 'no test module bundled');
});

// the bundle's modules are walked from its entry point (the bundle itself has no relative imports)
const entries = [...new Set([BUNDLE_ENTRY, ...Object.values(pkg.bin).filter((b) => b !== BUNDLE)])];
for (const e of entries) {
  t.test(`nothing under test/ is reachable from ${e}`, async (t) => {
    const entry = join(ROOT, e);
    t.ok(existsSync(entry), `${e} is built`);
    const { reached, unfollowed } = walk(entry);
    const missing = [...reached.keys()].filter((f) => !existsSync(f)).map((f) => relative(ROOT, f));
    t.same(missing, [], 'every relative import resolves to a built file');
    t.same(unfollowed, [], 'no computed dynamic import of a relative path');
    t.same(testModules(reached), [], 'no test module reachable');
    // the walk is real: it reaches what the entry point is known to use
    t.ok(reached.size > (e === 'dist/daemon/main.js' ? 40 : 2), `walked ${reached.size} modules`);
    if (e === 'dist/daemon/main.js') {
      for (const m of ['drivers/linux/netlink.js', 'drivers/linux/nftables.js', 'daemon/controller/controller.js', 'store/level.js']) {
        t.ok(reached.has(join(DIST, m)), `reaches ${m}`);
      }
    }
  });
}

t.test('the walk finds a test module when one is imported', async (t) => {
  // the unit tier's in-process app imports the fakes: a walk from it must see them
  const { reached } = walk(join(DIST, 'test/lib/inproc.js'));
  const found = testModules(reached);
  t.ok(found.some((c) => c.endsWith('test/lib/fake-kernel.js')), 'fake kernel found');
  t.ok(found.some((c) => c.endsWith('test/lib/fake-firewall.js')), 'fake firewall found');
});
