#!/usr/bin/env bash
# t3310-tcmalloc-mutate.sh — the tcmalloc walker on damaged tcmalloc
# metadata: a snapshot of samples/tcmalloc_heap with one structure lied
# about at a time (tests/tools/hsnap-mutate --poke).  Each time index must
# exit 0 and name the damage where it is, and everything the damage does not
# touch must still be found — or, when nothing is left to walk, every
# analysis refuses, naming tcmalloc.  Never a crash, a hang or a sanitizer
# report.
. "$(dirname "$0")/lib.sh"

mutate_base tcmalloc_heap tcmalloc
# used objects outside [$2, $3)
used_outside() { sq "$1" "SELECT count(*) FROM objects WHERE state = 'used' AND (addr < $2 OR addr >= $3)"; }

# The structures to damage, found through the clean walk: the page map
# root; a span of small objects with free objects on its own list, and its
# Span; a thread cache and one of its non-empty lists; a transfer cache
# slot in use.
ROOT_=$(sq base.db "SELECT value FROM facts WHERE key = 'tcmalloc.pagemap_root'" 2>/dev/null | cut -d' ' -f1)
read -r SP SP_END <<<"$(sq -separator ' ' base.db "SELECT r.start, r.\"end\" FROM regions r JOIN objects o
    ON o.addr >= r.start AND o.addr < r.\"end\" WHERE r.kind = 'tcmalloc-span' AND o.\"where\" = 'span'
    AND o.state = 'free' ORDER BY r.start LIMIT 1" 2>/dev/null)"
span_of() { # the Span the page map names for address $1
    local page=$(($1 >> 13)) leaf
    leaf=$(word "$((ROOT_ + 8 * (page >> 18)))")
    word "$((leaf + 8 * (page & 262143)))"
}
TCS=$(sq base.db "SELECT addr FROM roots WHERE kind = 'allocator' AND name = 'tcmalloc ThreadCache' ORDER BY addr" 2>/dev/null)
CENTRAL=$(sq base.db "SELECT addr FROM roots WHERE kind = 'allocator' AND name = 'tcmalloc central_cache_'" 2>/dev/null)
if [ -n "$ROOT_" ] && [ -n "$SP" ]; then
    SPAN=$(span_of "$SP")
    TC= TCL=
    for t in $TCS; do # a thread cache with a non-empty list
        for cl in $(seq 1 100); do
            if [ "$(word $((t + 32 * cl)))" != 0 ]; then TC=$t TCL=$cl; break 2; fi
        done
    done
    for cl in $(seq 1 100); do
        [ -n "$CENTRAL" ] || break
        if [ $(($(word $((CENTRAL + 1216 * cl + 1152))) & 0xffffffff)) -gt 0 ]; then XCL=$cl; break; fi
    done
fi

test_expect_success 'setup: a clean tcmalloc heap, walked without a warning' '
    test -n "$ROOT_" && test -n "$SPAN" && test "$(word $SPAN)" = $((SP >> 13)) &&
    test -n "$TC" && test -n "$TCL" && test -n "${XCL:-}" &&
    test -z "$(warned base.db)" && test "$(used base.db)" -gt 2000
'

test_expect_success 'a span whose free list leaves it: cut there and named, the rest found' '
    mutant freelist $((SPAN + 32)) 0x414141414140 &&
    warned freelist.db | grep "^$(hex $SPAN) tcmalloc: span $(hex $SP): its free list holds 0x414141414140, which is not one of its objects; cut there" &&
    warned freelist.db | grep "^$(hex $SPAN) tcmalloc: span $(hex $SP): 0 of its [0-9]* objects are on its free list, its refcount says" &&
    test "$(used_outside freelist.db $SP $SP_END)" = "$(used_outside base.db $SP $SP_END)"
'

test_expect_success 'a span whose size class is none: skipped and named, the rest found' '
    bits=$(word $((SPAN + 40))) &&
    mutant class $((SPAN + 40)) $(( (bits & ~0xff0000) | (200 << 16) )) &&
    warned class.db | grep "^$(hex $SPAN) tcmalloc: span $(hex $SP): size class 200 does not fit its [0-9]* bytes; skipped" &&
    test "$(used_outside class.db $SP $SP_END)" = "$(used_outside base.db $SP $SP_END)" &&
    test "$(sq class.db "SELECT count(*) FROM objects WHERE addr >= $SP AND addr < $SP_END")" = 0
'

test_expect_success 'a span on a free list tcmalloc does not have: skipped and named' '
    bits=$(word $((SPAN + 40))) &&
    mutant location $((SPAN + 40)) $(( bits | (3 << 24) )) &&
    warned location.db | grep "^$(hex $SPAN) tcmalloc: span $(hex $SP): location 3 is none tcmalloc has; skipped"
'

test_expect_success 'a thread cache list running off the snapshot: cut and named, its objects taken for used' '
    mutant tclist $((TC + 32 * TCL)) 0x414141414140 &&
    warned tclist.db | grep "^$(hex $((TC + 32 * TCL))) tcmalloc: a thread cache list of class $TCL runs into 0x414141414140, which was not captured; cut there" &&
    warned tclist.db | grep "tcmalloc: [0-9]* pointers are in thread and transfer caches, but [0-9]* of them are objects of in-use spans" &&
    test "$(used tclist.db)" -gt "$(used base.db)"
'

test_expect_success 'a transfer cache batch that does not end at its tail: named' '
    slot=$((CENTRAL + 1216 * XCL + 128)) &&
    mutant xfer $((slot + 8)) 0x414141414140 &&
    warned xfer.db | grep "^$(hex $((CENTRAL + 1216 * XCL))) tcmalloc: transfer cache slot 0 of class $XCL does not end at its tail 0x414141414140"
'

test_expect_success 'the page map gone: tcmalloc is named as not walkable, and analyses refuse' '
    pokes= &&
    for i in $($HEAPSNAP sql base.db "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k
                                     WHERE i < 131071) SELECT i FROM k WHERE u64($ROOT_ + 8 * i) <> 0" |
               tail -n +3); do
        pokes="$pokes $((ROOT_ + 8 * i)) 0"
    done &&
    test -n "$pokes" && mutant noroot $pokes &&
    warned noroot.db | grep "tcmalloc: the page map.s root was not found" &&
    test_must_fail $HEAPSNAP leaks noroot.db >out 2>err &&
    grep "no analysis is possible: tcmalloc was detected but its heap could not be walked" err
'

test_done
