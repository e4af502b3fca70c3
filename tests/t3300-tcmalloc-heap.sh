#!/usr/bin/env bash
# t3300-tcmalloc-heap.sh — the tcmalloc walker (analyze/heap/tcmalloc/)
# against tcmalloc's own account of the same frozen process:
# samples/tcmalloc_heap, linked with Debian's libtcmalloc_minimal.so.4
# (gperftools 2.10, stripped: the page map, the size classes and the central
# free lists are found by what they hold), and bin/samples/tcmalloc_static,
# the same program with libtcmalloc_minimal.a inside, each report every block with
# tc_malloc_size() and MallocExtension's figures, with nothing allocated
# between those and the capture.  How the totals compare, as
# MallocExtension computes them: generic.current_allocated_bytes is Σ size of
# used objects; an object in a thread cache or a transfer cache is free to
# the program though its span counts it out; central_cache_free_bytes is
# the objects on the spans' own lists plus each small span's tail.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'tcmalloc heaps' 'the capture tool or heapsnap is not built'
    test_done
fi
sq() { sqlite3 -batch "$@"; }
fact() { sq "$1" "SELECT value FROM facts WHERE key = '$2'"; }
stat() { awk -v f="$2" '$1 == "stats" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' "$1"; }

for s in tcmalloc_heap tcmalloc_static; do
    if [ ! -x "$SAMPLES/$s" ]; then
        test_skip "$s" "bin/samples/$s is not built"
        continue
    fi
    rm -f tc.hsnap tc.db truth.db
    start_sample $s || true
    "$CAPTURE" -q "${SAMPLE_PID:-0}" -o tc.hsnap >capture.out 2>&1 || true
    stop_sample
    R=$s.report
    report_truth $R truth.db 2>/dev/null || true

    test_expect_success "$s: "'setup: ran on tcmalloc, reported and was captured' '
        grep -qx ready $R && test -s tc.hsnap &&
        test "$(sq truth.db "SELECT count(*) FROM live")" -gt 2000 &&
        test "$(stat $R thread)" -gt 0 && test "$(stat $R transfer)" -gt 0
    '
    test_expect_success "$s: "'index walks tcmalloc (page map root by scan), no warning' '
        $HEAPSNAP index tc.hsnap -o tc.db >out 2>err &&
        grep "(tcmalloc)\$" out &&
        fact tc.db tcmalloc.pagemap_root | grep "(scan)\$" &&
        test "$(fact tc.db tcmalloc.thread_caches)" -ge 2 &&
        sq tc.db "SELECT message FROM warnings WHERE source IN (\"tcmalloc\", \"heap\", \"glibc\")" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success "$s: "'every live block is used at its address, of its tc_malloc_size' '
        sq tc.db "ATTACH \"truth.db\" AS t;
            SELECT printf(\"0x%x want %d got %s %s\", l.addr, l.usable, o.size, o.state)
            FROM t.live l LEFT JOIN objects o ON o.addr = l.addr
            WHERE o.id IS NULL OR o.state <> \"used\" OR o.size <> l.usable" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success "$s: "'no freed block is used; freed ones are in thread caches, transfer caches or on their spans' '
        sq tc.db "ATTACH \"truth.db\" AS t;
            SELECT printf(\"0x%x %s %s\", f.addr, o.state, o.\"where\") FROM t.freed f
            JOIN objects o ON o.addr = f.addr WHERE o.state = \"used\"" >bad &&
        test_cmp /dev/null bad &&
        test "$(sq tc.db "SELECT count(*) FROM objects WHERE \"where\" = \"tcache\"")" -gt 0 &&
        test "$(sq tc.db "SELECT count(*) FROM objects WHERE \"where\" = \"span\" AND state = \"free\"")" -gt 0 &&
        test "$(sq tc.db "SELECT count(*) FROM objects WHERE \"where\" = \"transfer-cache\"")" -gt 0 &&
        test "$(sq tc.db "SELECT count(*) FROM objects WHERE \"where\" = \"large-span\"")" -gt 0
    '
    test_expect_success "$s: "'used bytes are generic.current_allocated_bytes' '
        test "$(sq tc.db "SELECT sum(size) FROM objects WHERE state = \"used\"")" = "$(stat $R allocated)" &&
        test "$(fact tc.db tcmalloc.current_allocated_bytes)" = "$(stat $R allocated)"
    '
    test_expect_success "$s: "'thread, central, transfer and page heap bytes are MallocExtension'"'"'s' '
        test "$(fact tc.db tcmalloc.thread_cache_free_bytes)" = "$(stat $R thread)" &&
        test "$(sq tc.db "SELECT sum(size) FROM objects WHERE \"where\" = \"tcache\"")" = "$(stat $R thread)" &&
        test "$(fact tc.db tcmalloc.central_cache_free_bytes)" = "$(stat $R central)" &&
        test "$(fact tc.db tcmalloc.transfer_cache_free_bytes)" = "$(stat $R transfer)" &&
        test "$(fact tc.db tcmalloc.pageheap_free_bytes)" = "$(stat $R pagefree)" &&
        test "$(fact tc.db tcmalloc.pageheap_unmapped_bytes)" = "$(stat $R unmapped)"
    '
    # gperftools' MallocExtension::Register() replaces the default instance
    # that InitModule() made with new, and keeps no pointer to it: 8 bytes,
    # a vptr only, leaked by tcmalloc itself in every process.
    test_expect_success "$s: "'the one leak is tcmalloc'"'"'s own: the MallocExtension Register() replaced' '
        $HEAPSNAP leaks --json tc.db >leaks.json &&
        python3 -c "import json
j = json.load(open(\"leaks.json\"))
assert j[\"leaked_count\"] == 1 and j[\"leaked_bytes\"] == 8, j
assert [g[\"type\"] for g in j[\"groups\"]] == [\"MallocExtension\"], j[\"groups\"]"
    '

    test_expect_success "$s: "'rss gives MallocExtension'"'"'s figures and tcmalloc'"'"'s levers, not glibc advice' '
        $HEAPSNAP rss tc.db >out 2>err &&
        grep "^Against tcmalloc.s own statistics:" out &&
        grep "^  - generic.current_allocated_bytes: $(stat $R allocated) bytes:" out &&
        grep "^  - tcmalloc.thread_cache_free_bytes: $(stat $R thread) bytes:" out &&
        grep "^  - tcmalloc.pageheap_free_bytes: $(stat $R pagefree) bytes:" out &&
        test "$(stat $R pagefree)" -gt 1048576 &&
        grep "^  - TCMALLOC_RELEASE_RATE, ReleaseFreeMemory: " out &&
        ! grep -i "glibc\|malloc_trim\|MALLOC_CONF" out
    '
done

test_done
