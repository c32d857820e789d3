#!/usr/bin/env bash
# The man pages cannot drift (issue 18): ringflow(8), ringflow-gen(1) and
# netflow.toml(5) in BUILD_DIR/man are what the build generates from the
# current binaries and templates (packaging/CMakeLists.txt), list exactly the
# options --help lists and exactly the keys docs/config.md documents (which
# tests/config_docs_test.cc checks against the schema), and are valid roff
# that man renders without warnings.
# Usage: docs_manpages_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
man_dir=$build/man
if ! command -v groff > /dev/null || ! command -v man > /dev/null; then
  echo "SKIP: groff and man are not installed (groff-base, man-db; as root: scripts/deps.sh --test)" >&2
  exit 77
fi
version=$(sed -n 's/^project(ringflow VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

# 1. Current: regenerate each page from the binary and template, compare.
while read -r page binary what placeholder; do
  [ -f "$man_dir/$page" ] || fail "$man_dir/$page missing: the build did not generate it (target 'man')"
  cmake -DBINARY="$build/$binary" -DWHAT="$what" -DPLACEHOLDER="$placeholder" \
    -DTEMPLATE="$src/packaging/man/$page.in" -DOUTPUT="$work/$page" -DVERSION="$version" \
    -P "$src/packaging/man/render.cmake"
  cmp -s "$work/$page" "$man_dir/$page" ||
    fail "$page is stale: it differs from what $binary and $page.in give now (rebuild target 'man')"
  echo "  ok  $page is current"
done << 'EOF_PAGES'
ringflow.8 ringflow options @OPTIONS@
netflow.toml.5 ringflow config @CONFIG_KEYS@
ringflow-gen.1 ringflow-gen options @OPTIONS@
EOF_PAGES

# 2. Options: the long options of --help, and those of the page, are the same set.
for pair in ringflow:ringflow.8 ringflow-gen:ringflow-gen.1; do
  binary=${pair%%:*} page=${pair#*:}
  "$build/$binary" --help | grep -o -- '--[a-z][a-z-]*' | sort -u > "$work/help.opts"
  # Tag lines of .TP entries: "\fB\-\-name\fR".
  sed -n '/^\.TP$/{n; p}' "$man_dir/$page" | sed 's/\\-/-/g' | grep -o -- '--[a-z][a-z-]*' | sort -u > "$work/man.opts"
  [ -s "$work/help.opts" ] || fail "$binary --help lists no options"
  diff "$work/help.opts" "$work/man.opts" > "$work/diff" ||
    fail "$page and $binary --help list different options (< --help, > page): $(cat "$work/diff")"
  grep -q -- 'help-man' "$work/man.opts" && fail "$page shows the hidden --help-man"
  echo "  ok  $page: the $(wc -l < "$work/man.opts") options of --help"
done

# 3. Keys: the page's keys (".SS [section]" then ".B key") are docs/config.md's rows.
# shellcheck disable=SC2016  # the backquotes are Markdown's
sed -n 's/^| `\([a-z0-9_]*\.[a-z0-9_.]*\)` |.*/\1/p' "$src/docs/config.md" | sort > "$work/doc.keys"
awk '/^\.SS / { s = $2; gsub(/\\-/, "-", s); gsub(/[][]/, "", s); next }
     /^\.TP$/ { getline; if ($1 == ".B") { k = $2; gsub(/\\-/, "-", k); print s "." k } }' \
  "$man_dir/netflow.toml.5" | sort > "$work/man.keys"
[ "$(wc -l < "$work/doc.keys")" -ge 30 ] || fail "found only $(wc -l < "$work/doc.keys") keys in docs/config.md"
diff "$work/doc.keys" "$work/man.keys" > "$work/diff" ||
  fail "netflow.toml.5 and docs/config.md document different keys (< docs, > page): $(cat "$work/diff")"
echo "  ok  netflow.toml.5: the $(wc -l < "$work/man.keys") keys of docs/config.md"

# 4. Valid roff: no groff warning (except 'break': a long word cannot be
#    justified at some width), renders with a NAME section, and @...@ all replaced.
for page in ringflow.8 ringflow-gen.1 netflow.toml.5; do
  f=$man_dir/$page
  LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -Wbreak -z "$f" 2> "$work/warn"
  [ ! -s "$work/warn" ] || fail "$page: groff warnings: $(cat "$work/warn")"
  grep -n '@[A-Z_]*@' "$f" && fail "$page: placeholder left"
  MANWIDTH=80 man -l "$f" 2> "$work/warn" > "$work/out"
  grep -q '^NAME' "$work/out" || fail "$page: man -l shows no NAME section"
  echo "  ok  $page renders ($(wc -l < "$work/out") lines)"
done
echo "docs_manpages: PASS"
