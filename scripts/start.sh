#!/usr/bin/env bash
# npm start: Ferry's main job on its default scenario, in three of its own commands.
#  1. the scenario itself: a live migration, then a processor failure the protected VMs
#     survive (the summary holds each interruption and lost work against its bound);
#  2. a short fault-injection campaign of the same board (seeded trials, docs/campaigns.md);
#  3. the reliability report of that campaign: R(t) measured and modelled, with and
#     without migration (docs/reliability.md); the headline is printed, index.html is the rest.
# FERRY_START_TRIALS sets the campaign's size (default 24: a few seconds on two cores).
set -uo pipefail
cd "$(dirname "$0")/.."
scenario=scenarios/quad-failover.json
trials=${FERRY_START_TRIALS:-24}
ferry() { echo "\$ ferry $*" >&2; node bin/ferry.js "$@"; }

ferry run --scenario "$scenario" --summary || exit
echo
# A fresh campaign each time (a results file resumes, and one of an older core is refused).
mkdir -p report && rm -f report/results.jsonl
ferry campaign "$scenario" --trials "$trials" --seed 1 -o report/results.jsonl
verdict=$?
[ "$verdict" -le 1 ] || exit "$verdict" # 0 valid, 1 invalid: the report shows why; anything else is an error
echo
ferry report report/results.jsonl --mission 1y -o report || exit
exit "$verdict"
