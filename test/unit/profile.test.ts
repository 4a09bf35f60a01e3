// The bench's profile summary puts frames of the bundled daemon back in the
// source file they came from (through the bundle's source map), so a
// profile of the daemon users run reads by area like one of the unbundled tree.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { area, summarize, unbundle } from '../../scripts/bench/profile.js';
import { BUNDLE } from '../../scripts/bundle.js';

t.test('a frame of the bundle is attributed to its source file and area', async (t) => {
  const root = join(import.meta.dirname, '../../..');
  const bundle = join(root, BUNDLE);
  const lines = readFileSync(bundle, 'utf8').split('\n');
  const line = lines.findIndex((l) => l.startsWith('function sandboxKeyName('));
  t.ok(line > 0, 'the bundle holds sandboxKeyName');
  const url = pathToFileURL(bundle).href;
  const profile = {
    nodes: [
      { id: 1, callFrame: { url, functionName: 'sandboxKeyName', lineNumber: line, columnNumber: 2 } },
      { id: 2, callFrame: { url: 'node:internal/streams/readable', functionName: 'Readable', lineNumber: 1, columnNumber: 0 } },
    ],
    samples: [1, 1, 2], timeDeltas: [1000, 1000, 1000],
  };
  const frame = unbundle(profile).nodes[0]!.callFrame;
  t.match(frame.url, /\/dist\/daemon\/controller\/sandbox-key\.ts$/, 'its source file');
  t.equal(area(frame.url, frame.functionName), 'daemon/controller');
  t.same([...summarize(profile)].sort(), [['daemon/controller', 2], ['node:internal', 1]], 'self time by area');
  t.equal(area(url, 'x'), 'bundle', 'without the map it would all be "bundle"');
});
