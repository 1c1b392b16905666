#!/usr/bin/env bash
# `make run`: builds are done by make; this runs the example pipeline end to end in scratch/.
set -euo pipefail
cd "$(dirname "$0")/.."
SLUICE=build/release/sluice
if [ -d examples/partner_ingestion ] && "$SLUICE" init --help >/dev/null 2>&1; then
  exec ./scripts/run-example-pipeline.sh
fi
# Until the example pipeline lands, show that the binary works.
"$SLUICE" --version
"$SLUICE" --help
