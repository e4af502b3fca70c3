#!/usr/bin/env bash
# t3200-jemalloc-heap.sh — the jemalloc 5.x walker (analyze/heap/jemalloc/)
# against jemalloc's own account of the same frozen process:
#   - samples/jemalloc_heap, linked with Debian's libjemalloc.so.2 (stripped,
#     no DWARF: the rtree root is found by scanning, edata read with the
#     5.3.0 layout), and bin/samples/jemalloc_static, the same program with
#     libjemalloc.a inside (the root found by its symbol), and
#     bin/samples/jemalloc_dwarf, linked with Debian's jemalloc source package
#     built with its debug info kept (the Makefile says how): the layouts of
#     edata_t, cache_bin_t and the emap come from DWARF, and DWARF must agree
#     with the 5.3.0 fallback the other two are walked with.  All three are
#     LG_VADDR 48 builds (a two-level rtree of 8-byte leaf elements), and two
#     more are the same source built with LG_VADDR 57 (three levels, 16-byte
#     elements), as configure builds it on a CPU that pages five levels
#     deep: bin/samples/jemalloc_dwarf57 (its shape read from DWARF, the root
#     by symbol) and bin/samples/jemalloc_lg57 (stripped: the shape tried,
#     the root found by scanning).  Each reports every
#     block with malloc_usable_size() and mallctl stats.allocated / active
#     after an epoch, with nothing allocated between those and the capture.
#   - Debian's redis-server (libjemalloc.so.2) on a loopback port, with keys,
#     against its INFO memory allocator_allocated / allocator_active, asked
#     for before and after the capture until the two agree.
# How the totals compare: jemalloc's arenas count a region in a tcache as
# allocated (it left the slab), so stats.allocated = Σ size of used objects
# + Σ size of tcache objects; stats.active = Σ size of the active extents
# (the 'jemalloc-slab' and 'jemalloc-large' regions).
. "$(dirname "$0")/lib.sh"

if [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'jemalloc heaps' 'the capture tool or heapsnap is not built'
    test_done
fi
sq() { sqlite3 -batch "$@"; }
fact() { sq "$1" "SELECT value FROM facts WHERE key = '$2'"; }
stat() { awk -v f="$2" '$1 == "stats" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' "$1"; }

for s in jemalloc_heap jemalloc_static jemalloc_dwarf jemalloc_dwarf57 jemalloc_lg57; do
    if [ ! -x "$SAMPLES/$s" ]; then
        test_skip "$s" "bin/samples/$s is not built"
        continue
    fi
    start_sample $s || true
    "$CAPTURE" -q "${SAMPLE_PID:-0}" -o $s.hsnap >capture.out 2>&1 || true
    stop_sample
    report_truth $s.report truth-$s.db 2>/dev/null || true
    case $s in
    jemalloc_heap) how=scan layout=fallback vaddr=48 ;;
    jemalloc_static) how=symbol layout=fallback vaddr=48 ;;
    jemalloc_dwarf) how=symbol layout=dwarf vaddr=48 ;;
    jemalloc_dwarf57) how=symbol layout=dwarf vaddr=57 ;;
    jemalloc_lg57) how=scan layout=fallback vaddr=57 ;;
    esac

    test_expect_success "$s: ran on jemalloc 5.3.0, reported and was captured" '
        grep -qx ready '$s'.report && grep "^version 5\.3\.0" '$s'.report && test -s '$s'.hsnap &&
        test "$(sq truth-'$s'.db "SELECT count(*) FROM live")" -gt 2000
    '
    test_expect_success "$s: index walks jemalloc ($layout layout, LG_VADDR $vaddr rtree, root by $how), no warning" '
        $HEAPSNAP index '$s'.hsnap -o '$s'.db >out 2>err &&
        grep "(jemalloc)\$" out &&
        test "$(fact '$s'.db jemalloc.layout)" = '$layout' &&
        test "$(fact '$s'.db jemalloc.lg_vaddr)" = '$vaddr' &&
        fact '$s'.db jemalloc.rtree_root | grep "('$how')\$" &&
        sq '$s'.db "SELECT message FROM warnings WHERE source IN (\"jemalloc\", \"heap\")" >bad &&
        test_cmp /dev/null bad
    '
    if [ $layout = dwarf ]; then
        test_expect_success "$s: edata_t, cache_bin_t and the emap from DWARF, which agrees with the 5.3.0 fallback" '
            test "$(fact '$s'.db jemalloc.layout_dwarf)" = "edata_s cache_bin_s emap_s" &&
            test "$(fact '$s'.db jemalloc.fallback_layout)" = "agrees with DWARF"
        '
    else
        test_expect_success "$s: no DWARF layout is claimed where there is none" '
            test -z "$(fact '$s'.db jemalloc.layout_dwarf)"
        '
    fi
    test_expect_success "$s: every live block is used at its address, of its malloc_usable_size" '
        sq '$s'.db "ATTACH \"truth-'$s'.db\" AS t;
            SELECT printf(\"0x%x want %d got %s %s\", l.addr, l.usable, o.size, o.state)
            FROM t.live l LEFT JOIN objects o ON o.addr = l.addr
            WHERE o.id IS NULL OR o.state <> \"used\" OR o.size <> l.usable" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success "$s: no freed block is used; freed regions are free in a slab or a tcache" '
        sq '$s'.db "ATTACH \"truth-'$s'.db\" AS t;
            SELECT printf(\"0x%x %s %s\", f.addr, o.state, o.\"where\") FROM t.freed f
            JOIN objects o ON o.addr = f.addr WHERE o.state = \"used\"" >bad &&
        test_cmp /dev/null bad &&
        test "$(sq '$s'.db "SELECT count(*) FROM objects WHERE \"where\" = \"tcache\"")" -gt 0 &&
        test "$(sq '$s'.db "SELECT count(*) FROM objects WHERE \"where\" = \"slab\" AND state = \"free\"")" -gt 0
    '
    test_expect_success "$s: allocated and active bytes are mallctl stats.allocated and stats.active" '
        test "$(sq '$s'.db "SELECT sum(size) FROM objects WHERE state = \"used\" OR \"where\" = \"tcache\"")" = \
             "$(stat '$s'.report allocated)" &&
        test "$(fact '$s'.db jemalloc.allocated)" = "$(stat '$s'.report allocated)" &&
        test "$(sq '$s'.db "SELECT sum(\"end\" - start) FROM regions
                            WHERE kind IN (\"jemalloc-slab\", \"jemalloc-large\")")" = \
             "$(stat '$s'.report active)" &&
        test "$(fact '$s'.db jemalloc.active)" = "$(stat '$s'.report active)"
    '
    test_expect_success "$s: no leak in a program that does not leak" '
        $HEAPSNAP leaks '$s'.db >out &&
        grep "^'$s'.db: 0 leaked objects" out
    '
done

# ---- redis-server

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    test_skip 'redis-server on jemalloc' 'redis-server is not installed'
    test_done
fi
start_redis 20000 || true
# Allocator figures, as INFO memory gives them.  Redis does not read them
# when asked: serverCron samples jemalloc's stats.allocated and stats.active
# every 100 ms (cron_malloc_stats), and INFO prints the last sample.  So the
# figures that describe the snapshot are the first sample taken after it,
# with no client connected in between: wait past a tick before each INFO
# and after the capture.  Each INFO's own client changes the heap (jemalloc's
# tcache keeps what it freed), so "before" and "after" must agree too: then
# a client's visit leaves the heap as it found it, and the snapshot, taken
# between two such samples, is what both describe.
alloc_info() {
    sleep 0.35
    redis-cli -p "$PORT" info memory | tr -d '\r' | grep -E '^allocator_(allocated|active):'
}
alloc_info >/dev/null
for try in 1 2 3 4 5 6 7 8 9 10; do
    alloc_info >before
    sleep 0.35
    "$CAPTURE" -q $RPID -o redis.hsnap >capture.out 2>&1 || true
    alloc_info >after
    cmp -s before after && break
done
redis-cli -p "$PORT" dbsize >dbsize
kill $RPID

test_expect_success 'setup: redis-server with 20000 keys, captured between two equal INFO memory' '
    test -s redis.hsnap && test_cmp before after && grep -x 20000 dbsize
'
test_expect_success 'redis: index walks jemalloc, no warning from it' '
    $HEAPSNAP index redis.hsnap -o redis.db >out 2>err &&
    grep "(jemalloc)\$" out &&
    sq redis.db "SELECT message FROM warnings WHERE source IN (\"jemalloc\", \"heap\")" >bad &&
    test_cmp /dev/null bad &&
    test "$(sq redis.db "SELECT count(*) FROM objects WHERE state = \"used\"")" -gt 40000
'
test_expect_success 'redis: allocated and active are INFO memory allocator_allocated and allocator_active' '
    test "$(fact redis.db jemalloc.allocated)" = "$(sed -n "s/^allocator_allocated://p" after)" &&
    test "$(sq redis.db "SELECT sum(size) FROM objects WHERE state = \"used\" OR \"where\" = \"tcache\"")" = \
         "$(sed -n "s/^allocator_allocated://p" after)" &&
    test "$(fact redis.db jemalloc.active)" = "$(sed -n "s/^allocator_active://p" after)"
'
test_expect_success 'redis: no leak in a server that does not leak' '
    $HEAPSNAP leaks redis.db >out &&
    grep "^redis.db: 0 leaked objects" out
'

test_done
