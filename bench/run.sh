#!/usr/bin/env bash
# bench/run.sh — run every benchmark: each executable file in bench/ other
# than this one, in name order (`make bench` calls this).  Benchmarks print
# their own figures; a failing one is reported and the others still run.
# Run some only with: bench/run.sh capture index
set -u
cd "$(dirname "$0")" || exit 1
failed=0
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in *; do
        [ -f "$f" ] && [ -x "$f" ] && [ "$f" != run.sh ] && names+=("$f")
    done
fi
for b in "${names[@]}"; do
    echo "*** bench/$b"
    if ! "./$b"; then
        echo "*** bench/$b FAILED"
        failed=$((failed + 1))
    fi
    echo
done
[ $failed -eq 0 ]
