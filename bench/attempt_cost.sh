#!/usr/bin/env bash
# The fixed cost of one merge attempt (issue 20: a 500-row table's merge attempt under 20 ms):
# runs the example pipeline once with --rows 500 (default journal, WAL), then re-runs one merge
# attempt (`sluice task exec ... --task merge_table_1 --partner acme`, a 500-row orders file)
# N times and prints the median wall and CPU time, beside the floor of any attempt (the same
# binary's `sluice --version`: process start, dynamic linking, static initialisers) and the
# attempt's fsync/fdatasync calls (strace -c, when strace is installed).
#
# Then the merge attempts as a run launches them: `sluice run` of the same pipeline from a clean
# state, --runs times, and the median of its 500-row merge attempts' durations from the ledger
# (launch to reap: process start or fork, the attempt, the scheduler noticing its end). With
# BEFORE=path/to/older/sluice those runs alternate with that binary's.
#
# Usage: bench/attempt_cost.sh [--repeat N] [--runs R] [--work DIR]
#        (defaults: 21, 5, scratch/attempt)
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=21
runs=5
work=scratch/attempt
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "attempt_cost: unknown argument $1" >&2; exit 2 ;;
  esac
done
SLUICE=${SLUICE:-build/release/sluice}
date=2026-11-24
rm -rf "$work"
mkdir -p "$work"
"$SLUICE" init "$work/p" --sample-data --date "$date" --rows 500 >/dev/null
sed -i 's|^warehouse: sqlite://\([^? ]*\)?journal=rollback|warehouse: sqlite://\1|' "$work/p/sluice.yaml"
find "$work/p/data/landing" -type f -exec touch -d '10 minutes ago' {} +
"$SLUICE" run "$work/p" --date "$date" >"$work/run.log" 2>&1
run_id=$(ls "$work/p/logs" | head -1)
# What the attempt would take if the disk never made it wait (fsync and fdatasync return at
# once): an LD_PRELOAD shim, when a C compiler is at hand. For comparison only.
if command -v cc >/dev/null; then
  printf 'int fsync(int fd) { (void)fd; return 0; }\nint fdatasync(int fd) { (void)fd; return 0; }\n' \
    >"$work/nosync.c"
  cc -shared -fPIC -O2 -o "$work/nosync.so" "$work/nosync.c"
fi

# Runs a command N times; prints the median wall and CPU (user + system, of the process and
# its children) in milliseconds (python3 for a clock finer than GNU time's 10 ms).
medians() {
  local label=$1
  shift
  python3 - "$label" "$repeat" "$@" <<'PY'
import resource, statistics, subprocess, sys, time
label, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
walls, cpus = [], []
for _ in range(n):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    walls.append((time.perf_counter() - t0) * 1000)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
print("%-48s wall %6.1f ms (min %.1f, max %.1f)  cpu %5.1f ms  (median of %d)" % (
    label, statistics.median(walls), min(walls), max(walls), statistics.median(cpus), n))
PY
}
exec_merge() {
  "$SLUICE" task exec "$work/p" --run "$run_id" --task merge_table_1 --partner acme \
    --attempt "$((RANDOM + 2))" --date "$date"
}
medians "sluice --version (process floor)" "$SLUICE" --version
medians "task exec merge_table_1 (acme orders, 500 rows)" bash -c "$(declare -f exec_merge); SLUICE=$SLUICE work=$work run_id=$run_id date=$date exec_merge"
medians "bash -c true (the wrapper above)" bash -c true
medians "task exec merge_table_1, fsync as a no-op" env LD_PRELOAD="$work/nosync.so" bash -c "$(declare -f exec_merge); SLUICE=$SLUICE work=$work run_id=$run_id date=$date exec_merge"
if command -v strace >/dev/null; then
  strace -f -c -e trace=fsync,fdatasync -o "$work/strace.txt" bash -c "$(declare -f exec_merge); SLUICE=$SLUICE work=$work run_id=$run_id date=$date exec_merge" >/dev/null 2>&1 || true
  awk '/fsync|fdatasync/ { printf "  %s: %s calls\n", $NF, $4 }' "$work/strace.txt"
fi

# Merge attempts inside `sluice run`: each run from a clean state (outputs and ledger removed),
# the median duration of its merge attempts (all 500-row tables) from the ledger.
in_run() {
  local bin=$1 label=$2
  python3 - "$bin" "$work/p" "$date" "$runs" "$label" <<'PY'
import shutil, sqlite3, statistics, subprocess, sys
binary, pipeline, date, runs, label = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
durations, walls = [], []
for _ in range(runs):
    for d in ("state", "warehouse", "logs", "data/raw", "data/rejects", "data/manifests"):
        shutil.rmtree(f"{pipeline}/{d}", ignore_errors=True)
    subprocess.run([binary, "run", pipeline, "--date", date], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    db = sqlite3.connect(f"{pipeline}/state/ledger.db")
    rows = db.execute("SELECT ended_ms - started_ms FROM attempts WHERE task_key LIKE 'merge_table_%' "
                      "AND state = 'success'").fetchall()
    first, last = db.execute("SELECT min(started_ms), max(ended_ms) FROM attempts").fetchone()
    durations += [r[0] for r in rows]
    walls.append(last - first)
print("%-48s median %5.1f ms (min %d, max %d) over %d merge attempts; run %.0f ms" % (
    label, statistics.median(durations), min(durations), max(durations), len(durations),
    statistics.median(walls)))
PY
}
for i in $(seq 2); do
  [ -n "${BEFORE:-}" ] && in_run "$BEFORE" "before: merge attempts in sluice run"
  in_run "$SLUICE" "merge attempts in sluice run"
done
