#!/usr/bin/env bash
# t3215-jemalloc-lg57-mutate.sh — the jemalloc walker on a damaged
# three-level rtree: bin/samples/jemalloc_dwarf57 (jemalloc built with
# LG_VADDR 57: root, nodes and leaves of 2^15 entries, 16-byte leaf
# elements; the root by its symbol, so that it is found whatever is under
# it) with one rtree word lied about at a time,
# as t3210 does for the two-level tree.  Each time index must exit 0 and
# name the damage, or, when nothing is left to walk, refuse by name.
. "$(dirname "$0")/lib.sh"

mutate_base jemalloc_dwarf57 jemalloc

RT=$(sq base.db "SELECT value FROM facts WHERE key = 'jemalloc.rtree_root'" 2>/dev/null | cut -d' ' -f1)
SLAB=$(sq base.db "SELECT start FROM regions WHERE kind = 'jemalloc-slab' ORDER BY start DESC LIMIT 1" 2>/dev/null)
if [ -n "$RT" ] && [ -n "$SLAB" ]; then
    ROOTSLOT=$((RT + 8 * ((SLAB >> 42) & 32767)))       # the root's entry: a node
    NODESLOT=$(($(word $ROOTSLOT) + 8 * ((SLAB >> 27) & 32767)))  # the node's entry: a leaf
fi
# refused: with the only node or leaf gone there is no tree left
refused() {
    sq "$1" "SELECT message FROM warnings" | grep "jemalloc was detected but its heap could not be walked" &&
    test_must_fail $HEAPSNAP leaks "$1" 2>err && grep "jemalloc was detected" err
}

test_expect_success 'setup: a clean LG_VADDR 57 heap, walked without a warning' '
    test "$(sq base.db "SELECT value FROM facts WHERE key = \"jemalloc.lg_vaddr\"")" = 57 &&
    test -n "$NODESLOT" && test "$(word $ROOTSLOT)" -gt 0 &&
    test -z "$(warned base.db)" && test "$(used base.db)" -gt 2000
'

# (The heap's extents all lie under one node, 4 TiB of addresses: so the
# garbage goes into the empty root entry beside it, and the tree stays.)
test_expect_success 'a root entry pointing where nothing was captured: that node named, not silently lost' '
    test "$(word $((ROOTSLOT + 8)))" = 0 &&
    mutant node $((ROOTSLOT + 8)) 0x414141414140 &&
    test "$(used node.db)" = "$(used base.db)" &&
    warned node.db >w &&
    grep "jemalloc: rtree node 0x414141414140 (root\[[0-9]*\]) was not captured" w
'

test_expect_success 'a node entry pointing at garbage: that leaf skipped and named' '
    mutant leaf $NODESLOT 0x414141414140 &&
    warned leaf.db >w &&
    { grep "jemalloc: rtree node root\[[0-9]*\]\[[0-9]*\] points to 0x414141414140" w ||
      grep "rtree leaf 0x414141414140 .* was not captured" w || refused leaf.db; }
'

test_done
