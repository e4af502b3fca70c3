#!/usr/bin/env bash
# t3400-go-heap.sh — the Go walker (analyze/heap/go*.c) on a capture of
# samples/go/session: what runtime.ReadMemStats() told the program must be
# what heapsnap rebuilds from outside, exactly (the sample frees the OS
# memory before reading its stats and stays quiet afterwards, so nothing
# may differ); the objects the walk finds must add up to the same figures;
# the known objects must be there, held through the global cache; and the
# heap bitmap must be obeyed: a noscan []uint64 holding a pointer's value
# holds no reference.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

R=go-session.report
capture_go_session 'the Go heap of go-session' release

test_expect_success 'the snapshot indexes with the go allocator and no warnings' '
    $HEAPSNAP index go.hsnap >index.out &&
    grep -q "(go)" index.out &&
    python3 -c "
import sqlite3; c = sqlite3.connect(\"go.db\")
w = c.execute(\"SELECT source, message FROM warnings\").fetchall()
assert not w, w
assert c.execute(\"SELECT allocator FROM snapshot\").fetchone()[0] == \"go\"
"
'

test_expect_success 'MemStats rebuilt from the runtime equal ReadMemStats exactly' '
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
c = sqlite3.connect(\"go.db\")
ms = dict(c.execute(\"SELECT name, value FROM go_memstats\"))
bad = []
for k in (\"HeapObjects\", \"HeapAlloc\", \"HeapInuse\", \"HeapIdle\", \"HeapReleased\", \"HeapSys\",
          \"StackInuse\", \"StackSys\", \"MSpanInuse\", \"Sys\", \"NumGC\", \"NextGC\"):
    if int(rep[k]) != ms[k]: bad.append((k, rep[k], ms[k]))
assert not bad, bad
assert ms[\"GOGC\"] == 100 and ms[\"GOMEMLIMIT\"] == 2**63 - 1, ms
"
'

test_expect_success 'runtime/metrics /memory/classes rebuilt from the runtime equal metrics.Read exactly' '
    python3 -c "
import sqlite3
rep = {l.split()[1]: int(l.split()[2]) for l in open(\"$R\") if l.startswith(\"metric \")}
m = dict(sqlite3.connect(\"go.db\").execute(\"SELECT name, value FROM go_metrics\"))
assert len(rep) == 14 and set(m) == set(rep), (sorted(rep), sorted(m))
bad = [(k, rep[k], m[k]) for k in rep if rep[k] != m[k]]
assert not bad, bad
# the classes add up to the total, as the runtime defines them
assert sum(v for k, v in m.items() if k != \"/memory/classes/total:bytes\") == m[\"/memory/classes/total:bytes\"], m
"
'

test_expect_success 'the walk finds HeapObjects objects of HeapAlloc bytes, and the idle pages' '
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
c = sqlite3.connect(\"go.db\")
n, b = c.execute(\"SELECT count(*), sum(chunk_size) FROM objects WHERE state = \x27used\x27 AND heap = \x27go\x27\").fetchone()
assert (n, b) == (int(rep[\"HeapObjects\"]), int(rep[\"HeapAlloc\"])), (n, b, rep)
ms = dict(c.execute(\"SELECT name, value FROM go_memstats\"))
assert ms[\"walk.free_page_bytes\"] == int(rep[\"HeapIdle\"]), ms
assert ms[\"walk.stack_span_bytes\"] == int(rep[\"StackInuse\"]), ms
# in-use spans hold exactly the used and the free slots
inuse = c.execute(\"SELECT sum(size) FROM objects\").fetchone()[0] - ms[\"walk.free_page_bytes\"]
assert inuse <= int(rep[\"HeapInuse\"]), (inuse, rep[\"HeapInuse\"])
assert c.execute(\"SELECT count(*) FROM objects WHERE \\\"where\\\" != \x27go-span\x27\").fetchone()[0] == 0
"
'

test_expect_success 'free slots are counts on their spans, not objects: go_spans adds up to the MemStats' '
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
met = {l.split()[1]: int(l.split()[2]) for l in open(\"$R\") if l.startswith(\"metric \")}
c = sqlite3.connect(\"go.db\")
# the objects table holds objects: no free slot, no free page run
assert c.execute(\"SELECT count(*) FROM objects WHERE heap = \x27go\x27 AND state != \x27used\x27\").fetchone()[0] == 0
def one(q):
    return c.execute(q).fetchone()
PAGE = 8192
inuse, nobj, alloc, free_n, free_b, tail = one(\"SELECT sum(npages) * 8192, sum(allocated), sum(allocated * elemsize), \"
    \"sum(free_count), sum(free_bytes), sum(npages * 8192 - nelems * elemsize) FROM go_spans WHERE state = \x27in-use\x27\")
assert inuse == int(rep[\"HeapInuse\"]), (inuse, rep[\"HeapInuse\"])
assert (nobj, alloc) == (int(rep[\"HeapObjects\"]), int(rep[\"HeapAlloc\"])), (nobj, alloc, rep)
# HeapInuse - HeapAlloc (heap/unused) is the free slots and each span'"'"'s tail
assert free_b + tail == int(rep[\"HeapInuse\"]) - int(rep[\"HeapAlloc\"]), (free_b, tail, rep)
assert free_b + tail == met[\"/memory/classes/heap/unused:bytes\"], (free_b, tail, met)
assert free_n > 0 and free_b > 0, (free_n, free_b)
# the runtime'"'"'s own count agrees with the bits, span by span, once swept
bad = c.execute(\"SELECT count(*) FROM go_spans WHERE state = \x27in-use\x27 AND (alloc_count != allocated \"
    \"OR free_count != nelems - allocated OR free_bytes != free_count * elemsize OR unswept)\").fetchone()[0]
assert bad == 0, bad
stacks, = one(\"SELECT sum(npages) * 8192 FROM go_spans WHERE state = \x27manual\x27\")
assert stacks == int(rep[\"StackInuse\"]), (stacks, rep[\"StackInuse\"])
idle, = one(\"SELECT sum(free_bytes) FROM go_spans WHERE state = \x27free\x27\")
assert idle == int(rep[\"HeapIdle\"]), (idle, rep[\"HeapIdle\"])
f = dict(c.execute(\"SELECT key, value FROM facts WHERE key LIKE \x27go.%\x27\"))
assert (int(f[\"go.free_slots\"]), int(f[\"go.free_slot_bytes\"])) == (free_n, free_b), f
assert int(f[\"go.spans\"]) == one(\"SELECT count(*) FROM go_spans WHERE state = \x27in-use\x27\")[0], f
# spans and runs tile the heap in address order
rows = c.execute(\"SELECT base, npages FROM go_spans ORDER BY base\").fetchall()
assert all(a[0] + a[1] * PAGE <= b[0] for a, b in zip(rows, rows[1:])), rows[:4]
open(\"free.expect\", \"w\").write(\"; %d free slots on %s Go spans\\n\" % (free_n, f[\"go.spans\"]))
" &&
    sed -n "s/.*(\([0-9]* used, [0-9]* free\)\(; .*\)), .*/\2/p" index.out >free.actual &&
    test_cmp free.expect free.actual
'

test_expect_success 'explain names a free Go slot and a free page run for what they are: no objects' '
    # a slot of a span with free slots that no object covers: a free one
    slot=$($HEAPSNAP sql --csv go.db "WITH s AS (SELECT base, elemsize, sizeclass, nelems FROM go_spans
            WHERE state = \"in-use\" AND free_count > 0 AND sizeclass > 0 LIMIT 1),
        k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k, s WHERE i + 1 < s.nelems)
        SELECT printf(\"0x%x %d %d 0x%x\", s.base + i * s.elemsize, s.elemsize, s.sizeclass, s.base) FROM s, k
        WHERE NOT EXISTS (SELECT 1 FROM objects WHERE addr >= s.base + i * s.elemsize
                          AND addr < s.base + (i + 1) * s.elemsize) LIMIT 1" | tail -1 | tr -d \") &&
    set -- $slot && test -n "$4" &&
    test_must_fail $HEAPSNAP explain go.db $1 2>err &&
    grep -q "$1 is in a free $2-byte slot (size class $3) of the Go span at $4: no object" err &&
    run=$($HEAPSNAP sql --csv go.db "SELECT printf(\"0x%x\", base) FROM go_spans WHERE state = \"free\" LIMIT 1" | tail -1 | tr -d \") &&
    test -n "$run" &&
    test_must_fail $HEAPSNAP explain go.db $run 2>err &&
    grep -q "$run is in a free page run of the Go heap at $run (" err
'

test_expect_success 'known objects are found, at their size class, typed, held through main.cache' '
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
c = sqlite3.connect(\"go.db\")
def obj(k):
    r = c.execute(\"SELECT id, size, state FROM objects WHERE addr = ?\", (int(rep[k], 16),)).fetchone()
    assert r and r[2] == \"used\", (k, r)
    return r
assert obj(\"known\")[1] == 64        # main.Session: 5 words + a slice header
# 500 x main.Record (32 bytes) in the 16 KiB class, after the malloc header
# of Go 1.22+ (the program holds what follows it)
assert obj(\"records\")[1] == 16384 - $GO_HEADER
assert c.execute(\"SELECT chunk, chunk_size FROM objects WHERE addr = ?\", (int(rep[\"records\"], 16),)).fetchone() == \\
    (int(rep[\"records\"], 16) - $GO_HEADER, 16384)
assert obj(\"banner\")[1] == 160      # 152 bytes of string
assert obj(\"decoy\")[1] == 32
# with the typing pass in the indexer, the Go DWARF types them as it does C
if c.execute(\"SELECT count(*) FROM sqlite_master WHERE name = \x27types\x27\").fetchone()[0]:
    def ty(k):
        r = c.execute(\"SELECT t.name FROM objects o JOIN types t ON t.id = o.type_id WHERE o.addr = ?\",
                      (int(rep[k], 16),)).fetchone()
        return r and r[0]
    assert ty(\"known\") == \"main.Session\", ty(\"known\")
    assert ty(\"records\") == \"main.Record\", ty(\"records\")
" &&
    known=$(report_get $R known) &&
    $HEAPSNAP path --all go.hsnap $known >path.out &&
    grep -q "global main.cache" path.out &&
    grep -q "global main.known" path.out &&
    grep -q "global main.records" path.out
'

test_expect_success 'pointer maps are obeyed: no reference out of a noscan object or a uintptr global' '
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
c = sqlite3.connect(\"go.db\")
d = c.execute(\"SELECT id FROM objects WHERE addr = ?\", (int(rep[\"decoy\"], 16),)).fetchone()[0]
k = int(rep[\"known\"], 16)
assert c.execute(\"SELECT count(*) FROM refs WHERE src = ?\", (d,)).fetchone()[0] == 0
# records: refs only at the pointer words of Record {Key string; Value int64; Owner *Session}
r = c.execute(\"SELECT id FROM objects WHERE addr = ?\", (int(rep[\"records\"], 16),)).fetchone()[0]
offs = {o % 32 for (o,) in c.execute(\"SELECT offset FROM refs WHERE src = ?\", (r,))}
assert offs == {0, 24}, offs
# globals by their GC masks: a uintptr holding the address is no reference
g = c.execute(\"SELECT id FROM roots WHERE name = \x27main.decoyAddr\x27\").fetchone()
assert g, \"no root main.decoyAddr\"
assert c.execute(\"SELECT count(*) FROM refs WHERE src = ?\", g).fetchone()[0] == 0
assert c.execute(\"SELECT count(*) FROM refs JOIN roots ON roots.id = refs.src WHERE roots.name = \x27main.known\x27\").fetchone()[0] == 1
"
'

test_expect_success 'interface values give their targets dynamic types (go_itypes)' '
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
c = sqlite3.connect(\"go.db\")
t = dict(c.execute(\"SELECT addr, type FROM go_itypes\"))
assert t.get(int(rep[\"known\"], 16)) == \"main.Session\", t.get(int(rep[\"known\"], 16))
assert \"main.recordList\" in t.values(), set(t.values())
assert t.get(int(rep[\"sink\"], 16)) == \"main.Sink\"   # an io.Writer: through its itab
"
'

test_expect_success 'no Session leaks; leaks and top run on the Go heap' '
    $HEAPSNAP leaks go.hsnap >leaks.out &&
    $HEAPSNAP top go.hsnap >top.out &&
    grep -q "global main.cache" top.out
'

test_expect_success 'a goroutine stack is a root; the runtime memory outside the heap is not' '
    python3 -c "
import sqlite3
c = sqlite3.connect(\"go.db\")
# a root per frame (go/stacks.c), named after its goroutine and function
names = [r for (r,) in c.execute(\"SELECT name FROM roots WHERE kind = \x27stack\x27 AND name LIKE \x27goroutine %\x27\")]
ids = {int(x.split()[1]) for x in names}
goids = {r for (r,) in c.execute(\"SELECT goid FROM goroutines\")}
assert ids and ids <= goids, (ids, goids)
assert c.execute(\"SELECT count(*) FROM regions WHERE kind = \x27go-runtime\x27\").fetchone()[0] > 0
"
'

# The collector never scans a thread's registers or its g0 stack: an M that
# runs no goroutine holds no roots, and a stale word there once made a map
# group look held by "several roots" (t6210).  The sample's threads are
# almost all such Ms, parked in the scheduler.
test_expect_success 'only threads running a goroutine (or in a syscall for one) have register and stack roots' '
    python3 -c "
import sqlite3
c = sqlite3.connect(\"go.db\")
busy = {t for (t,) in c.execute(\"SELECT thread FROM goroutines WHERE thread IS NOT NULL AND thread != 0\")}
held = {t for (t,) in c.execute(\"SELECT DISTINCT thread FROM roots WHERE kind IN (\x27register\x27, \x27stack\x27) AND thread IS NOT NULL AND (name IS NULL OR name NOT LIKE \x27goroutine %\x27)\")}
threads = c.execute(\"SELECT count(*) FROM threads\").fetchone()[0]
assert held <= busy, (held, busy)
assert threads > len(held), (threads, held)
"
'


# Without DWARF (go build -ldflags=-w) the runtime's layouts are unknown:
# the walk must be refused with the reason, never run on guesses.
NODWARF=$TRASH/go-session-nodwarf
if (cd "$ROOT/samples/go/session" && GOCACHE=$ROOT/build/gocache GO111MODULE=off \
        "$GO" build -ldflags=-w -o "$NODWARF" main.go) >build-nodwarf.out 2>&1; then
    rm -f nodwarf.report
    "$NODWARF" nodwarf.report release >/dev/null 2>&1 &
    ND_PID=$!
    track_pid $ND_PID
    i=0; while ! grep -qx ready nodwarf.report 2>/dev/null && [ $i -lt 600 ]; do i=$((i + 1)); sleep 0.05; done
    "$CAPTURE" -q $ND_PID -o nodwarf.hsnap >capture-nd.out 2>&1 || true
    stop_sample $ND_PID
    test_expect_success 'a Go binary without DWARF: the walk is refused, saying why' '
        { $HEAPSNAP index nodwarf.hsnap >nd.out 2>&1 || { cat nd.out capture-nd.out; false; }; } &&
        python3 -c "
import sqlite3
c = sqlite3.connect(\"nodwarf.db\")
w = [m for (m,) in c.execute(\"SELECT message FROM warnings WHERE source = \x27go\x27\")]
assert any(\"no DWARF\" in m for m in w), w
assert c.execute(\"SELECT count(*) FROM objects\").fetchone()[0] == 0
"
    '
else
    test_skip 'a Go binary without DWARF' 'go build failed (see build-nodwarf.out)'
fi

# Allocation after the last flush: the counters alone lag behind the heap
# until an mcache is flushed; with the per-P mcache deltas added they must
# equal what the walk counts, slot by slot.
rm -f $R
start_sample go-session after=300 || true
# the state needed is "after" written: wait for it (not for a time), up to
# wait_line's bound, and only while the sample lives
wait_line $R after "${SAMPLE_PID:-0}" || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o after.hsnap >capture2.out 2>&1 || true
stop_sample

test_expect_success 'counts still in per-P mcaches are included: counters equal the walk' '
    $HEAPSNAP index after.hsnap >/dev/null &&
    python3 -c "
import sqlite3
c = sqlite3.connect(\"after.db\")
ms = dict(c.execute(\"SELECT name, value FROM go_memstats\"))
assert ms[\"unflushed.mcache_objects\"] > 0, ms
assert ms[\"HeapObjects\"] == ms[\"walk.HeapObjects\"], ms
assert ms[\"HeapAlloc\"] == ms[\"walk.HeapAlloc\"], ms
"
'

test_done
