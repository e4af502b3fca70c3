#!/usr/bin/env bash
# t3210-jemalloc-mutate.sh — the jemalloc walker on damaged jemalloc
# metadata: a snapshot of samples/jemalloc_heap with one structure lied
# about at a time (tests/tools/hsnap-mutate --poke), the way a bug or a
# hostile file would.  Each time index must exit 0 and name the damage where
# it is, and everything the damage does not touch must still be found —
# or, when nothing is left to walk, every analysis refuses, naming jemalloc.
# Never a crash, a hang or a sanitizer report (the random mutations are in
# t5100, which has this sample among its bases).
. "$(dirname "$0")/lib.sh"

mutate_base jemalloc_heap jemalloc

# The structures to damage, found through the clean walk: the rtree root,
# the leaf and element for the first page of a slab and of a large extent,
# their edata, and the first tcache entry.
RT=$(sq base.db "SELECT value FROM facts WHERE key = 'jemalloc.rtree_root'" 2>/dev/null | cut -d' ' -f1)
SLAB=$(sq base.db "SELECT start FROM regions WHERE kind = 'jemalloc-slab' ORDER BY start DESC LIMIT 1" 2>/dev/null)
SLAB_N=$(sq base.db "SELECT count(*) FROM objects o JOIN regions r ON o.addr >= r.start AND o.addr < r.\"end\"
                     WHERE r.start = ${SLAB:-0} AND o.state = 'used'" 2>/dev/null)
elem() { # the rtree element for page $1
    local leaf
    leaf=$(word "$((RT + 8 * (($1 >> 30) & 262143)))")
    echo $((leaf + 8 * (($1 >> 12) & 262143)))
}
edata() { local b; b=$(word "$1"); echo $(((b << 16 >> 16) & ~127)); }
if [ -n "$RT" ] && [ -n "$SLAB" ]; then
    RTSLOT=$((RT + 8 * ((SLAB >> 30) & 262143)))
    SLAB_EL=$(elem "$SLAB")
    SLAB_ED=$(edata "$SLAB_EL")
fi

test_expect_success 'setup: a clean jemalloc heap, walked without a warning' '
    test -n "$RT" && test -n "$SLAB_ED" && test "$SLAB_ED" -gt 0 &&
    test -z "$(warned base.db)" && test "$(used base.db)" -gt 2000
'

test_expect_success 'a slab bitmap that disagrees with nfree: named at its edata, the rest found' '
    bm=$(word $((SLAB_ED + 64))) &&
    mutant bitmap $((SLAB_ED + 64)) $((bm ^ 1)) &&
    warned bitmap.db | grep "^$(hex $SLAB_ED) jemalloc: slab $(hex $SLAB): its bitmap has [0-9]* free regions, nfree says" &&
    test "$(used bitmap.db)" -ge $(($(used base.db) - 8))
'

test_expect_success 'an edata whose extent size is wild: skipped and named, the rest found' '
    mutant size $((SLAB_ED + 16)) 0x7ffffffff000 &&
    warned size.db | grep "^$(hex $SLAB_ED) jemalloc: " &&
    test "$(used size.db)" -ge $(($(used base.db) - SLAB_N))
'

test_expect_success 'an rtree element naming edata that was never captured: named, the rest found' '
    mutant elem $SLAB_EL 0x414141414100 &&
    warned elem.db | grep "jemalloc: edata 0x414141414100 (from the rtree) not captured" &&
    test "$(used elem.db)" -ge $(($(used base.db) - SLAB_N))
'

test_expect_success 'an edata whose state disagrees with the rtree: named, the rest found' '
    bits=$(word $SLAB_ED) &&
    mutant state $SLAB_ED $((bits | (1 << 17))) &&
    warned state.db | grep "^$(hex $SLAB_ED) jemalloc: edata $(hex $SLAB_ED) says state 1" &&
    test "$(used state.db)" -ge $(($(used base.db) - SLAB_N))
'

test_expect_success 'a slab whose size class cannot hold it: skipped and named' '
    bits=$(word $SLAB_ED) &&
    mutant szind $SLAB_ED $(( (bits & ~(255 << 20)) | (200 << 20) )) &&
    warned szind.db | grep "jemalloc: slab $(hex $SLAB): size class 200 does not divide"
'

test_expect_success 'a tcache entry pointing nowhere: named, every cached region still free' '
    e=$(sq base.db "SELECT addr FROM objects WHERE \"where\" = \"tcache\" LIMIT 1") &&
    ent=$(python3 -c "
import sqlite3, subprocess, sys
# the stack slot holding the entry: search the tcache stack array (malloc-internal)
db = sqlite3.connect(\"base.db\")
a, n = db.execute(\"SELECT addr, size FROM objects WHERE \\\"where\\\" = \\\"malloc-internal\\\"\").fetchone()
words = subprocess.run([\"$HEAPSNAP\", \"sql\", \"base.db\",
    \"SELECT hex(mem(%d, %d))\" % (a, n)], capture_output=True, text=True).stdout.split()[-1]
b = bytes.fromhex(words)
for i in range(0, len(b), 8):
    if int.from_bytes(b[i:i + 8], \"little\") == $e:
        print(a + i); sys.exit(0)
sys.exit(1)
") &&
    mutant tcache $ent 0x414141414140 &&
    warned tcache.db | grep "jemalloc: [0-9]* pointers are in tcaches but [0-9]* of them are allocated" &&
    test "$(sq tcache.db "SELECT state FROM objects WHERE addr = $e")" = used &&
    test "$(used tcache.db)" = $(($(used base.db) + 1))
'

test_expect_success 'an rtree root entry pointing at garbage: that leaf skipped, named' '
    mutant leaf $RTSLOT 0x414141414140 &&
    warned leaf.db >w &&
    { grep "jemalloc: rtree root\[" w || grep "rtree leaf 0x414141414140 .* was not captured" w; } ||
    { # with the only leaf gone there is no tree left: then jemalloc is refused, by name
      sq leaf.db "SELECT message FROM warnings" | grep "jemalloc was detected but its heap could not be walked" &&
      test_must_fail $HEAPSNAP leaks leaf.db 2>err && grep "jemalloc was detected" err; }
'

test_expect_success 'the whole rtree gone: jemalloc is named as not walkable, and analyses refuse' '
    mutant noroot $RTSLOT 0 &&
    sq noroot.db "SELECT message FROM warnings WHERE source = \"jemalloc\"" >w &&
    if [ "$(used noroot.db)" = 0 ]; then
        grep "rtree root was not found" w &&
        test_must_fail $HEAPSNAP leaks noroot.db 2>err &&
        grep "no analysis is possible: jemalloc was detected but its heap could not be walked" err
    else
        # another leaf held other extents: those are still walked
        test "$(used noroot.db)" -lt "$(used base.db)"
    fi
'

test_done
