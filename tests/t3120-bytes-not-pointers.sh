#!/usr/bin/env bash
# t3120-bytes-not-pointers.sh — memory the allocator proves holds bytes is
# not scanned for pointers (docs/analyses.md, "Bytes are not pointers"):
# samples/stale_stdout loses a two-node cycle whose only "reference" is a
# stale word left in the chunk that glibc then reused for stdout's buffer,
# behind the text printed there.  The word is in the snapshot, the buffer is
# a used object reachable from stdout, and still the cycle is a leak.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/stale_stdout" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'bytes are not pointers' 'bin/samples/stale_stdout, the capture tool or heapsnap is not built'
    test_done
fi
sq() { sqlite3 -batch "$@"; }

start_sample stale_stdout || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o snap.hsnap >capture.out 2>&1 || true
stop_sample
R=stale_stdout.report
A=$(report_get $R a) B=$(report_get $R b) BUF=$(report_get $R buffer) STALE=$(report_get $R stale)

test_expect_success 'setup: stdout took back the chunk holding the stale word, and was captured' '
    test "$(report_get $R reused)" = 1 && test -s snap.hsnap &&
    $HEAPSNAP index snap.hsnap -o snap.db >out 2>err &&
    test "$($HEAPSNAP sql snap.db "SELECT u64($((STALE)))" | tail -n 1)" = $((A)) &&
    test "$(sq snap.db "SELECT state FROM objects WHERE addr = $((BUF))")" = used
'

test_expect_success 'the stdio buffer is known, and no reference leaves it' '
    test "$(sq snap.db "SELECT value FROM facts WHERE key = \"glibc.stdio_buffers\"")" -ge 1 &&
    test "$(sq snap.db "SELECT count(*) FROM refs WHERE src = (SELECT id FROM objects WHERE addr = $((BUF)))")" = 0
'

test_expect_success 'the lost cycle is leaked, both nodes, and nothing else' '
    $HEAPSNAP leaks --json snap.db >leaks.json &&
    python3 -c "
import json, sqlite3
j = json.load(open(\"leaks.json\"))
assert j[\"leaked_count\"] == 2, j
db = sqlite3.connect(\"snap.db\")
leaked = set()
for g in j[\"groups\"]:
    leaked.update(int(x, 16) if isinstance(x, str) else x for x in g.get(\"examples\", []))
assert leaked == {$((A)), $((B))}, (leaked, $((A)), $((B)))
"
'

test_done
