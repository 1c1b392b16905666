#!/usr/bin/env bash
# Runs every benchmark of bench/ against the release build and prints its numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
ran=0
for b in build/release/bench/*_bench; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
  ran=1
done
for s in bench/bench_*.sh; do
  [ -x "$s" ] || continue
  echo "== $(basename "$s")"
  "$s"
  ran=1
done
[ "$ran" = 1 ] || echo "no benchmarks built yet"
