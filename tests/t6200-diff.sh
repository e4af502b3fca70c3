#!/usr/bin/env bash
# t6200-diff.sh — heapsnap diff on three captures of samples/cache_grow,
# taken before, between and after its two rounds: the per-size counts must
# be exactly what the rounds did, the growth must be held by the cache's
# global (through its table, an object that already existed), the
# temporaries by theirs, and with the third snapshot the survivors must be
# exactly round 1's cache entries.  -o must leave the same answers as SQL.
. "$(dirname "$0")/lib.sh"

K=100 J=30 NTEMP=20
if [ ! -x "$SAMPLES/cache_grow" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'diff on captures of cache_grow' 'bin/samples/cache_grow or the capture tool is not built'
    test_done
fi

R=cache_grow.report
start_sample cache_grow $K $J || true
PID=${SAMPLE_PID:-}
{ "$CAPTURE" -q "$PID" -o A.hsnap && kill -USR1 "$PID" && wait_line $R ready2 "$PID" &&
  "$CAPTURE" -q "$PID" -o B.hsnap && kill -USR1 "$PID" && wait_line $R ready3 "$PID" &&
  "$CAPTURE" -q "$PID" -o C.hsnap; } >capture.out 2>&1 || true
py() { python3 -c "import json, sys, sqlite3
sys.dont_write_bytecode = True; sys.path.insert(0, '$TESTS_DIR/tools'); from groups import tname
rep = [l.split() for l in open('$R')]
def hx(s): return int(s, 16)
def rows(kind): return [l for l in rep if l[0] == kind]
K, J, NTEMP = $K, $J, $NTEMP
# the groups of a cache entry, a temporary, a dropped entry
E = tname('B.db', hx(rows('added')[0][1])); T = tname('B.db', hx(rows('temp')[0][1]))
D = tname('A.db', hx(rows('removed')[0][1]))
$1"; }

test_expect_success 'setup: three captures, before, between and after the rounds' '
    test -s A.hsnap && test -s B.hsnap && test -s C.hsnap && grep -qx ready3 $R
'

test_expect_success 'diff A B: exit 0, DevTools columns, the cache entries on top' '
    $HEAPSNAP diff A.hsnap B.hsnap >out 2>err &&
    grep "# New  # Deleted    # Delta   Alloc. Size    Freed Size    Size Delta  Type" out &&
    grep "^A.hsnap -> B.hsnap: " out &&
    grep "global g_cache_table -> 0x[0-9a-f]* .* -> $K x " out
'

test_expect_success 'per size: exactly the rounds'"'"' new and deleted objects' '
    $HEAPSNAP diff --json A.hsnap B.hsnap >ab.json &&
    py "
d = json.load(open(\"ab.json\"))
new, dele = {}, {}
new[E] = new.get(E, 0) + K; new[T] = new.get(T, 0) + NTEMP; dele[D] = J
byname = {x[\"type\"]: x for x in d[\"types\"]}
for n in set(new) | set(dele):
    t = byname[n]
    assert (t[\"new_count\"], t[\"deleted_count\"]) == (new.get(n, 0), dele.get(n, 0)), t
    assert t[\"alloc_size\"] == 40 * new.get(n, 0) and t[\"freed_size\"] == 40 * dele.get(n, 0), t
    assert t[\"delta_count\"] == t[\"new_count\"] - t[\"deleted_count\"] and t[\"size_delta\"] == t[\"alloc_size\"] - t[\"freed_size\"]
others = [x for x in d[\"types\"] if x[\"type\"] not in new and x[\"type\"] not in dele]
assert all(x[\"new_count\"] + x[\"deleted_count\"] <= 1 for x in others), others
assert d[\"types\"][0][\"type\"] == E, d[\"types\"]
deltas = [x[\"size_delta\"] for x in d[\"types\"]]
assert deltas == sorted(deltas, reverse=True)
assert d[\"first_words_compared\"]
"
'

test_expect_success 'retained growth: the table (which A had) holds the K entries, g_temp its temporaries' '
    py "
d = json.load(open(\"ab.json\"))
g = {(x[\"retainer\"].split(\" -> \")[0], x[\"type\"]): x for x in d[\"growth\"]}
cache = g[(\"global g_cache_table\", E)]
assert cache[\"count\"] == K and cache[\"bytes\"] == 40 * K, cache
table = [l for l in rep if l[0] == \"table\"][0]
assert cache[\"retainer_node\"][\"addr\"] == hex(hx(table[1])), cache
tmp = g[(\"global g_temp\", T)]
assert tmp[\"count\"] == NTEMP and tmp[\"retainer_node\"][\"kind\"] == \"root\", tmp
"
'

test_expect_success 'diff -o: tables diff_types, diff_objects, diff_growth say the same' '
    $HEAPSNAP diff -o ab.db A.hsnap B.hsnap >/dev/null &&
    py "
db = sqlite3.connect(\"ab.db\")
new = set(a for (a,) in db.execute(\"SELECT addr FROM diff_objects WHERE snapshot = \x27B\x27 AND status = \x27new\x27 AND size = 40\"))
want = set(hx(l[1]) for l in rows(\"added\") + rows(\"temp\"))
assert new == want, (len(new), len(want))
dele = set(a for (a,) in db.execute(\"SELECT addr FROM diff_objects WHERE status = \x27deleted\x27\"))
assert dele == set(hx(l[1]) for l in rows(\"removed\")), dele
r = db.execute(\"SELECT new_count, deleted_count, size_delta FROM diff_types WHERE type = ?\", (E,)).fetchone()
n = K + (NTEMP if T == E else 0)
assert r == (n, J, 40 * (n - J)), r
held = db.execute(\"SELECT count(*) FROM diff_objects WHERE status = \x27new\x27 AND retainer LIKE \x27global g_cache_table -> %\x27\").fetchone()[0]
assert held == K, held
assert db.execute(\"SELECT count FROM diff_growth WHERE kind = \x27growth\x27 AND retainer LIKE \x27global g_temp\x27\").fetchone()[0] == NTEMP
"
'

test_expect_success 'three snapshots: the survivors are exactly round 1'"'"'s entries, held by the cache' '
    $HEAPSNAP diff --json -o abc.db A.hsnap B.hsnap C.hsnap >abc.json &&
    py "
d = json.load(open(\"abc.json\"))
s = [x for x in d[\"survivors\"] if x[\"type\"] == E]
assert len(s) == 1 and s[0][\"count\"] == K and s[0][\"retainer\"].startswith(\"global g_cache_table -> \"), s
db = sqlite3.connect(\"abc.db\")
got = set(a for (a,) in db.execute(\"SELECT addr FROM diff_objects WHERE status = \x27survivor\x27 AND size = 40\"))
assert got == set(hx(l[1]) for l in rows(\"added\")), len(got)
" &&
    entry=$(py "print(E)") &&
    $HEAPSNAP diff A.hsnap B.hsnap C.hsnap | grep -A1 "^Survivors" | grep -F " -> $K x $entry"
'

test_expect_success 'stored dominators: B and C are read back without their references; damaged rows are computed again' '
    cp A.db wa.db && cp B.db wb.db && cp C.db wc.db &&
    for f in wb wc; do sqlite3 $f.db "DELETE FROM analysis_done" || exit 1; done &&
    HEAPSNAP_TIMING=1 $HEAPSNAP diff --json wa.db wb.db wc.db >cold.json 2>cold.err &&
    grep "timing wb.db: dominators" cold.err && grep "timing wc.db: dominators" cold.err &&
    HEAPSNAP_TIMING=1 $HEAPSNAP diff --json wa.db wb.db wc.db >warm.json 2>warm.err &&
    test_cmp cold.json warm.json &&
    grep "timing wb.db: results read back" warm.err && grep "timing wc.db: results read back" warm.err &&
    roots=$(sqlite3 wb.db "SELECT count(*) FROM roots") &&
    grep "timing wb.db: load .*, $roots edges)" warm.err &&
    sqlite3 wc.db "UPDATE analysis SET idom = 1000000000 WHERE id = (SELECT max(id) FROM analysis WHERE reachable)" &&
    HEAPSNAP_TIMING=1 $HEAPSNAP diff --json wa.db wb.db wc.db >again.json 2>again.err &&
    test_cmp cold.json again.json &&
    grep "timing wc.db: dominators" again.err
'

test_expect_success 'a snapshot against itself: nothing new, nothing deleted' '
    $HEAPSNAP diff --json A.hsnap A.db >aa.json &&
    py "
d = json.load(open(\"aa.json\"))
assert d[\"new_count\"] == 0 and d[\"deleted_count\"] == 0 and d[\"types\"] == [], d
"
'

# types.id is local to a database (which types are read, and so their
# numbering, can differ between snapshots of one program); B2.db is B.db
# with every type id moved by 1000, as if indexed with other libraries.
test_expect_success 'type ids renumbered in B: the same objects match, counts and names unchanged' '
    cp B.db B2.db &&
    py "
assert E == \"struct entry\" and T == \"struct temp\", (E, T)  # typed, or the case proves nothing
db = sqlite3.connect(\"B2.db\")
moved = []
for (t,) in db.execute(\"SELECT name FROM sqlite_master WHERE type = \x27table\x27\").fetchall():
    for c in [r[1] for r in db.execute(\"PRAGMA table_info(\\\"%s\\\")\" % t)]:
        if c in (\"type_id\", \"field_type_id\") or (t == \"types\" and c in (\"id\", \"target\")):
            db.execute(\"UPDATE \\\"%s\\\" SET %s = %s + 1000\" % (t, c, c))
            moved.append(t + \".\" + c)
db.commit()
assert {\"objects.type_id\", \"types.id\", \"fields.type_id\"} <= set(moved), moved
" &&
    $HEAPSNAP diff --json A.db B.db >orig.json && $HEAPSNAP diff --json A.db B2.db >renum.json &&
    $HEAPSNAP diff --json B.db A.db >back.json && $HEAPSNAP diff --json B2.db A.db >back2.json &&
    $HEAPSNAP diff --json A.db B2.db C.db >abc2.json &&
    py "
def rows(f):
    d = json.load(open(f))
    return d, sorted((x[\"type\"], x[\"new_count\"], x[\"deleted_count\"], x[\"alloc_size\"], x[\"freed_size\"]) for x in d[\"types\"])
o, ot = rows(\"orig.json\"); r, rt = rows(\"renum.json\")
assert rt == ot, (rt, ot)
assert (r[\"new_count\"], r[\"deleted_count\"]) == (K + NTEMP, J), (r[\"new_count\"], r[\"deleted_count\"])
t = {x[\"type\"]: x for x in r[\"types\"]}
assert (t[E][\"new_count\"], t[E][\"deleted_count\"], t[T][\"new_count\"]) == (K, J, NTEMP), t
# the other way, every group named from the table of the snapshot it came from
b, bt = rows(\"back.json\"); b2, b2t = rows(\"back2.json\")
assert b2t == bt and (b2[\"new_count\"], b2[\"deleted_count\"]) == (J, K + NTEMP), (b2t, bt)
assert not [x for x in r[\"types\"] + b2[\"types\"] if x[\"type\"].startswith(\"type#\")]
s = [x for x in json.load(open(\"abc2.json\"))[\"survivors\"] if x[\"type\"] == E]
assert len(s) == 1 and s[0][\"count\"] == K, s
"
'

test_expect_success 'command line: --help exits 0; one snapshot or four exit 2; a missing file exits 1' '
    $HEAPSNAP diff --help | grep "^usage: heapsnap diff" &&
    { $HEAPSNAP diff A.hsnap 2>err; test $? = 2; } &&
    { $HEAPSNAP diff A.db B.db C.db A.db 2>err; test $? = 2; } &&
    { $HEAPSNAP diff -o 2>err; test $? = 2; } &&
    test_must_fail $HEAPSNAP diff A.db missing.hsnap 2>err && grep "missing.hsnap" err &&
    test_must_fail $HEAPSNAP diff -o /nonexistent/x.db A.db B.db 2>err && grep "/nonexistent/x.db" err
'

test_expect_success 'a three-way diff that cannot read C prints nothing and leaves no -o file' '
    test_must_fail $HEAPSNAP diff -o gone.db A.db B.db missing.hsnap >out 2>err &&
    grep "missing.hsnap" err && test_must_fail test -s out && test_must_fail test -e gone.db &&
    cp C.db broken.db && sqlite3 broken.db "DROP TABLE refs; DELETE FROM analysis_done" &&
    test_must_fail $HEAPSNAP diff -o gone.db A.db B.db broken.db >out 2>err &&
    cat err && grep "broken.db" err && test_must_fail test -s out && test_must_fail test -e gone.db
'

stop_sample
test_done
