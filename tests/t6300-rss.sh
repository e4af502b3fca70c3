#!/usr/bin/env bash
# t6300-rss.sh — heapsnap rss on a capture of samples/rss_hole, which frees
# a known run of blocks in the middle of its heap.  The kinds of mapping
# must add up to the smaps figures exactly (the snapshot's and the live
# process's, which is idle), the hole must show as one free chunk of the
# reported size, resident within the page slack documented in
# docs/analyses.md, and the advice must be malloc_trim().
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/rss_hole" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'rss on a capture of rss_hole' 'bin/samples/rss_hole or the capture tool is not built'
    test_done
fi

start_sample rss_hole || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true
LIVE_KB=$(awk '$1 == "Rss:" { print $2 }' /proc/$PID/smaps_rollup 2>/dev/null)
R=rss_hole.report
py() { python3 -c "import json, sys, sqlite3
rep = {l.split()[0]: l.split()[1:] for l in open('$R')}
db = sqlite3.connect('snap.db')
$1"; }

test_expect_success 'setup: rss_hole is running and was captured' '
    test -n "$PID" && grep -qx ready $R && test -s snap.hsnap && test -n "$LIVE_KB"
'

test_expect_success 'rss: exit 0, kinds of mapping, arenas, a conclusion' '
    $HEAPSNAP rss snap.hsnap >out 2>err &&
    grep "^RSS by kind of mapping:" out &&
    grep "^Arena 0 (glibc)" out &&
    grep "^Conclusion:" out &&
    $HEAPSNAP rss --json snap.db >rss.json
'

test_expect_success 'the kinds add up to the smaps figures exactly' '
    py "
d = json.load(open(\"rss.json\"))
total = db.execute(\"SELECT sum(rss) FROM mappings\").fetchone()[0]
assert d[\"rss\"] == total == $LIVE_KB * 1024, (d[\"rss\"], total, $LIVE_KB * 1024)
assert sum(k[\"rss\"] for k in d[\"kinds\"]) == total
heap = db.execute(\"SELECT rss FROM mappings WHERE path = \x27[heap]\x27\").fetchone()[0]
k = {x[\"kind\"]: x for x in d[\"kinds\"]}
assert k[\"heap arenas\"][\"rss\"] == heap, (k, heap)
assert k[\"thread stacks\"][\"mappings\"] == 1
assert d[\"arenas\"][0][\"rss\"] == heap
"
'

test_expect_success 'the hole: one free chunk of the freed size, resident but for the page slack' '
    py "
d = json.load(open(\"rss.json\"))
freed = int(rep[\"freed_middle\"][0]); ps = db.execute(\"SELECT page_size FROM snapshot\").fetchone()[0]
a = d[\"arenas\"][0]
assert a[\"largest_free\"] == freed, (a[\"largest_free\"], freed)
assert freed - 2 * ps - 48 <= a[\"free_resident\"] <= freed, (a[\"free_resident\"], freed)
(where,) = db.execute(\"SELECT \\\"where\\\" FROM objects WHERE chunk = ?\", (int(rep[\"hole\"][0], 16),)).fetchone()
assert where in (\"unsorted\", \"smallbin\", \"largebin\"), where
assert a[\"free\"][where.replace(\"bin\", \" bins\") if where != \"unsorted\" else \"unsorted\"] >= freed
nblk, ublk = map(int, rep[\"used_blocks\"])
assert a[\"used\"] >= ublk and a[\"used_count\"] >= nblk, a
assert a[\"size\"] >= a[\"used\"] + a[\"overhead\"] + freed
"
'

test_expect_success 'malloc'"'"'s own tcache chunk is allocator overhead, not used bytes, and the conclusion says so' '
    py "
d = json.load(open(\"rss.json\"))
a = d[\"arenas\"][0]
tc = db.execute(\"SELECT count(*), sum(chunk_size) FROM objects WHERE arena = 0 AND \\\"where\\\" = \x27malloc-internal\x27\").fetchone()
assert tc[0] == 1 and tc[1] == 656, tc   # one thread, one tcache_perthread_struct chunk
used, hdr = db.execute(\"SELECT sum(size), sum(chunk_size - size) FROM objects WHERE arena = 0 AND state = \x27used\x27\"
                       \" AND \\\"where\\\" = \x27inuse\x27\").fetchone()
assert (a[\"internal\"], a[\"used\"], a[\"overhead\"]) == (tc[1], used, hdr + tc[1]), (a, used, hdr)
" &&
    grep "of which 656 B in malloc'"'"'s own per-thread caches" out
'

test_expect_success 'the advice is malloc_trim(0), with the resident figure' '
    py "
d = json.load(open(\"rss.json\"))
levers = [l[\"lever\"] for l in d[\"levers\"]]
assert levers[0] == \"malloc_trim(0)\", levers
assert \"MALLOC_ARENA_MAX\" not in levers, levers
" &&
    grep -- "- malloc_trim(0): 6.2 MiB of free heap memory is resident" out
'

test_expect_success 'figures are stored: rss_kinds, rss_arenas' '
    test "$(sqlite3 snap.db "SELECT sum(rss) = (SELECT sum(rss) FROM mappings) FROM rss_kinds")" = 1 &&
    test "$(sqlite3 snap.db "SELECT largest_free FROM rss_arenas WHERE arena = 0")" = "$(awk "\$1 == \"freed_middle\" { print \$2 }" $R)"
'

test_expect_success 'without the snapshot, residency is unknown but the rest stands' '
    mkdir -p alone && cp snap.db alone/ && mv snap.hsnap moved.hsnap &&
    $HEAPSNAP rss alone/snap.db >alone.out 2>&1 &&
    mv moved.hsnap snap.hsnap &&
    grep "not at hand" alone.out && grep "^RSS by kind of mapping:" alone.out
'

test_expect_success 'command line: --help exits 0; bad usage exits 2; a missing file exits 1' '
    $HEAPSNAP rss --help | grep "^usage: heapsnap rss" &&
    { $HEAPSNAP rss 2>err; test $? = 2; } &&
    { $HEAPSNAP rss --all snap.db 2>err; test $? = 2; } &&
    test_must_fail $HEAPSNAP rss missing.db 2>err && grep "missing.db" err
'

stop_sample
test_done
