#!/usr/bin/env bash
# docs/architecture.md is the map of the code: every path and every code
# symbol it names must exist.
#
# Paths: a token that starts with src/, include/, tests/, bench/, scripts/,
# docs/ or packaging/; a bare file name (worker.cc, metrics.md) is resolved
# against the directory of the last path named before it on the same line,
# a bare *.md name against docs/ (the page's own relative links) or else the
# top level (README.md), and a bare *.txt or *.toml name, or any bare name
# with no path before it on its line, against the top level (CMakeLists.txt,
# netflow.toml).
#
# Symbols: a backticked name that looks like code - Foo::bar, foo(), kFoo, a
# CamelCase type, a snake_case name - must occur as a word (grep -w) in src/,
# include/, tests/support/ or a CMakeLists.txt; Foo::bar also passes when Foo and bar occur
# in one file (a member defined in its class), and ringflow_<stage> when
# src/<stage>/ exists (libraries named by ringflow_add_stage). So a renamed
# function or type fails here until the map follows.
#
# Prints every missing path and symbol and fails if there is one.
# Usage: docs_architecture_test.sh BUILD_DIR SOURCE_DIR [PAGE]
#   PAGE defaults to SOURCE_DIR/docs/architecture.md (another page is checked
#   against the same tree: the test's own negative checks use a copy).
set -euo pipefail
build=$1
src=$2
page=${3:-$src/docs/architecture.md}
[ -f "$page" ] || { echo "FAIL: $page not found" >&2; exit 1; }

missing=0
checked=0
check() {  # check PATH LINE_NUMBER
  checked=$((checked + 1))
  if [ ! -e "$src/$1" ]; then
    echo "FAIL: ${page#"$src"/}:$2 names $1, which does not exist" >&2
    missing=$((missing + 1))
  fi
}

# Paths and bare file names in the order they appear, as "LINE:TOKEN" from
# one grep over the page (a grep per line made the test, which also runs on
# seven altered copies of the page, take most of a minute).
prev=
while IFS= read -r rec; do
  n=${rec%%:*}
  tok=${rec#*:}
  [ "$n" = "$prev" ] || dir=  # a bare name resolves against its own line's paths only
  prev=$n
  [ -n "$tok" ] || continue
  tok=${tok%.}  # a sentence's full stop
  case $tok in
    src/* | include/* | tests/* | bench/* | scripts/* | docs/* | packaging/*)
      check "$tok" "$n"
      if [ "${tok%/}" != "$tok" ]; then dir=${tok%/}; else dir=${tok%/*}; fi
      ;;
    *.md)
      if [ -e "$src/docs/$tok" ]; then check "docs/$tok" "$n"; else check "$tok" "$n"; fi
      ;;
    *.txt | *.toml) check "$tok" "$n" ;;
    *)
      if [ -n "$dir" ]; then check "$dir/$tok" "$n"; else check "$tok" "$n"; fi
      ;;
  esac
done < <(grep -noE '(^|[^A-Za-z0-9_./-])((src|include|tests|bench|scripts|docs|packaging)/[A-Za-z0-9_./-]*|[A-Za-z0-9_]+\.(cc|h|sh|md|txt|toml))' "$page" |
  sed -E 's#^([0-9]+:)[^A-Za-z0-9_./-]#\1#')

# Symbols. The corpus: every source and header file, the test support code
# (tests/support/: the e2e helpers the page's test section names), and the
# CMake files.
mapfile -t corpus < <(find "$src/src" "$src/include" "$src/tests/support" -type f \
                        \( -name '*.h' -o -name '*.cc' -o -name '*.sh' \)
                      find "$src" -name CMakeLists.txt -not -path "$src/build/*")
symbols=0
bad_symbols=0
# found: the names of the page that one grep over the corpus found as words
# (filled below; a name it misses, e.g. one only found inside a longer match,
# gets the grep of its own).
declare -A found=()
has_word() { [ -n "${found[$1]+x}" ] || grep -qwF -- "$1" "${corpus[@]}"; }
check_symbol() {  # check_symbol NAME LINE_NUMBER
  local name=$1
  symbols=$((symbols + 1))
  has_word "$name" && return 0
  if [[ $name == *::* ]]; then
    # A member defined inside its class: both names in one file.
    local cls=${name%%::*} member=${name##*::} f
    for f in $(grep -lwF -- "$cls" "${corpus[@]}"); do
      grep -qwF -- "$member" "$f" && return 0
    done
  fi
  if [[ $name =~ ^ringflow_([a-z0-9]+)$ && -d $src/src/${BASH_REMATCH[1]} ]]; then return 0; fi
  echo "FAIL: ${page#"$src"/}:$2 names \`$name\`, which is in no file of src/, include/, tests/support/ or CMake" >&2
  bad_symbols=$((bad_symbols + 1))
}
# Backticked spans as "LINE:SPAN", from one grep over the page.
names=()
name_lines=()
while IFS= read -r rec; do
  n=${rec%%:*}
  span=${rec#*:}
  [ -n "$span" ] || continue
  name=${span//\`/}
  name=${name%()}
  # Code-like: Foo::bar, foo() (stripped above), kFoo, CamelCase, snake_case.
  if [[ $span =~ ^\`[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*(\(\))?\`$ ]] &&
     [[ $name == *::* || $span == *'()`' || $name =~ ^k[A-Z] || $name =~ ^[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$ || $name == *_* ]]; then
    names+=("$name")
    name_lines+=("$n")
  fi
done < <(grep -noE '`[^`]+`' "$page")
if [ ${#names[@]} -gt 0 ]; then
  while IFS= read -r w; do found[$w]=1; done < <(
    grep -ohwF -f <(printf '%s\n' "${names[@]}") -- "${corpus[@]}" | sort -u)
fi
for i in "${!names[@]}"; do
  check_symbol "${names[$i]}" "${name_lines[$i]}"
done

# A page that names no paths means the parsing broke, not that all is well.
[ "$checked" -ge 30 ] || { echo "FAIL: only $checked paths found in $page" >&2; exit 1; }
[ "$symbols" -ge 30 ] || { echo "FAIL: only $symbols symbols found in $page" >&2; exit 1; }
if [ "$missing" -gt 0 ] || [ "$bad_symbols" -gt 0 ]; then
  echo "docs_architecture_test: $missing of $checked paths and $bad_symbols of $symbols symbols missing" >&2
  exit 1
fi
echo "docs_architecture_test: all $checked paths and $symbols symbols named by $page exist"

# The checks must be able to fail: on the real page only, copies with one
# symbol renamed or one path changed must each be refused, naming it.
[ $# -ge 3 ] && exit 0

# "Where to add a wire format": every numbered edit names a symbol and the
# file it must be in (the first backticked symbol and the first backticked
# src/ path of the item); each symbol must occur in its file, so a moved
# switch or registry fails here until the section follows.
edits=0
while IFS= read -r item; do
  sym=$(grep -oE '`[A-Za-z_][A-Za-z0-9_:]*`' <<< "$item" | head -1 | tr -d '`')
  file=$(grep -oE '`src/[A-Za-z0-9_./-]+`' <<< "$item" | head -1 | tr -d '`')
  if [ -z "$sym" ] || [ -z "$file" ]; then
    echo "FAIL: wire-format edit without a symbol and a file: $item" >&2; exit 1
  fi
  grep -qwF -- "$sym" "$src/$file" || {
    echo "FAIL: wire-format edit names \`$sym\` in $file, which does not hold it" >&2; exit 1; }
  edits=$((edits + 1))
done < <(awk '/^## Where to add a wire format/{on=1; next} /^## /{on=0}
              on && /^[0-9]+\. /{if (item != "") print item; item=$0; next}
              on && item != "" && /^   /{item=item " " $0; next}
              on && item != "" {print item; item=""}
              END{if (item != "") print item}' "$page")
[ "$edits" -ge 5 ] || { echo "FAIL: only $edits wire-format edits found on the page" >&2; exit 1; }
echo "docs_architecture_test: the $edits wire-format edits the page lists exist"

# No other file picks a format by its version number: a switch on a version,
# a case 9 / case 10, or a version compared with 5, 9 or 10, outside the
# registry, the wire layouts (src/wire/), the encoders (src/gen/) and each
# format's own decoder. None is allowed: the rules of one format that other
# pieces apply (v5's engine domain, the unit of a sequence, IPFIX's sequence
# quirk, the formats templates.state keeps) are flags or lookups of the
# registry's rows, and a format is named by its row (FormatId) once
# recognised, never by its version number, which two formats may share.
allowed_lines=()
version_switches() {  # version_switches ROOT: file:line text of each hit
  (cd "$1" && grep -rnE --include='*.h' --include='*.cc' \
      -e 'switch *\([^)]*version[^)]*\)' -e '\bcase +(9|10) *:' \
      -e '\bversion[A-Za-z0-9_]*(\(\))? *[!=]= *(5|9|10)\b' -e '\b(5|9|10) *[!=]= *[A-Za-z0-9_.>-]*version\b' \
      -e '[!=]= *(v5|v9|ipfix)::kVersion\b' src include |
     grep -vE '^src/(gen|wire)/|^src/decode/(wire_formats|v5_decoder|sflow_decoder)\.' |
     sed -E 's/^([^:]*):[0-9]+:/\1:/' | grep -vE '^[^:]*: *//' || true)
}
switches=$(version_switches "$src")
for a in "${allowed_lines[@]+"${allowed_lines[@]}"}"; do switches=$(grep -vxF -- "$a" <<< "$switches" || true); done
if [ -n "$switches" ]; then
  echo "FAIL: version-number switches outside the wire-format registry (src/decode/wire_formats.h):" >&2
  echo "$switches" >&2
  exit 1
fi
# ... and the grep finds one: a copy of the tree with route_datagram's old
# version sniff put back must be refused.
probe=$(mktemp -d)
mkdir -p "$probe/src/receive" "$probe/include"
printf '  if (version == 9 && d.len >= 20) domain = 1;\n' > "$probe/src/receive/handoff.h"
[ -n "$(version_switches "$probe")" ] || { echo "FAIL: self-check: the version grep missed a planted switch" >&2; rm -rf "$probe"; exit 1; }
rm -rf "$probe"
echo "docs_architecture_test: no version-number switch outside the registry"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
refused=0
expect_refused() {  # expect_refused FROM TO: the page with FROM replaced by TO fails, naming TO
  grep -qF -- "$1" "$page" || { echo "FAIL: self-check: $1 is not on the page" >&2; exit 1; }
  local copy=$scratch/page.md
  FROM=$1 TO=$2 perl -pe 's/\Q$ENV{FROM}\E/$ENV{TO}/' "$page" > "$copy"
  if bash "$0" "$build" "$src" "$copy" 2> "$scratch/err" > /dev/null; then
    echo "FAIL: self-check: a page naming $2 instead of $1 passed" >&2
    exit 1
  fi
  local needle=${2//\`/}
  needle=${needle%()}
  grep -qF -- "$needle" "$scratch/err" || {
    echo "FAIL: self-check: the refusal of $2 does not name it:" >&2
    cat "$scratch/err" >&2
    exit 1
  }
  refused=$((refused + 1))
}
expect_refused '`KeyPacker::pack_general`' '`KeyPacker::pack_generic`'  # member
expect_refused '`make_sinks()`' '`make_all_sinks()`'                    # function
expect_refused '`kSinkTypeNames`' '`kSinkTypeNameList`'                 # constant
expect_refused '`WorkerAggregator`' '`WorkerAggregate`'                 # type
expect_refused '`compile_plan`' '`compile_plans`'                       # snake_case name
expect_refused '`scripts/package.sh`' '`packaging/package.sh`'          # packaging path
expect_refused '`CMakeLists.txt`' '`CMakeList.txt`'                     # top-level file
echo "docs_architecture_test: $refused altered copies refused, each naming what is missing"
