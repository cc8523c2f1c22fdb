#!/usr/bin/env bash
# Installs everything, then builds, typechecks, lints and runs every package's tests.
# Ends with one line "N passed, N failed" computed from the jest results.
set -uo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 DO_NOT_TRACK=1

bash scripts/bootstrap.sh || { echo "bootstrap failed"; echo "0 passed, 1 failed"; exit 1; }

status=0
# Files the build generates are committed; the build above rewrote them, so a difference
# here means the committed copy is stale (a test cannot catch it after the build).
echo "==> generated files"
if ! git diff --exit-code -- packages/api-contract/openapi.json packages/crypto/src/pow-kernel-js.ts; then
  echo "generated files differ from the committed ones: run pnpm build and commit packages/api-contract/openapi.json and packages/crypto/src/pow-kernel-js.ts"
  status=1
fi
echo "==> typecheck"
pnpm typecheck || status=1
echo "==> lint"
pnpm lint || status=1

echo "==> tests"
rm -rf packages/*/.test-results apps/*/.test-results
for d in packages/*/ apps/*/; do mkdir -p "$d.test-results"; done  # jest does not create the --outputFile folder
pnpm exec turbo run test --concurrency=2 --continue --force -- --json --outputFile=.test-results/jest.json || status=1

node scripts/summarize-tests.mjs $([ "$status" -ne 0 ] && echo --extra-failure)
rc=$?
[ "$status" -ne 0 ] && exit 1
exit $rc
