#!/usr/bin/env bash
# The alert rules of docs/metrics.md ("Alert rules") are rules Prometheus
# loads and that fire when they should:
#   1. the page's yaml block passes `promtool check rules`;
#   2. every ringflow_* metric the rules use is in the page's tables (a
#      renamed metric would leave an alert that can never fire);
#   3. every alert the bounds table names is a rule;
#   4. `promtool test rules tests/docs_alerts_test.yml`: each alert fires on
#      the series that should trip it, and a healthy collector raises none;
#   5. every rule has a test (a new alert cannot go untested).
# Usage: docs_alerts_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
page=$src/docs/metrics.md

if ! command -v promtool > /dev/null; then
  # 77: ctest's skip code (CI installs prometheus first: scripts/deps.sh).
  echo "SKIP: promtool not found; install Debian's prometheus package" >&2
  exit 77
fi

awk '/^## Alert rules/ { f = 1 } f && /^```yaml/ { g = 1; next } g && /^```/ { exit } g' \
  "$page" > "$work/rules.yml"
[ -s "$work/rules.yml" ] || fail "no yaml block under \"## Alert rules\" in $page"
promtool check rules "$work/rules.yml" > "$work/check.log" 2>&1 ||
  { cat "$work/check.log" >&2; fail "promtool check rules rejects the page's rules"; }

# 2. Metrics named in rule expressions vs the tables (rows start with | `name`).
grep -o '^| `ringflow_[a-z0-9_]*`' "$page" | tr -d '|` ' | sort -u > "$work/documented"
grep 'expr:' "$work/rules.yml" | grep -o 'ringflow_[a-z0-9_]*' | sort -u > "$work/used"
missing=$(comm -23 "$work/used" "$work/documented")
[ -z "$missing" ] || fail "rules use metrics the page does not document: $missing"

# 3. The bounds table's alerts exist.
grep -o 'alert: [A-Za-z0-9]*' "$work/rules.yml" | awk '{ print $2 }' | sort -u > "$work/rules"
awk '/^## Alert rules/ { f = 1 } f && /^\| / { print }' "$page" |
  grep -o '`Ringflow[A-Za-z0-9]*`' | tr -d '`' | sort -u > "$work/bound_alerts"
[ -s "$work/bound_alerts" ] || fail "no bounds table under \"## Alert rules\""
missing=$(comm -23 "$work/bound_alerts" "$work/rules")
[ -z "$missing" ] || fail "the bounds table names alerts that are not rules: $missing"

# 4. Unit tests.
cp "$src/tests/docs_alerts_test.yml" "$work/"
(cd "$work" && promtool test rules docs_alerts_test.yml) > "$work/test.log" 2>&1 ||
  { cat "$work/test.log" >&2; fail "promtool test rules"; }

# 5. Every rule has a firing test.
grep -o 'name: Ringflow[A-Za-z0-9]* fires' "$src/tests/docs_alerts_test.yml" |
  awk '{ print $2 }' | sort -u > "$work/tested"
missing=$(comm -23 "$work/rules" "$work/tested")
[ -z "$missing" ] || fail "rules without a firing test in tests/docs_alerts_test.yml: $missing"

echo "docs_alerts_test: $(wc -l < "$work/rules") rules check, fire and stay quiet as tested;" \
  "$(wc -l < "$work/used") metrics, all documented"
