#!/usr/bin/env bash
# Installs the S3 test harness's npm packages (versions pinned by package-lock.json) into
# DEST/node_modules, DEST defaulting to build/s3-node. Idempotent and safe to run from parallel
# tests (flock); reinstalls only when package-lock.json changed. Prints DEST.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/../../build/s3-node}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
exec 9>"$dest/.lock"
flock 9
if ! cmp -s "$here/package-lock.json" "$dest/.installed-lock" || [ ! -d "$dest/node_modules" ]; then
  if ! command -v npm >/dev/null; then
    echo "s3 harness: npm not found; run scripts/install-deps.sh (it installs nodejs and npm)" >&2
    exit 1
  fi
  cp "$here/package.json" "$here/package-lock.json" "$dest/"
  rm -f "$dest/.installed-lock"
  (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$here/package-lock.json" "$dest/.installed-lock"
fi
cp "$here/server.js" "$dest/server.js"
echo "$dest"
