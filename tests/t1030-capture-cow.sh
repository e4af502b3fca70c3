#!/usr/bin/env bash
# t1030-capture-cow.sh — heapsnap-capture --mode=cow: the stopped target
# forks a frozen copy of itself that the capture reads after the target has
# resumed (capture/cow.h).  What is checked: the copy holds exactly the
# target's bytes as they were at the stop, whatever the target writes
# afterwards; a lock the target releases meanwhile is released (CLONE_FILES:
# the copy holds no descriptor); the injected fork leaves no trace in the
# target (no child, no zombie, no SIGCHLD, no system call that returned when
# it must not, no stopped thread, no changed priority), even when the
# capture is SIGKILLed at any moment; and where a fork is not safe (a
# seccomp filter forbidding clone, a memory cgroup near its limit, overcommit
# that would refuse it, PID 1 of a namespace) or the kernel refuses it while
# the target is stopped (a pids cgroup at its limit), the capture says why in
# one line and still writes a snapshot in another mode.  Each is a real
# condition, made for the case, never a figure injected for the test.
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
        # policy and nice as they were (the fork ran at SCHED_FIFO for a moment):
        # SCHED_OTHER, and the nice it inherited from this shell
        [ "$(awk "{ sub(/.*\\) /, \"\"); print \$17, \$39 }" $t/stat)" = "$(nice) 0" ] ||
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
    cg=$base/heapsnap-t1030-$$ && mkdir -p "$cg" &&
    rm -f "$TRASH/cg.report" &&
    { sh -c "echo \$\$ >$cg/cgroup.procs && exec $SAMPLES/cowtarget $TRASH/cg.report 64" >/dev/null 2>&1 & } &&
    wait_line "$TRASH/cg.report" ready && pid=$(pid_of cg) && track_pid $pid &&
    echo $(( $(cat $cg/memory.usage_in_bytes) + (8 << 20) )) >$cg/memory.limit_in_bytes &&
    rc=0; $CAPTURE $pid -o cg.hsnap 2>err || rc=$?
    # Out of the cgroup, so that it can go; the target itself runs until
    # test_done stops it (a pid killed here could be reused before then).
    cat err; echo $pid >"$base/cgroup.procs"; rmdir "$cg"
    test $rc = 0 &&
    grep "^heapsnap-capture: no copy-on-write snapshot of $pid: its memory cgroup /.*heapsnap-t1030-$$ has [0-9]* MiB below its limit, less than the [0-9]* MiB that the copies of pages it writes could take; capturing in buffered mode$" err &&
    test "$(mode_of cg.hsnap)" = 0 &&
    read -r _ addr len <<<"$(grep "^region" "$TRASH/cg.report")" &&
    $PEEK cg.hsnap bytes $addr $len >cg.bin && gen_bytes 1 $len cgwant.bin && cmp cgwant.bin cg.bin
'
else
    test_skip 'a memory cgroup near its limit: one line, then a snapshot in another mode' \
        "no writable v1 memory cgroup at $cg_base"
fi

# The kernel's own refusal of the injected clone, found while the target is
# stopped: a pids cgroup at its limit makes clone fail with EAGAIN (root is
# not exempt, as it is from RLIMIT_NPROC).  The thread's registers and its
# blocked read() are put back, the target is let go and stopped again for a
# buffered capture.  It needs a pids cgroup it may make a child in.
pids_base=/sys/fs/cgroup/pids$(awk -F: '$2 ~ /(^|,)pids(,|$)/ { print $3 }' /proc/self/cgroup)
if [ -w "$pids_base" ] && [ -f "$pids_base/cgroup.procs" ] && mkdir "$pids_base/heapsnap-t1030-probe-$$" 2>/dev/null &&
   rmdir "$pids_base/heapsnap-t1030-probe-$$"; then
test_expect_success 'the kernel refuses the fork (pids.max): one line, a second stop, a buffered snapshot, the target unharmed' '
    cg=$pids_base/heapsnap-t1030-$$ && mkdir -p "$cg" &&
    rm -f "$TRASH/pc.report" &&
    { sh -c "echo \$\$ >$cg/cgroup.procs && exec $SAMPLES/cowtarget $TRASH/pc.report 64" >/dev/null 2>&1 & } &&
    wait_line "$TRASH/pc.report" ready && pid=$(pid_of pc) && track_pid $pid &&
    cat $cg/pids.current >$cg/pids.max &&
    rc=0; $CAPTURE $pid -o pc.hsnap 2>err || rc=$?
    events=$(awk "\$1 == \"max\" { print \$2 }" $cg/pids.events)
    cat err; echo $pid >"$pids_base/cgroup.procs"; rmdir "$cg"
    test $rc = 0 &&
    test "$events" -ge 1 &&
    test "$(grep -c "no copy-on-write snapshot" err)" = 1 &&
    grep "^heapsnap-capture: no copy-on-write snapshot of $pid: the kernel refused the fork: EAGAIN (a process limit: RLIMIT_NPROC, pids.max or threads-max); capturing in buffered mode$" err &&
    test "$(mode_of pc.hsnap)" = 0 &&
    $HEAPSNAP info pc.hsnap | grep -E "^  why +no copy-on-write fork: the kernel refused the fork: EAGAIN .*\(found while stopped: a second stop\)$" &&
    read -r _ addr len <<<"$(grep "^region" "$TRASH/pc.report")" &&
    $PEEK pc.hsnap bytes $addr $len >pc.bin && gen_bytes 1 $len pcwant.bin && cmp pcwant.bin pc.bin &&
    assert_untouched pc
'
else
    test_skip 'the kernel refuses the fork (pids.max): one line, a second stop, a buffered snapshot, the target unharmed' \
        "no pids cgroup at $pids_base that this user may make a child in"
fi

# A target whose own fork the kernel refuses for overcommit.  In the
# heuristic mode (vm.overcommit_memory=0) mmap checks each mapping alone
# against RAM and swap, but fork checks them all together: two private
# writable mappings of 0.6 of RAM and swap each are made, and then the
# kernel refuses the target's own fork() with ENOMEM (asserted first: the
# real condition), so a capture must not try one.  Nothing on the machine
# is changed (the mappings are address space, never touched but 1 MiB).
cat >"$TRASH/octarget.py" <<'EOF'
import ctypes, errno, mmap, os, signal, sys
rep, sizes = sys.argv[1], [int(a) for a in sys.argv[2:]]
maps = [mmap.mmap(-1, s, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, prot=mmap.PROT_READ | mmap.PROT_WRITE) for s in sizes]
n = 1 << 20
maps[0][0:n] = bytes((i * 13 + 5) & 0xff for i in range(n))
addr = ctypes.addressof(ctypes.c_char.from_buffer(maps[0]))
def try_fork(sig, frame):
    try:
        pid = os.fork()
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    else:
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        r = "ok"
    with open(rep, "a") as f:
        f.write("fork %s\n" % r)
signal.signal(signal.SIGUSR1, try_fork)
with open(rep, "w") as f:
    f.write("pid %d\nregion 0x%x %d\nready\n" % (os.getpid(), addr, n))
while True:
    signal.pause()
EOF
ram_swap=$(awk '$1 == "MemTotal:" || $1 == "SwapTotal:" { s += $2 } END { printf "%.0f\n", s * 1024 }' /proc/meminfo)
if [ "$(cat /proc/sys/vm/overcommit_memory)" = 0 ]; then
test_expect_success 'overcommit that refuses the fork: one line, a buffered snapshot' '
    rm -f "$TRASH/oc.report" &&
    { python3 "$TRASH/octarget.py" "$TRASH/oc.report" $((ram_swap * 6 / 10)) $((ram_swap * 6 / 10)) >/dev/null 2>&1 & } &&
    opid=$! && track_pid $opid && wait_line "$TRASH/oc.report" ready $opid &&
    pid=$(pid_of oc) && kill -USR1 $pid &&
    wait_line "$TRASH/oc.report" "fork ENOMEM" $pid 200 &&
    $CAPTURE $pid -o oc.hsnap 2>err && cat err &&
    test "$(grep -c "no copy-on-write snapshot" err)" = 1 &&
    grep "^heapsnap-capture: no copy-on-write snapshot of $pid: overcommit would refuse the fork ([0-9]* MiB of private writable memory is more than RAM and swap); capturing in buffered mode$" err &&
    test "$(mode_of oc.hsnap)" = 0 &&
    read -r _ addr len <<<"$(grep "^region" "$TRASH/oc.report")" &&
    $PEEK oc.hsnap bytes $addr $len >oc.bin &&
    python3 -c "import sys; sys.stdout.buffer.write(bytes((i * 13 + 5) & 0xff for i in range(int(sys.argv[1]))))" $len >ocwant.bin &&
    cmp ocwant.bin oc.bin
'
else
    test_skip 'overcommit that refuses the fork: one line, a buffered snapshot' \
        "vm.overcommit_memory is $(cat /proc/sys/vm/overcommit_memory) here, not the heuristic mode 0 the case is made for"
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
