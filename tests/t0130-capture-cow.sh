#!/usr/bin/env bash
# t0130-capture-cow.sh — heapsnap-capture --mode=cow: the stopped target
# forks a frozen copy of itself that the capture reads after the target has
# resumed (capture/cow.h).  What is checked: the copy holds exactly the
# target's bytes as they were at the stop, whatever the target writes
# afterwards; a lock the target releases meanwhile is released (CLONE_FILES:
# the copy holds no descriptor); the injected fork leaves no trace in the
# target (no child, no zombie, no SIGCHLD, no system call that returned when
# it must not, no stopped thread, no changed priority), even when the
# capture is SIGKILLed at any moment; and where a fork is not safe (a
# seccomp filter forbidding clone, a memory cgroup near its limit, PID 1 of
# a namespace) the capture says why in one line and still writes a snapshot
# in another mode.
. "$(dirname "$0")/lib.sh"

build_capture_peek || { echo "not ok - cannot build capture-peek"; exit 1; }

mode_of() { $PEEK "$1" stats | awk '/^mode / { print $2 }'; }
# status LABEL KEY: a figure of cowtarget's status line, read only once the
# status thread has written a line that began after this call (fresh).
status() {
    local f="$TRASH/$1.report.status" t0 t i=0
    t0=$(awk '{ print $2 }' "$f" 2>/dev/null)
    while :; do
        t=$(awk '{ print $2 }' "$f" 2>/dev/null)
        [ -n "$t" ] && [ -n "$t0" ] && [ "$t" -gt $((t0 + 1)) ] && break
        i=$((i + 1)); [ $i -gt 600 ] && { echo "status of $1 is not advancing" >&2; return 1; }
        sleep 0.02
    done
    awk -v k="$2" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' "$f"
}
# No trace of a capture left in cowtarget LABEL: it runs (its status
# advances), has no child and no zombie, took no SIGCHLD, no call of it
# returned, no thread of it is stopped, and no copy of it is left anywhere.
assert_untouched() {
    local label=$1 pid i
    pid=$(pid_of "$label")
    for t in /proc/$pid/task/*; do
        [ "$(state_of "${t#/proc/}")" != t ] || { echo "thread ${t##*/} left in tracing stop" >&2; return 1; }
        # policy and nice as they were (the fork ran at SCHED_FIFO for a
        # moment): as this shell's, whose the target inherited (make test
        # may run under nice)
        [ "$(awk "{ sub(/.*\\) /, \"\"); print \$17, \$39 }" $t/stat)" = \
          "$(awk "{ sub(/.*\\) /, \"\"); print \$17, \$39 }" /proc/$$/stat)" ] ||
            { echo "thread ${t##*/} has nice/policy $(awk "{ sub(/.*\\) /, \"\"); print \$17, \$39 }" $t/stat)" >&2; return 1; }
    done
    [ "$(status "$label" children)" = 0 ] || { echo "the target has a child" >&2; return 1; }
    [ -z "$(ps -o pid= --ppid "$pid")" ] || { echo "ps shows a child of the target" >&2; return 1; }
    [ "$(status "$label" sigchld)" = 0 ] || { echo "the target's SIGCHLD handler ran" >&2; return 1; }
    [ "$(status "$label" unexpected)" = 0 ] || { echo "a call of the target returned" >&2; return 1; }
    # The copy, killed, is reaped by the target's parent (this shell):
    # give that a moment, bounded, then no process but the target may have
    # its command line.
    i=0
    while [ "$(pgrep -f -x "$SAMPLES/cowtarget $TRASH/$label.report.*" | grep -vx "$pid" | wc -l)" != 0 ]; do
        i=$((i + 1)); [ $i -gt 250 ] && { echo "a copy of the target is left:" >&2; ps -ef | grep cowtarget >&2; return 1; }
        sleep 0.02
    done
}
regions_match() {
    grep "^region" "$TRASH/$2.report" | while read -r _ name addr len seed; do
        $PEEK "$1" pattern $addr $len $seed || { echo "region $name differs"; exit 1; }
    done
}
# The bytes of cowtarget's region for generation $1 ($2 bytes) into $3.
gen_bytes() {
    python3 -c "import sys; n, g = int(sys.argv[1]), int(sys.argv[2]); sys.stdout.buffer.write(bytes((i * 13 + g) & 0xff for i in range(n)))" "$2" "$1" >"$3"
}

start_named patterns patterns || exit 1
start_named cow cowtarget 64 || exit 1
start_named sleeper cowtarget 16 sleep || exit 1
PAT=$(pid_of patterns)
COW=$(pid_of cow)

test_expect_success 'cow: the known bytes of heap, mmap, .bss and a thread stack' '
    $CAPTURE --mode=cow $PAT -o pat.hsnap 2>err &&
    cat err && grep -E "^captured $PAT \(2 threads, [0-9.]+ MiB read, cow\)" err &&
    test "$(mode_of pat.hsnap)" = 2 &&
    regions_match pat.hsnap patterns
'

test_expect_success 'cow is the default, and info shows the mode and why' '
    $CAPTURE -q $PAT -o dflt.hsnap &&
    test "$(mode_of dflt.hsnap)" = 2 &&
    $HEAPSNAP info dflt.hsnap >info &&
    grep -E "^  mode +cow$" info &&
    grep -E "^  why +the default: a fork is safe and pauses the target least$" info &&
    $HEAPSNAP info --json dflt.hsnap >info.json &&
    python3 -c "
import json, sys
c = json.load(open(\"info.json\"))[\"capture\"]
assert c[\"mode\"] == \"cow\", c
assert c[\"mode_reason\"] == \"the default: a fork is safe and pauses the target least\", c
"
'

test_expect_success 'cow through heapsnap core: gdb reads every byte of every region' '
    command -v gdb >/dev/null || { echo "gdb is not installed"; exit 1; }
    $HEAPSNAP core pat.hsnap -o pat.core &&
    patterns_gdb_dump "$TRASH/patterns.report" &&
    timeout 120 gdb -nx -batch -iex "set debuginfod enabled off" -x dump.gdb "$SAMPLES/patterns" pat.core >gdb.out 2>&1 &&
    for name in heap mmap bss stack; do cmp "$name.expect" "$name.got" || exit 1; done
'

test_expect_success 'cow: registers are those of the stop, the thread that forked included' '
    $PEEK pat.hsnap threads >threads && cat threads &&
    for t in $(awk "\$1 == \"thread\" { print \$2 }" "$TRASH/patterns.report"); do
        grep "^tid $t state S " threads || exit 1
    done &&
    ! grep "rsp 0x0 " threads && ! grep "stack 0x0-0x0" threads
'

# The writer rewrites the region after the stop and before the capture
# reads it (the capture holds its copy until told): the snapshot must hold
# the generation of the stop, byte for byte, and the target the new one.
test_expect_success 'a region rewritten while the copy is read is captured as it was at the stop' '
    read -r _ addr len <<<"$(grep "^region" "$TRASH/cow.report")" &&
    gen=$(grep -c "^rewritten" "$TRASH/cow.report"); gen=$((gen + 1)) &&
    rm -f go &&
    { HEAPSNAP_TEST_COW_HOLD=$TRASH/go $CAPTURE --mode=cow $COW -o cons.hsnap 2>cons.err & } && cpid=$! &&
    wait_line cons.err "heapsnap-capture: holding the copy [0-9]* until $TRASH/go exists" $cpid &&
    kill -USR1 $COW &&
    wait_line "$TRASH/cow.report" "rewritten $((gen + 1))" &&
    touch go && wait $cpid &&
    $PEEK cons.hsnap bytes $addr $len >got.bin &&
    gen_bytes $gen $len want.bin && cmp want.bin got.bin &&
    gen_bytes $((gen + 1)) $len now.bin &&
    dd if=/proc/$COW/mem bs=1M iflag=skip_bytes,count_bytes skip=$((addr)) count=$len 2>/dev/null >live.bin &&
    cmp now.bin live.bin &&
    assert_untouched cow
'

# CLONE_FILES: the copy shares the target's descriptor table rather than
# holding duplicates, so what the target closes is closed for real — here a
# flock(), which a duplicate in the copy would keep held.
test_expect_success 'a lock the target releases while its copy is read is released (the copy holds no descriptor)' '
    flock -n -x "$TRASH/cow.report.lock" true && { echo "the target does not hold its lock"; exit 1; }
    rm -f go2 &&
    { HEAPSNAP_TEST_COW_HOLD=$TRASH/go2 $CAPTURE --mode=cow $COW -o lock.hsnap 2>lock.err & } && cpid=$! &&
    wait_line lock.err "heapsnap-capture: holding the copy [0-9]* until $TRASH/go2 exists" $cpid &&
    kill -USR2 $COW && wait_line "$TRASH/cow.report" unlocked &&
    flock -n -x "$TRASH/cow.report.lock" true; rc=$?
    touch go2; wait $cpid && test $rc = 0 &&
    assert_untouched cow
'

test_expect_success 'the fork leaves no trace: no child, zombie, SIGCHLD, returned call or stopped thread' '
    for i in 1 2 3; do $CAPTURE -q --mode=cow $COW -o t.hsnap || exit 1; done &&
    test "$(mode_of t.hsnap)" = 2 &&
    assert_untouched cow
'

test_expect_success 'a thread in nanosleep (restart_syscall) sleeps on after a fork from it' '
    pid=$(pid_of sleeper) &&
    $CAPTURE -q --mode=cow $pid -o sl.hsnap && test "$(mode_of sl.hsnap)" = 2 &&
    grep "^region" "$TRASH/sleeper.report" >/dev/null &&
    assert_untouched sleeper
'

test_expect_success 'SIGKILL of the capture at random moments, 30 times: the target is untouched' '
    for i in $(seq 1 30); do
        { $CAPTURE -q --mode=cow $COW -o kill$i.hsnap 2>/dev/null & } && cpid=$! &&
        sleep "0.$(printf %03d $((RANDOM % 250)))" &&
        kill -KILL $cpid 2>/dev/null; wait $cpid 2>/dev/null
        assert_untouched cow || { echo "after kill $i"; exit 1; }
        test ! -e kill$i.hsnap || $PEEK kill$i.hsnap stats >/dev/null || exit 1
    done
'

test_expect_success 'a seccomp filter that fails clone: one line, then a buffered snapshot' '
    start_named ne noclone errno && pid=$(pid_of ne) &&
    $CAPTURE $pid -o ne.hsnap 2>err && cat err &&
    test "$(grep -c "no copy-on-write snapshot" err)" = 1 &&
    grep "^heapsnap-capture: no copy-on-write snapshot of $pid: the seccomp filter of thread $pid forbids clone (it would fail it with Operation not permitted); capturing in buffered mode$" err &&
    test "$(mode_of ne.hsnap)" = 0 &&
    regions_match ne.hsnap ne &&
    $HEAPSNAP info ne.hsnap | grep -E "^  why +no copy-on-write fork: the seccomp filter of thread $pid forbids clone"
'

test_expect_success 'a seccomp filter that would kill on clone: the target lives, the snapshot is made' '
    start_named nk noclone kill && pid=$(pid_of nk) &&
    $CAPTURE --mode=cow $pid -o nk.hsnap 2>err && cat err &&
    grep "forbids clone (it would kill the process); capturing in buffered mode$" err &&
    kill -0 $pid && test "$(state_of $pid)" = S &&
    regions_match nk.hsnap nk
'

# It needs a v1 memory cgroup it may make a child in (this machine kind has
# one; a chroot with a read-only /sys has not): skipped, saying so, where
# there is none.
cg_base=/sys/fs/cgroup/memory$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
if [ -w "$cg_base" ] && [ -f "$cg_base/memory.limit_in_bytes" ]; then
test_expect_success 'a memory cgroup near its limit: one line, then a snapshot in another mode' '
    base=$cg_base &&
    cg=$base/heapsnap-t0130-$$ && mkdir -p "$cg" &&
    rm -f "$TRASH/cg.report" &&
    { sh -c "echo \$\$ >$cg/cgroup.procs && exec $SAMPLES/cowtarget $TRASH/cg.report 64" >/dev/null 2>&1 & } &&
    wait_line "$TRASH/cg.report" ready && pid=$(pid_of cg) && track_pid $pid &&
    echo $(( $(cat $cg/memory.usage_in_bytes) + (8 << 20) )) >$cg/memory.limit_in_bytes &&
    rc=0; $CAPTURE $pid -o cg.hsnap 2>err || rc=$?
    # Out of the cgroup, so that it can go; the target itself runs until
    # test_done stops it (a pid killed here could be reused before then).
    cat err; echo $pid >"$base/cgroup.procs"; rmdir "$cg"
    test $rc = 0 &&
    grep "^heapsnap-capture: no copy-on-write snapshot of $pid: its memory cgroup /.*heapsnap-t0130-$$ has [0-9]* MiB below its limit, less than the [0-9]* MiB that the copies of pages it writes could take; capturing in buffered mode$" err &&
    test "$(mode_of cg.hsnap)" = 0 &&
    read -r _ addr len <<<"$(grep "^region" "$TRASH/cg.report")" &&
    $PEEK cg.hsnap bytes $addr $len >cg.bin && gen_bytes 1 $len cgwant.bin && cmp cgwant.bin cg.bin
'
else
    test_skip 'a memory cgroup near its limit: one line, then a snapshot in another mode' \
        "no writable v1 memory cgroup at $cg_base"
fi

test_expect_success 'PID 1 of a PID namespace: one line, then a snapshot in another mode' '
    command -v unshare >/dev/null || { echo "unshare is missing"; exit 1; }
    rm -f "$TRASH/ns.report" &&
    { unshare --pid --fork "$SAMPLES/patterns" "$TRASH/ns.report" >/dev/null 2>&1 & } && upid=$! && track_pid $upid &&
    wait_line "$TRASH/ns.report" ready &&
    pid=$(pgrep -P $upid -x patterns) && test -n "$pid" && track_pid $pid &&
    $CAPTURE $pid -o ns.hsnap 2>err && cat err &&
    grep "^heapsnap-capture: no copy-on-write snapshot of $pid: it is PID 1 of its PID namespace" err &&
    test "$(mode_of ns.hsnap)" = 0 &&
    grep "^region" "$TRASH/ns.report" | while read -r _ name addr len seed; do
        $PEEK ns.hsnap pattern $addr $len $seed || exit 1
    done
'

test_done
