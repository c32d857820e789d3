#!/usr/bin/env bash
# Installs the Debian packages ringflow needs to build and test (run as root),
# or prints the exact apt-get line to run otherwise. Idempotent and quiet when
# everything is present. Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

PKGS=(g++ cmake ninja-build pkg-config ccache
      liburing-dev libconcurrentqueue-dev catch2 libtomlplusplus-dev libcli11-dev
      libpcap-dev libcurl4-openssl-dev libcpp-httplib-dev libcap-dev
      "$@")

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ringflow: missing Debian packages: ${missing[*]}" >&2
  echo "ringflow: run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "ringflow: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
