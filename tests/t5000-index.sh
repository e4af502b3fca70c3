#!/usr/bin/env bash
# t5000-index.sh — heapsnap index on a capture of samples/linked, whose
# report is the ground truth: the refs leaving its blocks must be exactly
# the links it wrote (offsets and interior flags included), its globals,
# thread stack and TLS variable must be roots pointing at the right blocks,
# and ids must follow the documented scheme.  Then the failure modes: a
# truncated or corrupt snapshot fails with exit 1 and leaves no database.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/linked" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'index a capture of linked' 'bin/samples/linked or the capture tool is not built'
    test_done
fi

start_sample linked || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true
R=linked.report
q() { sqlite3 -batch snap.db "$@"; }

test_expect_success 'setup: linked is running and was captured' '
    test -n "$PID" && grep -qx ready $R && test -s snap.hsnap
'

test_expect_success 'index: exit 0, writes snap.db beside the snapshot, one summary line' '
    $HEAPSNAP index snap.hsnap >out 2>err &&
    test -s snap.db &&
    grep "^snap.db: [0-9]* objects ([0-9]* used, [0-9]* free\(, [0-9]* the allocator.s own\)\?), [0-9]* roots, [0-9]* refs" out &&
    grep "(glibc)\$" out &&
    test "$(q "PRAGMA user_version")" = $((0x48530006)) &&
    test "$(q "PRAGMA application_id")" = $((0x48534442)) &&
    ! ls snap.db.tmp-* 2>/dev/null
'

test_expect_success 'refs leaving our blocks are exactly the reported links' '
    awk "\$1 == \"link\" { print \$2, \$3, \$4, \$5 }" $R | sort >want &&
    q "SELECT printf(\"0x%x %d 0x%x %d\", s.addr, r.offset, d.addr, r.interior)
       FROM refs r JOIN objects s ON s.id = r.src JOIN objects d ON d.id = r.dst
       WHERE printf(\"0x%x\", s.addr) IN ($(awk "\$1 == \"block\" { printf \"%s\\\"%s\\\"\", sep, \$2; sep = \",\" }" $R))" |
    sort >got &&
    test_cmp want got
'

test_expect_success 'every reported block is a used object at least as big as requested' '
    test "$(grep -c "^block " $R)" -gt 10 &&
    awk "\$1 == \"block\" { print \$2, \$3 }" $R | while read a n; do
        test "$(q "SELECT state, size >= $n FROM objects WHERE addr = $((a))")" = "used|1" || exit 1
    done
'

test_expect_success 'globals are data roots named after their symbol, pointing at their blocks' '
    awk "\$1 == \"root\" { print \$2, \$3, \$4 }" $R | while read name dst interior; do
        got=$(q "SELECT printf(\"0x%x %d\", d.addr, r.interior) FROM roots ro
                 JOIN refs r ON r.src = ro.id JOIN objects d ON d.id = r.dst
                 WHERE ro.kind = \"data\" AND ro.name = \"$name\"") &&
        test "$got" = "$dst $interior" || { echo "$name: got \"$got\""; exit 1; }
    done
'

test_expect_success 'a block held by a thread stack is referenced from that thread'"'"'s stack root' '
    read tid dst <<<"$(awk "\$1 == \"stack\" { print \$2, \$3 }" $R)" && dst=$((dst)) &&
    test "$(q "SELECT count(*) FROM refs r JOIN roots ro ON ro.id = r.src JOIN objects d ON d.id = r.dst
               WHERE ro.kind = \"stack\" AND ro.thread = $tid AND d.addr = $dst")" -ge 1
'

test_expect_success 'a block held by a TLS variable is referenced from that thread'"'"'s tls root' '
    read tid dst <<<"$(awk "\$1 == \"tls\" { print \$2, \$3 }" $R)" && dst=$((dst)) &&
    test "$(q "SELECT count(*) FROM refs r JOIN roots ro ON ro.id = r.src JOIN objects d ON d.id = r.dst
               WHERE ro.kind = \"tls\" AND ro.thread = $tid AND d.addr = $dst")" -ge 1
'

test_expect_success 'roots: data, stack, register and tls exist; one register root per thread' '
    for k in data stack register tls; do
        test "$(q "SELECT count(*) FROM roots WHERE kind = \"$k\"")" -ge 1 || exit 1
    done &&
    test "$(q "SELECT count(*) FROM roots WHERE kind = \"register\"")" = "$(q "SELECT count(*) FROM threads")" &&
    test "$(q "SELECT count(*) FROM roots WHERE kind NOT IN (\"data\",\"stack\",\"register\",\"tls\",\"anon\",\"allocator\")")" = 0
'

test_expect_success 'ids: objects 1..n in address order, roots negative, refs land on used objects' '
    test "$(q "SELECT min(id), max(id) = count(*) FROM objects")" = "1|1" &&
    test "$(q "SELECT count(*) FROM objects a JOIN objects b ON b.id = a.id + 1 WHERE b.addr <= a.addr")" = 0 &&
    test "$(q "SELECT max(id) < 0 FROM roots")" = 1 &&
    test "$(q "SELECT count(*) FROM refs r LEFT JOIN objects d ON d.id = r.dst WHERE d.state IS NOT \"used\"")" = 0 &&
    test "$(q "SELECT count(*) FROM refs WHERE src > 0 AND src NOT IN (SELECT id FROM objects)")" = 0
'

test_expect_success 'the index stores the dominator tree: a row per root and used object, the step recorded' '
    test "$(q "SELECT count(*) FROM analysis")" = "$(q "SELECT (SELECT count(*) FROM roots) + count(*) FROM objects WHERE state = \"used\"")" &&
    test "$(q "SELECT count(*) FROM analysis WHERE id < 0 AND reachable = 1")" = "$(q "SELECT count(*) FROM roots")" &&
    test "$(q "SELECT step FROM analysis_done")" = dominators &&
    test "$(q "SELECT sum(retained_size) FROM analysis WHERE idom IS NULL AND reachable")" = \
         "$(q "SELECT sum(size) FROM objects_analysis WHERE reachable AND \"where\" IS NOT \"malloc-internal\"")"
'

# objects, objects_addr, refs and analysis are b-trees the index writes
# itself (db/bulk.c, t5020): SQLite must find them sound and use them.
test_expect_success 'the database passes the sqlite3 shell'"'"'s integrity_check; lookups use the indexes' '
    test "$(q "PRAGMA integrity_check")" = ok &&
    q "EXPLAIN QUERY PLAN SELECT src FROM refs WHERE dst = 5" | grep "SEARCH refs USING PRIMARY KEY (dst=?)" &&
    q "EXPLAIN QUERY PLAN SELECT id FROM objects WHERE addr = 5" | grep "SEARCH objects USING COVERING INDEX objects_addr (addr=?)" &&
    test "$(q "SELECT count(*) FROM objects o WHERE (SELECT id FROM objects WHERE addr = o.addr) = o.id")" = \
         "$(q "SELECT count(*) FROM objects")"
'

test_expect_success 'roots never overlap one another' '
    test "$(q "SELECT count(*) FROM (SELECT addr, size, lag(addr + size) OVER (ORDER BY addr) AS prev_end
               FROM roots WHERE addr IS NOT NULL) WHERE addr < prev_end")" = 0
'

test_expect_success 'metadata: snapshot row, threads, mappings, modules, symbols' '
    test "$(q "SELECT pid, allocator, objects = (SELECT count(*) FROM objects) FROM snapshot")" = "$PID|glibc|1" &&
    test "$(q "SELECT count(*) FROM threads")" = 2 &&
    test "$(q "SELECT count(*) FROM mappings WHERE path = \"[heap]\"")" = 1 &&
    q "SELECT path FROM modules" | grep -q "/linked\$" &&
    test "$(q "SELECT count(*) FROM symbols WHERE name = \"g_list_head\" AND type = \"object\"")" = 1
'

test_expect_success 'index --json: a summary that parses, -o chooses the file' '
    $HEAPSNAP index --json -o other.db snap.hsnap >out.json &&
    test -s other.db &&
    python3 -c "import json,sys; d = json.load(open(\"out.json\")); assert d[\"refs\"] > 0 and d[\"database\"] == \"other.db\", d"
'

test_expect_success 'a truncated snapshot fails with exit 1 and leaves no database' '
    size=$(stat -c %s snap.hsnap) &&
    head -c $((size / 2)) snap.hsnap >cut.hsnap &&
    test_must_fail $HEAPSNAP index cut.hsnap 2>err &&
    grep "cut.hsnap" err && grep -i "truncated" err &&
    test ! -e cut.db && ! ls cut.db.tmp-* 2>/dev/null
'

test_expect_success '--partial indexes what a truncated snapshot holds' '
    $HEAPSNAP index --partial cut.hsnap >out 2>err &&
    test "$(sqlite3 cut.db "SELECT truncated FROM snapshot")" = 1
'

test_expect_success 'a file that is no snapshot fails with exit 1, naming it, no database' '
    head -c 5000 /dev/urandom >junk.hsnap &&
    test_must_fail $HEAPSNAP index junk.hsnap 2>err &&
    grep "junk.hsnap" err &&
    test ! -e junk.db && ! ls junk.db.tmp-* 2>/dev/null &&
    test_must_fail $HEAPSNAP index missing.hsnap 2>err &&
    grep "missing.hsnap: No such file" err
'

test_expect_success 'an unwritable output fails with exit 1 and the reason' '
    test_must_fail $HEAPSNAP index -o /nonexistent/dir/x.db snap.hsnap 2>err &&
    grep "/nonexistent/dir/x.db" err
'

test_expect_success 'command line: --help exits 0, no snapshot or a bad option exits 2' '
    $HEAPSNAP index --help | grep "^usage: heapsnap index" &&
    { $HEAPSNAP index 2>err; test $? = 2; } &&
    { $HEAPSNAP index --bogus snap.hsnap 2>err; test $? = 2; } && grep "help" err
'

SYNTH=$ROOT/build/tools/hsnap-synth
if [ -x "$SYNTH" ]; then
    test_expect_success 'a snapshot with no usable heap indexes, with warnings saying why' '
        "$SYNTH" write syn.hsnap &&
        $HEAPSNAP index syn.hsnap >out 2>err &&
        test "$(sqlite3 syn.db "SELECT count(*) FROM objects")" = 0 &&
        test "$(sqlite3 syn.db "SELECT count(*) FROM warnings")" -ge 1 &&
        test "$(sqlite3 syn.db "SELECT count(*) FROM roots WHERE kind = \"register\"")" -ge 1
    '
    test_expect_success 'hostile metadata (bits flipped, checksums fixed): exit 0 or 1, never a crash' '
        size=$(stat -c %s syn.hsnap) &&
        for i in $(seq 30); do
            cp syn.hsnap f.hsnap &&
            "$SYNTH" flip f.hsnap $(( (i * 7919 + RANDOM) % size )) --fix-crc >/dev/null 2>&1 || true
            rc=0; $HEAPSNAP index -q f.hsnap 2>f.err || rc=$?
            test $rc -le 1 || { echo "exit $rc"; cat f.err; exit 1; }
        done
    '
else
    test_skip 'index synthetic and hostile snapshots' 'build/tools/hsnap-synth is not built'
fi

stop_sample

# The sorter (index/refsort.h) keeps references by buckets of 65536 targets,
# so a heap of 200,000 objects spans four.  bench_heap's objects each hold
# three pointers, at offsets 0, 8 and 16 (the chain's last, two): every
# ref must name a word of its source that points at its target's start.
# Its 12 MB heap also has the scan give memory back behind it, a megabyte
# at a time (index/refs.c): a page given back too early loses refs here.
if [ -x "$SAMPLES/bench_heap" ]; then
    start_sample bench_heap 200000 || true
    "$CAPTURE" -q "${SAMPLE_PID:-0}" -o big.hsnap >capture.out 2>&1 || true
    stop_sample
    test_expect_success 'refs across several target buckets: each names the word that points at its target' '
        $HEAPSNAP index -q big.hsnap &&
        test "$(sqlite3 big.db "SELECT count(*) FROM refs WHERE src > 0")" = 599999 &&
        test "$(sqlite3 big.db "SELECT count(*) FROM (SELECT src, count(*) AS c, group_concat(DISTINCT offset) AS o
                 FROM refs WHERE src > 0 GROUP BY src) WHERE c = 3 OR (c = 2 AND o IN (\"8,16\", \"16,8\"))")" = 200000 &&
        test "$(sqlite3 big.db "SELECT max(dst) > 3 * 65536 FROM refs")" = 1 &&
        test "$($HEAPSNAP sql big.db "SELECT count(*) FROM refs r JOIN objects s ON s.id = r.src
                 JOIN objects d ON d.id = r.dst WHERE r.src > 0 AND u64(s.addr + r.offset) = d.addr AND NOT r.interior" |
              tail -1)" = 599999
    '
    test_expect_success 'a database of several leaves and levels a tree passes integrity_check' '
        test "$(sqlite3 big.db "PRAGMA integrity_check")" = ok &&
        test "$(sqlite3 big.db "SELECT count(*) FROM refs WHERE dst = (SELECT max(dst) FROM refs)")" -ge 1 &&
        test "$(sqlite3 big.db "SELECT count(*) FROM analysis")" -gt 200000 &&
        test "$(stat -c %a big.db)" = 600 &&
        ! ls -a | grep "\.bulk\$"
    '
    # a file size limit stands in for a full disk: the tables' scratch file
    # (some 20 MB here) outgrows it, SQLite's own part does not
    test_expect_success 'no room for the tables: exit 1, the file and the reason named, nothing left behind' '
        (trap "" XFSZ; ulimit -f 5000; $HEAPSNAP index -q big.hsnap -o small.db >out 2>err; echo $? >rc) &&
        test "$(cat rc)" = 1 &&
        grep "small.db.tmp-[0-9]*: writing the scratch file .*/small.db.tmp-[0-9]*.bulk: File too large" err &&
        ! ls small.db* 2>/dev/null
    '
else
    test_skip 'refs across several target buckets' 'bin/samples/bench_heap is not built'
fi

# The object table keeps a chunk's offset and slack in 16 bits each, and
# the rare wider ones on a side list (model/objects.h): no heap here has
# one, so build/tools/objtab makes them up, and reads every one back.
OBJTAB=$ROOT/build/tools/objtab
if [ -x "$OBJTAB" ]; then
    test_expect_success 'object table: chunks too wide for 16 bits come back exact, a duplicate is dropped' '
        "$OBJTAB" >out &&
        grep -x "35 checks, 0 failed" out
    '
else
    test_skip 'object table: chunks too wide for 16 bits' 'build/tools/objtab is not built'
fi

test_done
