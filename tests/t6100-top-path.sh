#!/usr/bin/env bash
# t6100-top-path.sh — heapsnap top and path on a capture of samples/leaky.
# The dominator results stored by top are checked against brute force on
# the snapshot's own graph (remove a node, see what becomes unreachable),
# the type totals against MAT's rule recomputed from the stored idoms, and
# the roots' shares against what leaky knows: g_keep alone holds its list,
# g_ring its ring, and the block two roots share belongs to neither.  path
# must find the chain from g_keep, and --all two disjoint chains to the
# shared block.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/leaky" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'top and path on a capture of leaky' 'bin/samples/leaky or the capture tool is not built'
    test_done
fi

start_sample leaky || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true
R=leaky.report
# Stored answers: fresh_copy, run_on and same (tests/lib.sh).

py() { python3 -c "import json, sys, sqlite3
sys.dont_write_bytecode = True; sys.path.insert(0, '$TESTS_DIR/tools'); from groups import group_name
rep = [l.split() for l in open('$R')]
def hx(s): return int(s, 16)
db = sqlite3.connect('snap.db')
$1"; }

test_expect_success 'setup: leaky is running and was captured' '
    test -n "$PID" && grep -qx ready $R && test -s snap.hsnap &&
    $HEAPSNAP index snap.hsnap >/dev/null
'

test_expect_success 'top: exit 0, the three tables and a suspects section' '
    $HEAPSNAP top snap.hsnap >out 2>err &&
    grep "^Largest retainers, objects:" out &&
    grep "^Largest retainers, types" out &&
    grep "^Largest retainers, roots:" out &&
    grep "^Leak suspects" out &&
    $HEAPSNAP top --json --limit 100000 snap.db >top.json
'

test_expect_success 'stored retained sizes and counts equal brute force on every node' '
    py "
# malloc-internal chunks (the tcaches) are reachable but count 0 bytes and no object
used = {i: s for i, s in db.execute(\"SELECT id, size FROM objects WHERE state = \x27used\x27\")}
internal = set(i for (i,) in db.execute(\"SELECT id FROM objects WHERE \\\"where\\\" = \x27malloc-internal\x27\"))
roots = [i for (i,) in db.execute(\"SELECT id FROM roots\")]
adj = {}
for s, d in db.execute(\"SELECT src, dst FROM refs\"):
    if (s < 0 or s in used) and d in used:
        adj.setdefault(s, []).append(d)
def reach(skip):
    seen = set(r for r in roots if r != skip)
    st = list(seen)
    while st:
        v = st.pop()
        for w in adj.get(v, ()):
            if w != skip and w not in seen:
                seen.add(w); st.append(w)
    return seen
full = reach(None)
stored = {i: (r, rs, rc) for i, r, rs, rc in db.execute(\"SELECT id, reachable, retained_size, retained_count FROM analysis\")}
for v in list(roots) + list(used):
    r, rs, rc = stored[v]
    assert r == (v in full), v
    if v not in full:
        continue
    gone = full - reach(v)
    objs = [x for x in gone if x > 0 and x not in internal]
    want = (sum(used[x] for x in objs), len(objs))
    assert (rs, rc) == want, (v, (rs, rc), want)
print(len(full), \"nodes checked\")
"
'

test_expect_success 'roots: g_keep retains exactly its list, g_ring its ring; the shared block is nobody'"'"'s' '
    py "
d = json.load(open(\"top.json\"))
roots = {x[\"node\"][\"label\"]: x for x in d[\"roots\"]}
kept = [l for l in rep if l[0] == \"reachable\"]
keep = sum(int(l[2]) for l in kept[:6]); ring = sum(int(l[2]) for l in kept[6:9])
assert roots[\"global g_keep\"][\"retained_size\"] == keep and roots[\"global g_keep\"][\"retained_count\"] == 6, roots[\"global g_keep\"]
assert roots[\"global g_ring\"][\"retained_size\"] == ring and roots[\"global g_ring\"][\"retained_count\"] == 3
shared = [hx(l[1]) for l in rep if l[0] == \"shared\"][0]
(idom,) = db.execute(\"SELECT a.idom FROM objects o JOIN analysis a ON a.id = o.id WHERE o.addr = ?\", (shared,)).fetchone()
assert idom is None, idom
"
'

test_expect_success 'types: retained sizes follow MAT'"'"'s rule, recomputed from the stored tree' '
    py "
d = json.load(open(\"top.json\"))
typed = db.execute(\"SELECT count(*) FROM pragma_table_info(\x27types\x27) WHERE name = \x27name\x27\").fetchone()[0]
rows = db.execute(\"SELECT o.id, o.size, o.type_id, a.idom, a.retained_size, o.type_count FROM objects o JOIN analysis a ON a.id = o.id WHERE a.reachable AND o.\\\"where\\\" != \x27malloc-internal\x27\").fetchall()
def key(size, tid, n): return (\"t\", tid, n if n and n > 1 else 1) if tid is not None and typed else (\"s\", size)
grp = {i: key(s, t, n) for i, s, t, _, _, n in rows}; idom = {i: p for i, _, _, p, _, _ in rows}; ret = {i: r for i, _, _, _, r, _ in rows}
def name(k):
    return group_name(db, None, k[1], 1) if k[0] == \"s\" else group_name(db, k[1], 0, k[2])
want = {}
for i in grp:
    p, mine = idom[i], True
    while p is not None and p > 0 and p in grp:
        if grp[p] == grp[i]: mine = False; break
        p = idom[p]
    if mine:
        want[name(grp[i])] = want.get(name(grp[i]), 0) + ret[i]
got = {t[\"type\"]: t[\"retained_size\"] for t in d[\"types\"]}
assert got == want, (got, want)
"
'

test_expect_success 'suspects are exactly the top retainers of >= 10% of the used heap' '
    py "
d = json.load(open(\"top.json\"))
for s in d[\"suspects\"]:
    assert s[\"retained_size\"] * 10 >= d[\"used_bytes\"], s
big = [r for r in d[\"roots\"] if r[\"retained_size\"] * 10 >= d[\"used_bytes\"]]
ids = set(s[\"node\"][\"id\"] for s in d[\"suspects\"])
assert all(r[\"node\"][\"id\"] in ids for r in big), big
"
'

test_expect_success 'malloc'"'"'s per-thread tcache blocks (one per thread) are neither retainers, a type, leaks nor used bytes' '
    $HEAPSNAP leaks --json --all snap.db >leaks.json &&
    tc=$(sqlite3 snap.db "SELECT printf('"'"'0x%x'"'"', addr) FROM objects WHERE \"where\" = '"'"'malloc-internal'"'"' LIMIT 1") &&
    $HEAPSNAP explain --json snap.db $tc >tc.json &&
    py "
d = json.load(open(\"top.json\")); lk = json.load(open(\"leaks.json\")); ex = json.load(open(\"tc.json\"))
tc = db.execute(\"SELECT id, addr, size FROM objects WHERE \\\"where\\\" = \x27malloc-internal\x27\").fetchall()
# leaky has two threads, main and the worker, and each took a tcache (640 bytes: usable 648)
assert len(tc) == 2 and all(s == 648 for _, _, s in tc), tc
ids = set(i for i, _, _ in tc); addrs = set(a for _, a, _ in tc)
assert not ids & set(o[\"node\"][\"id\"] for o in d[\"objects\"]), d[\"objects\"]
names = [t[\"type\"] for t in d[\"types\"]]
assert \"malloc tcache\" not in names and \"[648 bytes]\" not in names, names
(ub, uc) = db.execute(\"SELECT sum(size), count(*) FROM objects WHERE state = \x27used\x27 AND \\\"where\\\" != \x27malloc-internal\x27\").fetchone()
assert (d[\"used_bytes\"], d[\"used_count\"]) == (ub, uc), (d[\"used_bytes\"], ub)
assert sum(t[\"shallow_size\"] for t in d[\"types\"]) == d[\"reachable_bytes\"]
for (i,) in [(i,) for i in ids]:
    (rs,) = db.execute(\"SELECT retained_size FROM analysis WHERE id = ?\", (i,)).fetchone()
    assert rs == 0, (i, rs)
assert not addrs & set(hx(o[\"addr\"]) for o in lk[\"objects\"])
assert ex[\"status\"] == \"malloc-internal\" and ex[\"object\"][\"type\"] == \"malloc tcache\", ex
"
'

test_expect_success 'path: the chain from global g_keep to its fourth node' '
    a=$(awk "\$1 == \"reachable\" { n++; if (n == 4) print \$2 }" $R) &&
    $HEAPSNAP path snap.db $a >p.txt &&
    grep "Path 1 of 1, 4 references" p.txt &&
    grep "global g_keep" p.txt &&
    test "$(grep -c -E -- "--\[((\[0\])?\.next \(\+0x0\)|\+0x0)\]-->" p.txt)" = 3
'

test_expect_success 'path --all: two disjoint chains to the shared block, one per root' '
    a=$(awk "\$1 == \"shared\" { print \$2 }" $R) &&
    $HEAPSNAP path --all --json snap.db $a >p.json &&
    py "
d = json.load(open(\"p.json\"))
ps = d[\"paths\"]
assert len(ps) == 2, ps
mids = [set(s[\"node\"][\"id\"] for s in p[1:-1]) for p in ps]
assert not mids[0] & mids[1]
starts = sorted(p[0][\"node\"][\"label\"] for p in ps)
assert starts[0] == \"global g_keep\" and ps[0][-1][\"node\"][\"addr\"] == hex($((a))), starts
kinds = sorted(p[0][\"node\"][\"root_kind\"] for p in ps)
assert kinds[0] == \"data\" and kinds[1] in (\"stack\", \"register\"), kinds
assert ps[0][-1][\"offset\"] in (0, 16) and ps[1][-1][\"offset\"] in (0, 16)
" &&
    $HEAPSNAP path --all snap.db $a | grep "Path 2 of 2"
'

test_expect_success 'path: a leaked block has none (exit 1), a bad address is an error' '
    a=$(awk "\$1 == \"leak\" { print \$2; exit }" $R) &&
    test_must_fail $HEAPSNAP path snap.db $a >p.txt &&
    grep "no root reaches it (leaked" p.txt &&
    test_must_fail $HEAPSNAP path snap.db 0x10 2>err && grep "not inside any heap object" err
'

test_expect_success 'a second top prints what the first stored, byte for byte, text and --json, without the graph' '
    for args in "" "--json" "--limit 3" "--json --limit 100000"; do
        fresh_copy 1 && run_on 1 top $args && test "$(cat how1)" = computed && cp out1 first &&
        run_on 1 top $args && test "$(cat how1)" = stored && test_cmp first out1 || exit 1
    done &&
    grep "\"suspects\"" out1 && grep "\"held_by\"" out1 && grep "\"label\": \"global g_keep\"" out1 &&
    fresh_copy 1 && run_on 1 top && run_on 1 top && test "$(cat how1)" = stored &&
    grep "^w1.db: .* used objects" out1 && grep "global g_keep" out1 && grep "shared by several roots" out1
'

test_expect_success 'top: another --limit computes again when larger, answers from the stored rows when smaller' '
    fresh_copy 1 && run_on 1 top --limit 2 && test "$(cat how1)" = computed &&
    run_on 1 top --limit 6 && test "$(cat how1)" = computed &&
    test "$(sqlite3 w1.db "SELECT rows FROM answer_top")" = 6 &&
    fresh_copy 2 && run_on 2 top --limit 6 && same 1 2 &&
    run_on 1 top --limit 4 --json && test "$(cat how1)" = stored &&
    fresh_copy 2 && run_on 2 top --limit 4 --json && test "$(cat how2)" = computed && same 1 2 &&
    sqlite3 w1.db "UPDATE answer_top_nodes SET kind = '"'"'nonsense'"'"' WHERE rank = 0" &&
    run_on 1 top --limit 4 --json && test "$(cat how1)" = computed && same 1 2 &&
    sqlite3 w1.db "DELETE FROM analysis_done WHERE step = '"'"'dominators'"'"'" &&
    run_on 1 top --limit 4 --json && test "$(cat how1)" = computed && same 1 2 &&
    test "$(sqlite3 w1.db "SELECT count(*) FROM answer_top")" = 1
'

test_expect_success 'command line: --help exits 0; bad usage exits 2' '
    $HEAPSNAP top --help | grep "^usage: heapsnap top" &&
    $HEAPSNAP path --help | grep "^usage: heapsnap path" &&
    { $HEAPSNAP top 2>err; test $? = 2; } &&
    { $HEAPSNAP top --limit 0 snap.db 2>err; test $? = 2; } &&
    { $HEAPSNAP path snap.db 2>err; test $? = 2; }
'

stop_sample

# samples/typed: blocks of known C types.  Its report lists every typed
# block as "block 0xADDR TYPE COUNT" (TYPE may hold spaces), so the groups
# top shows, and the fields path names, have a ground truth.
if [ ! -x "$SAMPLES/typed" ]; then
    test_skip 'top and path by type on a capture of typed' 'bin/samples/typed is not built'
    test_done
fi
start_sample typed || true
TPID=${SAMPLE_PID:-}
"$CAPTURE" -q "$TPID" -o typed.hsnap >capture.out 2>&1 || true
# typed.report as (addr, type name as heapsnap groups it) per block: "T[n]"
# for an array of n, as the objects_typed view names it
typy() { python3 -c "import json, sqlite3, sys
sys.dont_write_bytecode = True; sys.path.insert(0, '$TESTS_DIR/tools'); from groups import array_name
def hx(s): return int(s, 16)
rep = [l.split() for l in open('typed.report')]
blocks = [(hx(l[1]), array_name(' '.join(l[2:-1]), int(l[-1]))) for l in rep if l[0] == 'block']
untyped = [hx(l[1]) for l in rep if l[0] == 'untyped']
S = [hx(l[1]) for l in rep if l[0] == 'session'][0]
db = sqlite3.connect('typed.db')
$1"; }

test_expect_success 'typed: top groups typed objects by type name (T[n] for arrays), the rest by size' '
    test -n "$TPID" && grep -qx ready typed.report &&
    $HEAPSNAP top --json --limit 1000 typed.hsnap >ttop.json &&
    typy "
d = json.load(open(\"ttop.json\"))
got = {t[\"type\"]: t[\"count\"] for t in d[\"types\"] if not t[\"type\"].startswith(\"[\")}
want = {}
for a, n in blocks:
    want[n] = want.get(n, 0) + 1
assert len(blocks) >= 30 and got == want, (got, want)
assert \"struct item [3]\" in want and \"sess_t *[7]\" in want, want
sizes = {t[\"type\"]: t[\"count\"] for t in d[\"types\"] if t[\"type\"].startswith(\"[\")}
for a in untyped:
    (n,) = db.execute(\"SELECT size FROM objects WHERE addr = ?\", (a,)).fetchone()
    assert sizes.get(\"[%d bytes]\" % n, 0) >= 1, (n, sizes)
assert sum(t[\"count\"] for t in d[\"types\"]) == d[\"reachable_count\"]
"
'

test_expect_success 'typed: path names the fields it goes through (g_table.buckets, [i], .next, .name, .payload)' '
    test -n "$TPID" &&
    name=$(typy "i = [a for a, n in blocks].index(S); print(hex(blocks[i + 1][0]))") &&
    payload=$(typy "print(hex(min(u for u in untyped if u > S)))") &&
    $HEAPSNAP path --json typed.db $name >pn.json &&
    $HEAPSNAP path --json typed.db $payload >pp.json &&
    $HEAPSNAP path typed.db $name >pn.txt &&
    for a in $(typy "print(\" \".join(hex(a) for a, n in blocks if n == \"struct session\" and a != S))"); do
        $HEAPSNAP path --all --json typed.db $a >ps-$a.json || exit 1
    done &&
    typy "
import glob, subprocess
for f, want in ((\"pn.json\", \"name\"), (\"pp.json\", \"payload\")):
    p = json.load(open(f))[\"paths\"][0]
    last, prev = p[-1], p[-2][\"node\"]
    # the session S is the only block pointing at its name string and its payload
    assert hx(prev[\"addr\"]) == S and prev[\"type\"] == \"struct session\", prev
    assert last[\"field\"] == \".%s (+0x%x)\" % (want, last[\"offset\"]), last
    w = subprocess.run([\"$HEAPSNAP\", \"sql\", \"typed.db\", \"SELECT u64(%d)\" % (S + last[\"offset\"])],
                       capture_output=True, text=True, check=True).stdout.split()[-1]
    assert int(w) == hx(last[\"node\"][\"addr\"]), (w, last)
# every other session hangs off the global hash table: g_table.buckets, a
# slot, then .next links.  A stale stack word may give a shorter chain (and
# --all finds its chains greedily), so every step of every chain is held to
# the field its source'"'"'s type has there, and the table'"'"'s chain must show up.
files = glob.glob(\"ps-*.json\")
assert len(files) == 8, files
via_table = 0
for f in files:
    for p in json.load(open(f))[\"paths\"]:
        assert p[-1][\"node\"][\"type\"] == \"struct session\", p
        for prev, st in zip(p, p[1:]):
            src, dst, off = prev[\"node\"], st[\"node\"], st[\"offset\"]
            if src.get(\"label\") == \"global g_table\":
                assert st[\"field\"] == \"g_table.buckets\" and dst[\"type\"] == \"sess_t *[7]\", st
                via_table += 1
            elif src.get(\"type\") == \"sess_t *[7]\":
                assert st[\"field\"] == \"[%d] (+0x%x)\" % (off // 8, off), st
            elif src.get(\"type\") == \"struct session\" and dst[\"type\"] == \"struct session\":
                assert st[\"field\"] == \".next (+0x%x)\" % off, st
            elif src[\"kind\"] == \"object\":
                assert not st[\"field\"].startswith(\"+\"), st
assert via_table >= 1, via_table
" &&
    grep -- "--\[.name (+0x[0-9a-f]*)\]--> 0x[0-9a-f]* char \[" pn.txt
'

stop_sample "$TPID"
test_done
