// Node flags the daemon runs with. A V8 heap size can't be changed once the
// process runs, so every launcher passes these: the bin's shebang,
// scripts/start.sh, systemd/lnetd.service, the tests and the benchmark.
// The daemon keeps little short-lived garbage per request; V8's default young
// generation (up to 16 MB per semi-space) would mostly be resident memory it
// never needs (RSS with 1,000 endpoints: 117 MB with the default, 94 MB here).
// The young generation starts at that size instead of growing to it from
// 1 MB: start-up allocates ~50 MB of which most survives (modules, records,
// events), and with 1 MB semi-spaces it paid ~20 scavenges copying them; with
// 1,000 endpoints this cut the CPU until the restarted daemon answers from
// ~1.01 to ~0.90 s (eight restarts each, alternately), with RSS and CPU per
// attach unchanged (it reaches 2 MB within the first requests anyway).
// Scavenges run on the main thread alone (--no-parallel-scavenge): with a
// young generation this small they come every few hundred requests under
// load, and a parallel one waits for V8's helper threads, which on a busy
// machine (two cores, the clients beside the daemon) are not running: under
// the API stage's load (GET /networks, 64 connections) the scavenges of
// 100,000 requests paused the daemon 460-1,800 ms with helpers and 100-160 ms
// without (the bare node:http server: 120-220 ms); RSS with 1,000 endpoints
// and start-up unchanged (94 MB; memory-probe).
// Two V8 platform worker threads instead of Node's four (they run GC helpers
// and background compiles for a ~20 MB heap): each one's malloc arena and
// stack stayed resident, ~3-7 MB of RSS with 1,000 endpoints (memory-probe,
// alternately: 93.9 -> 88.4 MB mean over four passes at 17:32-17:37, CPU per
// attach 6.3 -> 5.8 ms, CPU until a restarted daemon answers 964 -> 975 ms,
// i.e. noise; with --no-parallel-scavenge too, three passes at 17:39-17:42:
// 93.1 -> 89.8 MB, CPU per attach 5.69 -> 5.45 ms).
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=2', '--min-semi-space-size=2', '--no-parallel-scavenge', '--v8-pool-size=2'];
