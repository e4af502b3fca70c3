#!/usr/bin/env bash
# t4010-types-hostile.sh — the typing pass on damaged DWARF: samples/typed
# runs stripped of its debug info, and its DWARF, moved to a separate
# debug file found by build-id (--debug-dir), is damaged at random places
# of .debug_info and .debug_abbrev before each index run.  Indexing must
# never crash or trip the sanitizers: it exits 0 (types are what could be
# read) or 1, and whatever is typed is still a used object whose type row
# exists.  A fixed seed keeps failures reproducible.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/typed" ] || [ ! -x "$CAPTURE" ] || ! command -v objcopy >/dev/null; then
    test_skip 'types on damaged DWARF' 'bin/samples/typed, the capture tool or objcopy is missing'
    test_done
fi

objcopy --only-keep-debug "$SAMPLES/typed" typed.debug
objcopy --strip-debug "$SAMPLES/typed" ./typed-nodebug
BUILD_ID=$(readelf -n typed.debug 2>/dev/null | awk '/Build ID/ { print $3 }')
DBG=dbg/.build-id/${BUILD_ID:0:2}
mkdir -p "$DBG"
./typed-nodebug typed.report >typed.out 2>&1 &
PID=$!
track_pid $PID
for i in $(seq 300); do grep -qx ready typed.report 2>/dev/null && break; sleep 0.05; done
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true

test_expect_success 'setup: the stripped program was captured; its intact DWARF types it as usual' '
    grep -qx ready typed.report && test -s snap.hsnap && test -n "$BUILD_ID" &&
    cp typed.debug "$DBG/${BUILD_ID:2}.debug" &&
    $HEAPSNAP index -q --debug-dir dbg -o good.db snap.hsnap &&
    test "$(sqlite3 good.db "SELECT typed_objects FROM snapshot")" = "$(grep -c "^block " typed.report)"
'

test_expect_success 'damaged .debug_info and .debug_abbrev: no crash, no sanitizer report, sane rows' '
    python3 - typed.debug <<PY >sections
import sys
from subprocess import run
out = run(["readelf", "-SW", sys.argv[1]], capture_output=True, text=True).stdout
for line in out.splitlines():
    f = line.replace("[ ", "[").split()
    if len(f) > 6 and f[1] in (".debug_info", ".debug_abbrev"):
        print(f[1], int(f[4], 16), int(f[5], 16))
PY
    test "$(wc -l <sections)" = 2 &&
    for round in $(seq 1 24); do
        python3 - typed.debug "$DBG/${BUILD_ID:2}.debug" $round <<PY || exit 1
import random, sys
src, dst, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
data = bytearray(open(src, "rb").read())
secs = [l.split() for l in open("sections")]
for _ in range(rng.choice([1, 1, 2, 4, 16, 64])):
    name, off, size = rng.choice(secs)
    off, size = int(off), int(size)
    p = off + rng.randrange(size)
    data[p] = rng.choice([0, 0xff, rng.randrange(256), data[p] ^ (1 << rng.randrange(8))])
open(dst, "wb").write(data)
PY
        rc=0
        $HEAPSNAP index -q --debug-dir dbg -o r.db snap.hsnap 2>err.$round || rc=$?
        if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then echo "round $round: exit $rc"; cat err.$round; exit 1; fi
        if [ $rc -eq 0 ]; then
            test "$(sqlite3 r.db "SELECT count(*) FROM objects o LEFT JOIN types t ON t.id = o.type_id
                                   WHERE o.type_id IS NOT NULL AND (o.state <> \"used\" OR t.id IS NULL)")" = 0 ||
                { echo "round $round: a typed object without its type row"; exit 1; }
        fi
        rm -f r.db
    done
'

stop_sample "$PID"
test_done
