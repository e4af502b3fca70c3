#!/usr/bin/env bash
# t6000-leaks.sh — heapsnap leaks and explain on a capture of samples/leaky,
# whose report is the ground truth: the leaked set must be exactly the
# blocks it dropped (singles, a lost list, lost rings, a ring with a tail),
# no block it keeps may be called leaked, the leak heads (one per lost
# structure, cycles included) must hold what it says, and the results must
# be left in the database.  explain must give a root-to-object chain for
# kept blocks and name the head for leaked ones.  Last, a synthetic graph
# (bench/synthdb.c --reach) whose generator counts what it left unreached.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/leaky" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'leaks on a capture of leaky' 'bin/samples/leaky or the capture tool is not built'
    test_done
fi

start_sample leaky || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true
R=leaky.report
# Stored answers: fresh_copy, run_on and same (tests/lib.sh).

q() { sqlite3 -batch snap.db "$@"; }
# py SCRIPT: python3 with the report's lines in 'rep' (lists of fields)
# tname(DB, ADDR) (tests/tools/groups.py): the group heapsnap shows an
# object under: its type's name ("T [n]" for an array), "[SIZE bytes]"
# without a type
py() { python3 -c "import json, sys, sqlite3
sys.dont_write_bytecode = True; sys.path.insert(0, '$TESTS_DIR/tools'); from groups import tname
rep = [l.split() for l in open('$R')]
def hx(s): return int(s, 16)
$1"; }

test_expect_success 'setup: leaky is running and was captured' '
    test -n "$PID" && grep -qx ready $R && test -s snap.hsnap
'

test_expect_success 'leaks: exit 0 on a snapshot (indexing it on the way), a summary line' '
    $HEAPSNAP leaks snap.hsnap >out 2>err &&
    test -s snap.db &&
    grep "^snap.hsnap: 20 leaked objects" out &&
    grep "8 leak heads" out
'

test_expect_success 'the leaked set is exactly the blocks leaky dropped' '
    $HEAPSNAP leaks --json --all snap.db >leaks.json &&
    py "
d = json.load(open(\"leaks.json\"))
got = sorted((hx(o[\"addr\"]), o[\"size\"]) for o in d[\"objects\"])
want = sorted((hx(l[1]), int(l[2])) for l in rep if l[0] == \"leak\")
assert got == want, (got, want)
assert d[\"leaked_count\"] == len(want) and d[\"leaked_bytes\"] == sum(s for a, s in want)
"
'

test_expect_success 'no block leaky keeps is reported leaked' '
    py "
d = json.load(open(\"leaks.json\"))
leaked = set(hx(o[\"addr\"]) for o in d[\"objects\"])
kept = [hx(l[1]) for l in rep if l[0] == \"reachable\"]
assert len(kept) >= 12 and not leaked & set(kept), leaked & set(kept)
"
'

test_expect_success 'leak heads: one per lost structure, cycles included, with what each holds' '
    py "
d = json.load(open(\"leaks.json\"))
got = sorted((hx(h[\"addr\"]), h[\"held_count\"], h[\"held_bytes\"]) for h in d[\"heads\"])
want = sorted((hx(l[1]), int(l[2]), int(l[3])) for l in rep if l[0] == \"leakhead\")
assert got == want, (got, want)
assert d[\"heads_count\"] == 8
cyc = sorted(h[\"scc_size\"] for h in d[\"heads\"] if h[\"scc_size\"] > 1)
assert cyc == [3, 4], cyc
"
'

test_expect_success 'groups by size, with example addresses, bytes and strings' '
    py "
d = json.load(open(\"leaks.json\"))
g = {x[\"type\"]: x for x in d[\"groups\"]}
s = g[tname(\"snap.db\", hx([l for l in rep if l[0] == \"leakhead\"][0][1]))]
assert s[\"count\"] == 5, s
assert any(\"leaked-single\" in t for t in s[\"strings\"]), s
assert len(s[\"examples\"]) == 4 and len(s[\"bytes\"]) == 64, s
assert sum(x[\"count\"] for x in d[\"groups\"]) == d[\"leaked_count\"]
" &&
    grep "string \"leaked-list-0\"" out &&
    grep "a cycle of 4 objects" out
'

test_expect_success 'an example'"'"'s strings are its text only (no pointer bytes, >= 6 chars), its dump under the type column' '
    py "
import re
d = json.load(open(\"leaks.json\"))
# every leaked block holds one label leaky wrote (leaked-KIND-N); some have a
# pointer stored inside the text (the ring3 member the tail hangs off), so a
# string may stop short of the label, never run past it into pointer bytes
labels = [\"leaked-%s-%d\" % (k, i) for k in (\"single\", \"list\", \"ring\", \"ring3\", \"tail\") for i in range(6)]
strs = [t for x in d[\"groups\"] for t in x[\"strings\"]]
assert len(strs) == len(d[\"groups\"]), d[\"groups\"]
for t in strs:
    assert len(t) >= 6 and any(l.startswith(t) for l in labels), t
ring3 = [x for x in d[\"groups\"] if any(t.startswith(\"leaked-r\") and not t.startswith(\"leaked-ring-\") for t in x[\"strings\"])]
assert len(ring3) == 1 and ring3[0][\"strings\"] == [\"leaked-r\"], ring3
" &&
    col=$(awk "/^ +count +bytes +type/ { print index(\$0, \"type\"); exit }" out) &&
    test "$col" = 29 &&
    grep -E "^ {28}[0-9a-f]{2} [0-9a-f]{2} " out &&
    ! grep -E "^ {0,27}[0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} " out &&
    grep -E "^ {28}string \"leaked-list-0\"$" out
'

test_expect_success 'results are stored: leaks, leak_heads, analysis tables' '
    test "$(q "SELECT count(*) FROM leaks")" = "$(grep -c "^leak " $R)" &&
    test "$(q "SELECT count(*) FROM leak_heads")" = 8 &&
    test "$(q "SELECT count(*) FROM leaks WHERE object = head")" = 8 &&
    for a in $(awk "\$1 == \"leak\" { print \$2 }" $R); do
        test "$(q "SELECT a.reachable FROM objects o JOIN analysis a ON a.id = o.id WHERE o.addr = $((a))")" = 0 || exit 1
    done &&
    for a in $(awk "\$1 == \"reachable\" { print \$2 }" $R); do
        test "$(q "SELECT a.reachable FROM objects o JOIN analysis a ON a.id = o.id WHERE o.addr = $((a))")" = 1 || exit 1
    done &&
    test "$(q "SELECT count(*) FROM analysis_done WHERE step IN (\"dominators\", \"leaks\")")" = 2
'

# The index works the dominator tree out beside its load of the references
# (index/dominators.h), from the graph as the scan made it; leaks, made to
# compute it from the database, must write the very same rows.
test_expect_success 'the tree the index stored is the one leaks computes from the database, row for row' '
    cp snap.db again.db &&
    sqlite3 again.db "DROP VIEW objects_analysis; DROP TABLE analysis; DELETE FROM analysis_done" &&
    $HEAPSNAP leaks --all again.db >/dev/null &&
    sqlite3 snap.db "SELECT * FROM analysis ORDER BY id" >tree.index &&
    sqlite3 again.db "SELECT * FROM analysis ORDER BY id" >tree.leaks &&
    test "$(wc -l <tree.index)" = "$(q "SELECT (SELECT count(*) FROM roots) + count(*) FROM objects WHERE state = \"used\"")" &&
    test_cmp tree.leaks tree.index
'

test_expect_success 'a second run reads the stored results and says the same' '
    $HEAPSNAP leaks --json --all snap.db >again.json &&
    cmp leaks.json again.json
'

test_expect_success 'a second leaks prints what the first stored, byte for byte, text and --json, without the graph' '
    for args in "" "--json" "--all" "--json --all --limit 3"; do
        fresh_copy 1 && run_on 1 leaks $args && test "$(cat how1)" = computed && cp out1 first &&
        run_on 1 leaks $args && test "$(cat how1)" = stored && test_cmp first out1 || exit 1
    done &&
    fresh_copy 1 && run_on 1 leaks && run_on 1 leaks && test "$(cat how1)" = stored &&
    grep "^w1.db: 20 leaked objects" out1 && grep -E "^ {28}string \"leaked-list-0\"$" out1 &&
    grep -E "^ {28}[0-9a-f]{2} [0-9a-f]{2} " out1 && grep "a cycle of 4 objects" out1
'

test_expect_success 'another --limit: a larger one computes again, a smaller one is answered from the stored rows' '
    fresh_copy 1 && run_on 1 leaks --limit 2 && test "$(cat how1)" = computed &&
    run_on 1 leaks --limit 5 && test "$(cat how1)" = computed &&
    test "$(sqlite3 w1.db "SELECT rows FROM answer_leaks")" = 5 &&
    fresh_copy 2 && run_on 2 leaks --limit 5 && same 1 2 &&
    run_on 1 leaks --limit 3 --json && test "$(cat how1)" = stored &&
    fresh_copy 2 && run_on 2 leaks --limit 3 --json && test "$(cat how2)" = computed && same 1 2 &&
    run_on 1 leaks --limit 3 && test "$(cat how1)" = stored &&
    fresh_copy 2 && run_on 2 leaks --limit 3 && same 1 2 &&
    grep "^  ... 5 more heads (--limit)$" out1
'

test_expect_success 'a stored answer counts only beside the results it came from; a damaged one is computed again' '
    fresh_copy 1 && run_on 1 leaks && cp out1 first &&
    sqlite3 w1.db "DELETE FROM analysis_done WHERE step = '"'"'dominators'"'"'" &&
    run_on 1 leaks && test "$(cat how1)" = computed && test_cmp first out1 &&
    test "$(sqlite3 w1.db "SELECT count(*) FROM analysis_done WHERE step IN ('"'"'dominators'"'"', '"'"'leaks answer'"'"')")" = 2 &&
    sqlite3 w1.db "UPDATE answer_leak_groups SET examples = '"'"'junk'"'"' WHERE rank = 0" &&
    run_on 1 leaks && test "$(cat how1)" = computed && test_cmp first out1 &&
    sqlite3 w1.db "DELETE FROM answer_leak_heads WHERE rank = 1" &&
    run_on 1 leaks && test "$(cat how1)" = computed && test_cmp first out1 &&
    sqlite3 w1.db "DROP TABLE leaks" &&
    run_on 1 leaks --all && test "$(cat how1)" = computed &&
    run_on 1 leaks && test "$(cat how1)" = stored && test_cmp first out1
'

test_expect_success 'explain: a kept list node is reached from global g_keep, one step per node' '
    a=$(awk "\$1 == \"reachable\" { n++; if (n == 4) print \$2 }" $R) &&
    $HEAPSNAP explain --json snap.db $a >ex.json &&
    py "
d = json.load(open(\"ex.json\"))
assert d[\"status\"] == \"reachable\", d
p = d[\"path\"]
assert p[0][\"node\"][\"kind\"] == \"root\" and p[0][\"node\"][\"name\"] == \"g_keep\", p[0]
assert len(p) == 5, len(p)
assert [s[\"offset\"] for s in p[2:]] == [0, 0, 0], p
kept = [hx(l[1]) for l in rep if l[0] == \"reachable\"][:4]
assert [hx(s[\"node\"][\"addr\"]) for s in p[1:]] == kept, p
" &&
    $HEAPSNAP explain snap.db $a >ex.txt &&
    grep "global g_keep" ex.txt && grep -c -E -- "--\[((\[0\])?\.next \(\+0x0\)|\+0x0)\]-->" ex.txt
'

test_expect_success 'explain: an address inside an object means that object' '
    a=$(awk "\$1 == \"reachable\" { n++; if (n == 2) print \$2 }" $R) &&
    $HEAPSNAP explain --json snap.db $(printf "0x%x" $((a + 12))) >ex.json &&
    py "
d = json.load(open(\"ex.json\"))
assert hx(d[\"object\"][\"addr\"]) == $((a)) and d[\"offset_in_object\"] == 12, d
"
'

test_expect_success 'explain: the thread-held block is reached from that thread'"'"'s stack' '
    a=$(awk "\$1 == \"reachable\" { r[++n] = \$2 } END { print r[n] }" $R) &&
    $HEAPSNAP explain --json snap.db $a >ex.json &&
    py "
d = json.load(open(\"ex.json\"))
root = d[\"path\"][0][\"node\"]
assert root[\"root_kind\"] in (\"stack\", \"register\") and root[\"thread\"] != $PID, root
"
'

test_expect_success 'explain: a leaked block is leaked, under its head' '
    a=$(awk "\$1 == \"leak\" { n++; if (n == 8) print \$2 }" $R) &&
    head=$(awk "\$1 == \"leakhead\" { n++; if (n == 6) print \$2 }" $R) &&
    $HEAPSNAP explain --json snap.db $a >ex.json &&
    py "
d = json.load(open(\"ex.json\"))
assert d[\"status\"] == \"leaked\" and hx(d[\"leak_head\"]) == $((head)), d
" &&
    $HEAPSNAP explain snap.db $a | grep "is leaked" 
'

test_expect_success 'explain: an address in no object fails with exit 1, naming the file' '
    test_must_fail $HEAPSNAP explain snap.db 0x10 2>err &&
    grep "snap.db: 0x10 is not inside any heap object" err
'

test_expect_success 'command line: --help exits 0; missing or bad arguments exit 2' '
    $HEAPSNAP leaks --help | grep "^usage: heapsnap leaks" &&
    $HEAPSNAP explain --help | grep "^usage: heapsnap explain" &&
    { $HEAPSNAP leaks 2>err; test $? = 2; } && grep help err &&
    { $HEAPSNAP leaks --bogus snap.db 2>err; test $? = 2; } &&
    { $HEAPSNAP explain snap.db 2>err; test $? = 2; } &&
    { $HEAPSNAP explain snap.db zzz 2>err; test $? = 2; } &&
    test_must_fail $HEAPSNAP leaks missing.hsnap 2>err && grep "missing.hsnap" err
'

# A heap the indexer could not walk (here: a redacted capture, whose chunk
# headers are zeroed) must not be reported as "0 leaked objects".
test_expect_success 'a heap that could not be walked is refused, not reported as leak-free' '
    "$ROOT/build/tools/hsnap-mutate" snap.hsnap red.hsnap 1 --lie redacted >/dev/null &&
    test_must_fail $HEAPSNAP leaks red.hsnap >out 2>err &&
    grep "red.hsnap: no analysis is possible: .*could not be walked" err &&
    ! grep "leaked objects" out &&
    test_must_fail $HEAPSNAP top red.db 2>err &&
    grep "no analysis is possible" err
'

test_expect_success 'problems met while walking the heap are said on stderr, once' '
    $HEAPSNAP index -q snap.hsnap -o smash.db &&
    sqlite3 smash.db "INSERT INTO warnings(addr, source, message)
        VALUES (4096, (SELECT allocator FROM snapshot), '"'"'chunk size smashed'"'"')" &&
    $HEAPSNAP leaks smash.db >out 2>err &&
    test $(grep -c "heap walk met 1 problem(s), first 0x1000: chunk size smashed" err) = 1 &&
    grep "leaked objects" out
'

# A graph no program made (bench/synthdb.c, linked against the database
# layer and what lies below it alone): its generator walks its own edges
# from every root, and leaks must find exactly the used objects it left
# unreached, by count and by bytes.
SYNTHDB=$ROOT/build/tools/synthdb
test_expect_success 'leaks on a synthetic graph equals its generator'"'"'s own walk, count and bytes' '
    "$SYNTHDB" syn.db 20000 --refs-per-object 3 --seed 7 --reach 2>/dev/null >syn.out &&
    set -- $(sed -n "s/^unreachable //p" syn.out) && test "$1" -gt 100 &&
    $HEAPSNAP leaks --json syn.db >syn.json &&
    python3 -c "import json; d = json.load(open(\"syn.json\")); print(d[\"leaked_count\"], d[\"leaked_bytes\"])" >got &&
    echo "$1 $2" >want && test_cmp want got
'

# With the dominator tree stored (the first leaks stored it here; the index
# does for a snapshot), leaks reads only the references into the leaked
# objects, by target, when they are few (analysis/leaks.c): 2% here.  The
# answer must be the generator's still, and the tables those the scan of
# every reference made.
test_expect_success 'leaks from a stored tree looks up the leaked objects'"'"' references alone: the same leaks and heads' '
    test "$(sqlite3 syn.db "SELECT count(*) FROM analysis WHERE reachable = 0")" -lt $((20000 / 8)) &&
    sqlite3 syn.db "SELECT * FROM leaks ORDER BY object; SELECT * FROM leak_heads ORDER BY object" >tables.scan &&
    sqlite3 syn.db "DELETE FROM analysis_done WHERE step <> \"dominators\"; DROP TABLE leaks; DROP TABLE leak_heads" &&
    $HEAPSNAP leaks --json syn.db >syn2.json &&
    python3 -c "import json; d = json.load(open(\"syn2.json\")); print(d[\"leaked_count\"], d[\"leaked_bytes\"])" >got &&
    test_cmp want got &&
    cmp syn.json syn2.json &&
    sqlite3 syn.db "SELECT * FROM leaks ORDER BY object; SELECT * FROM leak_heads ORDER BY object" >tables.lookup &&
    test -s tables.lookup && test_cmp tables.scan tables.lookup
'

stop_sample
test_done
