#!/usr/bin/env bash
# t7200-report.sh — heapsnap report's HTML page, in a real browser: Debian's
# chromium driven by playwright-core (tests/tools/report-check.js, both
# installed by the Makefile).  The page must load from disk with no console
# error and no request for anything but itself; the figures it shows must
# equal what top, leaks, rss, goroutines and diff say with --json; a click
# on a treemap rectangle must zoom into it; and its screenshot must not be
# blank.  Snapshots: samples/go/mprof before and after it grows by a known
# number of items (a Go heap, goroutines, the growth), and samples/leaky (a
# glibc heap with leaks).
. "$(dirname "$0")/lib.sh"

NPM_DIR=$ROOT/build/npm
export NPM_DIR
if [ ! -x "$(go_sample mprof)" ] || [ ! -x "$SAMPLES/leaky" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'heapsnap report in a browser' 'the Go mprof sample, leaky or the capture tool is not built'
    test_done
fi

R=go-mprof.report
rm -f $R
"$(go_sample mprof)" $R runtime.pb.gz grow=300 >mprof.out 2>&1 &
PID=$!
track_pid $PID
wait_line $R ready $PID || true
"$CAPTURE" -q "$PID" -o a.hsnap >capture.out 2>&1 || true
kill -USR1 $PID 2>/dev/null
wait_line $R "grown 300" $PID || true
for i in $(seq 600); do [ "$(tail -1 $R)" = ready ] && break; sleep 0.05; done
"$CAPTURE" -q "$PID" -o b.hsnap >capture-b.out 2>&1 || true
stop_sample $PID
start_sample leaky || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o leaky.hsnap >capture-l.out 2>&1 || true
stop_sample

test_expect_success 'setup: two captures of go-mprof (before and after growing) and one of leaky' '
    grep -q "^grown 300" $R && test -s a.hsnap && test -s b.hsnap && test -s leaky.hsnap &&
    $HEAPSNAP index a.hsnap >/dev/null && $HEAPSNAP index b.hsnap >/dev/null && $HEAPSNAP index leaky.hsnap >/dev/null
'

test_expect_success 'report writes one self-contained 0600 page, and never over a file heapsnap did not write' '
    $HEAPSNAP report a.db b.db -o go.html 2>err && test "$(stat -c %a go.html)" = 600 &&
    $HEAPSNAP report leaky.hsnap 2>err && test -s leaky.html &&
    ! grep -Eiq "(src|href)=.(https?:)?//" go.html &&
    grep -q "default-src .none." go.html &&
    echo "<html>mine</html>" >mine.html &&
    test_must_fail $HEAPSNAP report leaky.db -o mine.html 2>err && grep "not written by heapsnap" err &&
    test "$(cat mine.html)" = "<html>mine</html>" &&
    $HEAPSNAP report leaky.db -o leaky.html 2>/dev/null
'

if [ ! -x /usr/bin/chromium ] || [ ! -f "$NPM_DIR/node_modules/playwright-core/package.json" ] || ! command -v node >/dev/null; then
    test_skip 'the report in a real browser' 'chromium (Debian package) or playwright-core (build/npm) could not be installed'
    test_done
fi

test_expect_success 'the pages load in chromium with no console error and no network request' '
    node "$TESTS_DIR/tools/report-check.js" go.html go.png "$TRASH/chrome-go" >go.json 2>go.err &&
    node "$TESTS_DIR/tools/report-check.js" leaky.html leaky.png "$TRASH/chrome-leaky" >leaky.json 2>leaky.err ||
    { cat go.err leaky.err; grep -h "errors" -A5 go.json leaky.json; false; }
'

$HEAPSNAP top --json --limit 1000 b.db >b-top.json
$HEAPSNAP leaks --json --limit 1000000 b.db >b-leaks.json
$HEAPSNAP rss --json b.db >b-rss.json
$HEAPSNAP goroutines --json b.db >b-gor.json
$HEAPSNAP diff --json --limit 1000 a.db b.db >diff.json
$HEAPSNAP top --json --limit 1000 leaky.db >l-top.json
$HEAPSNAP leaks --json --limit 1000000 leaky.db >l-leaks.json
$HEAPSNAP rss --json leaky.db >l-rss.json
cat >figs.py <<'PY'
import json, sys
def load(f):
    # leaks --json repeats "bytes" in a group (its total, then an example's
    # bytes): the first is the figure
    def first(pairs):
        d = {}
        for k, v in pairs:
            d.setdefault(k, v)
        return d
    return json.load(open(f), object_pairs_hook=first)
page, top, leaks, rss = (load(f) for f in sys.argv[1:5])
s = page['summary']
for k in ('used_count', 'used_bytes', 'reachable_count', 'reachable_bytes'):
    assert s[k] == top[k], (k, s[k], top[k])
assert s['leaked_count'] == leaks['leaked_count'] and s['leaked_bytes'] == leaks['leaked_bytes'], s
assert s['rss'] == rss['rss'], (s['rss'], rss['rss'])
assert page['rss'] == [{'kind': k['kind'], 'rss': k['rss']} for k in rss['kinds'] if k['rss']], page['rss']
assert sorted((g['type'], g['count'], g['bytes']) for g in page['leak_groups']) == \
       sorted((g['type'], g['count'], g['bytes']) for g in leaks['groups']), 'leak groups'
assert [(t['type'], t['retained_size']) for t in page['ret_types']] == \
       [(t['type'], t['retained_size']) for t in top['types'][:len(page['ret_types'])]], 'types'
assert page['treemap']['value'] == top['used_bytes'], page['treemap']
if len(sys.argv) > 5:
    gor, diff = load(sys.argv[5]), load(sys.argv[6])
    assert [(g['count'], g['start_func'], g['status']) for g in page['goroutine_groups']] == \
           [(g['count'], g['start_func'], g['status']) for g in gor['groups']], 'goroutines'
    want = [(g['retainer'], g['type'], g['count'], g['bytes']) for g in diff['growth']][:len(page['growth'])]
    assert [(g['retainer'], g['type'], g['count'], g['bytes']) for g in page['growth']] == want, 'growth'
    # the items' slice is allocated with room for them all: the backing array, held by the global, holds them
    items = [g for g in page['growth'] if g['type'] == 'main.Item']
    assert sum(g['count'] for g in items) == int(sys.argv[7]), (items, sys.argv[7])
    cache = [g for g in items if g['retainer'].startswith('global main.cache -> ')]
    assert cache and cache[0]['count'] == int(sys.argv[8]) and int(sys.argv[8]) >= int(sys.argv[7]) - 4, (cache, sys.argv[8])
print('ok')
PY

# The grown items are the main.Item objects of b with a negative ID (300 of
# them).  diff counts as new those whose address did not hold a used
# main.Item in a already (its matching rule, docs/analyses.md): a slot the
# GC freed in between may have held one that was garbage.
$HEAPSNAP sql --csv b.db "SELECT o.addr, field(o.id, 'ID') FROM objects o JOIN types t ON t.id = o.type_id
    WHERE t.name = 'main.Item' AND o.state = 'used'" | tail -n +2 | awk -F, '$2 < 0 { print $1 }' | sort >grown.txt
sqlite3 a.db "SELECT o.addr FROM objects o JOIN types t ON t.id = o.type_id
    WHERE t.name = 'main.Item' AND o.state = 'used'" | sort >a-items.txt
comm -23 grown.txt a-items.txt >new.txt
NEW=$(wc -l <new.txt)
# and of those, the ones the backing array alone holds (a grown item that a
# stack slot still points to as well is held by "several roots")
ALONE=$(sqlite3 b.db "SELECT count(*) FROM analysis n JOIN objects o ON o.id = n.id
    WHERE o.addr IN ($(paste -sd, new.txt)) AND n.idom = (SELECT o2.id FROM objects o2
    JOIN types t ON t.id = o2.type_id WHERE t.name = '*main.Item' ORDER BY o2.size DESC LIMIT 1)")

test_expect_success 'the figures in the pages equal top, leaks, rss, goroutines and diff --json' '
    test $(wc -l <grown.txt) = 300 &&
    python3 figs.py go.json b-top.json b-leaks.json b-rss.json b-gor.json diff.json $NEW $ALONE &&
    python3 figs.py leaky.json l-top.json l-leaks.json l-rss.json
'

test_expect_success 'a click on a treemap rectangle zooms into it' '
    python3 -c "
import json
for f in (\"go.json\", \"leaky.json\"):
    z = json.load(open(f))[\"zoom\"]
    assert z[\"root\"] == z[\"clicked\"][\"name\"] and z[\"value\"] == z[\"clicked\"][\"value\"] and z[\"crumbs\"] == 2, z
"
'

test_expect_success 'the screenshots are not blank' '
    python3 -c "
import struct, sys, zlib
for f in (\"go.png\", \"leaky.png\"):
    b = open(f, \"rb\").read()
    assert b[:8] == b\"\\x89PNG\\r\\n\\x1a\\n\", f
    i, idat = 8, b\"\"
    while i < len(b):
        n, t = struct.unpack(\">I4s\", b[i:i + 8])
        if t == b\"IDAT\":
            idat += b[i + 8:i + 8 + n]
        i += 12 + n
    px = zlib.decompress(idat)
    # a blank page inflates to a handful of byte values; text, tables and
    # coloured rectangles to many
    assert len(set(px)) > 64, (f, len(set(px)))
"
'

test_done
