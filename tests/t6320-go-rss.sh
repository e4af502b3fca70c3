#!/usr/bin/env bash
# t6320-go-rss.sh — why a Go program's RES is higher than pprof says.
# samples/go/session with bigfree=1024 allocates 1 GiB, drops it and runs
# runtime.GC() without debug.FreeOSMemory(): the freed spans stay resident
# until the background scavenger returns them.  `heapsnap rss` must put
# that resident difference on idle spans not yet released, matching the
# snapshot's own HeapIdle − HeapReleased to the page (one partial page per
# free run), and offer debug.FreeOSMemory(); the same program that frees
# the OS memory itself must get no such advice.
#
# Left alone, the scavenger returns that GiB within about ten seconds, so a
# capture that comes late on a busy machine would find little of it.  With
# "hold" the program raises GOGC right after the collection, which puts
# the scavenger's goal above all it retains (see holdIdle in the sample):
# the freed GiB stays resident however late the capture is, and the
# snapshot's own MemStats say so (idle > 512 MiB below).
#
# HeapReleased may still have grown between ReadMemStats and the capture,
# by a batch the scavenger was in the middle of when GOGC changed.  The program
# allocates nothing after reading, but the runtime may: to run the
# scavenger while the main goroutine sleeps in a system call it can start a
# thread, whose m, g0 and gsignal (and their stacks) come from the heap.
# That is the one difference allowed: at most two such threads' worth (Go
# 1.27 starts one of 96 KiB of stacks and 13 objects, 10 KiB) — 16 objects,
# 16 KiB of objects, 128 KiB of pages moved from idle to stacks, and two
# 8 KiB spans.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

if [ ! -x "$(go_sample session)" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'rss of a Go program with a freed heap' "bin/samples/$GO_VERSION-session or the capture tool is not built"
    test_done
fi

R=go-session.report
start_sample go-session bigfree=1024 hold || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o big.hsnap >capture.out 2>&1 || true
stop_sample
cp $R big.report
start_sample go-session bigfree=256 release || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o rel.hsnap >capture2.out 2>&1 || true
stop_sample
cp $R rel.report
# MADV_FREE instead of MADV_DONTNEED: what FreeOSMemory releases stays in
# RSS as smaps' LazyFree until the kernel reclaims it
GODEBUG=madvdontneed=0 start_sample go-session bigfree=64 release || true
lazyfree() { awk '/^LazyFree:/ { print $2 * 1024 }' /proc/${SAMPLE_PID:-0}/smaps_rollup 2>/dev/null; }
lazy_before=$(lazyfree)
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o lazy.hsnap >capture3.out 2>&1 || true
lazy_after=$(lazyfree)
stop_sample

test_expect_success 'the snapshot agrees with the program, but for thread starts and spans allocated after ReadMemStats' '
    $HEAPSNAP index big.hsnap >/dev/null &&
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"big.report\") if len(l.split()) == 2)
ms = dict(sqlite3.connect(\"big.db\").execute(\"SELECT name, value FROM go_memstats\"))
d = {k: ms[k] - int(rep[k]) for k in (\"HeapObjects\", \"HeapAlloc\", \"HeapIdle\", \"StackInuse\", \"HeapInuse\")}
assert 0 <= d[\"HeapObjects\"] <= 16 and 0 <= d[\"HeapAlloc\"] <= 16384, d
# The runtime keeps working after ReadMemStats: two thread starts (their
# stacks, 128 KiB at most) and two 8 KiB spans for their objects may come
# out of idle pages, or the heap may grow by as much; so idle moves by at
# most 144 KiB (of a 1 GiB heap).  t3400 holds the figures of a quiet
# program exactly.
assert abs(d[\"HeapIdle\"]) <= 131072 + 16384, d
assert 0 <= d[\"HeapInuse\"] <= 16384 and 0 <= d[\"StackInuse\"] <= 131072, d
# the scavenger may release more; released pages go back in use only for
# those same stacks and spans, so at most 144 KiB fewer
assert int(rep[\"HeapReleased\"]) - (131072 + 16384) <= ms[\"HeapReleased\"] <= ms[\"HeapIdle\"], (rep[\"HeapReleased\"], ms)
"
'

test_expect_success 'rss puts the resident freed heap on idle spans: HeapIdle - HeapReleased, to the page' '
    $HEAPSNAP rss --json big.hsnap >rss.json &&
    python3 -c "
import json, sqlite3
d = json.load(open(\"rss.json\"))
ms = dict(sqlite3.connect(\"big.db\").execute(\"SELECT name, value FROM go_memstats\"))
idle = ms[\"HeapIdle\"] - ms[\"HeapReleased\"]
a = d[\"arenas\"][0]
slack = a[\"free_count\"] * 4096 + ms[\"walk.free_slot_bytes\"]
assert abs(d[\"free_resident\"] - idle) <= slack, (d[\"free_resident\"], idle, slack)
assert idle > 512 << 20, idle          # most of the freed GiB is still resident (hold)
assert d[\"rss\"] >= idle, (d[\"rss\"], idle)
levers = {l[\"lever\"] for l in d[\"levers\"]}
assert \"debug.FreeOSMemory()\" in levers and \"GOMEMLIMIT\" in levers, levers
"
'

test_expect_success 'the text says where RES goes and what gives it back, in the runtime'"'"'s words' '
    $HEAPSNAP rss big.hsnap >rss.out &&
    grep -q "^Go runtime memory, runtime/metrics /memory/classes at the capture:" rss.out &&
    grep -qE "^    heap/free +[0-9]+   free spans, not yet returned; resident " rss.out &&
    grep -q "what pprof" rss.out &&
    grep -q "^GC at the capture: [0-9]* cycles (NumGC), the last ended [0-9.]* s before" rss.out &&
    grep -q "debug.FreeOSMemory(): gives back " rss.out &&
    grep -q "GODEBUG=madvdontneed=1" rss.out &&
    ! grep -qE "top chunk|allocator overhead|free, resident|fragmented|chunks|No advice" rss.out
'

test_expect_success 'the rss classes are the program'"'"'s own /memory/classes, and the resident parts add up to smaps' '
    $HEAPSNAP rss --json rel.hsnap >rel.json &&
    python3 -c "
import json, sqlite3
d = json.load(open(\"rel.json\"))
rep = {l.split()[1]: int(l.split()[2]) for l in open(\"rel.report\") if l.startswith(\"metric \")}
cls = d[\"go\"][\"classes\"]
assert len(rep) == 14 and set(cls) == set(rep), (sorted(cls), sorted(rep))
# the program reads its metrics and then stays quiet (t3400): exactly
bad = [(k, rep[k], cls[k]) for k in rep if rep[k] != cls[k]]
assert not bad, bad
for name in (\"rel\", \"big\"):
    r = json.load(open(name + \".json\")) if name == \"rel\" else json.load(open(\"rss.json\"))
    res = r[\"go\"][\"resident\"]
    parts = sum(v for k, v in res.items() if k != \"heap_lazyfree\" and v is not None)
    assert parts == r[\"rss\"], (name, parts, r[\"rss\"], res)
    smaps = sqlite3.connect(name + \".db\").execute(\"SELECT sum(rss) FROM mappings\").fetchone()[0]
    assert r[\"rss\"] == smaps, (name, r[\"rss\"], smaps)
rep = dict(l.split()[:2] for l in open(\"rel.report\") if len(l.split()) == 2)
gc = d[\"go\"][\"gc\"]
assert (gc[\"num_gc\"], gc[\"gogc\"], gc[\"next_gc\"]) == (int(rep[\"NumGC\"]), 100, int(rep[\"NextGC\"])), gc
assert gc[\"since_last_gc_ns\"] > 0, gc
"
'

test_expect_success 'the scavenger'"'"'s goal is the runtime'"'"'s: none while GOGC is that high (hold)' '
    python3 -c "
import json
sc = json.load(open(\"rss.json\"))[\"go\"][\"scavenger\"]
# holdIdle raised GOGC so far that 1.1 x HeapInuse x the goal ratio is above
# what is retained: gcPaceScavenger stored ^0, nothing to do
assert sc[\"gc_percent_goal\"] is None and sc[\"memory_limit_goal\"] is None, sc
assert sc[\"last_heap_inuse\"] > 0, sc
"
'

test_expect_success 'pages released with MADV_FREE are LazyFree: recorded, and rss says they are still resident' '
    test -n "$lazy_before" && test "$lazy_before" -gt $((16 << 20)) &&
    $HEAPSNAP rss --json lazy.hsnap >lazy.json &&
    $HEAPSNAP rss lazy.hsnap >lazy.out &&
    python3 -c "
import json, sqlite3
d = json.load(open(\"lazy.json\"))
snap = sqlite3.connect(\"lazy.db\").execute(\"SELECT sum(lazyfree), count(*) FROM mappings WHERE lazyfree IS NULL\").fetchone()
total = sqlite3.connect(\"lazy.db\").execute(\"SELECT sum(lazyfree) FROM mappings\").fetchone()[0]
assert snap[1] == 0, snap
# the kernel may reclaim some between smaps_rollup and the capture; the
# runtime may still free a span or two after ready (see the top), which
# the reading after the capture sees, unless the kernel took it back first
most = max($lazy_before, ${lazy_after:-0}) + (64 << 10)
assert 0 < total <= most, (total, $lazy_before, "${lazy_after:-}")
lazy = d[\"go\"][\"resident\"][\"heap_lazyfree\"]
assert 0 < lazy <= total, (lazy, total)
levers = {l[\"lever\"]: l[\"text\"] for l in d[\"levers\"]}
assert \"still in RSS as LazyFree\" in levers[\"GODEBUG=madvdontneed=1\"], levers
" &&
    grep -q "heap/released .*; resident .* (LazyFree)" lazy.out
'

test_expect_success 'after debug.FreeOSMemory() there is nothing idle to give back' '
    $HEAPSNAP rss --json rel.hsnap >rel.json &&
    python3 -c "
import json, sqlite3
d = json.load(open(\"rel.json\"))
levers = {l[\"lever\"] for l in d[\"levers\"]}
assert d[\"free_resident\"] < 8 << 20, d[\"free_resident\"]
# FreeOSMemory released all but what the runtime kept or freed since (Go
# 1.26 may keep some hundreds of KiB idle, and its background work may
# free a little more before the capture): the lever is offered exactly
# when what is idle at the capture is worth it (1 MiB and 10% of RSS)
ms = dict(sqlite3.connect(\"rel.db\").execute(\"SELECT name, value FROM go_memstats\"))
idle = ms[\"HeapIdle\"] - ms[\"HeapReleased\"]
assert idle < 8 << 20, idle
assert (\"debug.FreeOSMemory()\" in levers) == (idle >= 1 << 20 and idle * 10 >= d[\"rss\"]), (levers, idle, d[\"rss\"])
"
'

test_done
