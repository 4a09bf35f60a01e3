#!/usr/bin/env bash
# npm start: set up what is missing, build, run the daemon in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
# node flags: see daemon/node-flags.ts
exec node --max-semi-space-size=2 dist/daemon/main.js "$@"
