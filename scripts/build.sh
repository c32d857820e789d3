#!/usr/bin/env bash
# Configures (if needed) and builds ringflow. cmake/ninja rebuild only what is
# stale, so calling this every time is cheap.
# Usage: scripts/build.sh [BUILD_DIR] [extra cmake -D args...]
#   BUILD_DIR defaults to build/release (Release). Env RINGFLOW_TARGETS limits targets.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
build=${1:-$root/build/release}
shift || true
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
elif [ $# -gt 0 ]; then
  cmake "$build" "$@" >/dev/null
fi
# shellcheck disable=SC2086
cmake --build "$build" ${RINGFLOW_TARGETS:+--target $RINGFLOW_TARGETS}
