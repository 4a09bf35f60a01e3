// The bench report's verdicts: each target of issue 13 met or missed, with
// the least any daemon driven over HTTP that syncs its records could do
// beside it (the floor plus two bare requests plus one synced write) and,
// for the 16-client p99, the floor's own ratio.

import t from 'tap';
import { bounds, targets, type BenchJson, type SystemJson } from '../../scripts/bench/report.js';

const side = (attach: number, detach: number): SystemJson => ({
  attach: { median_ms: attach, p95_ms: attach }, detach: { median_ms: detach, p95_ms: detach }, attach_x_floor: 0, detach_x_floor: 0,
} as unknown as SystemJson);

function bench(): BenchJson {
  const lnetd = side(4, 3);
  Object.assign(lnetd, { attach_x_floor: 4, detach_x_floor: 30 });
  return {
    date: '', machine: '', n: 200, floor_parts: null,
    systems: { floor: side(1, 0.1), lnetd },
    http_floor: { n: 200, two_requests_ms: 0.4, sync_write_ms: 0.2 },
    concurrency: {
      lnetd: [{ clients: 16, attaches: 320, per_s: 450, median_ms: 30, p99_ms: 40 }],
      floor: [{ clients: 16, attaches: 320, per_s: 600, median_ms: 20, p99_ms: 42 }],
    },
    scale: { containers: 1000, total_s: 7, first100_median_ms: 3, last100_median_ms: 5, floor: { total_s: 3, first100_median_ms: 1, last100_median_ms: 3 }, x_floor: 7 / 3 },
    api: null, memory: { endpoints: 1000, rss_mb: 90, startup_s: 0.7 },
  } as BenchJson;
}

t.test('bounds: floor + two bare requests + a synced write, over the floor', async (t) => {
  const b = bounds(bench())!;
  t.equal(b.attach.toFixed(3), '1.600', '(1 + 0.4 + 0.2) / 1');
  t.equal(b.detach.toFixed(3), '7.000', '(0.1 + 0.6) / 0.1');
  const j = bench();
  j.http_floor = null;
  t.equal(bounds(j), undefined, 'none without the bare-HTTP reference');
});

t.test('targets: each one met or missed, with what no such daemon can avoid', async (t) => {
  const lines = targets(bench());
  t.equal(lines[0], 'targets:');
  t.same(lines, [
    'targets:',
    '  MISSED attach <= 1.5x floor (4.00x; HTTP + synced write alone: 1.60x)',
    '  MISSED detach <= 1.5x floor (30.00x; HTTP + synced write alone: 7.00x)',
    '  MISSED 16 clients >= 0.8x 16 floor processes (0.75x)',
    '  MISSED p99 with 16 clients <= 3x sequential median (10.00x; the floor\'s own: 42.00x)',
    // 3 s + 1000 x 0.6 ms = 3.6 s, over 3 s
    '  MISSED 1000 sequential attaches <= 1.3x the floor\'s total (2.33x; HTTP + synced write alone: 1.20x)',
    '  met    RSS <= 100 MB with them joined, start-up <= 1 s',
  ]);
  const j = bench();
  j.concurrency!.lnetd[0]!.per_s = 500;
  t.ok(targets(j).includes('  met    16 clients >= 0.8x 16 floor processes (0.83x)'), 'met at 0.83x');
});
