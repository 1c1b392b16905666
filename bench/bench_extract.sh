#!/usr/bin/env bash
# Extraction throughput on ~1 GB of CSV in tar.gz archives, beside `gzip -dc` and `igzip -dc`
# of the same archives to /dev/null, all measured here, one core each. Throughput is given per
# wall second and per CPU second (user+sys): on a shared machine the CPU figure is the steadier
# per-core number; the extract builtin's wall time also includes waiting for fsync.
#   bench/bench_extract.sh [MB]      (default 1024; needs `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-1024}
BIN=build/release/bench/extract_bench
[ -x "$BIN" ] || { echo "bench_extract: $BIN missing; run 'make build' first" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-extract.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "generating ${MB} MiB of CSV in 4 tar.gz archives (gzip -6) under $WORK ..."
"$BIN" gen "$WORK" "$MB"
CSV_BYTES=$(cat "$WORK/csv_bytes")
mapfile -t ARCHIVES < <(find "$WORK/pipeline/data/landing" -name '*.tar.gz' | sort)
GZ_BYTES=$(cat "${ARCHIVES[@]}" | wc -c)
echo "  CSV: $((CSV_BYTES / 1000000)) MB, archives: $((GZ_BYTES / 1000000)) MB"
cat "${ARCHIVES[@]}" > /dev/null  # warm the page cache for everyone alike

rate() {  # label, command...: MB/s of uncompressed CSV, per wall second and per CPU second
  local label=$1; shift
  local TIMEFORMAT='%R %U %S' t
  t=$( { time (for a in "${ARCHIVES[@]}"; do "$@" "$a" > /dev/null; done) ; } 2>&1 )
  awk -v b="$CSV_BYTES" -v l="$label" -v t="$t" 'BEGIN { split(t, x, " ");
    printf "  %-48s %6.0f MB/s wall  %6.0f MB/s cpu  (%.2f s wall, %.2f s cpu)\n",
           l, b / 1e6 / x[1], b / 1e6 / (x[2] + x[3]), x[1], x[2] + x[3] }'
}

echo "baselines (decompress only, to /dev/null):"
rate "gzip -dc" gzip -dc
rate "igzip -dc" igzip -dc
echo "sluice (uncompressed CSV MB/s):"
"$BIN" run "$WORK"
