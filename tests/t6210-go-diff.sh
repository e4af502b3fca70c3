#!/usr/bin/env bash
# t6210-go-diff.sh — a leak across two snapshots of a Go program: between
# the captures samples/go/session grows its global map cache by exactly K
# sessions (on SIGUSR1), and `heapsnap diff` must say K new main.Session —
# or, while objects carry no Go type, K new objects of Session's 64-byte
# size class — retained through the global main.cache.  Nothing here knows
# Go: it is the generic diff on the Go walker's objects and references.
#
# Goroutine stacks are scanned conservatively, so a stale copy of a new
# session's address in a stack would make it look held by that stack too.
# The sample grows the cache on a goroutine that then exits, into spans
# that start with an older object (runtime stacks hold span-aligned
# words), so that no such copy exists; the case after the diff checks the
# snapshot for one, so that a failure says which of the two went wrong.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

K=100
if [ ! -x "$(go_sample session)" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'diff of a growing Go cache' "bin/samples/$GO_VERSION-session or the capture tool is not built"
    test_done
fi

R=go-session.report
start_sample go-session grow=$K release || true
PID=${SAMPLE_PID:-0}
# "grown 1" comes in the same write as the figures that follow it and the
# "ready" after them: once it is there, the sample is quiet again.
{ "$CAPTURE" -q "$PID" -o A.hsnap && kill -USR1 "$PID" &&
  wait_line $R "grown 1" "$PID" && "$CAPTURE" -q "$PID" -o B.hsnap; } >capture.out 2>&1 || true
stop_sample

test_expect_success 'the sample grew its cache by K' '
    test "$(awk "\$1 == \"Sessions\" { print \$2 }" $R | tail -1)" = $((1000 + K))
'

test_expect_success "diff reports K new sessions, retained through main.cache" '
    $HEAPSNAP diff --json A.hsnap B.hsnap >diff.json &&
    $HEAPSNAP diff A.hsnap B.hsnap >diff.out &&
    python3 -c "
import json
import sqlite3
d = json.load(open(\"diff.json\"))
# with the typing pass the sessions are main.Session; without it, 64-byte objects
typed = sqlite3.connect(\"B.db\").execute(\"SELECT count(*) FROM sqlite_master WHERE name = \x27types\x27\").fetchone()[0]
want = \"main.Session\" if typed else \"[64 bytes]\"
t = [x for x in d[\"types\"] if x[\"type\"] == want]
assert len(t) == 1 and t[0][\"new_count\"] == $K and t[0][\"delta_count\"] == $K, t
# all K grew under main.cache: under its buckets (Go 1.19) or, Swiss maps
# (1.24+), under the group arrays of the tables the new keys hashed to
g = [x for x in d[\"growth\"] if x[\"type\"] == want]
assert g and all(x[\"retainer\"].startswith(\"global main.cache\") for x in g), g
assert sum(x[\"count\"] for x in g) == $K, g
"
'

test_expect_success 'no stack, register or other non-global root holds a new session' '
    sqlite3 -batch B.db "ATTACH \"A.db\" AS a;
        SELECT r.kind, r.name, f.offset, printf(\"0x%x\", o.addr) FROM refs f
        JOIN roots r ON r.id = f.src JOIN objects o ON o.id = f.dst
        WHERE r.kind <> \"data\" AND o.size = 64 AND o.state = \"used\"
          AND o.addr NOT IN (SELECT addr FROM a.objects WHERE state = \"used\")" >held &&
    test "$(sqlite3 B.db "SELECT count(*) FROM objects WHERE size = 64 AND state = \"used\"")" -gt $K &&
    cat held && test ! -s held
'

test_expect_success 'the new sessions are the ones the cache holds: each has a path from main.cache' '
    ex=$(python3 -c "
import json
d = json.load(open(\"diff.json\"))
print([x for x in d[\"growth\"] if x[\"type\"] in (\"main.Session\", \"[64 bytes]\")][0][\"example\"])") &&
    $HEAPSNAP path B.hsnap $ex >path.out &&
    grep -q "global main.cache" path.out
'

test_done
