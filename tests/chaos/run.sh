#!/usr/bin/env bash
# The full chaos count (docs/reliability.md "Chaos"): SIGKILLs at random points of full runs of
# the example on every back-end combination, each run repaired until it equals a clean run.
# `make test` runs a few kills per combination; this runs the issue's 200+ with one base seed.
#
#   tests/chaos/run.sh [BUILD_DIR]      (default build/test; `make chaos` builds it first)
#
# Environment: SLUICE_CHAOS_SEED (default: from the clock, printed), and the kills per
# combination: CHAOS_KILLS_LOCAL (70), CHAOS_KILLS_PG (50), CHAOS_KILLS_S3 (50),
# CHAOS_KILLS_SLURM (30), CHAOS_KILLS_SLURM_S3_PG (20). Each combination gets the same base seed,
# so they share one schedule of kills (what differs is the back-end under it). Every combination's tally and each trial's kills are printed and kept
# in BUILD_DIR/chaos/<combination>.log. To reproduce one combination's schedule:
#   SLUICE_CHAOS_SEED=S SLUICE_CHAOS_KILLS=N BUILD_DIR/tests/sluice_chaos_test --gtest_filter=...
# (the schedule is a function of the seed; where in the run each kill lands depends on timing).
set -uo pipefail
build=${1:-build/test}
bin=$build/tests/sluice_chaos_test
[ -x "$bin" ] || { echo "chaos: $bin is missing; run make build-test first" >&2; exit 2; }
seed=${SLUICE_CHAOS_SEED:-$(date +%s)}
out=$build/chaos
mkdir -p "$out"
echo "chaos: base seed $seed (SLUICE_CHAOS_SEED=$seed reproduces the schedules)"
status=0
total=0
run() {  # name gtest-filter kills
  local name=$1 filter=$2 kills=$3
  local start=$SECONDS
  SLUICE_CHAOS_SEED=$seed SLUICE_CHAOS_KILLS=$kills nice -n 10 "$bin" --gtest_filter="$filter" \
    >"$out/$name.log" 2>&1
  local rc=$?
  local tally
  tally=$(grep -E '^chaos .*: seed .* kills' "$out/$name.log" | tail -1)
  if [ "$rc" -ne 0 ] || [ -z "$tally" ]; then
    echo "chaos $name: FAILED (exit $rc, $((SECONDS - start)) s); see $out/$name.log"
    grep -E 'Failure|never converged|differ|did not end' "$out/$name.log" | head -5
    status=1
  else
    echo "$tally ($((SECONDS - start)) s)"
    total=$((total + $(sed -E 's/.*: ([0-9]+) kills .*/\1/' <<<"$tally")))
  fi
}
run local+sqlite 'Chaos.KillsOnTheLocalStore*' "${CHAOS_KILLS_LOCAL:-70}"
run local+postgresql 'Chaos.KillsOnPostgresql*' "${CHAOS_KILLS_PG:-50}"
run s3+sqlite 'Chaos.KillsOnTheS3Store*' "${CHAOS_KILLS_S3:-50}"
run slurm+local+sqlite 'Chaos.KillsOnTheSlurmExecutor*' "${CHAOS_KILLS_SLURM:-30}"
run slurm+s3+postgresql 'Chaos.KillsOnSlurmWith*' "${CHAOS_KILLS_SLURM_S3_PG:-20}"
echo "chaos: $total kills in total, base seed $seed, $([ $status = 0 ] && echo 'every run converged to a clean run' || echo 'FAILURES above')"
exit $status
