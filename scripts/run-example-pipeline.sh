#!/usr/bin/env bash
# `make run` (through scripts/run-example.sh): creates the example pipeline with sample data in
# scratch/example (fresh each time), runs it once with `sluice run`, then prints the run's task
# states, the summary, rows per partner table, the rejects found, and where everything is.
# Exits with sluice run's exit code (0 only when every task succeeded).
#
# Environment: SLUICE (binary, default build/release/sluice), EXAMPLE_DIR (default
# scratch/example), EXAMPLE_DATE (default today in Asia/Seoul, the example's time zone),
# EXAMPLE_ROWS (rows per table and partner, default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
SLUICE=${SLUICE:-build/release/sluice}
DIR=${EXAMPLE_DIR:-scratch/example}
DATE=${EXAMPLE_DATE:-$(TZ=Asia/Seoul date +%F)}
ROWS=${EXAMPLE_ROWS:-2000}

rm -rf "$DIR"
mkdir -p "$(dirname "$DIR")"
echo "== sluice init $DIR --sample-data --date $DATE --rows $ROWS"
"$SLUICE" init "$DIR" --sample-data --date "$DATE" --rows "$ROWS"
echo
echo "== sluice validate $DIR"
"$SLUICE" validate "$DIR"
echo
echo "== sluice run $DIR --date $DATE"
set +e
"$SLUICE" run "$DIR" --date "$DATE"
rc=$?
set -e

# The newest run's id, from `sluice runs --json` (a list of runs, newest first).
run_id=$("$SLUICE" runs "$DIR" --json 2>/dev/null | python3 -c '
import json, sys
try:
    runs = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
if isinstance(runs, dict):
    runs = runs.get("runs", [])
if runs:
    r = runs[0]
    print(r.get("run_id") or r.get("id") or "")
' || true)

if [ -n "$run_id" ]; then
  echo
  echo "== sluice show $DIR $run_id"
  "$SLUICE" show "$DIR" "$run_id" || true
  echo
  echo "== summary (sluice logs $DIR $run_id merge_summary)"
  # The task's last log line repeats the summary as JSON for machines; people get the table.
  "$SLUICE" logs "$DIR" "$run_id" merge_summary 2>/dev/null | grep -v '^task merge_summary ' |
    tail -n 60 || true
fi

echo
echo "== rows per partner table (warehouse/<partner>.db)"
shopt -s nullglob
for db in "$DIR"/warehouse/*.db; do
  partner=$(basename "$db" .db)
  for table in $(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\_%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE 'sluice\_%' ESCAPE '\' ORDER BY name"); do
    printf "  %-12s %-12s %8s rows\n" "$partner" "$table" "$(sqlite3 "$db" "SELECT count(*) FROM \"$table\"")"
  done
done

echo
echo "== rejects (data/rejects/<partner>/<date>/<table>.csv)"
found=0
while IFS= read -r f; do
  found=1
  lines=$(($(wc -l <"$f") - 1))
  printf "  %-60s %6s rejected rows\n" "${f#"$DIR"/}" "$lines"
done < <(find "$DIR/data/rejects" -type f -name '*.csv' 2>/dev/null | sort)
[ "$found" = 1 ] || echo "  none"

echo
echo "== where things are"
echo "  pipeline folder:    $DIR"
echo "  partner databases:  $DIR/warehouse/<partner>.db   (sqlite3 $DIR/warehouse/acme.db 'SELECT * FROM orders LIMIT 5')"
echo "  rejects:            $DIR/data/rejects/<partner>/$DATE/<table>.csv"
echo "  extracted files:    $DIR/data/raw/<partner>/$DATE/"
echo "  logs:               $DIR/logs/${run_id:-<run>}/<task>[.<partner>]/<attempt>.log"
echo "  run ledger:         $DIR/state/ledger.db   (sluice runs $DIR; sluice show $DIR ${run_id:-RUN_ID})"
if [ "$rc" -ne 0 ]; then
  echo
  echo "sluice run exited $rc: see 'sluice show $DIR ${run_id:-RUN_ID}' and the logs above" >&2
fi
exit "$rc"
