#!/usr/bin/env bash
# t3000-foreign-heaps.sh — never a silent zero: a process whose heap is
# managed by an allocator heapsnap has no walker for is named
# (analyze/heap/recognise.c), indexed as far as it can be (mappings, roots),
# and every analysis refuses it with a message naming the allocator, instead
# of answering "0 leaked of 0 used".
#
#   redis-server    Debian's, on libjemalloc.so.2, captured with --redact: the
#                   jemalloc walker (t3200) has nothing to read and says so
#   python3         CPython: pymalloc on top of glibc malloc: glibc's heap is
#                   walked, pymalloc's arenas are said to be missing
#   fork_heap       a glibc process: nothing foreign is claimed; and the same
#                   snapshot with its modules renamed libmimalloc, ld-musl
#                   (allocators not installed here), and libtcmalloc_minimal
#                   (a walker that finds none of tcmalloc's state)
. "$(dirname "$0")/lib.sh"

if [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'foreign heaps' 'the capture tool or heapsnap is not built'
    test_done
fi
sq() { sqlite3 -batch "$@"; }
fact() { sq "$1" "SELECT value FROM facts WHERE key = '$2'"; }

# ---- redis-server, captured with --redact: jemalloc is walked elsewhere
# (t3200), but not without its metadata, and then it must say so

if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    start_redis 2000 || true
    redis-cli -p "$PORT" info memory >info.txt
    "$CAPTURE" -q --redact $RPID -o redis.hsnap >capture.out 2>&1 || true
    kill $RPID

    test_expect_success 'setup: redis-server ran on jemalloc, with keys, and was captured redacted' '
        grep "^mem_allocator:jemalloc-5" info.txt && test -s redis.hsnap
    '
    test_expect_success 'redis, redacted: index exits 0 and says jemalloc could not be walked' '
        $HEAPSNAP index redis.hsnap -o redis.db >out 2>err &&
        grep "(jemalloc)\$" out &&
        sq redis.db "SELECT message FROM warnings WHERE source = \"jemalloc\"" >w &&
        grep "^jemalloc: the snapshot is redacted" w &&
        grep "^jemalloc was detected but its heap could not be walked" w
    '
    test_expect_success 'redis, redacted: mappings and roots are indexed; glibc reports no false damage' '
        test "$(sq redis.db "SELECT count(*) FROM roots")" -gt 100 &&
        test "$(sq redis.db "SELECT count(*) FROM mappings")" -gt 10 &&
        sq redis.db "SELECT message FROM warnings WHERE source = \"glibc\"" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success 'redis, redacted: leaks, top, rss and types refuse, naming jemalloc' '
        for cmd in leaks top rss types; do
            test_must_fail $HEAPSNAP $cmd redis.db >out 2>err &&
            grep "heapsnap $cmd: redis.db: no analysis is possible: jemalloc was detected but its heap could not be walked" err ||
            { echo "$cmd:"; cat out err; exit 1; }
        done
    '
else
    test_skip 'redis-server on jemalloc' 'redis-server is not installed'
fi

# ---- python3: pymalloc over glibc

PY=/usr/bin/python3
if [ -x $PY ]; then
    capture_python py.hsnap '
import sys, time
keep = [str(i) * 3 for i in range(50000)]
open(sys.argv[1], "w").write("ready\n")
time.sleep(3600)
'
    test_expect_success 'python3: glibc walked, pymalloc named as not walked; leaks answers with a warning' '
        $HEAPSNAP index py.hsnap -o py.db >out 2>err &&
        grep "(glibc)\$" out &&
        fact py.db heap.unwalked.pymalloc | grep "defines PyObject_Malloc" &&
        test -z "$(fact py.db heap.unwalked.jemalloc)" &&
        $HEAPSNAP leaks py.db >out 2>err &&
        grep "CPython.s pymalloc .* keeps small objects in arenas of its own" err
    '
else
    test_skip 'python3 and pymalloc' "$PY is not installed"
fi

# ---- a plain glibc process

if [ -x "$SAMPLES/fork_heap" ]; then
    start_sample fork_heap || true
    child=$(report_get fork_heap.report pid)
    test -n "$child" && track_pid "$child"
    "$CAPTURE" -q "${child:-0}" -o glibc.hsnap >capture.out 2>&1 || true
    stop_sample
    test_expect_success 'a glibc process: no allocator is claimed that is not there' '
        $HEAPSNAP index glibc.hsnap -o glibc.db >out 2>err &&
        test "$(sq glibc.db "SELECT count(*) FROM facts WHERE key LIKE \"heap.unwalked.%\"")" = 0 &&
        ! grep "cannot walk" err &&
        $HEAPSNAP leaks glibc.db >out 2>err && test ! -s err
    '
fi

# ---- allocators not installed here, named by their modules: the glibc
# snapshot with every module renamed (tests/tools/hsnap-mutate --module-path)

MUTATE=$ROOT/build/tools/hsnap-mutate
if [ -x "$MUTATE" ] && [ -s glibc.hsnap ]; then
    test_expect_success 'mimalloc and musl are named by their modules, and refused' '
        for m in "mimalloc:/usr/lib/x86_64-linux-gnu/libmimalloc.so.2:mimalloc" \
                 "musl:/lib/ld-musl-x86_64.so.1:musl.s malloc"; do
            name=${m%%:*} rest=${m#*:}; path=${rest%%:*} what=${rest#*:}
            "$MUTATE" glibc.hsnap $name.hsnap 1 --module-path "$path" >/dev/null &&
            $HEAPSNAP index $name.hsnap -o $name.db >out 2>err &&
            test "$(fact $name.db heap.unwalked.$name)" = "${path##*/} is loaded" &&
            test_must_fail $HEAPSNAP leaks $name.db >out 2>err &&
            grep "no analysis is possible: $what manages this process.s heap (${path##*/} is loaded)" err ||
            { echo "$name:"; cat err; exit 1; }
        done
    '
    # tcmalloc has a walker (t3300): a module named libtcmalloc with none of
    # tcmalloc's state is walked, fails, and the analyses refuse, naming it
    test_expect_success 'a libtcmalloc without tcmalloc'"'"'s state: the walk fails, and the analyses refuse' '
        "$MUTATE" glibc.hsnap tcmalloc.hsnap 1 \
            --module-path /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 >/dev/null &&
        $HEAPSNAP index tcmalloc.hsnap -o tcmalloc.db >out 2>err &&
        grep "(tcmalloc)\$" out &&
        test_must_fail $HEAPSNAP leaks tcmalloc.db >out 2>err &&
        grep "no analysis is possible: tcmalloc was detected but its heap could not be walked: tcmalloc: " err
    '
fi

test_done
