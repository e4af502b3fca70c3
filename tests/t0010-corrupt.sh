#!/usr/bin/env bash
# t0010-corrupt.sh — damaged snapshots: verify and info (and core) say
# precisely what is wrong and where, exit 1, and never crash.
#
# From a real capture of samples/patterns we make: files cut at several
# points (inside the file header, a section header, a metadata section, a
# memory block, before the index, inside the footer), files with one bit
# flipped (file header, a section header, a metadata payload, a memory
# payload, the index, the footer), a major version from the future, and
# the usual non-snapshots (empty, missing, another kind of file).  The
# section offsets come from walking the file the way docs/format.md
# describes it, so the cases stay right when the capture changes.
#
# Every command runs under ASan/UBSan; test_must_fail rejects a crash or a
# sanitizer report as well as success.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/patterns" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'damaged snapshots' 'bin/samples/patterns or the capture tool is not built'
    test_done
fi

start_sample patterns || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o good.hsnap >capture.out 2>&1 || true
stop_sample "$PID"

# sections FILE: "OFFSET NAME STORED_LEN" per section, then the footer.
sections() {
    python3 - "$1" <<-\EOF
	import struct, sys
	d = open(sys.argv[1], "rb").read()
	names = {1: "process", 2: "mappings", 3: "modules", 4: "threads",
	         5: "memory", 6: "stats", 7: "index"}
	off = struct.unpack_from("<I", d, 12)[0]     # header_len
	while off + 40 <= len(d):
	    typ, stored = struct.unpack_from("<I", d, off + 4)[0], struct.unpack_from("<Q", d, off + 16)[0]
	    print(off, names.get(typ, "type%d" % typ), stored)
	    off += 40 + stored
	    if typ == 7:
	        print(off, "footer", 24)
	        break
	EOF
}

# flip FILE OFFSET: a copy of good.hsnap with bit 2 of byte OFFSET inverted.
flip() {
    cp good.hsnap "$1" &&
    python3 -c "import sys; f = open(sys.argv[1], 'r+b'); f.seek(int(sys.argv[2])); b = f.read(1)[0]; f.seek(int(sys.argv[2])); f.write(bytes([b ^ 4]))" "$1" "$2"
}

# both_fail FILE REGEX: verify and info both exit 1 (not a crash) and say
# REGEX on stderr, with the file's name.
both_fail() {
    test_must_fail $HEAPSNAP verify "$1" >out 2>err.verify &&
    test_must_fail $HEAPSNAP info "$1" >out 2>err.info &&
    cat err.verify err.info &&
    grep -E "^heapsnap verify: $1: $2" err.verify &&
    grep -E "^heapsnap info: $1: $2" err.info
}

test_expect_success 'setup: a good capture to damage' '
    test -n "$PID" &&
    $HEAPSNAP verify good.hsnap &&
    sections good.hsnap >sections &&
    cat sections &&
    grep -q " process " sections && grep -q " memory " sections && grep -q " footer " sections
'

off_of() { awk -v n="$1" '$2 == n { print $1; exit }' sections; }
len_of() { awk -v n="$1" '$2 == n { print $3; exit }' sections; }
SIZE=$(stat -c %s good.hsnap 2>/dev/null || echo 0)
PROC=$(off_of process)
MAPS=$(off_of mappings)
MEM=$(off_of memory)
INDEX=$(off_of index)
FOOTER=$(off_of footer)

# ------------------------------------------------------------ not snapshots

test_expect_success 'a missing file: the message names it' '
    both_fail no-such.hsnap "No such file or directory"
'

test_expect_success 'an empty file' '
    : >empty.hsnap &&
    both_fail empty.hsnap "empty file"
'

test_expect_success 'a file that is not a snapshot (an ELF binary, a text file)' '
    cp "$SAMPLES/patterns" elf.hsnap &&
    both_fail elf.hsnap "not a heapsnap snapshot" &&
    echo "hello, world" >text.hsnap &&
    both_fail text.hsnap "not a heapsnap snapshot"
'

test_expect_success 'a directory' '
    mkdir dir.hsnap &&
    test_must_fail $HEAPSNAP verify dir.hsnap 2>err &&
    grep "dir.hsnap" err &&
    test_must_fail $HEAPSNAP info dir.hsnap 2>err &&
    grep "dir.hsnap" err
'

# ------------------------------------------------------------ truncation

test_expect_success 'cut inside the file header (4, 16 bytes)' '
    head -c 4 good.hsnap >cut4.hsnap &&
    both_fail cut4.hsnap "truncated at offset 4: inside the file header" &&
    head -c 16 good.hsnap >cut16.hsnap &&
    both_fail cut16.hsnap "truncated at offset 16: inside the 24-byte file header"
'

test_expect_success 'cut inside the first section header' '
    head -c $((PROC + 10)) good.hsnap >cut.hsnap &&
    both_fail cut.hsnap "truncated at offset $((PROC + 10)): section 1 at offset $PROC has 10 of its 40 header bytes"
'

test_expect_success 'cut inside the process section: nothing to show, exit 1' '
    head -c $((PROC + 40 + 5)) good.hsnap >cut.hsnap &&
    both_fail cut.hsnap "truncated at offset $((PROC + 45)): section 1 \(process\) at offset $PROC has 5 of its [0-9]+ payload bytes"
'

# cut_after_process N ERE: info shows what survived a cut at N (after the
# process section), warns with ERE on stderr, and exits 1.
cut_after_process() {
    head -c "$1" good.hsnap >cut.hsnap &&
    test_must_fail $HEAPSNAP verify cut.hsnap 2>err &&
    grep -E "^heapsnap verify: cut.hsnap: truncated at offset $1: $2" err &&
    test_must_fail $HEAPSNAP info cut.hsnap >out 2>err &&
    grep "^pid  *$PID\$" out &&
    grep -E "^heapsnap info: warning: cut.hsnap: truncated at offset $1: $2" err &&
    test_must_fail $HEAPSNAP info --json cut.hsnap >out.json 2>err &&
    python3 -c "import json; d = json.load(open(\"out.json\")); assert d[\"truncated\"] is True and \"truncated\" in d[\"warning\"]"
}

test_expect_success 'cut inside the mappings section: info prints the process, warns, exit 1' '
    cut_after_process $((MAPS + 40 + 7)) "section 2 \(mappings\) at offset $MAPS has 7 of its"
'

test_expect_success 'cut inside a memory block' '
    cut_after_process $((MEM + 40 + 20)) "section [0-9]+ \(memory\) at offset $MEM has 20 of its"
'

test_expect_success 'cut just before the index' '
    cut_after_process $INDEX "the file ends after section [0-9]+, before the index"
'

test_expect_success 'cut inside the footer' '
    cut_after_process $((SIZE - 10)) "the footer at offset $FOOTER has 14 of its 24 bytes"
'

test_expect_success 'core of a cut file: a warning, exit 1, and a core gdb can open' '
    head -c $INDEX good.hsnap >cut.hsnap &&
    test_must_fail $HEAPSNAP core cut.hsnap -o cut.core 2>err &&
    grep "warning: cut.hsnap: truncated" err &&
    readelf -h cut.core | grep "CORE"
'

# ------------------------------------------------------------ flipped bits

test_expect_success 'a flipped bit in the file header' '
    flip hdr.hsnap 17 &&
    both_fail hdr.hsnap "file header at offset 0: checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)"
'

test_expect_success 'a flipped bit in a section header' '
    flip sech.hsnap $((MAPS + 20)) &&
    both_fail sech.hsnap "section 2 \([a-z]+\) at offset $MAPS: header checksum mismatch"
'

test_expect_success 'a flipped bit in the section magic' '
    flip secm.hsnap $MAPS &&
    both_fail secm.hsnap "section 2 \([a-z]+\) at offset $MAPS: no section magic \(found 0x[0-9a-f]{8}\)"
'

test_expect_success 'a flipped bit in a metadata payload (process)' '
    flip proc.hsnap $((PROC + 40 + 3)) &&
    both_fail proc.hsnap "section 1 \(process\) at offset $PROC: payload checksum mismatch"
'

test_expect_success 'a flipped bit in a memory block (info notices too)' '
    flip mem.hsnap $((MEM + 40 + $(len_of memory) / 2)) &&
    both_fail mem.hsnap "section [0-9]+ \(memory\) at offset $MEM: payload checksum mismatch" &&
    test_must_fail $HEAPSNAP core mem.hsnap -o mem.core 2>err &&
    grep "payload checksum mismatch" err &&
    test ! -e mem.core
'

test_expect_success 'a flipped bit in the index' '
    flip idx.hsnap $((INDEX + 40 + 12)) &&
    both_fail idx.hsnap "section [0-9]+ \(index\) at offset $INDEX: payload checksum mismatch"
'

test_expect_success 'a flipped bit in the footer: its checksum, its end magic' '
    flip foot.hsnap $((FOOTER + 2)) &&
    both_fail foot.hsnap "footer at offset $FOOTER: (checksum mismatch|points at the index)" &&
    flip magic.hsnap $((SIZE - 3)) &&
    both_fail magic.hsnap "footer at offset $FOOTER: bad end magic"
'

test_expect_success 'garbage after the footer' '
    cp good.hsnap tail.hsnap && printf "xyz" >>tail.hsnap &&
    both_fail tail.hsnap "3 bytes of garbage after the footer"
'

test_expect_success 'a major version from the future' '
    cp good.hsnap v2.hsnap &&
    printf "\\002" | dd of=v2.hsnap bs=1 seek=8 conv=notrunc 2>/dev/null &&
    both_fail v2.hsnap "format version 2\.1 is newer than this heapsnap understands \(1\.x\)"
'

test_expect_success 'a cut every 7 bytes of the first 200 and every 5 of the last 60 exits 1 cleanly' '
    for n in $(seq 0 7 200) $(seq $((SIZE - 60)) 5 $((SIZE - 1))); do
        head -c $n good.hsnap >c.hsnap
        test_must_fail $HEAPSNAP verify c.hsnap >/dev/null 2>err || { echo "verify, cut at $n"; exit 1; }
        grep -q "c.hsnap" err || { echo "no file name, cut at $n"; exit 1; }
        test_must_fail $HEAPSNAP info c.hsnap >/dev/null 2>err || { echo "info, cut at $n"; exit 1; }
    done
'

test_expect_success 'a flipped bit at 64 places spread over the file exits 1 cleanly' '
    mkdir -p flips &&
    python3 - <<-\EOF &&
	import os
	d = open("good.hsnap", "rb").read()
	for k in range(64):
	    o = k * len(d) // 64 + k % 7
	    b = bytearray(d)
	    b[o] ^= 1 << (k % 8)
	    open("flips/%d.hsnap" % o, "wb").write(b)
	EOF
    for f in flips/*.hsnap; do
        test_must_fail $HEAPSNAP verify $f >/dev/null 2>err || { echo "verify $f"; exit 1; }
        grep -q "$f" err || { echo "no file name: $f"; exit 1; }
        test_must_fail $HEAPSNAP info $f >/dev/null 2>&1 || { echo "info $f"; exit 1; }
    done
'

test_done
