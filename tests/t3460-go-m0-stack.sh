#!/usr/bin/env bash
# t3460-go-m0-stack.sh — the main thread's own stack while it runs a
# goroutine, on samples/go/m0stack: m0, the runtime's first M, runs its g0
# (the scheduler, the cgo calls of a goroutine locked to it) on the
# process's [stack]; the sample leaves the address of an 8 MiB object in
# 64 KiB of a dead C frame there, drops the object, and spins its main
# goroutine on m0, so that the thread's SP is on the goroutine's stack when
# it is captured (A).  The collector never scans g0's stack: it frees the
# object (SIGUSR1 runs it; B).  So heapsnap must call the object garbage:
# [stack] is the main thread's stack, quiet for the Go heap as every busy
# M's own stack is, not anonymous memory to scan whole (which is what a
# snapshot's per-thread record, the mapping holding SP, would make of it).
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

if [ ! -x "$(go_sample m0stack)" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'the main thread running a goroutine' "bin/samples/$GO_VERSION-m0stack or the capture tool is not built"
    test_done
fi

R=go-m0stack.report
start_sample go-m0stack || true
PID=${SAMPLE_PID:-0}
# Is the main thread's SP off [stack] in A.hsnap, as the sample means it to
# be?  On a busy machine the scheduler may have parked the spinning
# goroutine for a moment and left m0 waiting on its g0, on [stack]: then
# capture again (the snapshot, not heapsnap, would be what is wrong).
off_stack() {
    $HEAPSNAP info --json A.hsnap | python3 -c "
import json, sys
d = json.load(sys.stdin)
sp = [int(t['rsp'], 16) for t in d['threads'] if t['tid'] == $PID]
st = [(int(m['start'], 16), int(m['end'], 16)) for m in d['mappings'] if m['path'] == '[stack]']
sys.exit(0 if sp and not any(a <= sp[0] < b for a, b in st) else 1)"
}
for try in 1 2 3 4 5 6 7 8 9 10; do
    "$CAPTURE" -q "$PID" -o A.hsnap >capture.out 2>&1 && off_stack && break
    sleep 0.2
done
{ kill -USR1 "$PID" && wait_line $R collected "$PID" &&
  "$CAPTURE" -q "$PID" -o B.hsnap; } >>capture.out 2>&1 || true
stop_sample
get() { awk -v k="$1" '$1 == k { print $2; exit }' $R; }
q() { sqlite3 -batch "$@"; }

test_expect_success 'setup: two snapshots, indexed; the main thread ran on another stack in A' '
    test -s B.hsnap && grep -qx collected $R &&
    $HEAPSNAP index -q A.hsnap && $HEAPSNAP index -q B.hsnap &&
    sp=$(q A.db "SELECT sp FROM threads WHERE tid = $PID") && test -n "$sp" &&
    test "$(q A.db "SELECT count(*) FROM mappings WHERE path = \"[stack]\" AND start <= $sp AND $sp < \"end\"")" = 0
'

test_expect_success 'the stale address is there: in the dead part of [stack], many times' '
    n=$($HEAPSNAP sql --csv A.db "WITH RECURSIVE w(a) AS (SELECT start FROM mappings WHERE path = \"[stack]\"
            UNION ALL SELECT a + 8 FROM w, mappings m WHERE m.path = \"[stack]\" AND a + 8 < m.\"end\")
            SELECT count(*) FROM w WHERE u64(a) = $(get bigaddr)" | tail -n +2) &&
    test "$n" -ge 1000
'

test_expect_success 'the collector freed the object (B): it was garbage' '
    test "$(q A.db "SELECT count(*) FROM objects WHERE addr = $(get bigaddr) AND size = $(get bigsize)
                    AND state = \"used\"")" = 1 &&
    test "$(q B.db "SELECT count(*) FROM objects WHERE addr = $(get bigaddr) AND state = \"used\"")" = 0
'

test_expect_success 'heapsnap calls it garbage too: unreachable in A, nothing holds it' '
    $HEAPSNAP top A.hsnap >/dev/null &&
    test "$(q A.db "SELECT a.reachable FROM objects o JOIN analysis a ON a.id = o.id
                    WHERE o.addr = $(get bigaddr) AND o.state = \"used\"")" = 0 &&
    test_must_fail $HEAPSNAP path A.hsnap $(get bigaddr) >path.out 2>&1 &&
    grep -x "$(get bigaddr) \[8388608 bytes\]: no root reaches it (garbage: the collector frees it at its next cycle, not a leak)" path.out &&
    $HEAPSNAP explain --json A.hsnap $(get bigaddr) >explain.json &&
    python3 -c "import json; d = json.load(open(\"explain.json\")); assert d[\"status\"] == \"garbage\", d"
'

test_expect_success '[stack] is the main thread'"'"'s stack root, not anonymous memory' '
    lo=$(q A.db "SELECT start FROM mappings WHERE path = \"[stack]\"") &&
    test "$(q A.db "SELECT count(*) FROM roots WHERE kind = \"anon\" AND addr >= $lo
                    AND addr < (SELECT \"end\" FROM mappings WHERE path = \"[stack]\")")" = 0 &&
    test "$(q A.db "SELECT count(*) FROM roots WHERE kind = \"stack\" AND thread = $PID AND addr >= $lo
                    AND addr < (SELECT \"end\" FROM mappings WHERE path = \"[stack]\")")" -ge 1
'

test_done
