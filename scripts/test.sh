#!/usr/bin/env bash
# npm test: set up what is missing, typecheck + build, then run every tier:
# unit (no root), api (the daemon over its unix socket), kernel (root,
# throwaway namespaces), e2e (root: real runtimes on lnetd) and the
# benchmark smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
LNETD_WITH_TEST_TOOLS=1 bash scripts/setup.sh >&2
tiers=(dist/test/unit dist/test/api)
if [ "$(id -u)" -eq 0 ]; then tiers+=(dist/test/kernel dist/test/e2e); else echo "lnetd test: not root, skipping the kernel tier" >&2; fi
files=()
for t in "${tiers[@]}"; do
  [ -d "$t" ] && while IFS= read -r f; do files+=("$f"); done < <(find "$t" -name '*.test.js' | sort)
done
exec npx tap --reporter=tap --coverage-report=text-summary "$@" "${files[@]}"
