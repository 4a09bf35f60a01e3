#!/usr/bin/env bash
# npm start: set up what is missing, build, run the daemon in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec node dist/daemon/main.js "$@"
