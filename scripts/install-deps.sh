#!/usr/bin/env bash
# Installs every Debian package that building, testing and running sluice needs.
# Idempotent: quiet and fast when everything is already present. Works as root on Debian 12.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache lld pkg-config git clang-format
  libarchive-dev libsqlite3-dev sqlite3 libpq-dev postgresql
  libcurl4-openssl-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev libfmt-dev libfast-float-dev libisal-dev isal zlib1g-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  gzip tar zstd zip python3 curl tzdata
  libssl-dev libxxhash-dev
  unzip time help2man
  libcpp-httplib-dev chromium
  clang libclang-rt-14-dev
  libexpat1-dev libsimdjson-dev
  python3-jsonschema python3-yaml
  slurmctld slurmd slurm-client munge
)
# The S3 store's tests run s3rver behind a SigV4-verifying proxy (tests/s3/); their npm packages
# are installed by tests/s3/install.sh into build/s3-node when the tests first need them.
# The dashboard's browser tests drive Chromium with npm's playwright-core; a machine that has
# node and npm already (e.g. from NodeSource) keeps them.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
