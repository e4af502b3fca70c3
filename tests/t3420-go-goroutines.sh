#!/usr/bin/env bash
# t3420-go-goroutines.sh — a goroutine leak: samples/go/session started
# with goroutines=N parks N goroutines on a channel receive; `heapsnap
# goroutines` must show them as one group of N, started in main.waiter by
# main.main, waiting on "chan receive" (the runtime's own words, read from
# its waitReasonStrings), both as text and as JSON; the goroutines table
# must agree; a goroutine running on a thread is seen where that thread is;
# and a program that is not Go is refused plainly.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

N=50
if [ ! -x "$(go_sample session)" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'goroutines of go-session' "bin/samples/$GO_VERSION-session or the capture tool is not built"
    test_done
fi

start_sample go-session goroutines=$N release || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o go.hsnap >capture.out 2>&1 || true
stop_sample

test_expect_success 'the leaked goroutines are one group of N: main.waiter, chan receive' '
    $HEAPSNAP goroutines go.hsnap >g.out &&
    grep -E "^ +$N +waiting +chan receive +main\.waiter +main\.main\$" g.out &&
    head -1 g.out | grep -E "^[0-9]+ goroutines\$"
'

test_expect_success '--json says the same, with every goroutine id' '
    $HEAPSNAP goroutines --json go.hsnap >g.json &&
    python3 -c "
import json
d = json.load(open(\"g.json\"))
g = d[\"groups\"][0]
assert (g[\"count\"], g[\"start_func\"], g[\"status\"], g[\"wait_reason\"], g[\"created_by\"]) == \\
       ($N, \"main.waiter\", \"waiting\", \"chan receive\", \"main.main\"), g
assert len(g[\"goids\"]) == $N and len(set(g[\"goids\"])) == $N
assert d[\"goroutines\"] == sum(x[\"count\"] for x in d[\"groups\"])
"
'

test_expect_success 'the goroutines table: stacks inside the heap, runtime goroutines named' '
    python3 -c "
import sqlite3
c = sqlite3.connect(\"go.db\")
rows = c.execute(\"SELECT goid, status, stack_lo, stack_hi, sp, start_func FROM goroutines\").fetchall()
assert len(rows) >= $N + 2, len(rows)
for goid, st, lo, hi, sp, f in rows:
    assert lo < hi and lo <= sp < hi, (goid, lo, hi, sp)
funcs = {r[5] for r in rows}
assert \"runtime.main\" in funcs and \"runtime.forcegchelper\" in funcs, funcs
# each waiter stack is a root, named after its goroutine
n = c.execute(\"SELECT count(*) FROM roots WHERE name LIKE \x27goroutine % (main.waiter)\x27\").fetchone()[0]
assert n == $N, n
"
'

test_expect_success '--limit shows the largest groups only' '
    $HEAPSNAP goroutines --limit 1 go.hsnap >g1.out &&
    test $(grep -cE "^ +[0-9]+ +[a-z]" g1.out) = 1
'

# A goroutine running on a thread at the capture: its stack is live from
# that thread's RSP (its saved sched.sp is stale), and it names the thread.
# Stopped at no call, its innermost frame is scanned conservatively (as
# the collector scans a frame asyncPreempt interrupted): that frame's root
# starts at the SP.
start_sample go-session spin release || true
sleep 0.2
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o spin.hsnap >capture2.out 2>&1 || true
stop_sample

test_expect_success 'a running goroutine: its SP and pc are its thread'"'"'s, and so is its root' '
    $HEAPSNAP index spin.hsnap >/dev/null &&
    python3 -c "
import sqlite3
c = sqlite3.connect(\"spin.db\")
g = c.execute(\"SELECT goid, status, thread, sp, pc, stack_lo, stack_hi, func FROM goroutines \"
              \"WHERE start_func = \x27main.spinner\x27\").fetchone()
assert g, \"no spinner\"
goid, st, tid, sp, pc, lo, hi, f = g
if st == \"running\":   # nearly always; a preempted spinner is runnable, with its SP saved
    t = c.execute(\"SELECT sp, pc FROM threads WHERE tid = ?\", (tid,)).fetchone()
    assert t and lo <= sp < hi, (g, t)
    # its thread on the goroutine stack: the thread says where it is; on
    # another stack (a signal handler, g0), the SP is the saved one, or the
    # whole stack when none is saved
    assert ((sp, pc) == t and f == \"main.spinner\") or not (lo <= t[0] < hi), (g, t)
    r = c.execute(\"SELECT addr, thread FROM roots WHERE name = ?\",
                  (\"goroutine %d (main.spinner)\" % goid,)).fetchone()
    assert r == (sp, tid), (r, sp, tid)
    n = c.execute(\"SELECT value FROM facts WHERE key = \x27go.stack_frames_conservative\x27\").fetchone()
    assert n and int(n[0]) >= 1, n
else:
    assert st in (\"runnable\", \"preempted\"), st
"
'

test_expect_success 'a C program has no goroutines: refused with exit 1 and a reason' '
    if [ -x "$SAMPLES/leaky" ]; then
        start_sample leaky && "$CAPTURE" -q "$SAMPLE_PID" -o c.hsnap && stop_sample &&
        test_must_fail $HEAPSNAP goroutines c.hsnap 2>err &&
        grep -q "not a Go program" err
    fi
'

test_done
