#!/usr/bin/env bash
# tests/run.sh — run every tests/tNNNN-*.sh script and sum their results.
#
# Scripts are numbered by area: 0xxx format and capture, 1xxx indexer,
# 2xxx types, 3xxx analyses, 4xxx Go.  The last line is the summary a CI
# reads: "N passed, N failed".  Run one area with: tests/run.sh t0*.sh
set -u
cd "$(dirname "$0")" || exit 1
passed=0 failed=0 skipped=0
scripts=("$@")
[ ${#scripts[@]} -eq 0 ] && scripts=(t[0-9]*.sh)
for t in "${scripts[@]}"; do
    [ -f "$t" ] || continue
    echo "*** $t"
    out=$(bash "$t" 2>&1)
    echo "$out"
    p=$(printf '%s\n' "$out" | grep -c '^ok [0-9]* - ')
    s=$(printf '%s\n' "$out" | grep -c '^ok [0-9]* # skip')
    f=$(printf '%s\n' "$out" | grep -c '^not ok ')
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
