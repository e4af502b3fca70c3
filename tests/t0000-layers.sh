#!/usr/bin/env bash
# t0000-layers.sh — the layers of docs/architecture.md hold: no file
# includes a header of its own layer's peers or of a layer above it
# (tests/tools/layers.py reads the table from the document itself), and the
# checker does catch a file that does; and each allocator's folder is its
# own, shared with no other walker and nothing above.
. "$(dirname "$0")/lib.sh"

LAYERS=$ROOT/tests/tools/layers.py

test_expect_success 'every include of analyze/, format/ and capture/ points down the layer table' '
    python3 "$LAYERS" "$ROOT" >out 2>&1 || { cat out; false; } &&
    test_cmp /dev/null out
'

# A copy of the tree's sources and the document, with one include that
# climbs: db/ (layer 8) reaching the command line's cli.h.
test_expect_success 'an include that climbs a layer is named, with both layers, and fails' '
    mkdir -p tree/docs && cp "$ROOT/docs/architecture.md" tree/docs/ &&
    cp -r "$ROOT/analyze" "$ROOT/format" "$ROOT/capture" tree/ &&
    echo "#include \"cli.h\"" >>tree/analyze/db/schema.c &&
    test_must_fail python3 "$LAYERS" tree >out &&
    grep -x "analyze/db/schema.c:[0-9]*: includes analyze/cli.h: analyze is layer 12, not below analyze/db (layer 8)" out &&
    test "$(wc -l <out)" = 1
'

test_expect_success 'a folder the table does not list is named' '
    mkdir -p tree/analyze/newthing && echo "int x;" >tree/analyze/newthing/a.c &&
    test_must_fail python3 "$LAYERS" tree >out &&
    grep -x "analyze/newthing/a.c: in no folder of the layer table (docs/architecture.md)" out
'

test_expect_success 'a walker including another walker'"'"'s header is named' '
    rm -rf tree && mkdir -p tree/docs && cp "$ROOT/docs/architecture.md" tree/docs/ &&
    cp -r "$ROOT/analyze" "$ROOT/format" "$ROOT/capture" tree/ &&
    echo "#include \"heap/glibc/walk.h\"" >>tree/analyze/heap/jemalloc/walker.c &&
    echo "#include \"heap/go/internal.h\"" >>tree/analyze/analysis/rss.c &&
    test_must_fail python3 "$LAYERS" tree >out &&
    grep -x "analyze/heap/jemalloc/walker.c:[0-9]*: includes analyze/heap/glibc/walk.h, private to analyze/heap/glibc/ (only its own files and analyze/heap/'"'"'s interface may be shared)" out &&
    grep "^analyze/analysis/rss.c:[0-9]*: includes analyze/heap/go/internal.h, private to analyze/heap/go/" out &&
    test "$(wc -l <out)" = 2
'

test_done
