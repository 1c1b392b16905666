#!/usr/bin/env bash
# Adds the event-log table (events.json beside this script: a text + integer composite key,
# device_id + event_seq, rows in time order so the devices interleave) to every partner of a
# pipeline folder written by `sluice init` (no sample data yet), and a merge task for it to the
# workflow. bench/run_pipeline and bench/lineage_compare.sh then generate the sample data with
# `sluice init DIR --data-only`, so the set has four tables per partner. The example itself
# (`sluice init`, `make run`) keeps its three.
#
# Usage: bench/event_log/add_to_pipeline.sh PIPELINE_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
for partner_dir in "$dir"/partners/*/; do
  cp "$here/events.json" "$partner_dir/schemas/events.json"
  # After the products table's line: `  events: {file: "events*.csv"}`.
  sed -i '/^  products: {file:/a\  events: {file: "events*.csv"}' "$partner_dir/partner.yaml"
  grep -q '^  events:' "$partner_dir/partner.yaml" || {
    echo "add_to_pipeline: no products table in $partner_dir/partner.yaml" >&2
    exit 1
  }
done
wf="$dir/workflow.yaml"
sed -i 's/\[merge_table_1, merge_table_2, merge_table_3\]/[merge_table_1, merge_table_2, merge_table_3, merge_table_4]/;
        s/\[merge_summary, merge_table_1, merge_table_2, merge_table_3\]/[merge_summary, merge_table_1, merge_table_2, merge_table_3, merge_table_4]/' "$wf"
cat >>"$wf" <<'YAML'

  - task_key: merge_table_4
    depends_on: [batch_extract]
    builtin: merge
    for_each: partner
    max_retries: 3
    timeout_seconds: 3600
    params: {table: events}
YAML
[ "$(grep -c merge_table_4 "$wf")" -eq 3 ] || {
  echo "add_to_pipeline: could not add merge_table_4 to $wf" >&2
  exit 1
}
