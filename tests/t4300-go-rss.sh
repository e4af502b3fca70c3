#!/usr/bin/env bash
# t4300-go-rss.sh — why a Go program's RES is higher than pprof says.
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
# most 144 KiB (of a 1 GiB heap).  t4000 holds the figures of a quiet
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

test_expect_success 'the text says where RES goes and what gives it back' '
    $HEAPSNAP rss big.hsnap >rss.out &&
    grep -q "idle spans kept for reuse" rss.out &&
    grep -q "what pprof" rss.out &&
    grep -q "debug.FreeOSMemory()" rss.out &&
    grep -q "GODEBUG=madvdontneed=1" rss.out
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
