#!/usr/bin/env bash
# t3120-glibc-internal.sh — malloc's own bookkeeping is not the program's
# references.  samples/binned_leak leaks blocks that each lie just before a
# free chunk in a fastbin, a small bin, the unsorted bin, or before the top
# chunk (main arena and a thread's arena), and keeps control blocks in the
# same places; its report is the ground truth.  main_arena (in libc's .data)
# points at those free chunks' headers, whose first word lies inside the
# leaked block: scanned as a data root, it made every such leak look
# reachable.  Checked, with libc's debug info and with the fallback layout:
#   - each leak has no incoming reference, and `heapsnap leaks` reports
#     exactly the leaks, none of the kept blocks;
#   - main_arena and mp_ are roots of kind 'allocator', where libc's symbols
#     put them, and no reference comes from them; no other root covers them;
#   - each thread's tcache_perthread_struct is a used object with where
#     'malloc-internal' and no outgoing references, still reached from its
#     thread's TLS.
# (t3100 checks that the mallinfo2 totals still match.)
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/binned_leak" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'glibc internals' 'bin/samples/binned_leak, the capture tool or heapsnap is not built'
    test_done
fi

start_sample binned_leak || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true
stop_sample
R=binned_leak.report

# py DB SCRIPT: python3 with the report's lines in 'rep' and DB open as 'db'
py() { python3 -c "import json, sqlite3
rep = [l.split() for l in open('$R')]
db = sqlite3.connect('$1')
def hx(s): return int(s, 16)
def one(sql, *a): return db.execute(sql, a).fetchone()
leaks = [(hx(l[1]), int(l[2]), l[3], hx(l[4])) for l in rep if l[0] == 'leak']
kept = [hx(l[1]) for l in rep if l[0] == 'reachable']
tcaches = sorted(hx(l[1]) for l in rep if l[0] == 'tcache')
$2"; }

test_expect_success 'setup: binned_leak ran, reported every case and was captured' '
    grep -qx ready $R && test -s snap.hsnap &&
    for k in fastbin smallbin unsorted top; do
        grep -q "^leak .* $k 0x" $R || { echo "no $k leak"; exit 1; }
    done &&
    test "$(grep -c "^leak " $R)" = 6 && test "$(grep -c "^reachable " $R)" = 10 &&
    test "$(grep -c "^tcache " $R)" = 2
'

test_expect_success 'index with and without libc debug info' '
    $HEAPSNAP index snap.hsnap -o dbg.db >out 2>err && grep "(glibc)\$" out &&
    test "$(sqlite3 dbg.db "SELECT value FROM facts WHERE key = \"glibc.layout\"")" = dwarf &&
    $HEAPSNAP index --no-separate-debug snap.hsnap -o nodbg.db >out 2>err && grep "(glibc)\$" out &&
    test "$(sqlite3 nodbg.db "SELECT value FROM facts WHERE key = \"glibc.layout\"")" = fallback &&
    test "$(sqlite3 dbg.db "SELECT count(*) FROM symbols WHERE name IN (\"main_arena\", \"mp_\")")" = 2
'

for db in dbg.db nodbg.db; do
    test_expect_success "$db: each leak is followed by the free chunk it names, in that list" '
        py '"$db"' "
for addr, size, kind, nxt in leaks:
    i, s, st = one(\"SELECT id, size, state FROM objects WHERE addr = ?\", addr)
    assert (s, st) == (size, \"used\"), (hex(addr), s, st)
    got = one(\"SELECT addr, state, \\\"where\\\" FROM objects WHERE id = ?\", i + 1)
    assert got == (nxt, \"free\", kind), (hex(addr), kind, got)
"
    '

    test_expect_success "$db: no leaked block has an incoming reference; every kept one has" '
        py '"$db"' "
for addr, size, kind, nxt in leaks:
    n = one(\"SELECT count(*) FROM refs WHERE dst = (SELECT id FROM objects WHERE addr = ?)\", addr)[0]
    assert n == 0, (hex(addr), kind, n)
for addr in kept:
    n = one(\"SELECT count(*) FROM refs r JOIN roots ro ON ro.id = r.src \"
            \"WHERE ro.name = \\\"g_keep\\\" AND r.dst = (SELECT id FROM objects WHERE addr = ?)\", addr)[0]
    assert n == 1, hex(addr)
"
    '

    test_expect_success "$db: heapsnap leaks reports exactly the leaked blocks" '
        $HEAPSNAP leaks --json --all '"$db"' >leaks.json &&
        py '"$db"' "
d = json.load(open(\"leaks.json\"))
got = sorted((hx(o[\"addr\"]), o[\"size\"]) for o in d[\"objects\"])
want = sorted((a, s) for a, s, k, n in leaks)
assert got == want, ([hex(a) for a, s in got], [hex(a) for a, s in want])
assert not set(a for a, s in got) & set(kept)
stored = sorted(r[0] for r in db.execute(\"SELECT o.addr FROM leaks l JOIN objects o ON o.id = l.object\"))
assert stored == sorted(a for a, s in want), stored
"
    '

    test_expect_success "$db: main_arena and mp_ are unscanned allocator roots where libc's symbols say" '
        py '"$db"' "
sym = sqlite3.connect(\"dbg.db\")
for name in (\"main_arena\", \"mp_\"):
    want = sym.execute(\"SELECT addr, size FROM symbols WHERE name = ?\", (name,)).fetchone()
    got = db.execute(\"SELECT addr, size FROM roots WHERE kind = \\\"allocator\\\" AND name = ?\", (name,)).fetchall()
    assert got == [want], (name, got, want)
    a, s = want
    cover = db.execute(\"SELECT kind, name FROM roots WHERE kind <> \\\"allocator\\\" AND addr < ? AND addr + size > ?\",
                       (a + s, a)).fetchall()
    assert cover == [], (name, cover)
fact = one(\"SELECT value FROM facts WHERE key = \\\"glibc.main_arena\\\"\")[0]
assert hx(fact.split()[0]) == sym.execute(\"SELECT addr FROM symbols WHERE name = \\\"main_arena\\\"\").fetchone()[0]
assert one(\"SELECT count(*) FROM roots WHERE kind = \\\"allocator\\\"\")[0] == 2
n = one(\"SELECT count(*) FROM refs WHERE src IN (SELECT id FROM roots WHERE kind = \\\"allocator\\\")\")[0]
assert n == 0, n
"
    '

    test_expect_success "$db: roots still never overlap one another" '
        test "$(sqlite3 '"$db"' "SELECT count(*) FROM (SELECT addr, size, lag(addr + size) OVER (ORDER BY addr) AS prev_end
                   FROM roots WHERE addr IS NOT NULL) WHERE addr < prev_end")" = 0
    '

    test_expect_success "$db: each tcache is a used malloc-internal object, unscanned, held by its TLS" '
        py '"$db"' "
rows = db.execute(\"SELECT addr, size, state, id FROM objects WHERE \\\"where\\\" = \\\"malloc-internal\\\" ORDER BY addr\").fetchall()
assert [r[0] for r in rows] == tcaches, ([hex(r[0]) for r in rows], [hex(a) for a in tcaches])
for addr, size, state, i in rows:
    assert (size, state) == (648, \"used\"), (hex(addr), size, state)
    assert one(\"SELECT count(*) FROM refs WHERE src = ?\", i)[0] == 0, hex(addr)
    assert one(\"SELECT count(*) FROM refs r JOIN roots ro ON ro.id = r.src \"
               \"WHERE ro.kind = \\\"tls\\\" AND r.dst = ?\", i)[0] == 1, hex(addr)
"
    '
done

test_expect_success 'with and without debug info the objects and allocator roots are the same' '
    sql="SELECT addr, size, state, \"where\" FROM objects ORDER BY addr;
         SELECT name, addr, size FROM roots WHERE kind = \"allocator\" ORDER BY addr" &&
    sqlite3 dbg.db "$sql" >with && sqlite3 nodbg.db "$sql" >without &&
    test_cmp with without
'

test_done
