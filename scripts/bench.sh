#!/usr/bin/env bash
# npm run bench: build, then run the benchmark (root: it makes namespaces).
# Options go to dist/scripts/bench/main.js; see --help.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2
exec node dist/scripts/bench/main.js "$@"
