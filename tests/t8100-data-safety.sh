#!/usr/bin/env bash
# t8100-data-safety.sh — the analyzer never destroys or exposes the user's
# data (issue 12).  Each case puts a command in the bad situation and checks
# the message, the exit status, and that nothing was lost or changed:
#
#   - a FILE.db heapsnap did not make (another database, a text file, its
#     index of another snapshot) is refused, never replaced; --db chooses
#     another; index -o, diff -o and core -o likewise;
#   - everything written is 0600 whatever the umask, VACUUM INTO included;
#   - a snapshot changed in one word in the middle, same size and mtime,
#     gets a new index, not the stale one;
#   - a database whose snapshot was replaced is refused by every command;
#   - two commands that both want the index: one builds, the other waits
#     and reuses it; a failing analysis store rolls back;
#   - heapsnap sql is read-only unless --write; index's temporary file is
#     created exclusively.
#
# Targets: samples/leaky (its report is the ground truth of what leaks)
# and samples/bigheap (a heap big enough that a change in its middle is
# far from both ends of the file).  Same-size variants of a snapshot come
# from tests/tools/hsnap-mutate --store.
. "$(dirname "$0")/lib.sh"

MUTATE=$ROOT/build/tools/hsnap-mutate
if [ ! -x "$SAMPLES/leaky" ] || [ ! -x "$SAMPLES/bigheap" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$MUTATE" ]; then
    test_skip 'data safety' 'bin/samples/leaky, bigheap, the capture tool or build/tools/hsnap-mutate is not built'
    test_done
fi
command -v sqlite3 >/dev/null || { test_skip 'data safety' 'the sqlite3 shell is not installed'; test_done; }

start_sample leaky || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o snap.hsnap >capture.out 2>&1 || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o other.hsnap >>capture.out 2>&1 || true
stop_sample
start_sample bigheap 2 || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o big.hsnap >>capture.out 2>&1 || true
stop_sample
LEAKED=$(grep -c '^leak ' leaky.report)

# mode FILE: its permission bits in octal
mode() { stat -c %a "$1"; }
# sum FILE: its checksum, to show it was not touched
sum() { md5sum <"$1"; }

test_expect_success 'setup: leaky and bigheap were captured' '
    cat capture.out && test -s snap.hsnap && test -s other.hsnap && test -s big.hsnap &&
    test "$LEAKED" -gt 0 &&
    $HEAPSNAP index -q -o ref.db snap.hsnap && $HEAPSNAP leaks ref.db >ref.out 2>/dev/null &&
    grep "^ref.db: $LEAKED leaked objects" ref.out
'

test_expect_success 'an unrelated SQLite database at FILE.db is refused, named, and left whole' '
    cp snap.hsnap app.hsnap &&
    sqlite3 app.db "CREATE TABLE precious(x); INSERT INTO precious VALUES (42)" &&
    before=$(sum app.db) &&
    rc=0; $HEAPSNAP leaks app.hsnap >out 2>err || rc=$?
    cat err && test $rc -eq 1 &&
    grep "^heapsnap leaks: app.hsnap: app.db exists and is not a heapsnap database; heapsnap will not replace it" err &&
    grep -- "--db FILE" err && ! test -s out &&
    test "$(sum app.db)" = "$before" && test "$(sqlite3 app.db "SELECT x FROM precious")" = 42 &&
    ! ls app.db.tmp-* 2>/dev/null
'

test_expect_success 'a text file at FILE.db is refused and left whole, by every command' '
    cp snap.hsnap app2.hsnap && echo "my notes" >app2.db &&
    for c in leaks top types rss; do
        rc=0; $HEAPSNAP $c app2.hsnap >out 2>err || rc=$?
        test $rc -eq 1 && grep "app2.db exists and is not a heapsnap database" err || { cat err; exit 1; }
    done &&
    rc=0; $HEAPSNAP sql app2.hsnap "SELECT 1" >out 2>err || rc=$?
    test $rc -eq 1 && grep "app2.db exists and is not a heapsnap database" err &&
    test "$(cat app2.db)" = "my notes"
'

test_expect_success 'heapsnap'"'"'s index of another snapshot is not replaced either (but -o DB names it)' '
    $HEAPSNAP index -q other.hsnap -o theirs.db && before=$(sum theirs.db) &&
    rc=0; $HEAPSNAP leaks --db theirs.db snap.hsnap >out 2>err || rc=$?
    cat err && test $rc -eq 1 &&
    grep "theirs.db is heapsnap'"'"'s database of another snapshot (.*other.hsnap); heapsnap will not replace it" err &&
    test "$(sum theirs.db)" = "$before" &&
    cp theirs.db snap2.db && cp snap.hsnap snap2.hsnap &&
    rc=0; $HEAPSNAP index snap2.hsnap >out 2>err || rc=$?
    cat err && test $rc -eq 1 && grep "snap2.db is heapsnap'"'"'s database of another snapshot" err &&
    test "$(sum snap2.db)" = "$before" &&
    $HEAPSNAP index -q -o snap2.db snap2.hsnap && $HEAPSNAP index -q snap2.hsnap
'

test_expect_success '--db chooses another file; index -o, diff -o and core -o refuse a file heapsnap did not make' '
    $HEAPSNAP leaks --db mine.db app.hsnap >out 2>err &&
    grep "^app.hsnap: $LEAKED leaked objects" out &&
    sqlite3 mine.db "PRAGMA application_id" | grep -x $((0x48534442)) &&
    before=$(sum app.db) &&
    rc=0; $HEAPSNAP index -o app.db app.hsnap >out 2>err || rc=$?
    cat err && test $rc -eq 1 && grep "app.db: exists and is not a heapsnap database" err &&
    test "$(sum app.db)" = "$before" && ! ls app.db.tmp-* 2>/dev/null &&
    rc=0; $HEAPSNAP diff -o app.db ref.db other.hsnap >out 2>err || rc=$?
    cat err && test $rc -eq 1 && grep "app.db: exists and is not a diff output of heapsnap" err &&
    test "$(sum app.db)" = "$before" &&
    $HEAPSNAP diff -o d.db snap.hsnap other.hsnap >/dev/null 2>&1 &&
    $HEAPSNAP diff -o d.db snap.hsnap other.hsnap >/dev/null 2>&1 &&
    rc=0; $HEAPSNAP core -o app.db app.hsnap 2>err || rc=$?
    cat err && test $rc -eq 1 && grep "app.db: exists and was not written by heapsnap; heapsnap will not replace it" err &&
    test "$(sum app.db)" = "$before" &&
    $HEAPSNAP core -o k.core app.hsnap && $HEAPSNAP core -o k.core app.hsnap && test "$(mode k.core)" = 600
'

test_expect_success 'databases, diff outputs and VACUUM INTO are created 0600 under umask 022' '
    umask 022 && rm -f p.db d2.db v.db &&
    $HEAPSNAP index -q snap.hsnap -o p.db && test "$(mode p.db)" = 600 &&
    $HEAPSNAP leaks p.db >/dev/null 2>&1 && test "$(mode p.db)" = 600 &&
    $HEAPSNAP diff -o d2.db p.db other.hsnap >/dev/null 2>&1 && test "$(mode d2.db)" = 600 &&
    test "$(mode other.db)" = 600 &&
    $HEAPSNAP sql --write p.db "VACUUM INTO '"'"'v.db'"'"'" && test "$(mode v.db)" = 600 &&
    test "$(sqlite3 v.db "SELECT count(*) FROM objects")" = "$(sqlite3 p.db "SELECT count(*) FROM objects")"
'

# Two snapshots of bigheap, stored uncompressed so that they have the same
# size, differing in one word in the middle of the heap: the next pointer
# of the object at the median address, cleared in the second.  That cuts
# a list: the fresh index of the second finds leaks, the first none.
test_expect_success 'one word changed in the middle, same size and mtime: indexed again, answers as fresh' '
    $HEAPSNAP index -q big.hsnap -o bigref.db &&
    n=$(sqlite3 bigref.db "SELECT count(*) FROM objects WHERE state = '"'"'used'"'"'") &&
    a=$(sqlite3 bigref.db "SELECT addr FROM objects WHERE state = '"'"'used'"'"' ORDER BY addr LIMIT 1 OFFSET $((n / 2))") &&
    v=$($HEAPSNAP sql --csv bigref.db "SELECT u64($a) FROM objects WHERE obj(u64($a)) IS NOT NULL LIMIT 1" | tail -n 1) &&
    test -n "$v" && test "$v" != "u64($a)" &&
    $MUTATE big.hsnap s1.hsnap 0 --store --poke $a $v >/dev/null &&
    $MUTATE big.hsnap s2.hsnap 0 --store --poke $a 0 >/dev/null &&
    test $(stat -c %s s1.hsnap) = $(stat -c %s s2.hsnap) && ! cmp -s s1.hsnap s2.hsnap &&
    off=$(cmp s1.hsnap s2.hsnap | sed "s/.*byte \([0-9]*\).*/\1/") && size=$(stat -c %s s1.hsnap) &&
    echo "differ at byte $off of $size" &&
    test $off -gt 65536 && test $off -lt $((size - 65536)) &&
    cp s1.hsnap w.hsnap && touch -d @1700000000 w.hsnap &&
    $HEAPSNAP leaks w.hsnap >first 2>err && grep "^w.hsnap: 0 leaked objects" first &&
    cat s2.hsnap >w.hsnap && touch -d @1700000000 w.hsnap &&
    $HEAPSNAP leaks w.hsnap >second 2>err && cat err second &&
    grep "indexing w.hsnap into w.db" err &&
    $HEAPSNAP index -q -o fresh.db w.hsnap && $HEAPSNAP leaks fresh.db 2>/dev/null | sed "s/^fresh.db:/w.hsnap:/" >fresh &&
    test_cmp fresh second && ! grep "^w.hsnap: 0 leaked" second
'

test_expect_success 'a database whose snapshot was replaced is refused by every command' '
    cp snap.hsnap r.hsnap && $HEAPSNAP index -q r.hsnap &&
    a=$(sqlite3 r.db "SELECT addr FROM objects WHERE state = '"'"'used'"'"' LIMIT 1") &&
    cp other.hsnap r.hsnap &&
    for c in "leaks r.db" "top r.db" "types r.db" "rss r.db" "show r.db $a" "explain r.db $a" "path r.db $a" \
             "diff r.db ref.db" "sql r.db SELECT"; do
        rc=0; $HEAPSNAP $c >out 2>err || rc=$?
        test $rc -eq 1 && grep "r.db: .*r.hsnap is not the snapshot this database was built from" err &&
        grep "heapsnap index .*r.hsnap" err || { echo "$c: rc $rc"; cat err out; exit 1; }
    done
'

# The test takes the snapshot's lock first, so that both runs are seen
# waiting whatever the machine's speed; they must not inherit its
# descriptor (an flock belongs to the open file, and would stay held).
test_expect_success 'two leaks runs wanting the index: one builds it, the other waits, then reuses it' '
    cp snap.hsnap c.hsnap &&
    exec 9<c.hsnap && flock -x 9 &&
    { $HEAPSNAP leaks c.hsnap >c1.out 2>c1.err 9<&- & p1=$!; } &&
    { $HEAPSNAP leaks c.hsnap >c2.out 2>c2.err 9<&- & p2=$!; } &&
    for f in c1.err c2.err; do
        i=0; until grep -q "waiting for another heapsnap that is indexing c.hsnap" $f; do
            i=$((i + 1)); test $i -lt 6000 || { cat $f; exit 1; }; sleep 0.05; done
    done &&
    exec 9<&- &&
    wait $p1 && wait $p2 && cat c1.err c2.err &&
    test $(cat c1.err c2.err | grep -c "indexing c.hsnap into c.db") -eq 1 &&
    ! grep -i "error\|locked\|transaction" c1.err c2.err &&
    grep "^c.hsnap: $LEAKED leaked objects" c1.out && test_cmp c1.out c2.out &&
    ! ls c.db.tmp-* 2>/dev/null
'

# The analysis table cannot be written while a view holds its name: the
# store fails after its BEGIN.  It must roll back, or the leaks store that
# follows would fail with "cannot start a transaction within a transaction".
test_expect_success 'a failing analysis store is rolled back; what follows still stores and answers' '
    cp ref.db f.db && sqlite3 f.db "DROP TABLE IF EXISTS analysis; DELETE FROM analysis_done;
        DROP VIEW IF EXISTS objects_analysis; CREATE VIEW analysis AS SELECT 1 AS id" &&
    $HEAPSNAP leaks f.db >out 2>err && cat err &&
    grep "f.db: .*use DROP VIEW" err && ! grep "within a transaction" err &&
    sed "s/^f.db:/ref.db:/" out >got && test_cmp ref.out got &&
    test "$(sqlite3 f.db "SELECT count(*) FROM leaks")" = "$LEAKED" &&
    test "$(sqlite3 f.db "SELECT count(*) FROM analysis_done WHERE step = '"'"'dominators'"'"'")" = 0
'

test_expect_success 'heapsnap sql is read-only: DELETE, VACUUM INTO and ATTACH are refused, nothing changes' '
    n=$(sqlite3 ref.db "SELECT count(*) FROM objects") && before=$(sum ref.db) &&
    rc=0; $HEAPSNAP sql ref.db "DELETE FROM objects" 2>err || rc=$?
    test $rc -eq 1 && grep "read-only and this statement would write (DELETE FROM objects); --write allows it" err &&
    rc=0; $HEAPSNAP sql ref.db "VACUUM INTO '"'"'escape.db'"'"'" 2>err || rc=$?
    test $rc -eq 1 && grep "would write (VACUUM INTO" err && ! test -e escape.db &&
    cp theirs.db victim.db && vsum=$(sum victim.db) &&
    rc=0; $HEAPSNAP sql ref.db "ATTACH '"'"'victim.db'"'"' AS v; DELETE FROM v.objects" 2>err || rc=$?
    test $rc -eq 1 && grep "not authorized (ATTACH needs --write)" err &&
    test "$(sum victim.db)" = "$vsum" && test "$(sum ref.db)" = "$before" &&
    test "$(sqlite3 ref.db "SELECT count(*) FROM objects")" = $n &&
    cp ref.db w.db && $HEAPSNAP sql --write w.db "DELETE FROM objects WHERE id = 1" &&
    test "$(sqlite3 w.db "SELECT count(*) FROM objects")" = $((n - 1))
'

# The shell that execs the analyzer keeps its pid, so the temporary name
# is known in advance: a symlink planted there must not be followed.
test_expect_success 'index creates OUT.tmp-PID exclusively: a planted symlink is not followed' '
    echo "not yours" >victim && rm -f e.db &&
    rc=0; sh -c "ln -s victim e.db.tmp-\$\$ && exec $HEAPSNAP index -q -o e.db snap.hsnap" 2>err || rc=$?
    cat err && test $rc -eq 1 && grep "e.db.tmp-[0-9]*: cannot create: File exists" err &&
    test "$(cat victim)" = "not yours" && ! test -e e.db
'

test_done
