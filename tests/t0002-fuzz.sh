#!/usr/bin/env bash
# t0002-fuzz.sh — a short, fixed run of the reader fuzzer (tests/fuzz/):
# any crash, sanitizer report, leak, hang or runaway allocation fails it.
# `make fuzz` runs the same fuzzer for ten minutes.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$ROOT/build/fuzz/fuzz_reader" ]; then
    test_skip 'the reader survives 20000 fuzzed inputs' 'build/fuzz/fuzz_reader not built'
    test_done
fi

test_expect_success 'the reader survives 20000 fuzzed inputs' '
    timeout 300 "$ROOT/tests/fuzz/run.sh" -r 20000 >fuzz.log 2>&1 || { tail -n 60 fuzz.log; exit 1; }
    grep -q "^Done 20000 runs" fuzz.log
'

test_done
