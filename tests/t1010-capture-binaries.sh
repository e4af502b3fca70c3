#!/usr/bin/env bash
# t1010-capture-binaries.sh — heapsnap-capture --with-binaries: the
# snapshot carries the executable (read through /proc/PID/exe) and the
# host's debug files for its modules, compressed, in file sections
# (format 1.1, docs/format.md), and `index` uses them before any path on
# this machine.  Ground truth: a Go sample captured with and without them,
# indexed after its executable has been moved away, against the index of
# the same snapshot while the executable was still in place.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$(go_sample session)" ] || [ ! -x "$SAMPLES/leaky" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'capture --with-binaries' 'the Go session sample, bin/samples/leaky or the capture tool is not built'
    test_done
fi

# The Go sample runs from a copy of its executable that the cases move away.
cp "$(go_sample session)" ./app
{ ./app app.report release >app.out 2>&1 & }
pid=$!
track_pid $pid
wait_line app.report ready $pid || echo "go-session did not become ready" >&2
"$CAPTURE" -q $pid -o plain.hsnap 2>plain.err || true
"$CAPTURE" --with-binaries $pid -o wb.hsnap 2>wb.err || true
kill $pid 2>/dev/null; wait $pid 2>/dev/null
# the answers while the executable is where the process ran it
$HEAPSNAP index -q -o before.db plain.hsnap || true
exe_size=$(stat -c %s app)

# What an index says, for comparing two of them.
answers() {
    $HEAPSNAP sql "$1" "SELECT count(*), sum(chunk_size) FROM objects WHERE state = 'used' AND heap = 'go'" &&
    $HEAPSNAP sql "$1" "SELECT name, value FROM go_memstats ORDER BY name" &&
    $HEAPSNAP sql "$1" "SELECT hex(o.addr), t.name FROM objects o JOIN types t ON t.id = o.type_id ORDER BY o.addr" &&
    $HEAPSNAP sql "$1" "SELECT source, message FROM warnings ORDER BY id" &&
    $HEAPSNAP goroutines "$1" &&
    $HEAPSNAP leaks "$1" | sed -e 1d -e "s/([^()]* before the capture)/(TIME before the capture)/"
}

test_expect_success 'capture --with-binaries carries the executable, compressed, and says what it cost' '
    grep -q "^carried [1-9][0-9]* files (" wb.err &&
    $HEAPSNAP info wb.hsnap >info.out &&
    grep -E "^  executable 0 +$exe_size +[0-9]+ $PWD/app\$" info.out &&
    stored=$(awk "/^  executable/ {print \$4}" info.out) &&
    test "$stored" -lt "$exe_size" &&
    test $(($(stat -c %s wb.hsnap) - $(stat -c %s plain.hsnap))) -lt "$exe_size" &&
    ! $HEAPSNAP info plain.hsnap | grep -q "carried files"
'

test_expect_success 'the file sections verify, and a damaged one is refused by name' '
    $HEAPSNAP verify wb.hsnap >/dev/null &&
    $HEAPSNAP info --json wb.hsnap | python3 -c "
import json, sys
f = json.load(sys.stdin)[\"files\"]
assert f and f[0][\"kind\"] == \"executable\" and f[0][\"size\"] == $exe_size, f
" &&
    python3 -c "
import struct
b = bytearray(open(\"wb.hsnap\", \"rb\").read())
off = 24
while off + 40 <= len(b):
    magic, typ, flags, plain, stored = struct.unpack_from(\"<IIIIQ\", b, off)
    if typ == 8:
        b[off + 40 + plain + stored // 2] ^= 0x40
        break
    off += 40 + stored
else:
    raise SystemExit(\"no file section\")
open(\"bad.hsnap\", \"wb\").write(b)
" &&
    test_must_fail $HEAPSNAP verify bad.hsnap 2>err &&
    grep -q "(file) at offset [0-9]*: payload checksum mismatch" err
'

test_expect_success 'indexed after the executable is moved away, its answers are the ones from before' '
    mv app app.moved &&
    mkdir -p tmpd &&
    TMPDIR=$PWD/tmpd $HEAPSNAP index -q wb.hsnap &&
    answers before.db >before.txt &&
    answers wb.db >after.txt &&
    test_cmp before.txt after.txt &&
    grep -q "main.Session" after.txt &&
    $HEAPSNAP sql wb.db "SELECT elf_path, debug_path FROM modules WHERE id = 0" | grep -q "(carried in the snapshot) *(carried in the snapshot)" &&
    test -z "$(ls -A tmpd)" || { echo "the carried files were left behind" >&2; false; }
'

test_expect_success 'without --with-binaries the same move leaves the Go heap unwalked' '
    test ! -e app &&
    $HEAPSNAP index -q -o gone.db plain.hsnap &&
    test "$($HEAPSNAP sql gone.db "SELECT count(*) FROM objects" | tail -1)" = 0 &&
    test_must_fail $HEAPSNAP leaks gone.db 2>err &&
    grep -q "no analysis is possible" err
'

test_expect_success 'the carried executable comes before a different file now at the recorded path' '
    cp "$(go_sample benchheap)" app &&
    $HEAPSNAP index -q -o over.db wb.hsnap &&
    answers over.db >over.txt &&
    test_cmp before.txt over.txt &&
    rm app
'

# A C program: libc's debug file (libc6-dbg) is carried by build-id.
libc_dbg=$(ls /usr/lib/debug/.build-id/*/*.debug 2>/dev/null | head -1)
if [ -n "$libc_dbg" ]; then
    test_expect_success 'for a C program, the host'"'"'s debug files are carried by build-id and used' '
        start_sample leaky &&
        "$CAPTURE" --with-binaries $SAMPLE_PID -o c.hsnap 2>c.err &&
        stop_sample &&
        $HEAPSNAP info c.hsnap >cinfo &&
        grep -qE "^  debug +[0-9]+ +[0-9]+ +[0-9]+ /usr/lib/debug/\.build-id/../[0-9a-f]+\.debug\$" cinfo &&
        $HEAPSNAP index -q c.hsnap &&
        $HEAPSNAP sql c.db "SELECT count(*) FROM modules WHERE path LIKE \"%libc.so%\" AND debug_path = \"(carried in the snapshot)\" AND has_dwarf = 1" | tail -1 | grep -qx 1
    '
else
    test_skip 'debug files carried by build-id' 'no /usr/lib/debug/.build-id files (libc6-dbg)'
fi

test_done
