#!/usr/bin/env bash
# t4200-show.sh — `heapsnap show` against gdb: on the core `heapsnap core`
# writes from a capture of samples/typed (and of samples/classes), the
# value show prints for an object must be what gdb's
# `print *(TYPE *)ADDR` prints — nested structs, arrays, enums by name,
# char arrays as strings with gdb's repeat blocks, bit-fields, bools,
# chars, doubles, char * with their strings, function pointers with their
# symbol, C++ base classes and vptrs — once the <obj N: TYPE> notes that
# show adds after heap pointers are taken out.  Then the rest of show:
# the text layout, references in with their fields, --json, the errors.
. "$(dirname "$0")/lib.sh"

capture_live_sample 'show on a capture of typed' typed
PID=${SAMPLE_PID:-}
R=typed.report
q() { sqlite3 -batch snap.db "$@"; }
S=$(awk '$1 == "session" { print $2 }' $R 2>/dev/null)

# same PTRTYPE ADDR [BINARY CORE DB]: show --gdb and gdb's print *(PTRTYPE)ADDR agree
same() {
    local type=$1 addr=$2 bin=${3:-$SAMPLES/typed} core=${4:-core} db=${5:-snap.db}
    $HEAPSNAP show --gdb "$db" "$addr" | sed -e 's/ <obj [^>]*>//g' >show.out &&
    local lang=c; case $type in *::*|[A-Z]*) lang=c++ ;; esac # the core stops in libc: C by default
    gdb -batch -nx -ex "set language $lang" -ex "print *($type)$addr" "$bin" "$core" 2>/dev/null | grep '^\$1 = ' |
        sed -e 's/^\$1 = //' >gdb.out &&
    test -s gdb.out && test_cmp gdb.out show.out
}

test_expect_success 'setup: typed is running, was captured, indexed, and written as a core' '
    test -n "$PID" && grep -qx ready $R && test -s snap.hsnap &&
    $HEAPSNAP index -q snap.hsnap && $HEAPSNAP core -o core snap.hsnap
'

if ! command -v gdb >/dev/null; then
    test_skip 'show against gdb' 'gdb is not installed'
else
    test_expect_success 'a struct session prints as gdb prints it: every kind of field' '
        same "struct session *" $S
    '
    test_expect_success 'every session of the hash table prints as gdb prints it' '
        for a in $(q "SELECT printf(\"0x%x\", o.addr) FROM objects o JOIN types t ON t.id = o.type_id
                      WHERE t.name = \"struct session\""); do
            same "struct session *" $a || exit 1
        done
    '
    test_expect_success 'tree nodes and list nodes print as gdb prints them' '
        for a in $(q "SELECT printf(\"0x%x\", o.addr) FROM objects o JOIN types t ON t.id = o.type_id
                      WHERE t.name IN (\"struct tree\") LIMIT 3"); do
            same "struct tree *" $a || exit 1
        done &&
        for a in $(q "SELECT printf(\"0x%x\", o.addr) FROM objects o JOIN types t ON t.id = o.type_id
                      WHERE t.name IN (\"struct list_node\") LIMIT 3"); do
            same "struct list_node *" $a || exit 1
        done
    '
    test_expect_success 'an array object prints as gdb prints the array' '
        a=$(q "SELECT printf(\"0x%x\", addr) FROM objects_typed WHERE type_name = \"struct item [3]\" LIMIT 1") &&
        same "struct item (*)[3]" $a &&
        b=$(q "SELECT printf(\"0x%x\", addr) FROM objects_typed WHERE type_name = \"sess_t *[7]\"") &&
        same "sess_t *(*)[7]" $b
    '
    if [ -x "$SAMPLES/classes" ]; then
        test_expect_success 'a C++ object: base classes and the vptr print as gdb prints them' '
            start_sample classes && CPID=$SAMPLE_PID &&
            "$CAPTURE" -q "$CPID" -o cls.hsnap && $HEAPSNAP index -q cls.hsnap &&
            $HEAPSNAP core -o cls.core cls.hsnap &&
            a=$(awk "\$3 == \"Square\" { print \$2; exit }" classes.report) &&
            same "Square *" $a "$SAMPLES/classes" cls.core cls.db &&
            d=$(awk "\$3 == \"zoo::Dog\" { print \$2; exit }" classes.report) &&
            same "zoo::Dog *" $d "$SAMPLES/classes" cls.core cls.db &&
            stop_sample $CPID
        '
    fi
fi

test_expect_success 'text: where, size, state, type and how it was inferred, one field a line' '
    $HEAPSNAP show snap.db $S >out &&
    id=$(q "SELECT id FROM objects WHERE addr = $((S))") &&
    grep -x "object $id at $S: [0-9]* bytes, used (inuse)" out &&
    grep -x "type: struct session — dwarf-root: a typed global or static variable points at it" out &&
    grep -x "  color = GREEN" out &&
    grep -x "  pos = {x = 4, y = -4}" out &&
    grep -E "^  name = 0x[0-9a-f]+ <obj [0-9]+: char \[[0-9]+\]> \"session-4\"$" out &&
    grep -E "^  payload = 0x[0-9a-f]+ <obj [0-9]+: \[40 bytes\]>$" out &&
    grep -E "^  handler = 0x[0-9a-f]+ <handle_it>$" out
'

test_expect_success 'text: references in, with the field each sits in' '
    $HEAPSNAP show snap.db $S >out &&
    sed -n "/^referenced from:/,\$p" out >refs &&
    grep -E "^  global g_current +\+0 " refs &&
    grep -E "^  obj [0-9]+ \(sess_t \*\) +\+[0-9]+ +\[[0-9]\]$" refs &&
    n=$(awk "\$1 == \"block\" && \$3 == \"struct\" && \$4 == \"list_node\" { print \$2 }" $R | sed -n 3p) &&
    $HEAPSNAP show snap.db $n | grep -E "^  obj [0-9]+ \(struct list_node\) +\+8 +next$" &&
    $HEAPSNAP show snap.db $n | grep -E "^  obj [0-9]+ \(struct list_node\) +\+16 +prev$"
'

test_expect_success 'an untyped object: a hex dump of its bytes; an address inside means the object' '
    p=$(awk "\$1 == \"untyped\" { print \$2; exit }" $R) &&
    $HEAPSNAP show snap.db $(printf "0x%x" $((p + 5))) >out &&
    grep -E "^type: \[40 bytes\] — none: not inferred" out &&
    grep -E "^  0x[0-9a-f]+ \+0 +6f 70 61 71 75 65 20 70 61 79 6c 6f 61 64 00 00  opaque payload\.\.$" out
'

test_expect_success 'an id works as well as an address; --json has the fields and referrers' '
    id=$(q "SELECT id FROM objects WHERE addr = $((S))") &&
    $HEAPSNAP show snap.db $id >by-id && $HEAPSNAP show snap.db $S >by-addr && test_cmp by-addr by-id &&
    $HEAPSNAP show --json snap.db $S >out.json &&
    python3 -c "
import json
d = json.load(open(\"out.json\"))
assert d[\"type\"] == \"struct session\" and d[\"type_source\"] == \"dwarf-root\" and d[\"type_count\"] == 1
f = {x[\"name\"]: x for x in d[\"fields\"]}
assert f[\"color\"][\"value\"] == \"GREEN\" and f[\"pos\"][\"offset\"] == 28 and f[\"flags\"][\"bit_size\"] == 3
assert any(r[\"holder\"] == \"global g_current\" for r in d[\"referrers\"])
assert any(r.get(\"field\") == \"[4]\" for r in d[\"referrers\"])
"
'

test_expect_success 'errors: no object there (exit 1, naming the file), bad arguments (exit 2)' '
    test_must_fail $HEAPSNAP show snap.db 0x10 2>err && grep "^heapsnap show: snap.db: 0x10 is not inside any heap object" err &&
    test_must_fail $HEAPSNAP show snap.db 999999 2>err && grep "not an object id" err &&
    { $HEAPSNAP show snap.db zz 2>err; test $? = 2; } && grep -- "--help" err &&
    { $HEAPSNAP show snap.db 2>err; test $? = 2; } &&
    test_must_fail $HEAPSNAP show missing.db 0x10 2>err && grep "missing.db" err &&
    $HEAPSNAP show --help | grep "^usage: heapsnap show"
'

stop_sample "$PID"
test_done
