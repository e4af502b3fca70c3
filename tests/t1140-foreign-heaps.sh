#!/usr/bin/env bash
# t1140-foreign-heaps.sh — never a silent zero: a process whose heap is
# managed by an allocator heapsnap has no walker for is named
# (analyze/heap/recognise.c), indexed as far as it can be (mappings, roots),
# and every analysis refuses it with a message naming the allocator, instead
# of answering "0 leaked of 0 used".
#
#   redis-server    Debian's, linked with libjemalloc.so.2 (named by module)
#   jemalloc_heap   a sample linked with libjemalloc.so.2
#   jemalloc_static the same sample with libjemalloc.a inside (named by symbol)
#   python3         CPython: pymalloc on top of glibc malloc: glibc's heap is
#                   walked, pymalloc's arenas are said to be missing
#   fork_heap       a glibc process: nothing foreign is claimed
. "$(dirname "$0")/lib.sh"

if [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'foreign heaps' 'the capture tool or heapsnap is not built'
    test_done
fi
sq() { sqlite3 -batch "$@"; }
fact() { sq "$1" "SELECT value FROM facts WHERE key = '$2'"; }

# refused DB NAME: every analysis exits 1 (no crash) naming the allocator
refused() {
    for cmd in leaks top rss types; do
        test_must_fail $HEAPSNAP $cmd "$1" >out 2>err &&
        grep "heapsnap $cmd: $1: no analysis is possible: $2 manages this process's heap" err ||
        { echo "$cmd on $1:"; cat out err; return 1; }
    done
}

# ---- redis-server

if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TRASH" \
        --daemonize no >redis.out 2>&1 &
    RPID=$!
    track_pid $RPID
    for i in $(seq 1 600); do
        redis-cli -p "$PORT" ping 2>/dev/null | grep -qx PONG && break
        kill -0 $RPID 2>/dev/null || break
        sleep 0.05
    done
    seq 1 2000 | sed 's/.*/SET key:& value-&-xxxxxxxxxxxxxxxxxxxxxxxx/' | redis-cli -p "$PORT" >/dev/null
    redis-cli -p "$PORT" info memory >info.txt
    "$CAPTURE" -q $RPID -o redis.hsnap >capture.out 2>&1 || true
    kill $RPID

    test_expect_success 'setup: redis-server ran on jemalloc, with keys, and was captured' '
        grep "^mem_allocator:jemalloc-5" info.txt && test -s redis.hsnap
    '
    test_expect_success 'redis: index exits 0, names jemalloc and what is missing' '
        $HEAPSNAP index redis.hsnap -o redis.db >out 2>err &&
        grep "the heap is jemalloc.s, which heapsnap cannot walk" err &&
        test "$(fact redis.db heap.unwalked.jemalloc)" = "libjemalloc.so.2 is loaded" &&
        sq redis.db "SELECT message FROM warnings WHERE source = \"heap\"" |
            grep "^jemalloc manages this process.s heap (libjemalloc.so.2 is loaded)"
    '
    test_expect_success 'redis: mappings and roots are indexed; glibc reports no false damage' '
        test "$(sq redis.db "SELECT count(*) FROM roots")" -gt 100 &&
        test "$(sq redis.db "SELECT count(*) FROM mappings")" -gt 10 &&
        sq redis.db "SELECT message FROM warnings WHERE source = \"glibc\"" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success 'redis: leaks, top, rss and types refuse, naming jemalloc' '
        refused redis.db jemalloc
    '
else
    test_skip 'redis-server on jemalloc' 'redis-server is not installed'
fi

# ---- the jemalloc sample, dynamic and static

for s in jemalloc_heap jemalloc_static; do
    if [ ! -x "$SAMPLES/$s" ]; then
        test_skip "$s" "bin/samples/$s is not built"
        continue
    fi
    start_sample $s || true
    "$CAPTURE" -q "${SAMPLE_PID:-0}" -o $s.hsnap >capture.out 2>&1 || true
    stop_sample
    case $s in
    jemalloc_heap) ev="libjemalloc.so.2 is loaded" ;;
    *) ev="jemalloc_static defines mallctl" ;;
    esac
    test_expect_success "$s: jemalloc named ($ev), and the analyses refuse it" '
        grep -qx ready '$s'.report &&
        $HEAPSNAP index '$s'.hsnap -o '$s'.db >out 2>err &&
        test "$(fact '$s'.db heap.unwalked.jemalloc)" = "'"$ev"'" &&
        refused '$s'.db jemalloc
    '
done

# ---- python3: pymalloc over glibc

PY=/usr/bin/python3
if [ -x $PY ]; then
    $PY -c '
import sys, time
keep = [str(i) * 3 for i in range(50000)]
open(sys.argv[1], "w").write("ready\n")
time.sleep(3600)
' "$TRASH/py.report" >py.out 2>&1 &
    PYPID=$!
    track_pid $PYPID
    wait_line py.report ready $PYPID || true
    "$CAPTURE" -q $PYPID -o py.hsnap >capture.out 2>&1 || true
    kill $PYPID
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

test_done
