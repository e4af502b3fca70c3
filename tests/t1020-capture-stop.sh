#!/usr/bin/env bash
# t1020-capture-stop.sh — heapsnap-capture --mode=stop (HS_MODE_STOP_LZ4):
# when neither a copy-on-write fork nor a buffer of the target's size fits,
# the pages are copied and LZ4-compressed on every CPU while the target is
# stopped, then recompressed to zstd after it resumes (capture/lz4stop.h).
# Checked: the bytes are the target's, whether the LZ4 copy fits the
# budget (with pieces stored raw where the budget has room) or outgrows it
# (the rest then written with zstd while stopped);
# the automatic choice falls back to it, and says why.
. "$(dirname "$0")/lib.sh"

build_capture_peek || { echo "not ok - cannot build capture-peek"; exit 1; }

mode_of() { $PEEK "$1" stats | awk '/^mode / { print $2 }'; }
regions_match() {
    grep "^region" "$TRASH/$2.report" | while read -r _ name addr len seed; do
        $PEEK "$1" pattern $addr $len $seed || { echo "region $name differs"; exit 1; }
    done
}

start_named patterns patterns || exit 1
PAT=$(pid_of patterns)

test_expect_success 'stop mode: the known bytes, LZ4 while stopped and zstd after' '
    $CAPTURE --mode=stop $PAT -o stop.hsnap 2>err && cat err &&
    grep -E "^captured $PAT \(2 threads, [0-9.]+ MiB read, stop-lz4\)" err &&
    test "$(mode_of stop.hsnap)" = 3 &&
    $PEEK stop.hsnap stats | grep "^mode_reason asked for with --mode=stop$" &&
    regions_match stop.hsnap patterns &&
    $HEAPSNAP verify stop.hsnap
'

# Not byte for byte against another capture: between two captures the
# kernel rewrites a thread's rseq area (its CPU number) in the TLS.
test_expect_success 'stop mode captures the same ranges as buffer mode' '
    $CAPTURE -q --mode=buffer $PAT -o buf.hsnap &&
    $PEEK stop.hsnap stats | grep "^ranges" >stop.ranges &&
    $PEEK buf.hsnap stats | grep "^ranges" >buf.ranges &&
    cat stop.ranges && test_cmp buf.ranges stop.ranges
'

test_expect_success 'an LZ4 copy that outgrows --max-buffer: the rest is written while stopped, every byte there' '
    $CAPTURE --mode=stop --max-buffer=4K $PAT -o spill.hsnap 2>err && cat err &&
    grep "^heapsnap-capture: the LZ4 copy outgrew --max-buffer (0 MiB): writing the other [0-9]* MiB while the target is stopped, so the pause is longer$" err &&
    test "$(mode_of spill.hsnap)" = 1 &&
    $PEEK spill.hsnap stats | grep "^mode_reason asked for with --mode=stop; streamed: the LZ4 copy outgrew --max-buffer$" &&
    regions_match spill.hsnap patterns &&
    $HEAPSNAP verify spill.hsnap
'

# A budget larger than the LZ4 copy is spent on the pause: once LZ4's ratio
# on this target is known, pieces are stored raw, straight from the copy,
# while the rest still fits at that ratio.  cowtarget's 64 MiB region
# (byte i = (i * 13 + 1) & 0xff) in a 40 MiB budget: some of it raw, some
# LZ4, every byte as it is, and nothing written while stopped.
test_expect_success 'a budget larger than the LZ4 copy: pieces stored raw in it, every byte there' '
    start_named rawtarget cowtarget 64 && pid=$(pid_of rawtarget) &&
    $CAPTURE -v --mode=stop --max-buffer=40M $pid -o raw.hsnap 2>err && cat err &&
    ! grep "outgrew" err &&
    test "$(mode_of raw.hsnap)" = 3 &&
    line=$(grep "^heapsnap-capture:   CPU time on [0-9]* threads: copy" err) &&
    raw=$(echo "$line" | sed -n "s/.*; \([0-9.]*\) MiB stored raw, \([0-9.]*\) MiB LZ4-compressed.*/\1/p") &&
    lz=$(echo "$line" | sed -n "s/.*; \([0-9.]*\) MiB stored raw, \([0-9.]*\) MiB LZ4-compressed.*/\2/p") &&
    echo "raw $raw lz4 $lz" &&
    awk -v r="$raw" -v l="$lz" "BEGIN { exit !(r >= 16 && l >= 8) }" &&
    read -r _ addr len <<<"$(grep "^region" "$TRASH/rawtarget.report")" &&
    $PEEK raw.hsnap bytes $addr $len >raw.bin &&
    python3 -c "import sys; n = int(sys.argv[1]); sys.stdout.buffer.write(bytes((i * 13 + 1) & 0xff for i in range(n)))" $len >rawwant.bin &&
    cmp rawwant.bin raw.bin &&
    $HEAPSNAP verify raw.hsnap
'

# Raw pieces must never make the copy outgrow a budget that compressing
# everything fits: 32 MiB that LZ4 packs to almost nothing, then 32 MiB of
# random bytes, in a 48 MiB budget (a rule that guessed the ratio from the
# first pieces stored the random half raw and spilled into zstd while
# stopped).  No spill, and every byte as it was.
cat >"$TRASH/mixtarget.py" <<'EOF'
import ctypes, mmap, os, signal, sys
n = 64 << 20
m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
m[0:n // 2] = bytes((i * 13 + 1) & 0xff for i in range(256)) * (n // 512)
m[n // 2:n] = os.urandom(n // 2)
with open(sys.argv[1] + ".bin", "wb") as f:
    f.write(m[:])
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
with open(sys.argv[1], "w") as f:
    f.write("pid %d\nregion 0x%x %d\nready\n" % (os.getpid(), addr, n))
while True:
    signal.pause()
EOF
test_expect_success 'memory that compresses well, then not at all: the raw pieces never outgrow a budget LZ4 fits' '
    rm -f "$TRASH/mix.report" &&
    { python3 "$TRASH/mixtarget.py" "$TRASH/mix.report" >/dev/null 2>&1 & } && mpid=$! && track_pid $mpid &&
    wait_line "$TRASH/mix.report" ready $mpid 400 && pid=$(pid_of mix) &&
    rc=0 && { $CAPTURE -v --mode=stop --max-buffer=48M $pid -o mix.hsnap 2>err || rc=$?; } && cat err &&
    test $rc = 0 && ! grep "outgrew" err && test "$(mode_of mix.hsnap)" = 3 &&
    grep "^heapsnap-capture:   CPU time on [0-9]* threads: copy .* MiB stored raw" err &&
    read -r _ addr len <<<"$(grep "^region" "$TRASH/mix.report")" &&
    $PEEK mix.hsnap bytes $addr $len >mix.bin && cmp "$TRASH/mix.report.bin" mix.bin
'

test_expect_success 'no fork and no room for a buffer: the default falls back to stop mode, and says why' '
    start_named ne noclone errno && pid=$(pid_of ne) &&
    $CAPTURE --max-buffer=1M $pid -o ne.hsnap 2>err && cat err &&
    grep "^heapsnap-capture: no copy-on-write snapshot of $pid: the seccomp filter of thread $pid forbids clone (it would fail it with Operation not permitted); capturing in stop-lz4 mode$" err &&
    test "$(mode_of ne.hsnap)" = 3 &&
    $PEEK ne.hsnap stats | grep "^mode_reason no copy-on-write fork: .*; and [0-9]* MiB resident needs more than --max-buffer (1 MiB) (found while stopped: a second stop)$" &&
    regions_match ne.hsnap ne
'

test_done
