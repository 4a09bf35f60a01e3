// Node flags the daemon runs with. A V8 heap size can't be changed once the
// process runs, so every launcher passes these: the bin's shebang,
// scripts/start.sh, systemd/lnetd.service, the tests and the benchmark.
// The daemon keeps little short-lived garbage per request; V8's default young
// generation (up to 16 MB per semi-space) would mostly be resident memory it
// never needs (RSS with 1,000 endpoints: 117 MB with the default, 94 MB here).
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=2'];
