#!/usr/bin/env bash
# t6010-go-leaks.sh — `heapsnap leaks` on a Go heap says what a Go developer
# means by a leak.  samples/go/session with garbage=N drops up to N objects
# of 4096 bytes right after its collection (the report says how many
# bytes), and parks G goroutines on a channel receive (a goroutine leak).
# leaks must count the garbage as garbage — exactly the bytes the program
# dropped (and whatever the runtime itself dropped since, less than one
# more object), within HeapAlloc − HeapMarked — and report no Go object as
# leaked; and it must group the goroutines a GC found blocked (g.waitsince)
# into one group of exactly G, waiting since before the last GC ended.
# waitsince is set from the second cycle on (a cycle marks with the time
# of the one before): bigfree=16 makes the collections before the last.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

N=64 G=40
R=go-session.report
capture_go_session 'leaks of a Go heap' garbage=$N goroutines=$G bigfree=16

test_expect_success 'the snapshot indexes with no warnings' '
    $HEAPSNAP index go.hsnap >index.out &&
    test "$(sqlite3 go.db "SELECT count(*) FROM warnings")" = 0
'

test_expect_success 'the tree the index stored is the one leaks computes from the database, row for row' '
    cp go.db again.db &&
    sqlite3 again.db "DROP VIEW objects_analysis; DROP TABLE analysis; DELETE FROM analysis_done" &&
    $HEAPSNAP leaks again.db >/dev/null &&
    sqlite3 go.db "SELECT * FROM analysis ORDER BY id" >tree.index &&
    sqlite3 again.db "SELECT * FROM analysis ORDER BY id" >tree.leaks &&
    test -s tree.index &&
    test_cmp tree.leaks tree.index
'

test_expect_success 'the garbage leaks reports is the garbage the program made, inside HeapAlloc - HeapMarked' '
    $HEAPSNAP leaks --json go.db >leaks.json &&
    python3 -c "
import json, sqlite3
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
l = json.load(open(\"leaks.json\"))
want = int(rep[\"Garbage\"])
assert $N * 4096 / 4 <= want <= $N * 4096, want
assert (l[\"leaked_count\"], l[\"leaked_bytes\"]) == (0, 0), l
assert want <= l[\"garbage_bytes\"] < want + 4096, (l[\"garbage_bytes\"], want)
g = l[\"go\"]
assert l[\"garbage_bytes\"] <= g[\"heap_alloc\"] - g[\"heap_marked\"], (l[\"garbage_bytes\"], g)
# the objects themselves: exactly the dropped 4096-byte objects
c = sqlite3.connect(\"go.db\")
n = c.execute(\"SELECT count(*) FROM objects o JOIN analysis a ON a.id = o.id WHERE o.state = \x27used\x27\"
              \" AND a.reachable = 0 AND o.chunk_size = 4096\").fetchone()[0]
assert n == want // 4096, (n, want)
"
'

test_expect_success 'the text calls it garbage, beside HeapAlloc - HeapMarked, and points to diff' '
    $HEAPSNAP leaks go.db >leaks.out &&
    grep -q "^Go garbage: [0-9]* unreachable objects, .*, that the next GC frees: not leaks" leaks.out &&
    grep -q "HeapAlloc - HeapMarked = " leaks.out &&
    grep -q "heapsnap diff OLD NEW" leaks.out &&
    ! grep -q "^Leaked objects by type" leaks.out
'

test_expect_success 'the leaked goroutines are one blocked group of exactly G' '
    python3 -c "
import json
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
g = json.load(open(\"leaks.json\"))[\"go\"]
assert \"blocked_problem\" not in g, g
top = g[\"blocked\"][0]
assert (top[\"count\"], top[\"status\"], top[\"wait_reason\"], top[\"start_func\"], top[\"created_by\"]) == \\
       ($G, \"waiting\", \"chan receive\", \"main.waiter\", \"main.main\"), top
# no other group holds a waiter, and the runtime'"'"'s own are apart
assert all(b[\"start_func\"] != \"main.waiter\" for b in g[\"blocked\"][1:]), g
assert not any(b[\"start_func\"].startswith(\"runtime.\") and b[\"start_func\"] != \"runtime.main\"
               for b in g[\"blocked\"]), g
# a GC saw them waiting: blocked since before its cycle ended, which was
# since_gc_ns before the capture (the report says how many cycles ran)
assert g[\"num_gc\"] == int(rep[\"NumGC\"]), (g, rep[\"NumGC\"])
assert g[\"since_gc_ns\"] > 0 and top[\"waited_ns\"] >= g[\"since_gc_ns\"], (top, g)
" &&
    grep -E "^ +$G +[0-9.]+ (s|min|h) +waiting +chan receive +main\.waiter +main\.main\$" leaks.out
'

test_done
