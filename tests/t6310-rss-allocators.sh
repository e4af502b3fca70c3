#!/usr/bin/env bash
# t6310-rss-allocators.sh — heapsnap rss gives each allocator the memory of
# the ranges it owns, not of the mappings they sit in, meets the allocator's
# own statistics, and speaks of that allocator's levers:
#   - python3 (Debian's): the kernel merges glibc's mmapped chunks with
#     pymalloc's arenas and Python's other anonymous memory into the same
#     mappings; only the chunks' resident pages are "mmapped allocations";
#   - samples/glibc_heap (4 arenas): mallinfo2's figures reconciled with the
#     walked chunks, the sample's own mallinfo2 line agreeing; arenas in order;
#   - samples/jemalloc_heap: stats.allocated / stats.active as the sample's
#     mallctl says, and the dirty_decay_ms / background_thread lever for its
#     dirty extents.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'rss by allocator' 'the capture tool or heapsnap is not built'
    test_done
fi
sq() { sqlite3 -batch "$@"; }
PY=/usr/bin/python3

# ---- python3: mmapped chunks inside merged mappings

if [ -x $PY ]; then
    capture_python py.hsnap '
import sys, time
big = [bytes([i]) * (300000 + 4096 * i) for i in range(120)]  # > 128 KiB: mmapped chunks, written
small = [str(i) * 4 for i in range(200000)]         # pymalloc arenas, beside them
open(sys.argv[1], "w").write("ready\n")
time.sleep(3600)
'

    test_expect_success 'python3: mmapped allocations are the chunks resident pages, not their mappings' '
        $HEAPSNAP index -q py.hsnap -o py.db 2>/dev/null &&
        $HEAPSNAP rss --json py.hsnap >rss.json 2>err &&
        python3 -c "
import json, sqlite3
d = json.load(open(\"rss.json\"))
db = sqlite3.connect(\"py.db\")
k = {x[\"kind\"]: x[\"rss\"] for x in d[\"kinds\"]}
chunks = db.execute(\"SELECT count(*), sum(\\\"end\\\" - start) FROM regions WHERE kind = \\\"mmap-chunk\\\"\").fetchone()
assert chunks[0] >= 120, chunks
# every page of the 120 written chunks is resident, and nothing outside the chunks counts
written = db.execute(\"\"\"SELECT sum(s) FROM (SELECT \"end\" - start AS s FROM regions
    WHERE kind = \"mmap-chunk\" ORDER BY s DESC LIMIT 120)\"\"\").fetchone()[0]
assert written <= k[\"mmapped allocations\"] == d[\"mmapped_rss\"] <= chunks[1], (k, written, chunks)
# the mappings holding them hold more than the chunks: the case this is about
holding = db.execute(\"\"\"SELECT sum(rss) FROM mappings m WHERE EXISTS (SELECT 1 FROM regions r
    WHERE r.kind = \"mmap-chunk\" AND r.start < m.\"end\" AND r.\"end\" > m.start)\"\"\").fetchone()[0]
assert holding > k[\"mmapped allocations\"] + (1 << 20), (holding, k)
total = db.execute(\"SELECT sum(rss) FROM mappings\").fetchone()[0]
assert sum(k.values()) == total == d[\"rss\"], (k, total)
"
    '
else
    test_skip 'python3 merged mappings' "$PY is not installed"
fi

# ---- glibc: mallinfo2 reconciled, arenas in order

if [ -x "$SAMPLES/glibc_heap" ]; then
    start_sample glibc_heap || true
    "$CAPTURE" -q "${SAMPLE_PID:-0}" -o glibc.hsnap >capture.out 2>&1 || true
    stop_sample
    mi() { awk -v f="$1" '$1 == "mallinfo" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' glibc_heap.report; }
    test_expect_success 'glibc: rss meets mallinfo2 figure by figure, and they are the sample'"'"'s own' '
        $HEAPSNAP rss glibc.hsnap >out 2>err &&
        grep "^Against glibc.s own statistics:" out &&
        test "$(grep -c "(they agree)\$" out)" = 4 &&
        grep "^  - arena: $(mi arena) bytes;" out &&
        grep "^  - fordblks: $(mi fordblks) bytes;" out &&
        grep "^  - uordblks + hblkhd: $(( $(mi uordblks) + $(mi hblkhd) )) bytes;" out &&
        grep "^  - hblkhd: $(mi hblkhd) bytes;" out
    '
    test_expect_success 'glibc: arenas are printed in order' '
        grep "^Arena [0-9]* (glibc)" out | awk "{print \$2}" >order &&
        sort -n order >sorted && test_cmp sorted order && test "$(wc -l <order)" = 4
    '
fi

# ---- jemalloc: its stats and its levers

if [ -x "$SAMPLES/jemalloc_heap" ]; then
    start_sample jemalloc_heap || true
    "$CAPTURE" -q "${SAMPLE_PID:-0}" -o je.hsnap >capture.out 2>&1 || true
    stop_sample
    st() { awk -v f="$1" '$1 == "stats" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' jemalloc_heap.report; }
    test_expect_success 'jemalloc: rss gives stats.allocated and stats.active as mallctl does' '
        $HEAPSNAP rss je.hsnap >out 2>err &&
        grep "^Against jemalloc.s own statistics:" out &&
        grep "^  - stats.allocated: $(st allocated) bytes:" out &&
        grep "^  - stats.active: $(st active) bytes:" out
    '
    test_expect_success 'jemalloc: its dirty extents get the MALLOC_CONF levers, not glibc advice' '
        dirty=$(sq je.db "SELECT value FROM facts WHERE key = \"jemalloc.dirty_bytes\"" 2>/dev/null ||
                $HEAPSNAP sql je.hsnap "SELECT value FROM facts WHERE key = \"jemalloc.dirty_bytes\"" | tail -n 1) &&
        test "$dirty" -gt 1048576 &&
        grep "^  - dirty_decay_ms, background_thread: .* MALLOC_CONF=dirty_decay_ms:1000" out &&
        ! grep -i "glibc\|malloc_trim" out
    '
fi

test_done
