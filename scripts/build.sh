#!/usr/bin/env bash
# Build the native namespace helper (node-gyp against Node's own headers), the
# benchmark's floor program (plain C, no Node), and compile the TypeScript to dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
gyp=$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
[ -f "$gyp" ] || gyp=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
if [ ! -f native/build/Release/nsutil.node ] || [ native/nsutil.c -nt native/build/Release/nsutil.node ] || [ native/rtnl.c -nt native/build/Release/nsutil.node ]; then
  nodedir=/usr
  [ -f "$nodedir/include/node/node_api.h" ] || nodedir=$(dirname "$(dirname "$(command -v node)")")
  (cd native && node "$gyp" rebuild --nodedir="$nodedir" >/dev/null 2>build.log) || { cat native/build.log >&2; exit 1; }
fi
# after node-gyp: its rebuild empties native/build
if [ ! -f native/build/floor ] || [ native/floor.c -nt native/build/floor ]; then
  ${CC:-cc} -Wall -Wextra -O2 -o native/build/floor native/floor.c
fi
npx tsc -p tsconfig.json
