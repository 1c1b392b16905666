#!/usr/bin/env bash
# Checks that each module's CMake link edges equal what its sources include (docs/architecture.md):
# for every src/<module>/, the sluice_* libraries in its target_link_libraries must be exactly
# the other modules named by its `#include "<module>/..."` lines: none missing (a module that
# builds only because another one drags a library in), none extra (an edge the code does not
# use, which hides the real dependency graph). Run by ctest (tests/CMakeLists.txt).
# Usage: scripts/check-link-edges.sh [SOURCE_DIR]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
status=0
for dir in "$root"/src/*/; do
  module=$(basename "$dir")
  cmake="$dir/CMakeLists.txt"
  [ -f "$cmake" ] || continue
  # Modules its sources include (sub-folders too), itself left out.
  included=$(grep -rhoE '^#include "[a-z_]+/' "$dir" --include='*.cpp' --include='*.h' |
    sed -E 's/#include "([a-z_]+)\//\1/' | grep -vx "$module" | sort -u || true)
  # Only modules that are libraries count (src/<m>/CMakeLists.txt defining sluice_<m>).
  wanted=""
  for m in $included; do
    if grep -q "add_library(sluice_$m " "$root/src/$m/CMakeLists.txt" 2>/dev/null; then
      wanted="$wanted $m"
    fi
  done
  wanted=$(echo "$wanted" | tr ' ' '\n' | sed '/^$/d' | sort -u)
  # The sluice_* names inside target_link_libraries(sluice_<module> ...), across lines.
  linked=$(awk -v t="sluice_$module" '
      /target_link_libraries\(/ {
        # The target itself, not one whose name merely starts with it (sluice_workflow_testing).
        rest = substr($0, index($0, "target_link_libraries(") + 22)
        inside = (rest == t || index(rest, t " ") == 1)
      }
      inside { print }
      inside && /\)/ { inside = 0 }' "$cmake" |
    grep -oE 'sluice_[a-z_]+' | sed 's/^sluice_//' | grep -vx "$module" | sort -u || true)
  missing=$(comm -23 <(echo "$wanted") <(echo "$linked") | sed '/^$/d')
  extra=$(comm -13 <(echo "$wanted") <(echo "$linked") | sed '/^$/d')
  if [ -n "$missing" ]; then
    echo "src/$module/CMakeLists.txt: sluice_$module includes but does not link:" $missing
    status=1
  fi
  if [ -n "$extra" ]; then
    echo "src/$module/CMakeLists.txt: sluice_$module links but never includes:" $extra
    status=1
  fi
done
if [ "$status" = 0 ]; then echo "link edges equal the includes"; fi
exit "$status"
