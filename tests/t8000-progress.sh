#!/usr/bin/env bash
# t8000-progress.sh — the progress line (base/progress.c, drawn by cli.c):
# on a terminal, each long phase of index and of the analyses is drawn on
# one line with how far through it is and the time left, and cleared at the
# end; with stderr a file, or with --quiet, nothing at all is written.
#
# stderr is put on a pseudo-terminal by tests/tools/ptyrun.py.  What is
# drawn must not depend on the machine's speed: HEAPSNAP_PROGRESS_DELAY=0
# shows every phase from its start and draws every report (by default a
# phase shows only once it has run a second, redrawn 4 times a second), and
# a delay of an hour shows nothing, whatever the load.
. "$(dirname "$0")/lib.sh"

PTY="python3 $TESTS_DIR/tools/ptyrun.py"

if [ ! -x "$SAMPLES/bench_heap" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'the progress line' 'bin/samples/bench_heap or the capture tool is not built'
    test_done
fi

# 200,000 objects of 3 pointers: every phase reports a few times (each
# reports every 65,536 items), the dominator tree included.
start_sample bench_heap 200000 || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o snap.hsnap >capture.out 2>&1 || true
stop_sample

# lines FILE: the terminal's bytes split at \r, one drawn line per line,
# the erase-line escape removed.
lines() { tr '\r' '\n' <"$1" | sed 's/\x1b\[K//g' | grep -v '^$'; }

test_expect_success 'setup: bench_heap of 200,000 objects was captured' '
    test -s snap.hsnap
'

test_expect_success 'index on a terminal: every long phase is drawn, with how far and the time left' '
    HEAPSNAP_PROGRESS_DELAY=0 $PTY tty -- $HEAPSNAP index snap.hsnap -o a.db >out &&
    grep "^a.db: 200002 objects" out &&
    lines tty >drawn &&
    grep "^walking the heap (objects found): 131072 so far, " drawn &&
    grep "^typing objects: " drawn &&
    grep -E "^storing objects: [0-9]+/200002 \([0-9]+%\), .* left$" drawn &&
    grep -E "^scanning references: [0-9]+/200002 \([0-9]+%\), .* left$" drawn &&
    grep -E "^storing references: [0-9]+/600002 \([0-9]+%\), .* left$" drawn &&
    grep -E "^storing the dominator tree: [0-9]+/[0-9]+ \([0-9]+%\), .* left$" drawn &&
    grep "^committing: " drawn &&
    grep "^writing the tables: " drawn
'

test_expect_success 'index on a terminal: each line overwrites the last, and the last is cleared' '
    # every piece the terminal got starts with \r and the erase-line escape
    tr "\r" "\n" <tty | sed 1d | grep -v "^$(printf "\033")\[K" >bad;
    test_must_fail test -s bad &&
    test "$(tail -c 4 tty | od -An -c | tr -d " ")" = "\r033[K"
'

test_expect_success 'index on a terminal with stdout there too: the summary comes after the line is cleared' '
    rm -f a.db &&
    HEAPSNAP_PROGRESS_DELAY=0 $PTY tty --all -- $HEAPSNAP index snap.hsnap -o a.db &&
    grep -a "a.db: 200002 objects" tty &&
    lines tty | grep -B1 "^a.db: 200002 objects" | head -1 | grep "^writing the tables: " &&
    python3 -c "import sys; d = open(\"tty\", \"rb\").read(); i = d.index(b\"a.db: 200002\"); sys.exit(d[i-3:i] != b\"\x1b[K\")"
'

test_expect_success 'with stderr a file, index writes nothing there' '
    rm -f a.db &&
    HEAPSNAP_PROGRESS_DELAY=0 $HEAPSNAP index snap.hsnap -o a.db >out 2>err &&
    grep "^a.db: 200002 objects" out &&
    test_must_fail test -s err
'

test_expect_success 'index --quiet on a terminal draws nothing' '
    rm -f a.db &&
    HEAPSNAP_PROGRESS_DELAY=0 $PTY tty -- $HEAPSNAP index --quiet snap.hsnap -o a.db >out &&
    test -s a.db &&
    test_must_fail test -s tty &&
    test_must_fail test -s out
'

test_expect_success 'a phase shorter than the delay is never drawn' '
    rm -f a.db &&
    HEAPSNAP_PROGRESS_DELAY=3600000 $PTY tty -- $HEAPSNAP index snap.hsnap -o a.db >out &&
    grep "^a.db: 200002 objects" out &&
    test_must_fail test -s tty
'

# the index stored the dominator tree; a copy without it has leaks compute it
test_expect_success 'leaks on a terminal: loading, the dominator tree (with counts) and storing results' '
    cp a.db c.db && sqlite3 c.db "DELETE FROM analysis_done" &&
    HEAPSNAP_PROGRESS_DELAY=0 $PTY tty -- $HEAPSNAP leaks c.db >out.c &&
    sed "s/c\.db/a.db/g" out.c >out &&
    grep "^a.db: 0 leaked objects" out &&
    lines tty >drawn &&
    grep -E "^loading references: [0-9]+/600002 \([0-9]+%\), .* left$" drawn &&
    grep -E "^dominator tree: [0-9]+/[0-9]+ \([0-9]+%\), .* left$" drawn &&
    grep -E "^storing results: [0-9]+/[0-9]+ " drawn &&
    test "$(tail -c 4 tty | od -An -c | tr -d " ")" = "\r033[K"
'

test_expect_success 'leaks with stderr a file: the same answer, nothing on stderr' '
    HEAPSNAP_PROGRESS_DELAY=0 $HEAPSNAP leaks a.db >out2 2>err &&
    test_cmp out out2 &&
    test_must_fail test -s err
'

# top computes on copies with nothing stored: a second top would print the
# first one's answer without loading anything (analysis/answers.c), and
# with the dominators stored it reads them back without the references
test_expect_success 'top on a terminal: its phases drawn, its answer unchanged' '
    for d in t1 t2; do
        cp a.db $d.db && sqlite3 $d.db "DELETE FROM analysis_done" || exit 1
    done &&
    $HEAPSNAP top t1.db >want 2>err &&
    test_must_fail test -s err &&
    HEAPSNAP_PROGRESS_DELAY=0 $PTY tty -- $HEAPSNAP top t2.db >out &&
    sed "s/t2\.db/t1.db/g" out >out.renamed && test_cmp want out.renamed &&
    lines tty | grep -E "^loading references: [0-9]+/[0-9]+ "
'

test_expect_success 'diff on a terminal: matching the objects of the two snapshots is drawn' '
    cp a.db b.db &&
    HEAPSNAP_PROGRESS_DELAY=0 $PTY tty -- $HEAPSNAP diff a.db b.db >out &&
    lines tty | grep -E "^matching objects: [0-9]+/200002 " &&
    HEAPSNAP_PROGRESS_DELAY=0 $HEAPSNAP diff a.db b.db >out2 2>err &&
    test_cmp out out2 &&
    test_must_fail test -s err
'

test_done
