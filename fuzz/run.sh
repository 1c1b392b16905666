#!/usr/bin/env bash
# Fuzzes each target for FUZZ_SECONDS (default 60) seconds, one after the other, niced.
#
#   fuzz/run.sh [TARGET...]          (from the repository root; `make fuzz` builds first)
#
# Corpus: libFuzzer grows build/fuzz/corpus/<target>/ (kept between runs of this checkout) from
# the committed fuzz/corpus/<target>/; afterwards the inputs that add coverage are merged back
# into fuzz/corpus/<target>/ (commit them: they are small, and the next session starts where
# this one stopped). Crashes land in build/fuzz/artifacts/<target>/; each becomes a regression
# input under fuzz/corpus/<target>/ and a fix.
# Every run appends a line to fuzz/stats.tsv: UTC time, target, wall seconds, CPU seconds (user
# + system of the fuzzer), executions, crashes, the machine's core count; docs/reliability.md
# sums them (fuzz/stats.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
NICE=${FUZZ_NICE:-15}
# libFuzzer's -timeout is wall-clock: a fuzzer starved by a loaded machine (idle priority) needs
# a longer one, or a unit that waited for the CPU is reported as a hang.
TIMEOUT=${FUZZ_TIMEOUT:-20}
BIN=build/fuzz/fuzz
ALL=(csv_tokenizer csv_encoding csv_conform csv_values config_files archive_reader ndjson_reader xlsx_reader)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

max_len() {
  case "$1" in
    archive_reader | xlsx_reader) echo 65536 ;;
    config_files) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

[ -f fuzz/stats.tsv ] || printf 'utc\ttarget\twall_s\tcpu_s\texecs\tcrashes\tcores\n' > fuzz/stats.tsv
status=0
for t in "${TARGETS[@]}"; do
  exe="$BIN/fuzz_$t"
  [ -x "$exe" ] || { echo "fuzz: $exe is missing; run make fuzz" >&2; exit 2; }
  work="build/fuzz/corpus/$t"
  art="build/fuzz/artifacts/$t"
  mkdir -p "$work" "$art" "fuzz/corpus/$t"
  log="build/fuzz/$t.log"
  echo "fuzz: $t for ${SECONDS_EACH}s (nice $NICE), log $log"
  start=$(date +%s)
  # CPU time of the fuzzer alone, from /usr/bin/time (the `time` package).
  set +e
  /usr/bin/time -f 'cpu_seconds %U %S' -o "build/fuzz/$t.time" \
    nice -n "$NICE" "$exe" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$t")" \
    -timeout="$TIMEOUT" -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" \
    "$work" "fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  set -e
  wall=$(( $(date +%s) - start ))
  cpu=$(awk '/^cpu_seconds/ {printf "%.0f", $2 + $3}' "build/fuzz/$t.time")
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  crashes=0
  if [ $rc -ne 0 ]; then
    crashes=1
    status=1
    echo "fuzz: $t FOUND A CRASH (exit $rc): see $log and $art/" >&2
    grep -m3 -E 'ERROR|invariant|SUMMARY' "$log" >&2 || true
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$wall" "${cpu:-0}" \
    "${execs:-0}" "$crashes" "$(nproc)" >> fuzz/stats.tsv
  # Keep what adds coverage, minimized, in the committed corpus.
  nice -n "$NICE" "$exe" -merge=1 -max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2048 \
    "fuzz/corpus/$t" "$work" > "build/fuzz/$t.merge.log" 2>&1 || true
  echo "fuzz: $t: ${cpu:-0} CPU s, ${execs:-0} execs, crashes $crashes;" \
    "committed corpus $(ls "fuzz/corpus/$t" | wc -l) inputs"
done
exit $status
