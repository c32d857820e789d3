#!/usr/bin/env bash
# Builds ringflow if needed, then starts the collector with netflow.toml.
# Any argument is passed to ringflow (e.g. --listen 127.0.0.1:9995 --interval 10).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" "$root/build/release" >&2
cd "$root"
exec "$root/build/release/ringflow" -c "$root/netflow.toml" "$@"
