#!/usr/bin/env bash
# npm start: set up what is missing, build, run the daemon in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/.lnetd-built ]; then
  echo "lnetd: first start: installing what is missing (apt packages, npm dependencies), building the native helper and compiling; later starts only rebuild what changed" >&2
fi
bash scripts/setup.sh >&2
# each published host port holds a socket (README "Published ports"): room for many
if [ "$(id -u)" -eq 0 ] && [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 524288 ]; then
  ulimit -n 524288 2>/dev/null || echo "lnetd: could not raise the open-file limit to 524288 (now $(ulimit -Hn)); fewer host ports can be published" >&2
fi
# node flags: see daemon/node-flags.ts; dist/bundle/lnetd.mjs is the daemon bundled
# into one file (scripts/bundle.ts), made by setup.sh -> build.sh
exec node --max-semi-space-size=2 --min-semi-space-size=2 --no-parallel-scavenge --v8-pool-size=2 dist/bundle/lnetd.mjs "$@"
