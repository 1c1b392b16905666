#!/usr/bin/env bash
# Runs one generated pipeline (the set bench/run_pipeline generates: `sluice init --sample-data`
# plus the event-log table of bench/event_log/, unless --no-events) with two sluice binaries and compares what they loaded, apart from the lineage columns:
#   tables    every partner table's rows, every column but _ingest_date, _load_id, _run_id and
#             _source_file, sorted: must be byte-identical
#   rejects   data/rejects/**: byte-identical
#   counts    each merge's stats (rows_read/loaded/inserted/updated/deleted/kept_newer/rejected,
#             bytes, files): identical
# and prints each run's database size against the CSV's (the lineage target: <= 1.3x).
#
# Usage: bench/lineage_compare.sh OLD_SLUICE NEW_SLUICE [--partners N] [--rows R] [--work DIR]
#                                 [--no-events]
# Defaults: 8 partners, 20000 rows per table, work folder scratch/lineage.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1
new=$2
shift 2
partners=8
rows=20000
work=scratch/lineage
events=1
while [ $# -gt 0 ]; do
  case "$1" in
    --partners) partners=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --no-events) events=0; shift ;;
    *) echo "lineage_compare: unknown argument $1" >&2; exit 2 ;;
  esac
done
date=2026-11-24
rm -rf "$work"
mkdir -p "$work"
"$new" init "$work/template" --partner-count "$partners" >/dev/null
if [ "$events" = 1 ]; then bench/event_log/add_to_pipeline.sh "$work/template"; fi
"$new" init "$work/template" --data-only --date "$date" --rows "$rows" >"$work/init.log"
csv_bytes=$(sed -n 's/.* \([0-9]*\) bytes of CSV$/\1/p' "$work/init.log")
find "$work/template/data/landing" -type f -exec touch -d '10 minutes ago' {} +

dump() {  # dump DIR OUT: tables without lineage, rejects, merge counts
  local dir=$1 out=$2
  : >"$out"
  for db in "$dir"/warehouse/*.db; do
    for table in $(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sluice_%' ORDER BY 1"); do
      cols=$(sqlite3 "$db" "SELECT group_concat(quote(name), ',') FROM pragma_table_info('$table') WHERE name NOT IN ('_ingest_date', '_load_id', '_run_id', '_source_file')")
      cols=${cols//\'/\"}
      echo "== $(basename "$db") $table" >>"$out"
      sqlite3 "$db" "SELECT $cols FROM \"$table\" ORDER BY $cols" >>"$out"
    done
  done
  (cd "$dir/data" && find rejects -type f | sort | while read -r f; do echo "== $f"; cat "$f"; done) >>"$out"
  (cd "$dir/data" && find manifests -path '*/merge/*.json' | sort | while read -r f; do
    echo "== $f"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print({k: d.get(k) for k in ("status","files","rows_read","rows_loaded","rows_inserted","rows_updated","rows_deleted","rows_kept_newer","rows_rejected","bytes","columns_missing","columns_extra")})' "$f"
  done) >>"$out"
}

for which in old new; do
  bin=$old
  [ "$which" = new ] && bin=$new
  cp -r "$work/template" "$work/$which"
  # The default journal (WAL), as the issue's size target is measured with.
  sed -i 's|^warehouse: sqlite://\([^? ]*\)?journal=rollback|warehouse: sqlite://\1|' "$work/$which/sluice.yaml"
  "$bin" run "$work/$which" --date "$date" >"$work/$which.log" 2>&1 || {
    echo "lineage_compare: the $which run failed, see $work/$which.log" >&2
    exit 1
  }
  for db in "$work/$which"/warehouse/*.db; do sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null; done
  dump "$work/$which" "$work/$which.dump"
  db_bytes=$(cat "$work/$which"/warehouse/*.db | wc -c)
  awk -v w="$which" -v d="$db_bytes" -v c="$csv_bytes" 'BEGIN {
    printf "%s: databases %.1f MB for %.1f MB of CSV: %.2fx\n", w, d / 1e6, c / 1e6, d / c }'
done
if cmp -s "$work/old.dump" "$work/new.dump"; then
  echo "tables (without lineage columns), rejects and merge counts: identical ($(wc -l <"$work/new.dump") lines)"
else
  echo "DIFFERENT: diff $work/old.dump $work/new.dump" >&2
  diff "$work/old.dump" "$work/new.dump" | head -20 >&2
  exit 1
fi
