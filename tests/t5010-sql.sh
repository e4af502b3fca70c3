#!/usr/bin/env bash
# t5010-sql.sh — heapsnap sql on a capture of samples/linked: the heap
# functions (cstr, u64, sym, obj, mem, hex) against values the sample
# reported, --csv and --json output that parses, the interactive shell on
# a pipe, and the "snapshot or database" rule: a .hsnap is indexed on first
# use, its .db reused while the snapshot is unchanged and rebuilt when not.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/linked" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'sql on a capture of linked' 'bin/samples/linked or the capture tool is not built'
    test_done
fi

start_sample linked || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true
R=linked.report
get() { awk -v k="$1" -v n="$2" '$1 == k { print $n; exit }' $R; }

test_expect_success 'setup: linked is running and was captured' '
    test -n "$PID" && grep -qx ready $R && test -s snap.hsnap
'

test_expect_success 'sql on a .hsnap indexes it first, then reuses snap.db' '
    $HEAPSNAP sql snap.hsnap "SELECT count(*) FROM objects" >out 2>err &&
    grep "indexing snap.hsnap into snap.db" err &&
    test -s snap.db &&
    before=$(stat -c %Y.%s snap.db) && sleep 1.1 &&
    $HEAPSNAP sql snap.hsnap "SELECT count(*) FROM objects" >out2 2>err2 &&
    ! grep indexing err2 &&
    test "$(stat -c %Y.%s snap.db)" = "$before" &&
    test_cmp out out2
'

test_expect_success 'a copy is indexed once; touching it changes nothing (content, not mtime, counts)' '
    cp snap.hsnap copy.hsnap && $HEAPSNAP sql copy.hsnap "SELECT 1" >/dev/null 2>err &&
    grep indexing err &&
    touch copy.hsnap &&
    $HEAPSNAP sql copy.hsnap "SELECT 1" >/dev/null 2>err &&
    ! grep indexing err
'

test_expect_success 'cstr() of a heap string is the string the sample wrote' '
    test "$($HEAPSNAP sql --csv snap.db "SELECT cstr($(get string 2))" | tail -n 1)" = "$(get string 3)"
'

test_expect_success 'u64() of a heap word is its value' '
    test "$($HEAPSNAP sql --csv snap.db "SELECT u64($(get word 2))" | tail -n 1)" = "$(get word 3)"
'

test_expect_success 'sym() names a global, with +0xoff inside it; NULL on the heap' '
    a=$(get global 3) &&
    test "$($HEAPSNAP sql --csv snap.db "SELECT sym($a), sym($a + 4), sym($(get block 2)) IS NULL" | tail -n 1)" \
        = "g_list_head,g_list_head+0x4,1"
'

test_expect_success 'obj() of an interior address is the id of the block holding it' '
    b=$(awk "\$1 == \"root\" && \$2 == \"g_interior\" { print \$3 }" $R) &&
    test "$($HEAPSNAP sql --csv snap.db "SELECT obj($b + 16) = id, obj($b) = id FROM objects WHERE addr = $b" | tail -n 1)" = "1,1" &&
    test "$($HEAPSNAP sql --csv snap.db "SELECT obj(16) IS NULL" | tail -n 1)" = 1
'

test_expect_success 'mem() returns the captured bytes; NULL where nothing was captured' '
    test "$($HEAPSNAP sql --csv snap.db "SELECT hex(mem($(get string 2), 6)), mem(16, 8) IS NULL" | tail -n 1)" \
        = "$(printf %s "$(get string 3)" | od -An -tx1 | tr -d " \n" | tr a-f A-F),1"
'

test_expect_success 'hex() of an integer is its 0x form; of text, SQLite'"'"'s own hex' '
    test "$($HEAPSNAP sql --csv snap.db "SELECT hex(255), hex(\"ab\"), hex(NULL) IS NULL" | tail -n 1)" = "0xff,6162,1"
'

test_expect_success '--csv parses, with a header and one row per object' '
    $HEAPSNAP sql --csv snap.db "SELECT id, hex(addr) AS addr, size, state FROM objects" >out.csv &&
    python3 -c "
import csv
rows = list(csv.DictReader(open(\"out.csv\")))
assert rows and all(r[\"addr\"].startswith(\"0x\") for r in rows), rows[:3]
print(len(rows))" >n &&
    test "$(cat n)" = "$(sqlite3 snap.db "SELECT count(*) FROM objects")"
'

test_expect_success '--json parses: integers as numbers, NULL as null, blobs as hex' '
    $HEAPSNAP sql --json snap.db "SELECT id, addr, type_id, mem(addr, 4) AS m FROM objects LIMIT 3" >out.json &&
    python3 -c "
import json
d = json.load(open(\"out.json\"))
assert len(d) == 3 and isinstance(d[0][\"addr\"], int) and d[0][\"type_id\"] is None, d
assert all(len(r[\"m\"]) == 8 for r in d), d"
'

test_expect_success 'text output: a header, a rule, aligned columns' '
    $HEAPSNAP sql snap.db "SELECT kind, count(*) AS n FROM roots GROUP BY kind ORDER BY kind" >out &&
    head -n 1 out | grep "^kind  *n\$" &&
    sed -n 2p out | grep "^-* *-*\$" &&
    grep "^register  *2\$" out
'

test_expect_success 'statements on standard input: ; ends a statement, dot-commands work' '
    printf "SELECT 1 + 1\n  AS two;\n.tables\nSELECT \"x\";\n" | $HEAPSNAP sql snap.db >out 2>err &&
    grep "^2\$" out && grep "^objects\$" out && grep "^refs\$" out && grep "^x\$" out
'

test_expect_success 'a bad statement: exit 1 and the error naming the database' '
    test_must_fail $HEAPSNAP sql snap.db "SELECT nosuchcolumn FROM objects" 2>err &&
    grep "snap.db: no such column: nosuchcolumn" err
'

test_expect_success 'a file that is neither database nor snapshot: exit 1' '
    echo hello >plain.txt &&
    test_must_fail $HEAPSNAP sql plain.txt "SELECT 1" 2>err &&
    grep "plain.txt: neither a heapsnap snapshot nor a heapsnap database" err &&
    ! grep indexing err && test ! -e plain.txt.db &&
    test_must_fail $HEAPSNAP sql nothere.db "SELECT 1" 2>err &&
    grep "nothere.db: No such file" err
'

test_expect_success 'command line: --help exits 0, nothing to open exits 2' '
    $HEAPSNAP sql --help | grep "^usage: heapsnap sql" &&
    { $HEAPSNAP sql 2>err; test $? = 2; } &&
    { $HEAPSNAP sql --bogus x.db 2>err; test $? = 2; }
'

stop_sample
test_done
