#!/usr/bin/env bash
# t4000-types.sh — type inference on a capture of samples/typed, whose
# report is the ground truth: every block it reached through typed
# pointers (a list, a hash table of sess_t * buckets, a tree, arrays of
# structs, heap strings) must get exactly its recorded type and count, the
# blocks only void * or a union reaches must stay untyped, and the
# snapshot's typed_objects must equal the number of typed blocks.  Then
# the type tables themselves: typedefs resolved, enumerators, fields,
# typed roots, the views, `heapsnap types`, and the SQL function field().
. "$(dirname "$0")/lib.sh"

capture_live_sample 'types on a capture of typed' typed
PID=${SAMPLE_PID:-}
R=typed.report
q() { sqlite3 -batch snap.db "$@"; }
# hs QUERY: a query that needs heapsnap's SQL functions (u64, field, ...)
hs() { $HEAPSNAP sql --csv snap.db "$1" | tail -n +2; }

test_expect_success 'setup: typed is running, was captured and indexes' '
    test -n "$PID" && grep -qx ready $R && test -s snap.hsnap &&
    $HEAPSNAP index -q snap.hsnap && test -s snap.db
'

test_expect_success 'every block reached through typed pointers has exactly its type and count' '
    test "$(grep -c "^block " $R)" -gt 30 &&
    awk "\$1 == \"block\" { n = \$NF; t = \$3; for (i = 4; i < NF; i++) t = t \" \" \$i; print \$2 \"|\" t \"|\" n }" $R |
        sort >want &&
    q "SELECT printf(\"0x%x|%s|%d\", o.addr, t.name, o.type_count) FROM objects o JOIN types t ON t.id = o.type_id
       WHERE o.state = \"used\"" | sort >got.all &&
    join -t"|" -j1 <(cut -d"|" -f1 want | sort) got.all >got &&
    test_cmp want got
'

test_expect_success 'blocks only void * or a union reaches stay untyped' '
    test "$(grep -c "^untyped " $R)" -ge 10 &&
    awk "\$1 == \"untyped\" { print \$2 }" $R | while read a; do
        test "$(q "SELECT state, type_id IS NULL, type_source IS NULL FROM objects WHERE addr = $((a))")" = "used|1|1" ||
            { echo "$a is typed"; exit 1; }
    done
'

test_expect_success 'snapshot.typed_objects is the number of typed blocks, and nothing else is typed' '
    test "$(q "SELECT typed_objects FROM snapshot")" = "$(grep -c "^block " $R)" &&
    test "$(q "SELECT typed_bytes = (SELECT sum(size) FROM objects WHERE type_id IS NOT NULL) FROM snapshot")" = 1 &&
    test "$(q "SELECT type_conflicts FROM snapshot")" = 0
'

test_expect_success 'type sources: globals give dwarf-root, pointers in objects dwarf-field' '
    g=$(hs "SELECT u64(addr) FROM roots WHERE name = \"g_list\"") &&
    test "$(q "SELECT type_source FROM objects WHERE addr = $g")" = dwarf-root &&
    n=$(hs "SELECT u64($g + 8)") &&
    test "$(q "SELECT type_source FROM objects WHERE addr = $n")" = dwarf-field
'

test_expect_success 'typed roots: a global variable root carries its variable'"'"'s type' '
    test "$(q "SELECT t.name FROM roots r JOIN types t ON t.id = r.type_id WHERE r.name = \"g_table\"")" = "struct table" &&
    test "$(q "SELECT t.name FROM roots r JOIN types t ON t.id = r.type_id WHERE r.name = \"g_current\"")" = "sess_t *" &&
    test "$(q "SELECT t.name FROM roots r JOIN types t ON t.id = r.type_id WHERE r.name = \"g_payloads\"")" = "void *[3]"
'

test_expect_success 'type tables: a typedef resolves to its struct; fields, enumerators, arrays, pointers' '
    test "$(q "SELECT k.name FROM types t JOIN types k ON k.id = t.target WHERE t.name = \"sess_t\" AND t.kind = \"typedef\"")" = "struct session" &&
    test "$(q "SELECT count(*) FROM types WHERE name = \"struct session\"")" = 1 &&
    q "SELECT f.name, f.offset, f.size, ft.name FROM fields f JOIN types t ON t.id = f.type_id
       JOIN types ft ON ft.id = f.field_type_id WHERE t.name = \"struct tree\" ORDER BY f.idx" >fields &&
    printf "%s\n" "left|0|8|struct tree *" "right|8|8|struct tree *" "key|16|8|long int" "items|24|8|struct item *" >fields.want &&
    test_cmp fields.want fields &&
    test "$(q "SELECT group_concat(e.name || \"=\" || e.value, \",\") FROM enumerators e JOIN types t ON t.id = e.type_id WHERE t.name = \"enum color\"")" = "RED=0,GREEN=5,BLUE=6" &&
    test "$(q "SELECT kind || \" \" || count || \" \" || size FROM types WHERE name = \"int [4]\"")" = "array 4 16" &&
    test "$(q "SELECT kind FROM types WHERE name = \"int (*)()\"")" = "function pointer" &&
    test "$(q "SELECT t.name FROM types p JOIN types t ON t.id = p.target WHERE p.name = \"struct item *\"")" = "struct item"
'

test_expect_success 'views: objects_typed names types and size groups; type_histogram adds up' '
    s=$(awk "\$1 == \"session\" { print \$2 }" $R) &&
    test "$(q "SELECT type_name FROM objects_typed WHERE addr = $((s))")" = "struct session" &&
    test "$(q "SELECT count(*) FROM objects_typed WHERE state = \"used\" AND type_name LIKE \"struct item [%]\"")" -gt 5 &&
    p=$(awk "\$1 == \"untyped\" { print \$2; exit }" $R) &&
    test "$(q "SELECT type_name FROM objects_typed WHERE addr = $((p))")" = "[$(q "SELECT size FROM objects WHERE addr = $((p))") bytes]" &&
    test "$(q "SELECT sum(count) = (SELECT count(*) FROM objects WHERE state = \"used\" AND \"where\" IS NOT \"malloc-internal\") FROM type_histogram")" = 1 &&
    test "$(q "SELECT count FROM type_histogram WHERE type = \"struct session\"")" = 9
'

test_expect_success 'heapsnap types: the histogram, typed share, --json' '
    $HEAPSNAP types snap.db >out &&
    grep "^typed: $(grep -c "^block " $R) of [0-9]* live objects" out &&
    grep -E "^ +9 +[0-9]+ +[0-9.]+% +struct session$" out &&
    grep -E "^ +5 +120 +[0-9.]+% +struct list_node$" out &&
    $HEAPSNAP types --json snap.db >out.json &&
    python3 -c "import json; d = json.load(open(\"out.json\")); assert d[\"typed_objects\"] == $(grep -c "^block " $R); assert any(t[\"type\"] == \"struct tree\" and t[\"count\"] == 7 for t in d[\"types\"])" &&
    $HEAPSNAP types --typed --limit 3 snap.db >out3 && test "$(grep -c "% " out3)" = 3 &&
    test_must_fail $HEAPSNAP types --limit x snap.db 2>err && grep -- "--help" err
'


test_expect_success 'field(): integers, text, enums, doubles, bit-fields, pointers, nested paths' '
    s=$(awk "\$1 == \"session\" { print \$2 }" $R) &&
    id=$(q "SELECT id FROM objects WHERE addr = $((s))") &&
    hs "SELECT field($id, \"id\"), field($id, \"user\"), field($id, \"color\"), field($id, \"pos.y\"),
        field($id, \"path[1].y\"), field($id, \"weight\"), field($id, \"flags\"), field($id, \"next\"),
        field($id, \"name\") = u64($((s)) + 88), field($id, \"pos\")" >f.out &&
    echo "1004,user4,GREEN,-4,7,2.5,4,0,1,\"{x = 4, y = -4}\"" >f.want &&
    test_cmp f.want f.out
'

test_expect_success 'field(): array objects by element; NULL for untyped; an error for a bad path' '
    test "$(hs "SELECT field(id, \"[5].qty\") FROM objects_typed WHERE type_name = \"struct item [6]\"")" = 5 &&
    p=$(awk "\$1 == \"untyped\" { print \$2; exit }" $R) &&
    test "$(hs "SELECT ifnull(field(id, \"x\"), \"null\") FROM objects WHERE addr = $((p))")" = null &&
    test_must_fail $HEAPSNAP sql snap.db "SELECT field(id, \"nope\") FROM objects_typed WHERE type_name = \"struct session\"" 2>err &&
    grep "has no field" err
'

test_expect_success 'field_name(): the field a reference sits in, for typed objects and roots' '
    hs "SELECT DISTINCT field_name(r.src, r.offset) FROM refs r JOIN objects o ON o.id = r.src
        WHERE o.type_id = (SELECT id FROM types WHERE name = \"struct list_node\") ORDER BY 1" >fn &&
    printf "%s\n" next prev >fn.want && test_cmp fn.want fn &&
    test "$(hs "SELECT field_name(r.src, r.offset) FROM refs r JOIN roots ro ON ro.id = r.src WHERE ro.name = \"g_table\"")" = buckets &&
    test "$(hs "SELECT group_concat(field_name(r.src, r.offset), \" \") FROM refs r JOIN roots ro ON ro.id = r.src WHERE ro.name = \"g_payloads\"")" = "[0] [1] [2]" &&
    test "$(hs "SELECT ifnull(field_name(r.src, r.offset), \"null\") FROM refs r JOIN roots ro ON ro.id = r.src WHERE ro.name = \"g_list\"")" = null
'

stop_sample "$PID"
test_done
