#!/usr/bin/env bash
# Sums fuzz/stats.tsv (one line per fuzz/run.sh run of a target) per target, as the Markdown
# table docs/reliability.md shows: runs, wall seconds, CPU seconds (and minutes), executions,
# crashes found. Usage: fuzz/stats.sh
set -euo pipefail
cd "$(dirname "$0")"
awk -F'\t' 'NR > 1 {
    runs[$2]++; wall[$2] += $3; cpu[$2] += $4; execs[$2] += $5; crashes[$2] += $6
    if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
  }
  END {
    print "| target | runs | wall s | CPU s | CPU min | execs | crashes |"
    print "|---|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= n; i++) {
      t = order[i]
      printf "| %s | %d | %d | %d | %.1f | %d | %d |\n", t, runs[t], wall[t], cpu[t], cpu[t] / 60,
             execs[t], crashes[t]
    }
  }' stats.tsv
