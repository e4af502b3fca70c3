#!/usr/bin/env bash
# samples/demo.sh — what `make demo` runs: start a sample program, capture
# it with heapsnap-capture, and show what heapsnap says about it.
#
# It shows the main job twice over: a program that leaks (index, leaks,
# top, sql) and one whose cache grows between two snapshots (diff).
#
# The demo is a list of steps; each is a shell function named step_NAME,
# run in the order of STEPS below, with its commands echoed before they
# run (so the output reads like a session at a terminal).  To show a new
# command, write a step_ function and add its name to STEPS.  Every step
# can use: $SNAP (the snapshot), $PID (the sample's pid), $EXE (its
# binary), $WORK (a scratch directory, also the current directory) and
# `run CMD...` (echo, then run).
#
# Whatever happens, the sample process is killed and $WORK removed on exit.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${HEAPSNAP_BIN:-$ROOT/bin}  # the programs to show; override to try another build
EXE=$ROOT/bin/samples/patterns
WORK=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-demo.XXXXXX")
SNAP=patterns.hsnap # relative to $WORK, so the output reads as at a terminal
PID=

STEPS="start capture verify info core leaks diff"

PIDS=

cleanup() {
    local p
    for p in $PID $PIDS; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$WORK" || exit 1

# run CMD...: show the command as a user would type it (our programs by
# their names, as if installed; paths in the tree relative to it), then
# run it.
run() {
    local a line=
    for a in "$@"; do
        a=${a#"$BIN"/}
        a=${a#"$ROOT"/}
        case $a in
        *[!A-Za-z0-9_./=:+,@%-]*) a="'$a'" ;;
        esac
        line="$line $a"
    done
    printf '\n$%s\n' "$line"
    "$@"
}

say() { printf '\n== %s\n' "$*"; }

# launch NAME [ARGS...]: start bin/samples/NAME with its report in
# $WORK/NAME.report, wait for its "ready" line, and set LAUNCHED to its pid.
launch() {
    local name=$1; shift
    "$ROOT/bin/samples/$name" "$WORK/$name.report" "$@" >/dev/null 2>&1 &
    LAUNCHED=$!
    PIDS="$PIDS $LAUNCHED"
    wait_for_line "$name" ready
}

# wait_for_line NAME LINE: wait until NAME's report has LINE on a line of its own.
wait_for_line() {
    for _ in $(seq 200); do
        grep -qx "$2" "$WORK/$1.report" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "the sample $1 did not reach '$2'" >&2
    return 1
}

step_start() {
    say "a sample program: patterns fills its heap, an mmap, .bss and a stack with known bytes"
    "$EXE" "$WORK/patterns.report" >/dev/null 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        grep -qx ready "$WORK/patterns.report" 2>/dev/null && break
        kill -0 "$PID" 2>/dev/null || { echo "the sample exited" >&2; return 1; }
        sleep 0.05
    done
    grep -qx ready "$WORK/patterns.report" || { echo "the sample did not start" >&2; return 1; }
    sed -e 's/^/    /' "$WORK/patterns.report"
}

step_capture() {
    say "capture it: the process is stopped only while its pages are copied"
    run "$BIN/heapsnap-capture" "$PID" -o "$SNAP"
}

step_verify() {
    say "check the snapshot (what you do after copying it off a production host)"
    run "$BIN/heapsnap" verify "$SNAP"
}

step_info() {
    say "what the snapshot knows about the process"
    run "$BIN/heapsnap" info "$SNAP"
}

step_core() {
    say "turn it into an ELF core and open it in gdb"
    run "$BIN/heapsnap" core "$SNAP" -o patterns.core || return 1
    if ! command -v gdb >/dev/null; then
        echo "(gdb is not installed; skipping the gdb part)"
        return 0
    fi
    local heap
    heap=$(awk '$1 == "region" && $2 == "heap" { print $3 }' "$WORK/patterns.report")
    run gdb -q -nx -batch -iex 'set debuginfod enabled off' \
        -ex 'info threads' -ex 'thread apply all bt' \
        -ex 'print/u bss_region[1]' -ex "x/8xb $heap" \
        "$EXE" patterns.core 2>&1 | grep -v '^\[New LWP\|^Using host libthread_db\|: No such file or directory.$'
}

step_leaks() {
    say "a program that leaks: single blocks, a list whose head was lost, cycles no root reaches"
    launch leaky || return 1
    run "$BIN/heapsnap-capture" -q "$LAUNCHED" -o leaky.hsnap || return 1
    say "index it: every malloc chunk, every root, every reference, into SQLite"
    run "$BIN/heapsnap" index leaky.hsnap || return 1
    say "what leaked, and which leaked object holds the rest"
    run "$BIN/heapsnap" leaks leaky.db || return 1
    say "what holds the memory that is not leaked (the dominator tree)"
    run "$BIN/heapsnap" top leaky.db || return 1
    say "where its resident memory goes: kinds of mapping, malloc's arenas, what would give it back"
    run "$BIN/heapsnap" rss leaky.db || return 1
    say "the same data, in SQL"
    run "$BIN/heapsnap" sql leaky.db \
        "SELECT state, \"where\", count(*) AS n, sum(size) AS bytes FROM objects GROUP BY 1, 2 ORDER BY 4 DESC"
}

step_diff() {
    say "a program whose cache grows: two snapshots, one before and one after it caches more entries"
    launch cache_grow || return 1
    run "$BIN/heapsnap-capture" -q "$LAUNCHED" -o before.hsnap || return 1
    kill -USR1 "$LAUNCHED" && wait_for_line cache_grow ready2 || return 1
    run "$BIN/heapsnap-capture" -q "$LAUNCHED" -o after.hsnap || return 1
    say "what grew between them, and what retains the growth"
    run "$BIN/heapsnap" diff before.hsnap after.hsnap
}

for s in $STEPS; do
    if ! "step_$s"; then
        echo "demo: step '$s' failed" >&2
        exit 1
    fi
done
say "done"
