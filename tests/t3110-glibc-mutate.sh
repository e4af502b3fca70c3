#!/usr/bin/env bash
# t3110-glibc-mutate.sh — the glibc walker on hostile heaps.  A capture of
# samples/glibc_heap is walked again and again by build/tools/heapwalk with
# a few heap words overwritten at random each round (chunk sizes, list
# links, arena fields, data), under ASan and UBSan: no round may crash,
# trip a sanitizer, leak or hang (heapwalk gives each round 20 s), and the
# walker must keep finding objects.  Seeds are fixed, so a failure repeats.
# And a --redact capture, whose chunk headers are zeroed, is refused with
# one clear problem rather than walked as garbage.
. "$(dirname "$0")/lib.sh"

HEAPWALK=$ROOT/build/tools/heapwalk
if [ ! -x "$SAMPLES/glibc_heap" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPWALK" ]; then
    test_skip 'glibc walker on mutated heaps' 'glibc_heap, the capture tool or build/tools/heapwalk is not built'
    test_done
fi

start_sample glibc_heap || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o snap.hsnap >capture.out 2>&1 || true
"$CAPTURE" -q --redact "${SAMPLE_PID:-0}" -o redacted.hsnap >>capture.out 2>&1 || true
stop_sample

test_expect_success 'setup: heapwalk reports the clean heap without problems' '
    test -s snap.hsnap &&
    $HEAPWALK snap.hsnap >walk &&
    test "$(grep -c "^object " walk)" -gt 200 &&
    ! grep "^problem " walk
'

test_expect_success 'mutated heaps, libc debug info: no crash, no hang, objects still found' '
    $HEAPWALK --mutate 60 --seed 1 snap.hsnap >out &&
    read -r _ rounds _ objects _ problems <out &&
    test "$rounds" = 60 && test "$problems" -gt 0 &&
    test "$objects" -gt $((60 * 150))
'

test_expect_success 'mutated heaps, no debug info: no crash, no hang, objects still found' '
    $HEAPWALK --no-separate-debug --mutate 60 --seed 2 snap.hsnap >out &&
    read -r _ rounds _ objects _ problems <out &&
    test "$rounds" = 60 && test "$problems" -gt 0 &&
    test "$objects" -gt $((60 * 150))
'

test_expect_success 'a redacted snapshot: one clear problem instead of a walk of zeros' '
    test -s redacted.hsnap &&
    $HEAPWALK redacted.hsnap >walk &&
    grep "^problem .*redacted" walk &&
    test "$(grep -c "^problem " walk)" = 1 &&
    ! grep "^object " walk
'

test_done
