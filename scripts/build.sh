#!/usr/bin/env bash
# Build the native namespace helper (node-gyp against Node's own headers), the
# benchmark's floor program (plain C, no Node), compile the TypeScript to dist/
# and bundle the daemon into dist/bundle/lnetd.mjs (what every launcher runs:
# scripts/bundle.ts says why).
# Each step runs only when its output is missing or older than its sources, so
# a start with nothing changed costs no compiler run (tsc takes ~10 s here).
# LNETD_FORCE_BUILD=1 compiles anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
gyp=$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
[ -f "$gyp" ] || gyp=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
if [ ! -f native/build/Release/nsutil.node ] || [ native/nsutil.c -nt native/build/Release/nsutil.node ] || [ native/rtnl.c -nt native/build/Release/nsutil.node ]; then
  nodedir=/usr
  [ -f "$nodedir/include/node/node_api.h" ] || nodedir=$(dirname "$(dirname "$(command -v node)")")
  echo "lnetd build: building the native namespace helper (native/nsutil.c, node-gyp)" >&2
  (cd native && node "$gyp" rebuild --nodedir="$nodedir" >/dev/null 2>build.log) || { cat native/build.log >&2; exit 1; }
fi
# after node-gyp: its rebuild empties native/build
if [ ! -f native/build/floor ] || [ native/floor.c -nt native/build/floor ]; then
  ${CC:-cc} -Wall -Wextra -O2 -o native/build/floor native/floor.c
fi
# dist/.lnetd-built is touched after each successful compile: any TypeScript
# source, tsconfig.json or package.json newer than it means compile again.
stamp=dist/.lnetd-built
changed=""
if [ "${LNETD_FORCE_BUILD:-0}" = 1 ] || [ ! -f "$stamp" ]; then
  changed="first build"
else
  changed=$(find daemon errors plugins drivers store test scripts -name '*.ts' -newer "$stamp" -print -quit 2>/dev/null || true)
  [ -z "$changed" ] && for f in tsconfig.json package.json; do [ "$f" -nt "$stamp" ] && changed=$f && break; done
  [ -n "$changed" ] && changed="$changed changed"
fi
if [ -n "$changed" ]; then
  echo "lnetd build: compiling TypeScript to dist/ ($changed; about 10-20 s)" >&2
  npx tsc -p tsconfig.json
  touch "$stamp"
else
  echo "lnetd build: dist/ is up to date with the sources, not compiling" >&2
fi
# the bundle: only when one of its inputs (dist/, node_modules) is newer than it
node dist/scripts/bundle.js --if-stale
