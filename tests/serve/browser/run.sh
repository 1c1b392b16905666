#!/usr/bin/env bash
# Runs the dashboard's browser tests: installs playwright-core (pinned by package-lock.json)
# into BUILD_DIR/browser-deps once, then drives headless Chromium (Debian's /usr/bin/chromium,
# from scripts/install-deps.sh) against `sluice serve`. Screenshots land in
# BUILD_DIR/serve-screenshots. Usage: run.sh SLUICE_BINARY BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sluice="$1"
build="$2"
deps="$build/browser-deps"
if [ ! -x /usr/bin/chromium ]; then
  echo "run.sh: /usr/bin/chromium is missing: run scripts/install-deps.sh (Debian package chromium)" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "run.sh: npm is missing: run scripts/install-deps.sh (Debian packages nodejs npm)" >&2
  exit 1
fi
# Reinstall only when the lock file changed.
if ! cmp -s "$here/package-lock.json" "$deps/package-lock.json" || [ ! -d "$deps/node_modules/playwright-core" ]; then
  mkdir -p "$deps"
  cp "$here/package.json" "$here/package-lock.json" "$deps/"
  (cd "$deps" && npm ci --no-audit --no-fund --loglevel=error)
fi
export NODE_PATH="$deps/node_modules"
export SLUICE_BINARY="$sluice"
export SLUICE_SCREENSHOTS="$build/serve-screenshots"
mkdir -p "$SLUICE_SCREENSHOTS"
# An ES module resolves packages from its own folder: run a copy beside node_modules.
cp "$here/dashboard.test.mjs" "$deps/dashboard.test.mjs"
exec node "$deps/dashboard.test.mjs" "${@:3}"
