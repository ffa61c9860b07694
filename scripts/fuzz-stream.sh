#!/usr/bin/env bash
# The long stream fuzz run: the suite's fuzz test (test/stream-fuzz.test.ts)
# with many more cases, over several seeds.
#
#   npm run fuzz:stream                      200000 cases for each of seeds 1..5
#   FUZZ_CASES=50000 FUZZ_SEEDS="7 8" npm run fuzz:stream
#
# Needs the built core (npm run build:core). Exit status 0 only if every seed passed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CASES="${FUZZ_CASES:-200000}"
SEEDS="${FUZZ_SEEDS:-1 2 3 4 5}"
for seed in $SEEDS; do
  echo "fuzz:stream: seed $seed, $CASES cases"
  FERRY_FUZZ_CASES="$CASES" FERRY_FUZZ_SEED="$seed" FERRY_FUZZ_CHECK_EVERY="${FUZZ_CHECK_EVERY:-25}" \
    npx vitest run test/stream-fuzz.test.ts --silent=false
done
echo "fuzz:stream: all seeds passed"
