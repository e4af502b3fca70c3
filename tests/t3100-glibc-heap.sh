#!/usr/bin/env bash
# t3100-glibc-heap.sh — the glibc ptmalloc2 walker (analyze/heap/glibc/walker.c)
# against the ground truth that samples/glibc_heap writes about its own heap:
# every live block found at its address with malloc_usable_size() as its
# size, no freed block called used, every kind of chunk present, and the
# totals equal to mallinfo2() — with libc's debug info and without it.  Then
# a heap the sample corrupted itself (a chunk size, a tcache cycle, a
# fastbin cycle): the indexer names each fault and still finds the rest.
#
# How the totals compare, exactly (see the comment atop glibc/walker.c):
#   mallinfo2 counts, per arena, fordblks = top + bins + fastbins, and
#   uordblks = system_mem - fordblks.  A chunk in a tcache is not in a bin,
#   so to mallinfo it is *used*, although heapsnap reports it free (where
#   'tcache').  And system_mem also holds bytes that are in no chunk: each
#   non-main arena's heap_info and malloc_state, alignment, fenceposts; the
#   walker publishes those as the fact glibc.overhead_bytes.  So
#     fordblks          = Σ chunk_size of free objects not in a tcache
#     uordblks + hblkhd = Σ chunk_size of used objects (mmapped included)
#                         + Σ chunk_size of tcache objects + overhead_bytes
#   (overhead_bytes also holds the slack in front of a memalign'd mmapped
#   chunk, which is in its mapping — hblkhd — but in no chunk), and
#     hblkhd            = Σ size of the mmap-chunk regions
#     arena             = Σ size of the arena regions (main-arena, arena-heap)
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/glibc_heap" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'glibc heap walk' 'bin/samples/glibc_heap, the capture tool or heapsnap is not built'
    test_done
fi

# capture_sample OUT [ARGS]: run glibc_heap, capture it to OUT.hsnap, keep
# its report as OUT.report, stop it.
capture_sample() {
    local out=$1; shift
    start_sample glibc_heap "$@" || return 1
    "$CAPTURE" -q "$SAMPLE_PID" -o "$out.hsnap" >"$out.capture" 2>&1 || return 1
    cp glibc_heap.report "$out.report"
    stop_sample
}

# load_truth REPORT DB: the report's live/freed/link lines as tables in DB.
load_truth() {
    {
        echo "CREATE TABLE live(addr INTEGER, req INTEGER, usable INTEGER);"
        echo "CREATE TABLE freed(addr INTEGER);"
        echo "CREATE TABLE link(src INTEGER, off INTEGER, dst INTEGER);"
        echo "BEGIN;"
        while read -r kind a b c; do
            case $kind in
            live) echo "INSERT INTO live VALUES($((a)), $b, $c);" ;;
            freed) echo "INSERT INTO freed VALUES($((a)));" ;;
            link) echo "INSERT INTO link VALUES($((a)), $b, $((c)));" ;;
            esac
        done <"$1"
        echo "COMMIT;"
    } | sqlite3 -batch "$2"
}

# mallinfo REPORT FIELD: a figure of the report's mallinfo line.
mallinfo() { awk -v f="$2" '$1 == "mallinfo" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' "$1"; }

# q DB SQL: query DB with the truth attached as t.
q() { sqlite3 -batch "$1" "ATTACH 'truth-$(basename "$1" .db).db' AS t; $2"; }

capture_sample clean || true
rm -f truth-*.db
load_truth clean.report truth-dbg.db 2>/dev/null || true
cp truth-dbg.db truth-nodbg.db 2>/dev/null || true

test_expect_success 'setup: glibc_heap ran, reported and was captured' '
    grep -qx ready clean.report && test -s clean.hsnap &&
    test "$(sqlite3 truth-dbg.db "SELECT count(*) FROM live")" -gt 100 &&
    test "$(sqlite3 truth-dbg.db "SELECT count(*) FROM freed")" -gt 40 &&
    test "$(sqlite3 truth-dbg.db "SELECT count(*) FROM link")" -gt 10
'

test_expect_success 'index with libc debug info: exit 0, glibc walked with DWARF layouts' '
    $HEAPSNAP index clean.hsnap -o dbg.db >out 2>err &&
    grep "(glibc)\$" out &&
    test "$(sqlite3 dbg.db "SELECT value FROM facts WHERE key = \"glibc.layout\"")" = dwarf &&
    sqlite3 dbg.db "SELECT value FROM facts WHERE key = \"glibc.main_arena\"" | grep "(symbol)" &&
    test "glibc $(sqlite3 dbg.db "SELECT value FROM facts WHERE key = \"glibc.version\"")" = \
         "$(getconf GNU_LIBC_VERSION)"
'

# check_truth DB: the cases shared by the runs with and without debug info.
check_truth() {
    local db=$1 rep=$2 narenas=${3:-4} nheaps=${4:-3}
    test_expect_success "$db: every live block is a used object at its address, of its usable size" '
        q '"$db"' "SELECT printf(\"0x%x want %d got %s %s\", l.addr, l.usable, o.size, o.state)
                   FROM t.live l LEFT JOIN objects o ON o.addr = l.addr
                   WHERE o.id IS NULL OR o.state <> \"used\" OR o.size <> l.usable" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success "$db: no freed block is reported used" '
        q '"$db"' "SELECT printf(\"0x%x %s\", f.addr, o.\"where\") FROM t.freed f
                   JOIN objects o ON o.addr = f.addr WHERE o.state = \"used\"" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success "$db: every kind of chunk is found, in $narenas arenas, $nheaps heaps" '
        for w in inuse mmapped tcache fastbin unsorted smallbin largebin top; do
            test "$(sqlite3 '"$db"' "SELECT count(*) FROM objects WHERE \"where\" = \"$w\"")" -gt 0 ||
                { echo "no $w objects"; exit 1; }
        done &&
        test "$(sqlite3 '"$db"' "SELECT count(*) FROM objects WHERE \"where\" = \"top\"")" = '"$narenas"' &&
        test "$(sqlite3 '"$db"' "SELECT count(*) FROM regions WHERE kind = \"arena-heap\"")" = '"$nheaps"' &&
        test "$(sqlite3 '"$db"' "SELECT count(*) FROM regions WHERE kind = \"mmap-chunk\"")" = 4 &&
        test "$(sqlite3 '"$db"' "SELECT count(DISTINCT arena) FROM objects WHERE \"where\" <> \"mmapped\"")" = '"$narenas"'
    '
    test_expect_success "$db: free bytes = mallinfo2 fordblks (tcache chunks are used to malloc)" '
        test "$(sqlite3 '"$db"' "SELECT sum(chunk_size) FROM objects
                                 WHERE state = \"free\" AND \"where\" <> \"tcache\"")" = \
             "$(mallinfo "$rep" fordblks)"
    '
    test_expect_success "$db: used bytes = mallinfo2 uordblks + hblkhd" '
        test "$(sqlite3 '"$db"' "SELECT (SELECT sum(chunk_size) FROM objects
                                         WHERE state = \"used\" OR \"where\" = \"tcache\")
                                 + (SELECT value FROM facts WHERE key = \"glibc.overhead_bytes\")")" = \
             "$(( $(mallinfo "$rep" uordblks) + $(mallinfo "$rep" hblkhd) ))" &&
        test "$(sqlite3 '"$db"' "SELECT sum(\"end\" - start) FROM regions WHERE kind = \"mmap-chunk\"")" = \
             "$(mallinfo "$rep" hblkhd)"
    '
    test_expect_success "$db: arena regions and the walker facts agree with mallinfo2" '
        test "$(sqlite3 '"$db"' "SELECT sum(\"end\" - start) FROM regions
                                 WHERE kind IN (\"main-arena\", \"arena-heap\")")" = \
             "$(mallinfo "$rep" arena)" &&
        for f in used_bytes:uordblks free_bytes:fordblks mmapped_bytes:hblkhd arena_bytes:arena; do
            test "$(sqlite3 '"$db"' "SELECT value FROM facts WHERE key = \"glibc.${f%%:*}\"")" = \
                 "$(mallinfo "$rep" ${f#*:})" || { echo "$f differs"; exit 1; }
        done
    '
    test_expect_success "$db: a clean heap gives no glibc warnings" '
        sqlite3 '"$db"' "SELECT message FROM warnings WHERE source = \"glibc\"" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success "$db: the links between the sample structs are references" '
        q '"$db"' "SELECT printf(\"0x%x %d 0x%x\", l.src, l.off, l.dst) FROM t.link l
                   EXCEPT
                   SELECT printf(\"0x%x %d 0x%x\", s.addr, r.offset, d.addr) FROM refs r
                   JOIN objects s ON s.id = r.src JOIN objects d ON d.id = r.dst" >bad &&
        test_cmp /dev/null bad
    '
}
check_truth dbg.db clean.report

test_expect_success 'index without libc debug info: exit 0, fallback layout, main_arena by scan' '
    $HEAPSNAP index --no-separate-debug clean.hsnap -o nodbg.db >out 2>err &&
    grep "(glibc)\$" out &&
    test "$(sqlite3 nodbg.db "SELECT value FROM facts WHERE key = \"glibc.layout\"")" = fallback &&
    sqlite3 nodbg.db "SELECT value FROM facts WHERE key = \"glibc.main_arena\"" | grep "(scan)" &&
    sqlite3 nodbg.db "SELECT value FROM facts WHERE key = \"glibc.mp_\"" | grep "(scan)"
'
check_truth nodbg.db clean.report

test_expect_success 'with and without debug info the objects are the same' '
    sql="SELECT addr, size, state, \"where\", chunk, chunk_size, arena FROM objects ORDER BY addr" &&
    sqlite3 dbg.db "$sql" >with && sqlite3 nodbg.db "$sql" >without &&
    test_cmp with without
'

capture_sample grow grow || true
load_truth grow.report truth-grow.db 2>/dev/null || true

test_expect_success 'an arena grown past one 64 MiB heap: index exits 0' '
    grep -qx ready grow.report && test -s grow.hsnap &&
    $HEAPSNAP index grow.hsnap -o grow.db >out 2>err &&
    test "$(sqlite3 grow.db "SELECT max(n) FROM (SELECT count(*) AS n FROM regions
                             WHERE kind = \"arena-heap\" GROUP BY arena)")" = 2
'
check_truth grow.db grow.report 5 5

capture_sample corrupt corrupt || true
load_truth corrupt.report truth-corrupt.db 2>/dev/null || true
csize=$(report_get corrupt.report corrupt-size)
ctc=$(report_get corrupt.report corrupt-tcache)
cfb=$(report_get corrupt.report corrupt-fastbin)

test_expect_success 'corrupt heap: index exits 0 and says there were warnings' '
    grep -qx ready corrupt.report && test -n "$csize" && test -n "$ctc" && test -n "$cfb" &&
    $HEAPSNAP index corrupt.hsnap -o corrupt.db >out 2>err &&
    grep "(glibc)\$" out && grep " [1-9][0-9]* warnings" out
'

test_expect_success 'corrupt heap: the overwritten chunk size is named where it is' '
    sqlite3 corrupt.db "SELECT message FROM warnings WHERE source = \"glibc\"
                        AND addr = $((csize - 16))" >w &&
    grep "size 0x4141414141414141" w && grep "walk resumed" w
'

test_expect_success 'corrupt heap: the tcache and fastbin cycles are named at the bad link' '
    sqlite3 corrupt.db "SELECT message FROM warnings WHERE addr = $((ctc))" | grep "tcache.*cycles back" &&
    sqlite3 corrupt.db "SELECT message FROM warnings WHERE addr = $((cfb))" | grep "fastbin.*cycles back"
'

test_expect_success 'corrupt heap: every other live block is still found, nothing freed is used' '
    q corrupt.db "SELECT printf(\"0x%x\", l.addr) FROM t.live l LEFT JOIN objects o ON o.addr = l.addr
                  WHERE l.addr <> $((csize))
                  AND (o.id IS NULL OR o.state <> \"used\" OR o.size <> l.usable)" >bad &&
    test_cmp /dev/null bad &&
    q corrupt.db "SELECT printf(\"0x%x\", f.addr) FROM t.freed f JOIN objects o ON o.addr = f.addr
                  WHERE o.state = \"used\"" >bad &&
    test_cmp /dev/null bad &&
    test "$(sqlite3 corrupt.db "SELECT count(*) FROM objects WHERE \"where\" IN (\"tcache\", \"fastbin\")")" -gt 50
'

test_done
