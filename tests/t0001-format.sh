#!/usr/bin/env bash
# t0001-format.sh — the .hsnap format library (format/), through the
# synthetic snapshots of build/tools/hsnap-synth: every field round-trips,
# zero pages cost nothing, pipes and files give the same bytes, and damaged,
# cut-off, extended or newer files are handled as docs/format.md says.
. "$(dirname "$0")/lib.sh"
SYNTH=$ROOT/build/tools/hsnap-synth

# offsets_of FILE TYPE: the offsets of every section of TYPE, from the
# verifier's per-section log ("section N at offset O: TYPE (type T), ...").
offsets_of() {
    "$SYNTH" verify "$1" | sed -n "s/^section \([0-9]*\) at offset \([0-9]*\): $2 .*/\1 \2/p"
}

test_expect_success 'CRC32C gives the standard check value on every code path' '
    "$SYNTH" crc
'

test_expect_success 'every field round-trips (full and metadata-only open)' '
    "$SYNTH" write a.hsnap &&
    "$SYNTH" check a.hsnap >out &&
    grep "every field round-trips" out
'

test_expect_success 'gathering words block by block reads what the opened snapshot reads' '
    "$SYNTH" gather a.hsnap >out &&
    grep "^gather: [0-9]* words agree, [0-9]* readable$" out &&
    test "$(sed -n "s/^gather: \([0-9]*\) words agree, \([0-9]*\) readable$/\2/p" out)" -gt 0 &&
    grep "^refused: a.hsnap: addresses to gather are not in ascending order$" out &&
    "$SYNTH" write odd.hsnap --odd && "$SYNTH" gather odd.hsnap >odd.out &&
    grep "^gather: [0-9]* words agree, [0-9]* readable$" odd.out
'

test_expect_success 'the verifier accepts it and logs every section' '
    "$SYNTH" verify a.hsnap >log &&
    grep -q "^file header at offset 0: version 1.2" log &&
    for t in process mappings modules threads memory stats index; do
        grep -q "^section [0-9]* at offset [0-9]*: $t (type" log || { echo "no $t"; exit 1; }
    done &&
    test $(grep -c ": memory (type 5)" log) = 5 &&
    grep -q "^footer at offset" log &&
    tail -n 1 log | grep -q ": ok$"
'

test_expect_success 'all-zero data pages are not stored' '
    "$SYNTH" zeros z.hsnap 4096 &&
    size=$(stat -c %s z.hsnap) &&
    echo "16 MiB of zero pages: $size bytes" &&
    test "$size" -lt 32768 &&
    "$SYNTH" dump z.hsnap >dump &&
    grep -q "^range 20000000-21000000 flags 1 data 0 zero 4096 absent 0 swapped 0 unreadable 0" dump
'

test_expect_success 'a stream written to a pipe is the same file' '
    "$SYNTH" write - | cat >p.hsnap &&
    cmp a.hsnap p.hsnap
'

test_expect_success 'a reader that goes away is a write error, not a crash' '
    ( trap "" PIPE; "$SYNTH" write - 2>err | head -c 1000 >/dev/null; echo ${PIPESTATUS[0]} >rc ) &&
    test "$(cat rc)" = 1 &&
    grep -q "^-: write at offset [0-9]*: Broken pipe" err
'

test_expect_success 'one writer thread or two: the same bytes' '
    HSNAP_WRITER_THREADS=1 "$SYNTH" write one.hsnap &&
    cmp a.hsnap one.hsnap
'

test_expect_success 'reading standard input gives the same snapshot' '
    "$SYNTH" dump a.hsnap >dump.file &&
    cat a.hsnap | "$SYNTH" dump - >dump.pipe &&
    test_cmp dump.file dump.pipe &&
    grep -q "^digest " dump.file
'

test_expect_success 'a truncated file reads up to the cut and says so' '
    "$SYNTH" dump a.hsnap >full &&
    set -- $(offsets_of a.hsnap memory | sed -n 3p) &&
    cut=$(($2 + 100)) &&
    head -c $cut a.hsnap >cut.hsnap &&
    "$SYNTH" dump cut.hsnap >dump &&
    grep -q "^version 1.2 truncated 1" dump &&
    grep -q "^warning cut.hsnap: truncated at offset $cut: section $1 (memory) at offset $2" dump &&
    grep -q "^range 10000000-10200000 " dump &&
    ! grep -q "^stats" dump &&
    grep "^mapping" full >m.full && grep "^mapping" dump >m.cut && test_cmp m.full m.cut
'

test_expect_success 'a stream cut off in a pipe reads up to the cut' '
    head -c 200000 a.hsnap | "$SYNTH" dump - >dump &&
    grep -q "^version 1.2 truncated 1" dump &&
    grep -q "^warning (stdin): truncated at offset 200000: section 6 (memory)" dump &&
    grep -q "^range 10000000-10100000 " dump
'

test_expect_success 'every cut point either opens truncated or fails cleanly' '
    size=$(stat -c %s a.hsnap) &&
    for cut in 0 5 12 23 24 30 64 100 212 1000 300000 409936 410000 410117 410200 410484 410490 $((size - 1)); do
        head -c $cut a.hsnap >c.hsnap
        if "$SYNTH" dump c.hsnap >d 2>e; then
            grep -q "truncated 1" d || { echo "cut $cut: not marked truncated"; exit 1; }
        else
            rc=$?; test $rc = 1 || { echo "cut $cut: exit $rc"; exit 1; }
            grep -q "truncated\|not a heapsnap\|empty file" e || { echo "cut $cut:"; cat e; exit 1; }
        fi
        test_must_fail "$SYNTH" verify c.hsnap >/dev/null 2>e &&
        grep -q "truncated\|not a heapsnap\|empty file" e || { echo "verify cut $cut:"; cat e; exit 1; }
    done
'

test_expect_success 'a writer that stops early leaves a readable, truncated snapshot' '
    "$SYNTH" write ab.hsnap --truncate &&
    "$SYNTH" dump ab.hsnap >dump &&
    grep -q "^version 1.2 truncated 1" dump &&
    grep -q "before the index" dump &&
    grep -q "^stats " dump &&
    test $(grep -c "^range" dump) = 3 &&
    test_must_fail "$SYNTH" verify ab.hsnap 2>err &&
    grep -q "truncated" err
'

test_expect_success 'a file cut before its process section does not open' '
    head -c 100 a.hsnap >early.hsnap &&
    test_must_fail "$SYNTH" dump early.hsnap 2>err &&
    grep -q "early.hsnap: truncated at offset 100" err
'

test_expect_success 'a flipped bit in any section is a checksum error naming it' '
    offsets_of a.hsnap "[a-z]*" >secs &&
    test $(wc -l <secs) = 11 &&
    while read n off; do
        for at in $((off + 5)) $((off + 40 + 3)) $((off + 60)); do
            cp a.hsnap f.hsnap && "$SYNTH" flip f.hsnap $at &&
            test_must_fail "$SYNTH" dump f.hsnap 2>err &&
            grep -q "^f.hsnap: section $n ([a-z]*) at offset $off: .*checksum mismatch" err ||
                { echo "flip at $at:"; cat err; exit 1; }
            test_must_fail "$SYNTH" verify f.hsnap >/dev/null 2>err2 &&
            test_cmp err err2
        done
    done <secs
'

test_expect_success 'a flipped bit in the file header or the footer is caught' '
    cp a.hsnap h.hsnap && "$SYNTH" flip h.hsnap 17 &&
    test_must_fail "$SYNTH" dump h.hsnap 2>err &&
    grep -q "file header at offset 0: checksum mismatch" err &&
    size=$(stat -c %s a.hsnap) &&
    cp a.hsnap t.hsnap && "$SYNTH" flip t.hsnap $((size - 20)) &&
    test_must_fail "$SYNTH" dump t.hsnap 2>err &&
    grep -q "footer at offset $((size - 24)): checksum mismatch" err
'

test_expect_success 'garbage after the footer is an error, not ignored' '
    { cat a.hsnap; echo extra; } >g.hsnap &&
    test_must_fail "$SYNTH" dump g.hsnap 2>err &&
    grep -q "6 bytes of garbage after the footer" err
'

test_expect_success 'something else entirely is not a snapshot' '
    echo "hello world, not a snapshot" >n.hsnap &&
    test_must_fail "$SYNTH" dump n.hsnap 2>err &&
    grep -q "n.hsnap: not a heapsnap snapshot" err &&
    : >e.hsnap && test_must_fail "$SYNTH" dump e.hsnap 2>err &&
    grep -q "empty file" err &&
    test_must_fail "$SYNTH" dump missing.hsnap 2>err &&
    grep -q "missing.hsnap: No such file" err
'

test_expect_success 'sections of unknown type are checked and skipped' '
    "$SYNTH" write u.hsnap --unknown &&
    "$SYNTH" verify u.hsnap >log &&
    grep -q ": unknown (type 99)" log && grep -q ": unknown (type 100)" log &&
    "$SYNTH" check u.hsnap &&
    set -- $(offsets_of u.hsnap unknown | head -n 1) &&
    cp u.hsnap uf.hsnap && "$SYNTH" flip uf.hsnap $(($2 + 45)) &&
    test_must_fail "$SYNTH" dump uf.hsnap 2>err &&
    grep -q "section $1 (unknown) at offset $2: payload checksum mismatch" err
'

test_expect_success 'a newer minor version (longer records, new sections) is read' '
    "$SYNTH" write v.hsnap --unknown --newer &&
    "$SYNTH" version v.hsnap 1 9 &&
    "$SYNTH" check v.hsnap &&
    "$SYNTH" dump v.hsnap >dump &&
    grep -q "^version 1.9 truncated 0" dump &&
    "$SYNTH" verify v.hsnap >/dev/null
'

test_expect_success 'a newer minor may grow the file header before its checksum' '
    "$SYNTH" grow-header a.hsnap gh.hsnap &&
    test $(stat -c %s gh.hsnap) = $(($(stat -c %s a.hsnap) + 8)) &&
    "$SYNTH" check gh.hsnap &&
    "$SYNTH" verify gh.hsnap >log &&
    grep -q "^file header at offset 0: version 1.3, 32 bytes, ok" log &&
    grep -q "^section 1 at offset 32: process" log
'

test_expect_success 'a newer major version is refused with a clear message' '
    cp a.hsnap m.hsnap && "$SYNTH" version m.hsnap 2 0 &&
    test_must_fail "$SYNTH" dump m.hsnap 2>err &&
    echo "m.hsnap: format version 2.0 is newer than this heapsnap understands (1.x); upgrade heapsnap" >expect &&
    test_cmp expect err &&
    test_must_fail "$SYNTH" verify m.hsnap 2>err &&
    test_cmp expect err
'

test_expect_success 'compression levels change the size, not the contents' '
    "$SYNTH" write l1.hsnap --level 1 &&
    "$SYNTH" write l19.hsnap --level 19 &&
    "$SYNTH" check l1.hsnap && "$SYNTH" check l19.hsnap &&
    "$SYNTH" dump l1.hsnap >d1 && "$SYNTH" dump l19.hsnap >d19 && test_cmp d1 d19 &&
    ! cmp -s l1.hsnap l19.hsnap
'

test_expect_success 'damage behind the checksums is still caught and named' '
    set -- $(offsets_of a.hsnap memory | sed -n 2p) &&
    n=$1 off=$2 &&
    cp a.hsnap z.hsnap && "$SYNTH" flip z.hsnap $((off + 40 + 32 + 256)) --fix-crc &&
    test_must_fail "$SYNTH" dump z.hsnap 2>err &&
    grep -q "^z.hsnap: section $n (memory) at offset $off: zstd: " err &&
    test_must_fail "$SYNTH" verify z.hsnap >/dev/null 2>err &&
    grep -q "^z.hsnap: section $n (memory) at offset $off: zstd: " err &&
    cp a.hsnap s.hsnap && "$SYNTH" poke s.hsnap $((off + 40 + 32 + 7)) 9 &&
    test_must_fail "$SYNTH" dump s.hsnap 2>err &&
    grep -q "section $n (memory) at offset $off: page 7 (0x[0-9a-f]*) has invalid state 9" err &&
    cp a.hsnap b.hsnap && "$SYNTH" poke b.hsnap $((off + 40 + 28)) 5 &&
    test_must_fail "$SYNTH" dump b.hsnap 2>err &&
    grep -q "section $n (memory) at offset $off: block 5 of range 0 does not continue block 0" err &&
    cp a.hsnap p.hsnap && "$SYNTH" poke p.hsnap $((off + 40 + 9)) 3 &&
    test_must_fail "$SYNTH" dump p.hsnap 2>err &&
    grep -q "section $n (memory) at offset $off: page size 768 is not a power of two" err
'

test_expect_success 'memory given back is refused and counted; the rest reads as before' '
    "$SYNTH" release a.hsnap >out &&
    test "$(cat out)" = "release: 313856 words, 102912 given back, the rest as read whole"
'

test_expect_success 'opened on demand, every word reads as the eager open reads it' '
    "$SYNTH" ondemand a.hsnap >out &&
    test "$(cat out)" = "on demand: 313856 words agree, 254976 readable" &&
    "$SYNTH" write odd.hsnap --odd && "$SYNTH" ondemand odd.hsnap >odd.out &&
    grep "^on demand: [0-9]* words agree, [0-9]* readable$" odd.out
'

test_expect_success 'opened on demand, a block that does not decompress is named, and only its words are lost' '
    set -- $(offsets_of a.hsnap memory | sed -n 2p) &&
    n=$1 off=$2 &&
    cp a.hsnap z.hsnap && "$SYNTH" flip z.hsnap $((off + 40 + 32 + 256)) --fix-crc &&
    "$SYNTH" ondemand z.hsnap >out &&
    sed -n "s/^on demand: \([0-9]*\) of 313856 words readable; .*/\1/p" out >got &&
    test "$(cat got)" -gt 0 && test "$(cat got)" -lt 254976 &&
    grep -q "readable; z.hsnap: section $n (memory) at offset $off: zstd: " out
'

test_expect_success 'a forged record count is refused before anything is allocated' '
    set -- $(offsets_of a.hsnap index) &&
    cp a.hsnap i.hsnap && "$SYNTH" poke i.hsnap $(($2 + 40 + 3)) 0x40 &&
    test_must_fail "$SYNTH" dump i.hsnap 2>err &&
    grep -q "section $1 (index) at offset $2: 1073741834 entries do not fill 328 bytes" err
'

test_expect_success 'a large snapshot reads the same on one thread or two' '
    "$SYNTH" big big.hsnap 24 2>/dev/null &&
    HSNAP_WRITER_THREADS=1 "$SYNTH" big big1.hsnap 24 2>/dev/null &&
    cmp big.hsnap big1.hsnap &&
    "$SYNTH" gather big.hsnap | grep "^gather: 3145730 words agree, 3145728 readable$" &&
    "$SYNTH" dump big.hsnap >d2 &&
    HSNAP_READER_THREADS=1 "$SYNTH" dump big.hsnap >d1 &&
    test_cmp d1 d2 &&
    grep -q "^range 555555560000-555556d60000 flags 1 data 4608 zero 1536 " d1 &&
    "$SYNTH" verify big.hsnap >/dev/null
'

test_done
