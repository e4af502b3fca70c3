#!/usr/bin/env bash
# t4100-cxx.sh — C++ objects typed by their vtables, on captures of
# samples/classes: every object with virtual functions must get its
# dynamic class (Square through a Shape *, zoo::Dog in a namespace,
# Box<int> and ns::Holder<zoo::Dog> from templates) from the vtable its
# first word points into — with the binary's DWARF, and again from a copy
# of the binary whose debug info was stripped, where only the symbol
# table's _ZTV symbols are left.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/classes" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'types on a capture of classes' 'bin/samples/classes or the capture tool is not built'
    test_done
fi

start_sample classes || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true
R=classes.report

# The same program without DWARF: a stripped copy, run from here.
objcopy --strip-debug "$SAMPLES/classes" ./classes-nodebug
./classes-nodebug nodebug.report >nodebug.out 2>&1 &
NPID=$!
track_pid $NPID
for i in $(seq 300); do grep -qx ready nodebug.report 2>/dev/null && break; sleep 0.05; done
"$CAPTURE" -q "$NPID" -o nodebug.hsnap >capture2.out 2>&1 || true

# check DB REPORT: every "block ADDR CLASS" is typed CLASS from its vtable
check() {
    awk '$1 == "block" { print $2 "|" $3 "|vtable" }' "$2" | sort >want.$1 &&
    sqlite3 -batch "$1" "SELECT printf('0x%x|%s|%s', o.addr, t.name, o.type_source) FROM objects o
                         JOIN types t ON t.id = o.type_id WHERE o.state = 'used'" | sort >all.$1 &&
    join -t"|" -j1 <(cut -d"|" -f1 want.$1) all.$1 >got.$1 &&
    test_cmp want.$1 got.$1
}

test_expect_success 'setup: both programs are running, were captured and index' '
    test -n "$PID" && grep -qx ready $R && test -s snap.hsnap && grep -qx ready nodebug.report &&
    test -s nodebug.hsnap && $HEAPSNAP index -q snap.hsnap && $HEAPSNAP index -q nodebug.hsnap
'

test_expect_success 'with DWARF: every object has its dynamic class, from its vtable' '
    test "$(grep -c "^block " $R)" -ge 14 && check snap.db $R
'

test_expect_success 'with DWARF: the classes are the DWARF ones, with sizes and base classes' '
    test "$(sqlite3 snap.db "SELECT size, flags & 4 FROM types WHERE name = \"Square\" AND kind IN (\"struct\", \"class\")")" = "40|0" &&
    test "$(sqlite3 snap.db "SELECT f.name FROM fields f JOIN types t ON t.id = f.type_id WHERE t.name = \"Square\" AND f.base = 1")" = Rect &&
    test "$(sqlite3 snap.db "SELECT kind FROM types WHERE name = \"zoo::Dog\"")" = class
'

test_expect_success 'a base-class pointer to a derived object is not a conflict' '
    test "$(sqlite3 snap.db "SELECT type_conflicts FROM snapshot")" = 0
'

test_expect_success 'a class without virtual functions is typed by DWARF alone' '
    a=$(awk "\$1 == \"plain\" { print \$2 }" $R) &&
    test "$(sqlite3 snap.db "SELECT t.name, o.type_source FROM objects o JOIN types t ON t.id = o.type_id WHERE o.addr = $((a))")" = "Plain|dwarf-root"
'

test_expect_success 'without DWARF: the module has none, and every object still has its class' '
    test "$(sqlite3 nodebug.db "SELECT has_dwarf FROM modules WHERE path LIKE \"%classes-nodebug\"")" = 0 &&
    check nodebug.db nodebug.report
'

test_expect_success 'without DWARF: classes known only from a vtable have no size, and say so' '
    test "$(sqlite3 nodebug.db "SELECT kind, size IS NULL, flags & 4 FROM types WHERE name = \"ns::Holder<zoo::Dog>\"")" = "class|1|4" &&
    $HEAPSNAP types nodebug.db >out && grep -E " zoo::Dog$" out
'

test_expect_success 'without DWARF: a types row for each class an object has, and no other' '
    test "$(sqlite3 nodebug.db "SELECT count(*) FROM types WHERE flags & 4")" = \
         "$(awk "\$1 == \"block\" { print \$3 }" nodebug.report | sort -u | wc -l)"
'

test_expect_success 'without DWARF: the object without a vtable stays untyped' '
    a=$(awk "\$1 == \"plain\" { print \$2 }" nodebug.report) &&
    test "$(sqlite3 nodebug.db "SELECT type_id IS NULL FROM objects WHERE addr = $((a))")" = 1
'

stop_sample "$PID"
stop_sample "$NPID"
test_done
