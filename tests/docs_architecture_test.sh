#!/usr/bin/env bash
# docs/architecture.md is the map of the code: every path it names must
# exist. A path is a token that starts with src/, include/, tests/, bench/,
# scripts/ or docs/; a bare file name (worker.cc, metrics.md) is resolved
# against the directory of the last path named before it on the same line,
# and a bare *.md name against docs/ (the page's own relative links).
# Prints every missing path and fails if there is one.
# Usage: docs_architecture_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
src=$2
page=$src/docs/architecture.md
[ -f "$page" ] || { echo "FAIL: $page not found" >&2; exit 1; }

missing=0
checked=0
check() {  # check PATH LINE_NUMBER
  checked=$((checked + 1))
  if [ ! -e "$src/$1" ]; then
    echo "FAIL: docs/architecture.md:$2 names $1, which does not exist" >&2
    missing=$((missing + 1))
  fi
}

n=0
while IFS= read -r line; do
  n=$((n + 1))
  dir=
  # Paths and bare file names in the order they appear on the line.
  while read -r tok; do
    [ -n "$tok" ] || continue
    tok=${tok%.}  # a sentence's full stop
    case $tok in
      src/* | include/* | tests/* | bench/* | scripts/* | docs/*)
        check "$tok" "$n"
        if [ "${tok%/}" != "$tok" ]; then dir=${tok%/}; else dir=$(dirname "$tok"); fi
        ;;
      *.md) check "docs/$tok" "$n" ;;
      *)
        if [ -n "$dir" ]; then
          check "$dir/$tok" "$n"
        else
          echo "FAIL: docs/architecture.md:$n names $tok without a directory" >&2
          missing=$((missing + 1))
        fi
        ;;
    esac
  done < <(grep -oE '(^|[^A-Za-z0-9_./-])((src|include|tests|bench|scripts|docs)/[A-Za-z0-9_./-]*|[A-Za-z0-9_]+\.(cc|h|sh|md))' <<< "$line" |
    sed -E 's#^[^A-Za-z0-9_./-]##')
done < "$page"

# A page that names no paths means the parsing broke, not that all is well.
[ "$checked" -ge 30 ] || { echo "FAIL: only $checked paths found in $page" >&2; exit 1; }
if [ "$missing" -gt 0 ]; then
  echo "docs_architecture_test: $missing of $checked paths missing" >&2
  exit 1
fi
echo "docs_architecture_test: all $checked paths named by docs/architecture.md exist"
