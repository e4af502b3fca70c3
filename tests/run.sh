#!/usr/bin/env bash
# tests/run.sh — run every tests/tNNNN-*.sh script and sum their results.
#
# Scripts are numbered by the layer they test (docs/architecture.md), a
# thousand each: 0xxx the format, 1xxx capture and ELF cores read, 2xxx
# debug info and the graph, 3xxx the heap walkers (31xx glibc, 32xx
# jemalloc, 33xx tcmalloc, 34xx Go; 3000 what no walker walks), 4xxx types,
# 5xxx the index and its database, 6xxx the analyses (and cores written),
# 7xxx pprof, the SQLite extension and the report, 8xxx the command line
# as a whole.  The last line is the summary a CI reads: "N passed, N
# failed".  Run one layer with: tests/run.sh t3*.sh
set -u
cd "$(dirname "$0")" || exit 1
passed=0 failed=0 skipped=0
scripts=("$@")
[ ${#scripts[@]} -eq 0 ] && scripts=(t[0-9]*.sh)
# The Go tests (every script whose header has a line beginning "# Runs
# for each Go version") run once per tested Go version (the Makefile's
# GO_VERSIONS; tests/lib.sh maps a version to its samples and toolchain).
go_versions=${GO_VERSIONS:-go119 go126 go127}
for t in "${scripts[@]}"; do
    [ -f "$t" ] || continue
    versions=-
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
