#!/usr/bin/env bash
# t4300-stack-locals.sh — the typing pass's dwarf-local source on a capture
# of samples/typed_locals, whose report is the ground truth: a worker
# thread blocked two calls deep holds heap blocks only in typed pointer
# locals of its frames.  The stack must be unwound through the CFI, each
# such block get exactly the local's pointee type with source dwarf-local,
# the locals be listed in stack_vars, and path name the local that holds
# the block ("local p in make_points (thread N)").
. "$(dirname "$0")/lib.sh"

capture_live_sample 'stack locals on a capture of typed_locals' typed_locals
PID=${SAMPLE_PID:-}
R=typed_locals.report
q() { sqlite3 -batch snap.db "$@"; }
TID=$(awk '$1 == "tid" { print $2 }' $R)

test_expect_success 'setup: typed_locals is running, was captured and indexes' '
    test -n "$PID" && grep -qx ready $R && test -n "$TID" && test -s snap.hsnap &&
    $HEAPSNAP index -q snap.hsnap && test -s snap.db
'

# the report's "local ADDR TYPE... NAME FUNC" lines as ADDR|TYPE|SOURCE
awk '$1 == "local" { t = $3; for (i = 4; i < NF - 1; i++) t = t " " $i; print $2 "|" t "|dwarf-local" }' \
    $R | sort >want

test_expect_success 'every block only a typed local holds has the local'"'"'s type, from dwarf-local' '
    test "$(wc -l <want)" = 4 &&
    q "SELECT printf(\"0x%x|%s|%s\", o.addr, t.name, o.type_source) FROM objects o
       JOIN types t ON t.id = o.type_id WHERE o.state = \"used\"" | sort >got.all &&
    join -t"|" -j1 <(cut -d"|" -f1 want) got.all >got &&
    test_cmp want got
'

test_expect_success 'the locals are in stack_vars, in their functions, on the worker thread' '
    awk "\$1 == \"local\" { print \$(NF - 1) \"|\" \$NF }" $R | sort >want.vars &&
    q "SELECT name || \"|\" || func FROM stack_vars WHERE thread = $TID
       AND name IN (\"p\", \"many\", \"sq\", \"counts\")" | sort >got.vars &&
    test_cmp want.vars got.vars &&
    test "$(q "SELECT count(DISTINCT frame) FROM stack_vars WHERE thread = $TID
               AND func IN (\"make_points\", \"hold_shapes\")")" = 2
'

test_expect_success 'each local holds the pointer to its block (stack_vars.addr)' '
    awk "\$1 == \"local\" { print \$2, \$(NF - 1) }" $R | while read a name; do
        test "$($HEAPSNAP sql --csv snap.db "SELECT printf(\"0x%x\", u64(addr)) FROM stack_vars
             WHERE thread = $TID AND name = \"$name\"" | tail -n +2)" = "$a" ||
            { echo "local $name does not hold $a"; exit 1; }
    done
'

test_expect_success 'path names the local that holds a block' '
    a=$(awk "\$1 == \"local\" && \$(NF - 1) == \"p\" { print \$2 }" $R) &&
    $HEAPSNAP path snap.db "$a" >path.out &&
    grep -F -- "--[local p in make_points (thread $TID)]--> $a struct point" path.out
'

test_done
