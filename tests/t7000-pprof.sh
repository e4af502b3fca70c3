#!/usr/bin/env bash
# t7000-pprof.sh — heapsnap pprof, read back by the real go tool pprof.
#
# samples/go/mprof sets MemProfileRate = 1, allocates from known functions,
# collects garbage and writes its own heap profile with
# runtime/pprof.WriteHeapProfile just before it says ready.  --by alloc
# must equal that profile stack by stack (in-use objects and bytes); the
# live objects it reports must carry their allocation stacks in SQL; the
# retainer and type profiles' totals must be heapsnap's own used heap;
# after SIGUSR1 adds exactly `grow` items, -diff_base must show exactly
# that growth under the global that retains them.  And a glibc heap
# (samples/leaky) gets a retainer profile with the same totals rule.
# Runs for each Go version (tests/run.sh): the runtime hides its own frames
# at a stack's top by name (internal/runtime/ too, later), records the
# allocation from mallocgc itself (1.23 or so), and in 1.27 records object
# counts of the bucket's size and labels every sample with it.
. "$(dirname "$0")/lib.sh"

PPROF=/usr/local/go/bin/go
if [ ! -x "$PPROF" ]; then
    test_skip 'pprof profiles read by go tool pprof' '/usr/local/go/bin/go (the consumer) is not installed'
    test_done
fi
if [ ! -x "$(go_sample mprof)" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'pprof profiles of a Go sample' 'the Go mprof sample or the capture tool is not built'
    test_done
fi
pp() { "$PPROF" tool pprof "$@"; }
# "Showing nodes accounting for X, P% of TOTAL total" -> TOTAL, bytes exact with -unit=B
total() { pp -top "$@" 2>/dev/null | sed -n 's/.* of \([0-9]*\)B* total$/\1/p'; }
json_get() { python3 -c "import json,sys; print(json.load(open('$1'))['$2'])"; }

R=go-mprof.report
rm -f $R
"$(go_sample mprof)" $R runtime.pb.gz items=1000 blobs=50 grow=200 >mprof.out 2>&1 &
PID=$!
track_pid $PID
wait_line $R ready $PID || true
"$CAPTURE" -q "$PID" -o a.hsnap >capture.out 2>&1 || true

test_expect_success 'setup: go-mprof wrote its own heap profile and was captured' '
    grep -qx ready $R && test -s runtime.pb.gz && test -s a.hsnap &&
    $HEAPSNAP index a.hsnap >/dev/null && $HEAPSNAP top --json a.db >top.json
'

test_expect_success 'pprof writes all three profiles, mode 0600, and go tool pprof -top opens each' '
    $HEAPSNAP pprof a.hsnap 2>err && test -s a.pb.gz &&
    $HEAPSNAP pprof --by type a.db -o type.pb.gz &&
    $HEAPSNAP pprof --by alloc a.db -o alloc.pb.gz &&
    for f in a.pb.gz type.pb.gz alloc.pb.gz; do
        test "$(stat -c %a $f)" = 600 &&
        pp -top $f >top-$f.txt 2>&1 && grep -q "flat%" top-$f.txt || exit 1
    done
'

test_expect_success 'go tool pprof totals of the retainer and type profiles equal heapsnap used_bytes and used_count' '
    bytes=$(json_get top.json used_bytes) && count=$(json_get top.json used_count) &&
    for f in a.pb.gz type.pb.gz; do
        test "$(total -unit=B -sample_index=inuse_space $f)" = "$bytes" &&
        test "$(total -sample_index=inuse_objects $f)" = "$count" || exit 1
    done
'

test_expect_success 'the retainer profile puts the items under the global that holds them' '
    pp -traces a.pb.gz >traces.txt 2>&1 &&
    grep -A2 "main.Item via \[\]" traces.txt | grep -q "global main.cache" &&
    n=$(report_get $R items) && size=$(report_get $R item_size) &&
    pp -top -cum -unit=B -sample_index=inuse_space a.pb.gz 2>/dev/null | grep "main.Item via \[\]$" >items.txt &&
    awk -v want=$((n * size))B "{ if (\$1 == want) ok = 1 } END { exit !ok }" items.txt
'

cat >cmp.py <<'PY'
# the samples of two profiles, as go tool pprof -traces prints them, equal
# stack by stack for in-use objects and bytes (samples of 0 left out: the
# runtime's profile was written a moment before the capture, and the
# buckets made since hold nothing published)
import subprocess, sys
def traces(f, idx):
    out = subprocess.run(['/usr/local/go/bin/go', 'tool', 'pprof', '-traces', '-unit=B', '-sample_index=' + idx, f],
                         capture_output=True, text=True, check=True).stdout
    res, cur = [], None
    for line in out.splitlines() + ['-----------+']:
        if line.startswith('-----------+'):
            # a sample's label lines ("bytes:  16B") come before the line
            # with its value and first frame
            labels = [l.strip() for l in (cur or []) if l.split() and l.split()[0].endswith(':')]
            rest = [l for l in (cur or []) if not (l.split() and l.split()[0].endswith(':'))]
            if rest and rest[0].split()[0] not in ('0', '0B'):
                val, first = rest[0].split(None, 1)
                res.append(tuple(labels) + (val, first.strip()) + tuple(l.strip() for l in rest[1:]))
            cur = []
        elif cur is not None:
            cur.append(line)
    return sorted(res)
bad = 0
for idx in ('inuse_objects', 'inuse_space'):
    a, b = traces(sys.argv[1], idx), traces(sys.argv[2], idx)
    print(idx, len(a), len(b))
    if a != b or not a:
        bad = 1
        print('only in', sys.argv[1], sorted(set(a) - set(b))[:5])
        print('only in', sys.argv[2], sorted(set(b) - set(a))[:5])
sys.exit(bad)
PY

test_expect_success '--by alloc equals the runtime WriteHeapProfile stack by stack (in-use objects and bytes)' '
    python3 cmp.py runtime.pb.gz alloc.pb.gz
'

test_expect_success '--by alloc totals equal the runtime profile totals' '
    test "$(total -unit=B -sample_index=inuse_space alloc.pb.gz)" = "$(total -unit=B -sample_index=inuse_space runtime.pb.gz)" &&
    test "$(total -sample_index=alloc_objects alloc.pb.gz)" = "$(total -sample_index=alloc_objects runtime.pb.gz)"
'

stack_of() {
    $HEAPSNAP sql --csv a.db "SELECT f.func FROM go_alloc_objects a JOIN go_mprof_stacks s ON s.bucket = a.bucket
        JOIN go_mprof_frames f ON f.pc = s.pc WHERE a.addr = $1 AND s.shown_depth IS NOT NULL
        ORDER BY s.depth" | tail -n +2 | head -2 | tr '\n' ' '
}
test_expect_success 'known live objects carry their known allocation stacks (go_alloc_objects)' '
    test "$(stack_of $(report_get $R item))" = "main.makeItems main.main " &&
    test "$(stack_of $(report_get $R blob))" = "main.makeBlobs main.main " &&
    n=$($HEAPSNAP sql --csv a.db "SELECT count(*) FROM go_alloc_objects a JOIN objects o ON o.addr = a.addr
        JOIN go_mprof_stacks s ON s.bucket = a.bucket AND s.shown_depth = 0 JOIN go_mprof_frames f ON f.pc = s.pc
        WHERE f.func = '"'"'main.makeItems'"'"' AND o.state = '"'"'used'"'"'" | tail -1) &&
    test "$n" = "$(report_get $R items)"
'

test_expect_success 'go tool pprof -traces, -proto and -http open every profile' '
    for f in a.pb.gz type.pb.gz alloc.pb.gz; do
        pp -traces $f >tr.txt 2>&1 && grep -q "^-----------+" tr.txt &&
        pp -proto $f >re.pb.gz 2>/dev/null && pp -top re.pb.gz >/dev/null 2>&1 || exit 1
    done
    port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")
    pp -no_browser -http=127.0.0.1:$port a.pb.gz >http.log 2>&1 &
    hp=$!
    track_pid $hp
    ok=0 && for i in $(seq 600); do
        if curl -sf "http://127.0.0.1:$port/ui/flamegraph" >flame.html 2>/dev/null; then ok=1; break; fi
        kill -0 $hp 2>/dev/null || break; sleep 0.05
    done &&
    curl -sf "http://127.0.0.1:$port/ui/top" >top.html &&
    kill $hp && test $ok = 1 && grep -q "global main.cache" top.html
'

kill -USR1 $PID 2>/dev/null
wait_line $R "grown 200" $PID && wait_line $R ready $PID || true
# the second "ready" line follows "grown": wait for the report's last line
for i in $(seq 600); do [ "$(tail -1 $R)" = ready ] && grep -q "^grown" $R && break; sleep 0.05; done
"$CAPTURE" -q "$PID" -o b.hsnap >capture-b.out 2>&1 || true

# The grown items are b's main.Item objects with a negative ID (200).  The
# growth under main.cache is what the slice's backing array alone holds in
# b less in a (an item that a stack slot still points to as well is held by
# "several roots" instead).
grown() {
    $HEAPSNAP sql --csv b.db "SELECT o.id, field(o.id, 'ID') FROM objects o JOIN types t ON t.id = o.type_id
        WHERE t.name = 'main.Item' AND o.state = 'used'" | tail -n +2 | awk -F, '$2 < 0' | wc -l
}
alone() {
    sqlite3 $1 "SELECT count(*) FROM analysis n JOIN objects o ON o.id = n.id JOIN types t ON t.id = o.type_id
        WHERE t.name = 'main.Item' AND n.idom = (SELECT o.id FROM objects o JOIN types t ON t.id = o.type_id
        WHERE t.name = '*main.Item' ORDER BY o.size DESC LIMIT 1)"
}
test_expect_success 'pprof -diff_base shows the known growth under its retainer' '
    test -s b.hsnap && $HEAPSNAP pprof b.hsnap -o b.pb.gz 2>/dev/null &&
    size=$(report_get $R item_size) && test "$(grown)" = 200 &&
    n=$(( $(alone b.db) - $(alone a.db) )) && test "$n" -ge 196 && test "$n" -le 204 &&
    pp -top -cum -diff_base a.pb.gz -sample_index=inuse_objects b.pb.gz >d-obj.txt 2>&1 &&
    pp -top -cum -unit=B -diff_base a.pb.gz -sample_index=inuse_space b.pb.gz >d-bytes.txt 2>&1 &&
    grep "global main.cache$" d-obj.txt | awk -v want=$n "{ exit !(\$4 == want) }" &&
    grep "global main.cache$" d-bytes.txt | awk -v want=$((n * size))B "{ exit !(\$4 == want) }" &&
    grep "main.Item via \[\]$" d-obj.txt | awk -v want=$n "{ exit !(\$1 == want) }" ||
    { echo "expected $n"; tail -3 $R; grep -E "main.cache|main.Item" d-obj.txt d-bytes.txt; false; }
'

test_expect_success 'pprof never overwrites a file it did not write, and replaces its own' '
    echo "my notes" >notes.pb.gz &&
    test_must_fail $HEAPSNAP pprof a.db -o notes.pb.gz 2>err &&
    grep "not written by heapsnap" err && test "$(cat notes.pb.gz)" = "my notes" &&
    $HEAPSNAP pprof a.db -o a.pb.gz 2>/dev/null && pp -top a.pb.gz >/dev/null 2>&1 &&
    test_must_fail $HEAPSNAP pprof --by nonsense a.db 2>err && grep "retainer, type or alloc" err
'
stop_sample $PID

if [ -x "$SAMPLES/leaky" ]; then
    start_sample leaky || true
    "$CAPTURE" -q "${SAMPLE_PID:-0}" -o leaky.hsnap >capture-l.out 2>&1 || true
    stop_sample
    test_expect_success 'a glibc heap: retainer profile totals equal used_bytes, --by alloc is refused with a reason' '
        $HEAPSNAP pprof leaky.hsnap 2>/dev/null && $HEAPSNAP top --json leaky.db >ltop.json &&
        test "$(total -unit=B -sample_index=inuse_space leaky.pb.gz)" = "$(json_get ltop.json used_bytes)" &&
        pp -traces leaky.pb.gz 2>/dev/null | grep -q "global g_keep" &&
        test_must_fail $HEAPSNAP pprof --by alloc leaky.db -o x.pb.gz 2>err && grep "for Go programs" err &&
        test ! -e x.pb.gz
    '
else
    test_skip 'a glibc heap retainer profile' 'bin/samples/leaky is not built'
fi

test_done
