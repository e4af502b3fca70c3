#!/usr/bin/env bash
# t3135-glibc-memcached.sh — glibc's heap of a real multi-threaded server
# nobody here wrote: Debian's memcached, on a loopback port, with K keys
# stored through its text protocol.  Its own accounting is the oracle:
# build/tools/mallinfo-preload.so, loaded into it, writes glibc's
# mallinfo2() on SIGRTMIN+7 while every thread is idle in epoll_wait; the
# capture is taken between two such reports that agree.  Checked: the walk
# meets no damage, its free bytes are fordblks, its used bytes uordblks +
# hblkhd, its mmapped chunks hblks, every arena mallinfo2 counted is
# walked, and nothing memcached keeps is called leaked.
. "$(dirname "$0")/lib.sh"

PRELOAD=$ROOT/build/tools/mallinfo-preload.so
if ! command -v memcached >/dev/null || [ ! -f "$PRELOAD" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'memcached on glibc' 'memcached, build/tools/mallinfo-preload.so or the capture tool is missing'
    test_done
fi
K=${MEMCACHED_KEYS:-50000}

mallinfo() { awk -v f="$2" '$1 == "mallinfo" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' "$1"; }
sq() { sqlite3 -batch "$@"; }

MI=$(shared_dir)
PORT=$(free_port)
MALLINFO_DIR=$MI LD_PRELOAD=$PRELOAD memcached -l 127.0.0.1 -p "$PORT" -U 0 -m 256 -t 4 -u root \
    >"$TRASH/memcached.out" 2>&1 &
MC=$!
track_pid $MC

# K keys, pipelined, then a count of the STORED replies; stats curr_items.
python3 - "$PORT" "$K" >load.out 2>&1 <<'PY'
import socket, sys, time
port, k = int(sys.argv[1]), int(sys.argv[2])
for _ in range(600):
    try:
        s = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.05)
val = b"v" * 100
buf = b"".join(b"set key:%d 0 0 %d\r\n%s\r\n" % (i, len(val), val) for i in range(k))
s.sendall(buf)
got = b""
while got.count(b"STORED\r\n") < k:
    d = s.recv(1 << 20)
    if not d:
        break
    got += d
s.sendall(b"stats\r\n")
st = b""
while not st.endswith(b"END\r\n"):
    st += s.recv(1 << 16)
s.close()
print("stored", got.count(b"STORED\r\n"))
for line in st.decode().splitlines():
    if line.startswith("STAT curr_items "):
        print("curr_items", line.split()[2])
PY

ask_report() {
    rm -f "$MI/mallinfo.$MC"
    kill -s SIGRTMIN+7 $MC && wait_line "$MI/mallinfo.$MC" ready $MC && cp "$MI/mallinfo.$MC" "$1"
}
for try in 1 2 3 4 5; do
    sleep 0.2 # the connection above is closed and its buffers freed
    ask_report before || true
    "$CAPTURE" -q $MC -o mc.hsnap >capture.out 2>&1 || true
    ask_report after || true
    cmp -s before after && break
done

test_expect_success 'setup: memcached stored K keys and was captured between two equal reports' '
    grep -x "stored $K" load.out && grep -x "curr_items $K" load.out &&
    test -s mc.hsnap && grep -qx ready before && test_cmp before after
'

test_expect_success 'memcached: index walks glibc with no warning, every arena mallinfo2 counted' '
    $HEAPSNAP index mc.hsnap -o mc.db >out 2>err &&
    grep "(glibc)\$" out &&
    sq mc.db "SELECT message FROM warnings WHERE source IN (\"glibc\", \"heap\")" >bad &&
    test_cmp /dev/null bad &&
    test "$(sq mc.db "SELECT count(DISTINCT arena) FROM objects WHERE \"where\" <> \"mmapped\"")" -ge 2
'

test_expect_success 'memcached: free bytes are fordblks, used bytes uordblks + hblkhd, mmapped chunks hblks' '
    test "$(sq mc.db "SELECT sum(chunk_size) FROM objects WHERE state = \"free\" AND \"where\" <> \"tcache\"")" = \
         "$(mallinfo before fordblks)" &&
    test "$(sq mc.db "SELECT (SELECT sum(chunk_size) FROM objects WHERE state = \"used\" OR \"where\" = \"tcache\")
                     + (SELECT value FROM facts WHERE key = \"glibc.overhead_bytes\")")" = \
         "$(( $(mallinfo before uordblks) + $(mallinfo before hblkhd) ))" &&
    test "$(sq mc.db "SELECT count(*) FROM objects WHERE \"where\" = \"mmapped\"")" = "$(mallinfo before hblks)" &&
    test "$(sq mc.db "SELECT count(*) FROM objects WHERE \"where\" = \"fastbin\"")" = "$(mallinfo before smblks)"
'

test_expect_success 'memcached: no leak in a server that keeps what it allocated' '
    $HEAPSNAP leaks --json mc.db >leaks.json &&
    python3 -c "import json, sys; d = json.load(open(\"leaks.json\")); print(d[\"leaked_count\"]); sys.exit(d[\"leaked_count\"] != 0)"
'

kill $MC 2>/dev/null
test_done
