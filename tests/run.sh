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
# The Go tests (t4xxx, and any script whose header has a line beginning
# "# Runs for each Go version") run once per tested Go version (the
# Makefile's GO_VERSIONS; tests/lib.sh maps a version to its samples and
# toolchain).
go_versions=${GO_VERSIONS:-go119 go126 go127}
for t in "${scripts[@]}"; do
    [ -f "$t" ] || continue
    versions=-
    case $t in t4[0-9]*) versions=$go_versions ;; esac
    # a script of another area that reads Go heaps says so in its header
    grep -q '^# Runs for each Go version' "$t" && versions=$go_versions
    for v in $versions; do
        if [ "$v" = - ]; then
            echo "*** $t"
            out=$(bash "$t" 2>&1)
        else
            echo "*** $t ($v)"
            out=$(GO_VERSION=$v bash "$t" 2>&1)
        fi
        echo "$out"
        p=$(printf '%s\n' "$out" | grep -c '^ok [0-9]* - ')
        s=$(printf '%s\n' "$out" | grep -c '^ok [0-9]* # skip')
        f=$(printf '%s\n' "$out" | grep -c '^not ok ')
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    done
done
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
