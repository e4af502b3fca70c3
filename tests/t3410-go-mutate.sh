#!/usr/bin/env bash
# t3410-go-mutate.sh — the Go walker trusts nothing: a capture of
# samples/go/session is walked a hundred times per seed with words of the runtime's
# metadata overwritten (mspans, heapArena span tables and bitmaps, span-end
# pointer bits, inline mark bits and malloc headers of Go 1.22+, mheap_,
# allgs and the g's, the mcaches, memstats, firstmoduledata), through every
# optional hook, under the sanitizers (build/tools/gomutate).  No crash, no
# hang, no sanitizer report; the damage is reported as problems.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

TOOL=$ROOT/build/tools/gomutate
if [ ! -x "$(go_sample session)" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$TOOL" ]; then
    test_skip 'the Go walker on mutated metadata' 'go-session, the capture tool or build/tools/gomutate is not built'
    test_done
fi

start_sample go-session goroutines=20 || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o go.hsnap >capture.out 2>&1 || true
stop_sample

for seed in 1 2; do
    test_expect_success "100 rounds of damaged runtime metadata, seed $seed" '
        "$TOOL" 100 --seed '$seed' go.hsnap >out 2>err &&
        grep -E "^rounds 100 objects [0-9]+ problems [1-9][0-9]*\$" out &&
        ! grep -q "runtime error\|AddressSanitizer" err
    '
done

test_done
