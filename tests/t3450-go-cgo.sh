#!/usr/bin/env bash
# t3450-go-cgo.sh — a cgo program has two heaps: Go's and glibc's malloc.
# samples/go/cgo holds known Go objects, known C blocks (some held from Go,
# some from a C global), leaks 520 known C blocks (20 of 1 MiB, 500 of 100
# bytes), and leaves 999 Go objects of fresh garbage.  Both heaps must be
# walked side by side, exactly (ReadMemStats for Go; mallinfo2, by the
# formulas of t3100, for glibc); each object carries its heap; the C leaks
# are reported and nothing else (Go garbage is not a leak); rss splits the
# resident memory between the two heaps.  The sample then blocks in a cgo
# call with a Go object's and a C block's addresses in two registers and
# nowhere else: the collector never scans a thread in a cgo call, so the Go
# object is garbage, while C holds what its registers hold.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

R=go-cgo.report
capture_live_sample 'a cgo program with both heaps' go-cgo
stop_sample
rep() { report_get $R "$1"; }

test_expect_success 'both heaps are walked, with no warnings; Go stays the snapshot'"'"'s allocator' '
    $HEAPSNAP index snap.hsnap >index.out &&
    grep -q "(go)" index.out &&
    test "$($HEAPSNAP sql snap.db "SELECT allocator FROM snapshot" | tail -1)" = go &&
    test "$($HEAPSNAP sql snap.db "SELECT count(*) FROM warnings" | tail -1)" = 0 &&
    $HEAPSNAP sql snap.db "SELECT DISTINCT heap FROM objects ORDER BY 1" | tail -2 >heaps &&
    printf "glibc\ngo\n" >want && test_cmp want heaps &&
    $HEAPSNAP sql snap.db "SELECT DISTINCT heap FROM regions ORDER BY 1" | tail -2 >rheaps &&
    test_cmp want rheaps
'

test_expect_success 'the Go heap is exact: ReadMemStats objects and bytes' '
    test "$($HEAPSNAP sql snap.db "SELECT count(*) || \" \" || sum(chunk_size) FROM objects
                                   WHERE heap = \"go\" AND state = \"used\"" | tail -1)" = \
         "$(rep HeapObjects) $(rep HeapAlloc)" &&
    test "$($HEAPSNAP sql snap.db "SELECT count(*) FROM objects WHERE heap = \"go\" AND \"where\" != \"go-span\"" | tail -1)" = 0
'

test_expect_success 'the C heap is exact: mallinfo2 fordblks, uordblks + hblkhd, hblks' '
    test "$($HEAPSNAP sql snap.db "SELECT sum(chunk_size) FROM objects WHERE heap = \"glibc\"
                                   AND state = \"free\" AND \"where\" <> \"tcache\"" | tail -1)" = "$(rep c_arena_free)" &&
    test "$($HEAPSNAP sql snap.db "SELECT (SELECT sum(chunk_size) FROM objects WHERE heap = \"glibc\"
                                           AND (state = \"used\" OR \"where\" = \"tcache\"))
                                   + (SELECT value FROM facts WHERE key = \"glibc.overhead_bytes\")" | tail -1)" = \
         "$(( $(rep c_arena_used) + $(rep c_mmapped) ))" &&
    test "$($HEAPSNAP sql snap.db "SELECT count(*) || \" \" || sum(\"end\" - start) FROM regions
                                   WHERE heap = \"glibc\" AND kind = \"mmap-chunk\"" | tail -1)" = \
         "$(rep c_mmapped_count) $(rep c_mmapped)"
'

test_expect_success 'glibc'"'"'s mmapped chunks are not claimed as Go runtime memory' '
    test "$($HEAPSNAP sql snap.db "SELECT count(*) FROM regions g JOIN regions c
                                   ON g.heap = \"go\" AND c.heap = \"glibc\" AND g.start < c.\"end\" AND c.start < g.\"end\"" | tail -1)" = 0
'

test_expect_success 'the C blocks Go and C hold are reached: a Go object points at one' '
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
c = sqlite3.connect(\"snap.db\")
def obj(k):
    r = c.execute(\"SELECT id, heap, size FROM objects WHERE addr = ? AND state = \x27used\x27\", (int(rep[k], 16),)).fetchone()
    assert r, k
    return r
held, big, item = obj(\"c_held0\"), obj(\"c_big0\"), obj(\"item0\")
assert held[1] == \"glibc\" and held[2] >= 200 and big[1] == \"glibc\" and item[1] == \"go\", (held, big, item)
# the first Item (Go) holds the first held C block
assert c.execute(\"SELECT count(*) FROM refs WHERE src = ? AND dst = ?\", (item[0], held[0])).fetchone()[0] == 1
"
'

test_expect_success 'a thread blocked in a cgo call roots C blocks from its registers, never Go objects' '
    $HEAPSNAP top snap.hsnap >/dev/null &&
    python3 -c "
import sqlite3, struct
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
ghost, creg = int(rep[\"ghost\"], 16), int(rep[\"c_reg\"], 16)
c = sqlite3.connect(\"snap.db\")
# the premise: one thread holds both, r12 and r13 (HS_R12 = 3, HS_R13 = 2)
regs = [struct.unpack(\"<27Q\", b) for (b,) in c.execute(\"SELECT registers FROM threads\")]
assert [r for r in regs if r[3] == ghost and r[2] == creg], [hex(r[3]) for r in regs]
def obj(a):
    r = c.execute(\"SELECT o.id, o.heap, a.reachable FROM objects o JOIN analysis a ON a.id = o.id WHERE o.addr = ? AND o.state = \x27used\x27\", (a,)).fetchone()
    assert r, hex(a)
    return r
g, b = obj(ghost), obj(creg)
assert g[1:] == (\"go\", 0), g
assert b[1:] == (\"glibc\", 1), b
# and what holds the C block is that thread\x27s register root
k = c.execute(\"SELECT group_concat(DISTINCT r.kind) FROM refs JOIN roots r ON r.id = refs.src WHERE refs.dst = ?\", (b[0],)).fetchone()[0]
assert k and \"register\" in k.split(\",\"), k
"
'

test_expect_success 'leaks reports exactly the leaked C blocks; the Go garbage is named, not counted' '
    $HEAPSNAP leaks --json snap.db >leaks.json &&
    python3 -c "
import json
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
l = json.load(open(\"leaks.json\"))
assert (l[\"leaked_count\"], l[\"leaked_bytes\"]) == (int(rep[\"c_leaked_count\"]), int(rep[\"c_leaked_usable\"])), l
assert l[\"garbage_count\"] >= 999, l
" &&
    $HEAPSNAP sql snap.db "SELECT count(*) FROM leaks l JOIN objects o ON o.id = l.object WHERE o.heap <> \"glibc\"" | tail -1 | grep -qx 0 &&
    $HEAPSNAP leaks snap.db >leaks.out &&
    grep -q "^Go garbage: [0-9]* unreachable objects, .*, that the next GC frees: not leaks" leaks.out
'

test_expect_success 'rss splits the resident memory between the Go and the C heap, and says the C heap is most of it' '
    $HEAPSNAP rss --json snap.hsnap >rss.json &&
    python3 -c "
import json
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
r = json.load(open(\"rss.json\"))
h = {x[\"heap\"]: x for x in r[\"heaps\"]}
assert set(h) == {\"go\", \"glibc\"}, h
# the C mmapped chunks are resident (the sample filled them) and are glibc'"'"'s
assert h[\"glibc\"][\"rss\"] >= int(rep[\"c_mmapped\"]) and h[\"glibc\"][\"rss\"] > 4 * h[\"go\"][\"rss\"], h
assert h[\"go\"][\"used\"] == int(rep[\"HeapAlloc\"]), h
k = {x[\"kind\"]: x[\"rss\"] for x in r[\"kinds\"]}
assert k[\"mmapped allocations\"] == int(rep[\"c_mmapped\"]), k
" &&
    $HEAPSNAP rss snap.hsnap >rss.out &&
    grep -q "^RSS by heap:" rss.out &&
    grep -q "is the C heap (glibc malloc" rss.out &&
    ! grep -q "mostly the live heap" rss.out
'

test_done
