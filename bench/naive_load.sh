#!/usr/bin/env bash
# The naive floor for a load: unpack each partner's archive with the system's tar (or unzip)
# and `.import` every CSV into SQLite as it is. No validation, no encoding conversion, no header
# mapping, no upsert, no crash safety: what a quick script does, and what it gets wrong.
#
# Usage: bench/naive_load.sh PIPELINE_DIR DATE OUT_DIR
# Prints "csv_bytes=N seconds=S" at the end.
set -euo pipefail
pipeline=$1
date=$2
out=$3
rm -rf "$out"
mkdir -p "$out/unpacked" "$out/db"
start=$(date +%s.%N)
csv_bytes=0
for landing in "$pipeline"/data/landing/*/"$date"; do
  partner=$(basename "$(dirname "$landing")")
  work="$out/unpacked/$partner"
  mkdir -p "$work"
  for archive in "$landing"/*; do
    case "$archive" in
      *.tar.gz | *.tgz) tar xzf "$archive" -C "$work" ;;
      *.zip) unzip -q -o "$archive" -d "$work" ;;
      *) continue ;;
    esac
  done
  # The delimiter is the only thing a naive load has to know to get columns at all.
  delim=$(sed -n 's/^csv:.*delimiter: *"\([^"]*\)".*/\1/p' "$pipeline/partners/$partner/partner.yaml")
  delim=${delim:-,}
  for f in "$work"/*.csv; do
    table=$(basename "$f" .csv)
    csv_bytes=$((csv_bytes + $(stat -c %s "$f")))
    sqlite3 "$out/db/$partner.db" ".mode csv" ".separator '$delim'" ".import '$f' t_$table" 2>/dev/null || true
  done
done
end=$(date +%s.%N)
awk -v b="$csv_bytes" -v s="$start" -v e="$end" 'BEGIN { printf "csv_bytes=%d seconds=%.2f\n", b, e - s }' 
