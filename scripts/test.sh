#!/usr/bin/env bash
# `npm test`: every test tier, against real PostgreSQL and Redis.
#   1. make sure the services answer (scripts/ensure-services.sh),
#   2. build every project (the e2e tier runs the built API as a process),
#   3. lint, and type-check every project with its tests (the builds leave the specs out),
#   4. unit, integration and e2e tests in one Vitest run,
# and print one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false

fail() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/ensure-services.sh || fail "PostgreSQL or Redis is not available"
npx nx run-many -t build --output-style=stream || fail "build failed"
npx nx run-many -t lint --output-style=stream || fail "lint failed"
npx nx run-many -t typecheck --output-style=stream || fail "typecheck failed"

mkdir -p test-results
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
status=$?
node scripts/test-summary.mjs test-results/vitest.json "$status" || status=1
exit $status
