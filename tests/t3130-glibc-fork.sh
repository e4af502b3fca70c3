#!/usr/bin/env bash
# t3130-glibc-fork.sh — prefork heaps: a forked child whose brk heap grew
# after the fork has it in two mappings (the kernel cannot merge memory
# shared with the parent with memory that is the child's own), and the
# glibc walker must take the heap's extent from main_arena, not from the
# mapping named [heap].
#
# Two processes, each checked against glibc's own account of the same
# frozen process:
#   - samples/fork_heap: the child reports every block it holds and
#     mallinfo2() (as samples/glibc_heap does; see t3100 for how the totals
#     compare);
#   - real nginx, a master and 2 workers on a loopback port, its config
#     written here, with build/tools/mallinfo-preload.so reporting
#     mallinfo2() and a plain chunk walk of the main heap when signalled.
#     A worker is idle in epoll_wait and does not allocate; the report is
#     asked for before and after the capture, and the two must be the same.
. "$(dirname "$0")/lib.sh"

PRELOAD=$ROOT/build/tools/mallinfo-preload.so

if [ ! -x "$SAMPLES/fork_heap" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'forked heaps' 'bin/samples/fork_heap, the capture tool or heapsnap is not built'
    test_done
fi

# mallinfo REPORT FIELD: a figure of the report's mallinfo line.
mallinfo() { awk -v f="$2" '$1 == "mallinfo" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' "$1"; }
# brkline REPORT FIELD: a figure of mallinfo-preload's brk line.
brkline() { awk -v f="$2" '$1 == "brk" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' "$1"; }
# heaps PID: how many mappings of PID are named [heap].
heaps() { grep -c '\[heap\]$' "/proc/$1/maps"; }
sq() { sqlite3 -batch "$@"; }

# ---- the sample

rm -f fork_heap.report
start_sample fork_heap || true
CHILD=$(report_get fork_heap.report pid)
test -n "$CHILD" && track_pid "$CHILD"
NHEAPS=$(heaps "${CHILD:-0}" 2>/dev/null || echo 0)
"$CAPTURE" -q "${CHILD:-0}" -o child.hsnap >capture.out 2>&1 || true
stop_sample
report_truth fork_heap.report truth.db 2>/dev/null || true

test_expect_success 'setup: the forked child grew its heap into a second mapping, and was captured' '
    grep -qx ready fork_heap.report && test -s child.hsnap &&
    test "$NHEAPS" -ge 2 &&
    test "$(sq truth.db "SELECT count(*) FROM live")" -gt 5000
'

for dbg in dbg nodbg; do
    opt=; [ $dbg = nodbg ] && opt=--no-separate-debug
    test_expect_success "child ($dbg): index walks the whole heap, extent from main_arena, no glibc warning" '
        $HEAPSNAP index $opt child.hsnap -o child-'$dbg'.db >out 2>err &&
        grep "(glibc)\$" out &&
        sq child-'$dbg'.db "SELECT value FROM facts WHERE key = \"glibc.brk_heap\"" | grep "(main_arena)\$" &&
        sq child-'$dbg'.db "SELECT message FROM warnings WHERE source = \"glibc\"" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success "child ($dbg): every live block is used at its address and usable size; nothing freed is" '
        sq child-'$dbg'.db "ATTACH \"truth.db\" AS t;
            SELECT printf(\"0x%x want %d got %s %s\", l.addr, l.usable, o.size, o.state)
            FROM t.live l LEFT JOIN objects o ON o.addr = l.addr
            WHERE o.id IS NULL OR o.state <> \"used\" OR o.size <> l.usable
            UNION ALL
            SELECT printf(\"freed 0x%x is used\", f.addr) FROM t.freed f
            JOIN objects o ON o.addr = f.addr WHERE o.state = \"used\"" >bad &&
        test_cmp /dev/null bad &&
        test "$(sq child-'$dbg'.db "SELECT count(*) FROM objects WHERE state = \"used\"
                                    AND \"where\" <> \"malloc-internal\"")" = \
             "$(sq truth.db "SELECT count(*) FROM live")"
    '
    test_expect_success "child ($dbg): free and used bytes are mallinfo2 fordblks and uordblks + hblkhd" '
        test "$(sq child-'$dbg'.db "SELECT sum(chunk_size) FROM objects
                                    WHERE state = \"free\" AND \"where\" <> \"tcache\"")" = \
             "$(mallinfo fork_heap.report fordblks)" &&
        test "$(sq child-'$dbg'.db "SELECT (SELECT sum(chunk_size) FROM objects
                                            WHERE state = \"used\" OR \"where\" = \"tcache\")
                                    + (SELECT value FROM facts WHERE key = \"glibc.overhead_bytes\")")" = \
             "$(( $(mallinfo fork_heap.report uordblks) + $(mallinfo fork_heap.report hblkhd) ))" &&
        test "$(sq child-'$dbg'.db "SELECT sum(\"end\" - start) FROM regions WHERE kind = \"main-arena\"")" = \
             "$(mallinfo fork_heap.report arena)"
    '
done

test_expect_success 'child: heapsnap leaks finds no leak in a program that does not leak' '
    $HEAPSNAP leaks child-dbg.db >out &&
    grep "^child-dbg.db: 0 leaked objects" out
'

# ---- nginx

if ! command -v nginx >/dev/null || [ ! -f "$PRELOAD" ]; then
    test_skip 'nginx master and workers' 'nginx or build/tools/mallinfo-preload.so is missing'
    test_done
fi

NG=$TRASH/nginx
mkdir -p "$NG"
MI=$(shared_dir) # the workers run as another user
PORT=$(free_port)
cat >"$NG/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
pid $NG/nginx.pid;
error_log $NG/error.log;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $NG/body;
    proxy_temp_path $NG/proxy;
    fastcgi_temp_path $NG/fastcgi;
    uwsgi_temp_path $NG/uwsgi;
    scgi_temp_path $NG/scgi;
    server { listen 127.0.0.1:$PORT; location / { return 200 "ok\n"; } }
}
EOF
MALLINFO_DIR=$MI LD_PRELOAD=$PRELOAD nginx -p "$NG" -c "$NG/nginx.conf" >"$NG/out" 2>&1 &
MASTER=$!
track_pid $MASTER

# workers: the master's children, once both exist
WORKERS=
for i in $(seq 1 600); do
    WORKERS=$(pgrep -P $MASTER | sort -n | tr '\n' ' ')
    [ "$(echo $WORKERS | wc -w)" = 2 ] && break
    kill -0 $MASTER 2>/dev/null || break
    sleep 0.05
done
for i in 1 2 3 4 5 6 7 8 9 10; do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/').read()" 2>/dev/null || true
done

# ask PID for its report; wait until it is there; keep it as FILE
ask_report() {
    rm -f "$MI/mallinfo.$1"
    kill -s SIGRTMIN+7 "$1" && wait_line "$MI/mallinfo.$1" ready "$1" && cp "$MI/mallinfo.$1" "$2"
}
for w in $WORKERS; do
    ask_report $w before.$w || true
    echo $(heaps $w) >nheaps.$w 2>/dev/null || true
    "$CAPTURE" -q $w -o worker.$w.hsnap >capture.$w 2>&1 || true
    ask_report $w after.$w || true
done

test_expect_success 'setup: nginx runs 2 workers, each captured between two equal reports' '
    test "$(echo $WORKERS | wc -w)" = 2 &&
    for w in $WORKERS; do
        test -s worker.$w.hsnap && grep -qx ready before.$w && test_cmp before.$w after.$w || exit 1
    done
'

test_expect_success 'setup: the workers heaps are split in two mappings, as after any fork' '
    for w in $WORKERS; do test "$(cat nheaps.$w)" -ge 2 || exit 1; done
'

for w in $WORKERS; do
    test_expect_success "nginx worker: index walks every chunk of the split heap, no glibc warning" '
        $HEAPSNAP index worker.'$w'.hsnap -o w'$w'.db >out 2>err &&
        sq w'$w'.db "SELECT value FROM facts WHERE key = \"glibc.brk_heap\"" >ext &&
        grep "(main_arena)\$" ext &&
        grep "^$(brkline before.'$w' lo)-$(brkline before.'$w' hi) " ext &&
        sq w'$w'.db "SELECT message FROM warnings WHERE source = \"glibc\"" >bad &&
        test_cmp /dev/null bad
    '
    test_expect_success "nginx worker: objects exact (the plain chunk walk, mallinfo2 counts)" '
        # every chunk but top; those with PREV_INUSE set after them
        test "$(sq w'$w'.db "SELECT count(*) FROM objects WHERE arena = 0 AND \"where\" <> \"top\"")" = \
             "$(brkline before.'$w' chunks)" &&
        test "$(sq w'$w'.db "SELECT count(*) FROM objects WHERE arena = 0
                             AND (state = \"used\" OR \"where\" IN (\"tcache\", \"fastbin\"))")" = \
             "$(brkline before.'$w' inuse)" &&
        # ordblks: bins + top; smblks: fastbins; hblks: mmapped
        test "$(sq w'$w'.db "SELECT count(*) FROM objects WHERE state = \"free\"
                             AND \"where\" NOT IN (\"tcache\", \"fastbin\")")" = "$(mallinfo before.'$w' ordblks)" &&
        test "$(sq w'$w'.db "SELECT count(*) FROM objects WHERE \"where\" = \"fastbin\"")" = "$(mallinfo before.'$w' smblks)" &&
        test "$(sq w'$w'.db "SELECT count(*) FROM objects WHERE \"where\" = \"mmapped\"")" = "$(mallinfo before.'$w' hblks)"
    '
    test_expect_success "nginx worker: used and free bytes are mallinfo2 uordblks + hblkhd and fordblks" '
        test "$(sq w'$w'.db "SELECT sum(chunk_size) FROM objects
                             WHERE state = \"free\" AND \"where\" <> \"tcache\"")" = \
             "$(mallinfo before.'$w' fordblks)" &&
        test "$(sq w'$w'.db "SELECT (SELECT sum(chunk_size) FROM objects
                                     WHERE state = \"used\" OR \"where\" = \"tcache\")
                             + (SELECT value FROM facts WHERE key = \"glibc.overhead_bytes\")")" = \
             "$(( $(mallinfo before.'$w' uordblks) + $(mallinfo before.'$w' hblkhd) ))"
    '
    test_expect_success "nginx worker: no leak (free tcache chunks are free, not lost)" '
        $HEAPSNAP leaks --json w'$w'.db >leaks.json &&
        python3 -c "import json, sys; sys.exit(json.load(open(\"leaks.json\"))[\"leaked_count\"] != 0)"
    '
done

kill $MASTER 2>/dev/null
test_done
