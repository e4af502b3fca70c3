#!/usr/bin/env bash
# t1000-capture.sh — heapsnap-capture: what it writes, and that it never
# harms the target (the target always runs on, whatever happens to us).
#
# The snapshot is inspected with tests/tools/capture-peek.c, a small reader built
# from format/ alone (make test builds it with the project's flags and the
# sanitizers), so these tests need neither the analyzer nor gdb.
. "$(dirname "$0")/lib.sh"

build_capture_peek || { echo "not ok - cannot build capture-peek"; exit 1; }

# Wait until pid's main thread is in state $2 (e.g. 't', held by a tracer).
wait_state() {
    local i=0
    while [ "$(state_of "$1")" != "$2" ]; do
        i=$((i + 1)); [ $i -gt 400 ] && { echo "pid $1 never reached state $2" >&2; return 1; }
        sleep 0.05
    done
}
beats() { awk '{ print $2 }' "$TRASH/$1.report.beat"; }
# No thread of pid is stopped by a tracer, and its heartbeat advances.
assert_running() {
    local pid=$1 label=$2
    for t in /proc/$pid/task/*; do
        s=$(state_of "${t#/proc/}")
        [ "$s" != t ] || { echo "thread ${t##*/} left in tracing stop" >&2; return 1; }
    done
    b1=$(beats "$label"); sleep 0.3; b2=$(beats "$label")
    [ "$b2" -gt "$b1" ] || { echo "heartbeat stuck at $b1" >&2; return 1; }
}
# Start a slow capture (small buffer, zstd -19) of the target labelled $1
# into $2 in the background, stderr to err, and wait until it holds the
# target: the moment the cases below interrupt.  Sets pid and cpid.
start_held_capture() {
    pid=$(pid_of "$1") &&
    { $CAPTURE -q --mode=buffer --max-buffer=1M --level=19 $pid -o "$2" 2>err & } &&
    cpid=$! && track_pid $cpid &&
    wait_state $pid t
}
no_output_left() {
    [ ! -e "$1" ] || { echo "$1 exists" >&2; return 1; }
    ! ls -A "$(dirname "$1")" | grep -q "^\.$(basename "$1")\.tmp-" || { echo "temporary file left behind" >&2; return 1; }
}

SECRET=hs-secret-$$-do-not-capture
# A secret in the environment of the patterns target (see "environment").
HEAPSNAP_TEST_SECRET=$SECRET start_named patterns patterns || exit 1
start_named threads threads 16 || exit 1
start_named beat bigheap 32 || exit 1
# Slow captures: incompressible heap, tiny buffer, zstd -19 while stopped.
start_named slow bigheap 192 random || exit 1
start_named doomed bigheap 192 random || exit 1
PAT=$(pid_of patterns)

test_expect_success 'the capture holds the known bytes of heap, mmap, .bss and a thread stack' '
    $CAPTURE -q $PAT -o pat.hsnap &&
    grep "^region" "$TRASH/patterns.report" | while read -r _ name addr len seed; do
        $PEEK pat.hsnap pattern $addr $len $seed || { echo "region $name differs"; exit 1; }
    done
'

test_expect_success 'the same bytes without PAGEMAP_SCAN (kernels before 6.7)' '
    HEAPSNAP_NO_PAGEMAP_SCAN=1 $CAPTURE -q $PAT -o pat-old.hsnap &&
    grep "^region" "$TRASH/patterns.report" | while read -r _ name addr len seed; do
        $PEEK pat-old.hsnap pattern $addr $len $seed || { echo "region $name differs"; exit 1; }
    done
'

test_expect_success 'the same bytes when streamed while stopped (--max-buffer smaller than the target)' '
    $CAPTURE --mode=buffer --max-buffer=64K $PAT -o pat-streamed.hsnap 2>err &&
    grep "streamed while stopped" err &&
    grep "^region" "$TRASH/patterns.report" | while read -r _ name addr len seed; do
        $PEEK pat-streamed.hsnap pattern $addr $len $seed || { echo "region $name differs"; exit 1; }
    done
'

test_expect_success 'a huge, nearly empty reservation: its pages found, the pause short' '
    start_named sparse sparse 64 &&
    pid=$(pid_of sparse) &&
    read -r _ _ addr len seed <<<"$(grep "^region" "$TRASH/sparse.report")" &&
    for env in X=1 HEAPSNAP_NO_PAGEMAP_SCAN=1; do
        env $env $CAPTURE -q $pid -o sparse.hsnap &&
        $PEEK sparse.hsnap pattern $addr $len $seed &&
        pause=$($PEEK sparse.hsnap stats | awk "/^pause_ns/ { print \$2 }") &&
        echo "$env: pause $pause ns" && test "$pause" -lt 500000000 || exit 1
    done
'

test_expect_success 'the snapshot file is created mode 0600' '
    test "$(stat -c %a pat.hsnap)" = 600
'

test_expect_success 'the summary line reports threads and the pause' '
    $CAPTURE $PAT -o summary.hsnap 2>err &&
    grep -E "^captured $PAT \(2 threads, [0-9.]+ MiB read, (cow|buffered)\) in [0-9.]+ s; target paused [0-9.]+ ms$" err
'

test_expect_success 'every thread and its registers are recorded' '
    $PEEK pat.hsnap threads >threads &&
    for t in $(awk "\$1 == \"thread\" { print \$2 }" "$TRASH/patterns.report"); do
        grep "^tid $t state S " threads || exit 1
    done &&
    ! grep "rsp 0x0 " threads && ! grep "stack 0x0-0x0" threads
'

test_expect_success 'heapsnap-capture links only libc (zstd is static)' '
    ldd "$CAPTURE" >libs &&
    ! grep -v -E "linux-vdso|libc\.so|ld-linux" libs
'

test_expect_success 'with 16 threads and thread churn, every lasting thread is captured' '
    pid=$(pid_of threads) &&
    $CAPTURE -q $pid -o thr.hsnap &&
    $PEEK thr.hsnap threads >got &&
    for t in $(awk "\$1 == \"thread\" { print \$2 }" "$TRASH/threads.report"); do
        grep -q "^tid $t " got || { echo "thread $t missing"; exit 1; }
    done &&
    test $(wc -l <got) -ge 18 &&
    for t in /proc/$pid/task/*; do test "$(state_of ${t#/proc/})" != t; done
'

test_expect_success 'the target runs on after a capture (heartbeat advances)' '
    pid=$(pid_of beat) &&
    $CAPTURE -q $pid -o beat.hsnap &&
    assert_running $pid beat
'

test_expect_success 'a group-stopped target stays stopped after the capture' '
    pid=$(pid_of beat) &&
    kill -STOP $pid && wait_state $pid T &&
    $CAPTURE -q $pid -o stopped.hsnap &&
    sleep 0.2 && test "$(state_of $pid)" = T &&
    kill -CONT $pid && sleep 0.1 && assert_running $pid beat
'

test_expect_success 'SIGKILL of heapsnap-capture mid-capture leaves the target running' '
    start_held_capture slow killed.hsnap &&
    kill -KILL $cpid && { wait $cpid || true; } &&
    sleep 0.2 &&
    assert_running $pid slow &&
    no_output_left killed.hsnap
'

test_expect_success 'SIGTERM of heapsnap-capture detaches, removes its temporary file, exits non-zero' '
    start_held_capture slow termed.hsnap &&
    kill -TERM $cpid && rc=0 && { wait $cpid || rc=$?; } &&
    test $rc -ne 0 && grep "interrupted; target detached" err &&
    assert_running $pid slow &&
    no_output_left termed.hsnap
'

# bigheap resets its longest-gap figure on SIGUSR1: if the signal sent
# while it was held were lost, the figure would show the whole hold.
test_expect_success 'a signal sent to the target while it is held is delivered after' '
    start_held_capture slow signalled.hsnap &&
    kill -USR1 $pid && sleep 0.6 &&
    kill -TERM $cpid && { wait $cpid || true; } &&
    sleep 0.3 && gap=$(awk "{ print \$4 }" "$TRASH/slow.report.beat") &&
    echo "longest gap since SIGUSR1: $gap us" && test "$gap" -lt 400000
'

test_expect_success 'a target bigger than --max-buffer is streamed while stopped, completely' '
    pid=$(pid_of beat) &&
    $CAPTURE --mode=buffer --max-buffer=4M $pid -o streamed.hsnap 2>err &&
    grep "writing while the target is stopped" err &&
    grep "streamed while stopped" err &&
    $PEEK streamed.hsnap stats >st && grep "^mode 1$" st &&
    $CAPTURE -q --mode=buffer $pid -o buffered.hsnap &&
    $PEEK buffered.hsnap stats >bt && grep "^mode 0$" bt &&
    test "$(grep ^ranges st | cut -d" " -f2)" -ge "$(grep ^ranges bt | cut -d" " -f2)" &&
    assert_running $pid beat
'

test_expect_success '--mappings=all also captures read-only and executable mappings' '
    $CAPTURE -q --mappings=all $PAT -o all.hsnap &&
    $PEEK all.hsnap stats | grep "^policy 1$" &&
    test $($PEEK all.hsnap stats | awk "/^bytes_read/ { print \$2 }") -gt \
         $($PEEK pat.hsnap stats | awk "/^bytes_read/ { print \$2 }")
'

test_expect_success 'a target that exits during the capture: clear error, no file' '
    start_held_capture doomed doomed.hsnap &&
    kill -KILL $pid && rc=0 && { wait $cpid || rc=$?; } &&
    cat err &&
    test $rc -eq 1 && tail -n 1 err | grep "cannot capture process $pid: .*exited during the capture" &&
    test $(grep -c "cannot capture" err) -eq 1 &&
    no_output_left doomed.hsnap
'

test_expect_success 'a process that does not exist: one line saying so' '
    sh -c "exit 0" & gone=$! ; wait $gone
    test_must_fail $CAPTURE $gone -o none.hsnap 2>err &&
    cat err && grep "cannot capture process $gone: no such process" err &&
    test $(wc -l <err) -eq 1 && no_output_left none.hsnap
'

test_expect_success 'a user who may not trace the target is told why' '
    mkdir -p open && chmod 777 open &&
    test_must_fail setpriv --reuid=65534 --regid=65534 --clear-groups \
        $CAPTURE $PAT -o open/eperm.hsnap 2>err &&
    cat err && grep "permission denied: it belongs to uid 0 and this runs as uid 65534" err &&
    grep "CAP_SYS_PTRACE" err && no_output_left open/eperm.hsnap
'

test_expect_success 'a target that already has a tracer: the tracer is named' '
    command -v strace >/dev/null || exit 0
    strace -p $PAT -o /dev/null 2>/dev/null & spid=$!
    track_pid $spid
    i=0; while [ "$(awk "/^TracerPid/ { print \$2 }" /proc/$PAT/status)" = 0 ]; do
        i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05; done
    rc=0; $CAPTURE $PAT -o traced.hsnap 2>err || rc=$?
    kill $spid; wait $spid
    cat err && test $rc -eq 1 && grep "already traced by process $spid (strace)" err
'

test_expect_success 'a thread that will not stop: --timeout fails cleanly, target runs on' '
    start_named stuck stuck 5 &&
    pid=$(pid_of stuck) &&
    rc=0; $CAPTURE --timeout=0.5 $pid -o stuck.hsnap 2>err || rc=$?
    cat err && test $rc -eq 1 &&
    grep "did not stop within 0.5 s: it is in state D" err &&
    sleep 0.2 &&
    for t in /proc/$pid/task/*; do test "$(state_of ${t#/proc/})" != t; done &&
    no_output_left stuck.hsnap &&
    { kill -9 $pid || true; }
'

test_expect_success '-o - streams a valid snapshot into a pipe' '
    $CAPTURE -q $PAT -o - | cat >piped.hsnap &&
    grep "^region heap" "$TRASH/patterns.report" | { read -r _ _ addr len seed &&
        $PEEK piped.hsnap pattern $addr $len $seed; }
'

test_expect_success '--redact keeps only pointers into anonymous memory' '
    $CAPTURE -q --redact $PAT -o red.hsnap &&
    $PEEK red.hsnap redacted >kept && cat kept &&
    $PEEK red.hsnap stats | grep "^flags 1$" &&
    grep "^region heap" "$TRASH/patterns.report" | { read -r _ _ addr len seed &&
        ! $PEEK red.hsnap pattern $addr $len $seed; }
'

# The environment: the process section never holds it, and the copy of the
# main stack has the environment strings zeroed (see capture/scrub.h), so
# the secret is nowhere in the memory of the file.
test_expect_success 'the environment is not in the snapshot' '
    tr "\0" "\n" </proc/$PAT/environ | grep -q "$SECRET" &&
    $CAPTURE -q --mappings=all $PAT -o env.hsnap &&
    $PEEK env.hsnap dump mem &&
    test -s mem && ! grep -a -q "$SECRET" mem &&
    $PEEK env.hsnap argv >argv && grep -q patterns.report argv &&
    ! grep -a -q "$SECRET" env.hsnap
'

test_expect_success 'an output that cannot be created is refused before the target is touched' '
    mkdir -p adir &&
    test_must_fail $CAPTURE $PAT -o adir 2>err && grep "adir is a directory" err &&
    test_must_fail $CAPTURE $PAT -o nodir/x.hsnap 2>err && grep "does the directory exist" err &&
    test "$(state_of $PAT)" = S
'

test_expect_success 'usage errors exit 2 and point to --help' '
    rc=0; $CAPTURE 2>err || rc=$?; test $rc -eq 2 && grep -- "--help" err &&
    rc=0; $CAPTURE $PAT 2>err || rc=$?; test $rc -eq 2 && grep -- "-o FILE" err &&
    rc=0; $CAPTURE --mappings=some $PAT -o x 2>err || rc=$?; test $rc -eq 2 &&
    $CAPTURE --help | grep -q "usage: heapsnap-capture"
'

test_done
