#!/usr/bin/env bash
# t6400-core.sh — heapsnap core writes an ELF core that gdb reads as if it
# were the live process.
#
# samples/patterns fills four regions (heap, mmap, .bss, a thread's stack)
# with byte i = (i*7 + seed) & 0xff and reports where they are; its threads
# then block forever in read(), so registers and memory stay still.  We
# capture it, write a core, and through gdb in batch mode check: every byte
# of every region, a global, every thread's registers against the live
# process (gdb -p), a backtrace into main / stack_thread for every thread,
# and that gdb found the shared libraries (which needs the DT_DEBUG
# reconstruction, see analyze/elfcore/elfcore.h).
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/patterns" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'core files of patterns' 'bin/samples/patterns or the capture tool is not built'
    test_done
fi
if ! command -v gdb >/dev/null; then
    test_skip 'core files of patterns' 'gdb is not installed'
    test_done
fi

EXE=$SAMPLES/patterns
# gdb, quietly and reproducibly: no ~/.gdbinit, no network.
gdb_batch() {
    timeout 120 gdb -nx -batch -iex 'set debuginfod enabled off' -iex 'set pagination off' "$@"
}

# "TID REG VALUE" lines, sorted, from gdb's `thread apply all info
# registers` output (thread headers name the LWP, live or core alike).
REGS="rip rsp rbp rbx r12 r13 r14 r15 rdi rsi rdx r8 r9 r10 rax rcx r11 eflags fs_base"
regs_table() {
    awk -v regs=" $REGS " '
        /^Thread [0-9]+ .*LWP [0-9]+/ { match($0, /LWP [0-9]+/); tid = substr($0, RSTART + 4, RLENGTH - 4); next }
        tid != "" && index(regs, " " $1 " ") && $2 ~ /^0x/ { print tid, $1, $2 }
    ' "$1" | sort
}

start_sample patterns || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true
# The threads sample (16 blocked threads and churn) for the backtrace case.
SAMPLE_PID=
start_sample threads || true
TPID=${SAMPLE_PID:-}

test_expect_success 'setup: patterns is running and was captured' '
    test -n "$PID" &&
    grep -qx ready patterns.report &&
    $HEAPSNAP verify snap.hsnap
'

test_expect_success 'heapsnap core writes an x86_64 ELF core, mode 0600' '
    $HEAPSNAP core snap.hsnap -o snap.core 2>err &&
    test ! -s err &&
    test "$(stat -c %a snap.core)" = 600 &&
    readelf -hW snap.core >hdr &&
    grep "Type: *CORE" hdr &&
    grep "Machine: *Advanced Micro Devices X86-64" hdr &&
    readelf -lW snap.core >phdrs &&
    awk "/^Program Headers:/ { getline; getline; print \$1; exit }" phdrs | grep -x NOTE &&
    readelf -nW snap.core >notes &&
    test "$(grep -c NT_PRSTATUS notes)" = 2 &&
    grep NT_PRPSINFO notes && grep NT_AUXV notes && grep NT_FILE notes
'

test_expect_success 'the default output name is core.PID' '
    $HEAPSNAP core snap.hsnap &&
    cmp snap.core core.$PID
'

test_expect_success 'a core written to a pipe is the same as one written to a file' '
    $HEAPSNAP core snap.hsnap -o - | cat >piped.core &&
    cmp snap.core piped.core
'

test_expect_success 'gdb reads every byte of every region as the sample wrote it' '
    patterns_gdb_dump patterns.report &&
    gdb_batch -x dump.gdb "$EXE" snap.core >gdb.out 2>&1 &&
    for name in heap mmap bss stack; do
        cmp "$name.expect" "$name.got" || exit 1
    done
'

test_expect_success 'gdb prints a global from the core' '
    gdb_batch -ex "print sizeof(bss_region)" -ex "print/u bss_region[1000]" \
        -ex "print/u bss_region[32767]" "$EXE" snap.core >gdb.out 2>&1 &&
    grep "^\$1 = 32768\$" gdb.out &&
    grep "^\$2 = $(( (1000 * 7 + 51) & 255 ))\$" gdb.out &&
    grep "^\$3 = $(( (32767 * 7 + 51) & 255 ))\$" gdb.out
'

test_expect_success 'gdb finds the shared libraries and says nothing alarming' '
    gdb_batch -ex "info sharedlibrary" "$EXE" snap.core >gdb.out 2>&1 &&
    grep "libc.so.6\$" gdb.out &&
    ! grep -i "warning\|failed\|cannot" gdb.out
'

test_expect_success 'every thread'"'"'s registers in the core are the live process'"'"'s' '
    gdb_batch -ex "thread apply all info registers $REGS" "$EXE" snap.core >core-regs.out 2>&1 &&
    gdb_batch -ex "thread apply all info registers $REGS" -p "$PID" >live-regs.out 2>&1 &&
    regs_table core-regs.out >core.regs &&
    regs_table live-regs.out >live.regs &&
    nthreads=$(grep -c "^thread " patterns.report) &&
    nregs=$(echo $REGS | wc -w) &&
    test "$(wc -l <live.regs)" = $((nthreads * nregs)) &&
    test_cmp live.regs core.regs
'

test_expect_success 'thread apply all bt reaches main or stack_thread in every thread' '
    gdb_batch -ex "thread apply all bt" "$EXE" snap.core >bt.out 2>&1 &&
    for tid in $(awk "\$1 == \"thread\" { print \$2 }" patterns.report); do
        awk -v tid="$tid" "
            /^Thread [0-9]+ / { on = index(\$0, \"LWP \" tid \")\") > 0; next }
            on && / in (main|stack_thread) \\(/ { found = 1 }
            END { exit !found }
        " bt.out || { echo "no main/stack_thread frame for thread $tid"; exit 1; }
    done
'

test_expect_success 'gdb selects the main thread first; --thread selects another' '
    gdb_batch -ex "info threads" "$EXE" snap.core >threads.out 2>&1 &&
    grep "^\* 1 .*LWP $PID)" threads.out &&
    other=$(awk "\$1 == \"thread\" && \$2 != $PID { print \$2; exit }" patterns.report) &&
    $HEAPSNAP core --thread "$other" snap.hsnap -o other.core &&
    gdb_batch -ex "info threads" "$EXE" other.core >threads.out 2>&1 &&
    grep "^\* 1 .*LWP $other)" threads.out
'

test_expect_success 'without the DT_DEBUG reconstruction gdb lists no libraries (why it exists)' '
    $HEAPSNAP core --no-dt-debug snap.hsnap -o nodt.core &&
    gdb_batch -ex "info sharedlibrary" "$EXE" nodt.core >gdb.out 2>&1 &&
    grep "No shared libraries loaded" gdb.out
'

test_expect_success 'with --mappings=all the core opens in gdb without a warning' '
    "$CAPTURE" -q --mappings=all "$PID" -o all.hsnap &&
    $HEAPSNAP core all.hsnap -o all.core 2>err &&
    test ! -s err &&
    gdb_batch -ex "info sharedlibrary" -ex "thread apply all bt" -ex "print/u bss_region[1]" \
        "$EXE" all.core >gdb.out 2>&1 &&
    grep "libc.so.6\$" gdb.out &&
    grep "in stack_thread (" gdb.out &&
    grep "^\$1 = 58\$" gdb.out &&
    ! grep -i "warning\|failed\|cannot\|corrupt" gdb.out
'

test_expect_success 'threads sample: every long-lived thread unwinds to its start in the core' '
    test -n "$TPID" &&
    "$CAPTURE" -q "$TPID" -o threads.hsnap &&
    $HEAPSNAP core threads.hsnap -o threads.core &&
    gdb_batch -ex "thread apply all bt" "$SAMPLES/threads" threads.core >bt.out 2>&1 &&
    n=0 &&
    for tid in $(awk "\$1 == \"thread\" { print \$2 }" threads.report); do
        awk -v tid="$tid" "
            /^Thread [0-9]+ / { on = index(\$0, \"LWP \" tid \")\") > 0; next }
            on && / in (main|start_thread) \\(/ { found = 1 }
            END { exit !found }
        " bt.out || { echo "thread $tid does not unwind"; exit 1; }
        n=$((n + 1))
    done &&
    test $n -ge 16
'

test_expect_success 'core: a thread that is not in the snapshot is an error' '
    test_must_fail $HEAPSNAP core --thread 999999999 snap.hsnap -o x.core 2>err &&
    grep "no thread 999999999" err &&
    test ! -e x.core
'

test_expect_success 'core: --thread needs a number (usage error, exit 2)' '
    rc=0; $HEAPSNAP core --thread abc snap.hsnap -o x.core 2>err || rc=$?
    test $rc -eq 2 && grep "thread id" err
'

test_expect_success 'core: an unwritable output names the file, leaves nothing' '
    test_must_fail $HEAPSNAP core snap.hsnap -o no/such/dir/x.core 2>err &&
    grep "no/such/dir/x.core: cannot create" err
'

stop_sample "$PID"
stop_sample "$TPID"
test_done
