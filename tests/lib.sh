# tests/lib.sh — the test library every tests/tNNNN-*.sh script sources.
#
# In the manner of git's test-lib: a script is a list of named cases, each
# named for the behaviour it checks.  A case is a shell body run in a
# subshell with `set -e`; it passes when the body exits 0.
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'verify rejects a truncated file' '
#       head -c 100 good.hsnap >cut.hsnap &&
#       test_must_fail $HEAPSNAP verify cut.hsnap 2>err &&
#       grep "truncated" err
#   '
#   test_done
#
# Each script runs in its own scratch directory ($TRASH), removed on success.
# Helpers: test_must_fail, test_cmp, start_sample/stop_sample, wait_line,
# track_pid, report_get.

set -u
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$TESTS_DIR/.." && pwd)
BIN=$ROOT/bin
SAMPLES=$ROOT/bin/samples
# The analyzer under test is the sanitizer build; leaks are errors.
HEAPSNAP=${HEAPSNAP:-$ROOT/build/asan/heapsnap}
CAPTURE=${CAPTURE:-$ROOT/bin/heapsnap-capture}
# The Go version under test: the Go tests (tests/run.sh) run once per tested
# version (tests/run.sh sets GO_VERSION to each of the Makefile's
# GO_VERSIONS); a Go sample named go-NAME is bin/samples/$GO_VERSION-NAME,
# built by that version's toolchain, which GO and GOTOOLCHAIN name here too.
GO_VERSION=${GO_VERSION:-go126}
# GO_HEADER is the version's malloc header: from Go 1.22 a pointerful
# object of more than 512 bytes begins with 8 bytes of *abi.Type, and what
# the program holds (the object's addr and size) starts after them.
case $GO_VERSION in
go119) GO=/usr/lib/go-1.19/bin/go; GOTOOLCHAIN=local; GO_HEADER=0 ;;
go126) GO=/usr/local/go/bin/go; GOTOOLCHAIN=local; GO_HEADER=8 ;;
go127) # the go command switches toolchains only in module mode, and the
       # tests build with GO111MODULE=off: name 1.27.3's own go command
       GO=$(GOTOOLCHAIN=go1.27.3 GO111MODULE=on /usr/local/go/bin/go env GOROOT)/bin/go
       GOTOOLCHAIN=local; GO_HEADER=8 ;;
*) echo "lib.sh: unknown GO_VERSION $GO_VERSION" >&2; exit 1 ;;
esac
export GOTOOLCHAIN
# go_sample NAME: the path of Go sample NAME for the version under test
go_sample() { echo "$SAMPLES/$GO_VERSION-$1"; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}

SCRIPT=$(basename "$0" .sh)
# One scratch directory per run, so that two runs of a script never share one.
TRASH=$ROOT/build/trash/$SCRIPT.$$
rm -rf "$TRASH" && mkdir -p "$TRASH"
# Cases run in subshells, so the pids of the samples they start are kept in a
# file, not a variable: test_done (and an interrupted run) stops them all.
_PIDFILE=$TRASH/.pids
: >"$_PIDFILE"
_stop_all() {
    local p
    for p in $(cat "$_PIDFILE" 2>/dev/null); do kill "$p" 2>/dev/null; done
    for p in $(cat "$_PIDFILE" 2>/dev/null); do kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
    for p in $(cat "$TRASH/.shared" 2>/dev/null); do case $p in /tmp/heapsnap-shared.*) rm -rf "$p" ;; esac; done
}
trap '_stop_all' EXIT
cd "$TRASH" || exit 1

_passed=0
_failed=0
_n=0

# test_expect_success NAME BODY
test_expect_success() {
    _n=$((_n + 1))
    local name=$1 body=$2
    if (set -e; eval "$body") >"$TRASH/case-$_n.log" 2>&1; then
        _passed=$((_passed + 1))
        echo "ok $_n - $name"
    else
        _failed=$((_failed + 1))
        echo "not ok $_n - $name"
        sed -e 's/^/#   /' "$TRASH/case-$_n.log" | tail -n 40
    fi
}

# test_skip NAME REASON: a case that cannot run here (counted, said, never silent).
test_skip() {
    _n=$((_n + 1))
    echo "ok $_n # skip $1 ($2)"
}

# test_must_fail CMD...: CMD exits non-zero, and not by a crash or a sanitizer.
test_must_fail() {
    local rc=0
    "$@" || rc=$?
    if [ $rc -eq 0 ]; then echo "expected failure: $*" >&2; return 1; fi
    if [ $rc -ge 128 ] || [ $rc -eq 86 ] || [ $rc -eq 87 ]; then
        echo "crashed or sanitizer error (exit $rc): $*" >&2; return 1
    fi
    return 0
}

# test_cmp EXPECTED ACTUAL: files equal, with a diff on failure.
test_cmp() { diff -u "$1" "$2"; }

# start_sample NAME [ARGS...]: start bin/samples/NAME (a Go sample go-X: the
# version under test's, see go_sample) in the background with
# its report in $TRASH/NAME.report; wait until it writes "ready" there.
# Sets SAMPLE_PID.  A process started another way can be handed to
# track_pid so that it is stopped with the rest.
start_sample() {
    local name=$1 bin=$SAMPLES/$1; shift
    case $name in go-*) bin=$(go_sample "${name#go-}") ;; esac
    rm -f "$TRASH/$name.report"
    "$bin" "$TRASH/$name.report" "$@" >"$TRASH/$name.out" 2>&1 &
    SAMPLE_PID=$!
    echo "$SAMPLE_PID" >>"$_PIDFILE"
    wait_line "$TRASH/$name.report" ready "$SAMPLE_PID" || { echo "sample $name did not become ready" >&2; return 1; }
}

# wait_line FILE LINE [PID [TRIES]]: wait until FILE has LINE on a line of its
# own; fail if PID dies first or after TRIES * 50 ms (default 30 s).
wait_line() {
    local file=$1 line=$2 pid=${3:-} i=0 tries=${4:-600}
    while ! grep -qx "$line" "$file" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt "$tries" ]; then return 1; fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.05
    done
}

track_pid() { echo "$1" >>"$_PIDFILE"; }

# shared_dir: a new directory that every user may write into, for a server
# that drops root (nginx's workers) to leave its reports in.  Under /tmp,
# since the tree may lie under a home only its owner can enter (a clone in
# /root); removed when the script ends.
shared_dir() {
    local d
    d=$(mktemp -d /tmp/heapsnap-shared.XXXXXX) && chmod 1777 "$d" && echo "$d" >>"$TRASH/.shared" && echo "$d"
}

stop_sample() { kill "${1:-$SAMPLE_PID}" 2>/dev/null; wait "${1:-$SAMPLE_PID}" 2>/dev/null || true; }

# kernel_core DIR NAME [ARGS]: run sample NAME in DIR with cores enabled,
# abort it once it is ready, and leave its core in DIR/core.  Prints a
# reason and fails if this machine cannot do it.
kernel_core() {
    local dir=$1 name=$2; shift 2
    mkdir -p "$dir" && cd "$dir" || return 1
    ulimit -c unlimited 2>/dev/null || { echo "cannot raise ulimit -c"; return 1; }
    start_sample "$name" "$@" || return 1
    kill -ABRT "$SAMPLE_PID"
    wait "$SAMPLE_PID" 2>/dev/null || true
    if [ "$(cat /proc/sys/kernel/core_uses_pid)" = 1 ] && [ -f "core.$SAMPLE_PID" ]; then
        mv "core.$SAMPLE_PID" core
    fi
    cd "$TRASH" && test -s "$dir/core"
}

# capture_go_session TITLE [ARGS...]: run samples/go-session with ARGS,
# capture it to go.hsnap (the capture tool's output in capture.out) and stop
# it; if the sample or the capture tool is not built, skip TITLE and end.
capture_go_session() {
    local title=$1; shift
    if [ ! -x "$(go_sample session)" ] || [ ! -x "$CAPTURE" ]; then
        test_skip "$title" "bin/samples/$GO_VERSION-session or the capture tool is not built"
        test_done
    fi
    start_sample go-session "$@" || true
    "$CAPTURE" -q "${SAMPLE_PID:-0}" -o go.hsnap >capture.out 2>&1 || true
    stop_sample
}

# capture_live_sample TITLE NAME: run samples/NAME (left running, SAMPLE_PID) and
# capture it to snap.hsnap (the capture tool's output in capture.out); if the
# sample or the capture tool is not built, skip TITLE and end.
capture_live_sample() {
    local bin=$SAMPLES/$2
    case $2 in go-*) bin=$(go_sample "${2#go-}") ;; esac
    if [ ! -x "$bin" ] || [ ! -x "$CAPTURE" ]; then
        test_skip "$1" "$bin or the capture tool is not built"
        test_done
    fi
    start_sample "$2" || true
    "$CAPTURE" -q "${SAMPLE_PID:-}" -o snap.hsnap >capture.out 2>&1 || true
}

# mutate_base SAMPLE WALKER: the start of a script that damages one
# allocator's metadata (t3210, t3310): skip unless SAMPLE, the capture tool
# and hsnap-mutate ($MUTATE) are built; capture SAMPLE as base.hsnap and
# index it into base.db; and define the helpers such a script uses: sq
# (sqlite3), word ADDR (a word of base.db's snapshot), hex N, used DB (its
# used objects), warned DB (WALKER's warnings, "0xADDR message") and mutant
# NAME ADDR VALUE [ADDR VALUE...] (poke base.hsnap there into NAME.hsnap,
# index it, exit 0 expected, into NAME.db).
mutate_base() {
    MUTATE=$ROOT/build/tools/hsnap-mutate
    if [ ! -x "$SAMPLES/$1" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$MUTATE" ]; then
        test_skip "damaged $2 metadata" "bin/samples/$1, the capture tool or hsnap-mutate is not built"
        test_done
    fi
    MUTATED_WALKER=$2
    sq() { sqlite3 -batch "$@"; }
    word() { "$HEAPSNAP" sql base.db "select u64($1)" | tail -n 1; }
    hex() { printf '0x%x' "$1"; }
    used() { sq "$1" "SELECT count(*) FROM objects WHERE state = 'used'"; }
    warned() { sq "$1" "SELECT printf('0x%x %s', addr, message) FROM warnings WHERE source = '$MUTATED_WALKER'"; }
    mutant() {
        local name=$1; shift
        local pokes=
        while [ $# -ge 2 ]; do pokes="$pokes --poke $(hex "$1") $(hex "$2")"; shift 2; done
        "$MUTATE" base.hsnap $name.hsnap 1 $pokes >$name.mut &&
        timeout 120 "$HEAPSNAP" index -q $name.hsnap -o $name.db
    }
    start_sample "$1" || true
    "$CAPTURE" -q "${SAMPLE_PID:-0}" -o base.hsnap >capture.out 2>&1 || true
    stop_sample
    "$HEAPSNAP" index -q base.hsnap -o base.db 2>/dev/null || true
}

# Stored answers (analysis/answers.c), for t6000 and t6100: fresh_copy N
# makes wN.db, a copy of snap.db with no stored answer; run_on N ARGS...
# runs heapsnap ARGS... wN.db into outN and says in howN whether it printed
# a stored answer (HEAPSNAP_TIMING's line) or computed one; same M N
# compares outM and outN but for the file name.
fresh_copy() { cp snap.db w$1.db && sqlite3 w$1.db "DELETE FROM analysis_done WHERE step LIKE '% answer'"; }
run_on() {
    n=$1; shift
    HEAPSNAP_TIMING=1 $HEAPSNAP "$@" w$n.db >out$n 2>err$n || { cat err$n; return 1; }
    if grep -q "timing w$n.db: stored answer" err$n; then echo stored; else echo computed; fi >how$n
}
same() { sed "s/w$2\.db/w$1.db/g" out$2 >out$2.renamed && test_cmp out$1 out$2.renamed; }

# start_named LABEL SAMPLE ARGS...: like start_sample, with the report in
# $TRASH/LABEL.report so that two instances of one sample can coexist.
start_named() {
    local label=$1 name=$2; shift 2
    rm -f "$TRASH/$label.report"
    "$SAMPLES/$name" "$TRASH/$label.report" "$@" >"$TRASH/$label.out" 2>&1 &
    local pid=$!
    track_pid $pid
    disown $pid 2>/dev/null || true # no "Killed" notice when a test kills it
    wait_line "$TRASH/$label.report" ready $pid || { echo "sample $name did not become ready" >&2; return 1; }
}
pid_of() { report_get "$TRASH/$1.report" pid; }
# The state letter of a thread (or of the process's main thread).
state_of() { awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null; }

# build_capture_peek: tests/tools/capture-peek.c, a reader from format/
# alone, as $PEEK (the capture tests need neither the analyzer nor gdb for
# it); make test builds it with the project's flags and the sanitizers.
build_capture_peek() {
    PEEK=$ROOT/build/tools/capture-peek
    [ -x "$PEEK" ]
}

# patterns_gdb_dump REPORT: from samples/patterns' REPORT, dump.gdb (gdb
# commands dumping every region to NAME.got) and NAME.expect (the bytes the
# sample wrote there); then gdb -x dump.gdb and cmp each pair.
patterns_gdb_dump() {
    : >dump.gdb &&
    while read -r kw name addr len seed; do
        test "$kw" = region || continue
        echo "dump binary memory $name.got $addr $addr+$len" >>dump.gdb
        python3 -c "import sys; n, s = int(sys.argv[1]), int(sys.argv[2]); sys.stdout.buffer.write(bytes((i * 7 + s) & 0xff for i in range(n)))" \
            "$len" "$seed" >"$name.expect"
    done <"$1" &&
    test "$(wc -l <dump.gdb)" = 4
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_redis [KEYS]: redis-server on a free loopback port ($PORT, pid
# $RPID, stopped with the rest), without persistence, its files in $TRASH;
# waits until it answers PING, then SETs KEYS keys (default none).
start_redis() {
    PORT=$(free_port)
    redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TRASH" \
        --daemonize no >"$TRASH/redis.out" 2>&1 &
    RPID=$!
    track_pid $RPID
    local i
    for i in $(seq 1 600); do
        redis-cli -p "$PORT" ping 2>/dev/null | grep -qx PONG && break
        kill -0 $RPID 2>/dev/null || return 1
        sleep 0.05
    done
    [ "${1:-0}" -gt 0 ] || return 0
    seq 1 "$1" | sed 's/.*/SET key:& value-&-xxxxxxxxxxxxxxxxxxxxxxxx/' | redis-cli -p "$PORT" >/dev/null
}

# capture_python OUT CODE [CAPTURE-OPTIONS]: run Debian's python3 with CODE,
# which writes "ready" to the file sys.argv[1] once it is in the state to
# capture; capture it to OUT and stop it.
capture_python() {
    local out=$1 code=$2 pid
    shift 2
    /usr/bin/python3 -c "$code" "$TRASH/$out.report" >"$TRASH/$out.out" 2>&1 &
    pid=$!
    track_pid $pid
    wait_line "$TRASH/$out.report" ready $pid || true
    "$CAPTURE" -q "$@" $pid -o "$out" >"$TRASH/$out.capture" 2>&1 || true
    kill $pid
}

# report_truth REPORT DB: a sample's "live ADDR REQ USABLE" and "freed ADDR"
# lines as tables live(addr, req, usable) and freed(addr) in DB.
report_truth() {
    {
        echo "CREATE TABLE live(addr INTEGER, req INTEGER, usable INTEGER);"
        echo "CREATE TABLE freed(addr INTEGER);"
        echo "BEGIN;"
        while read -r kind a b c; do
            case $kind in
            live) echo "INSERT INTO live VALUES($((a)), $b, $c);" ;;
            freed) echo "INSERT INTO freed VALUES($((a)));" ;;
            esac
        done <"$1"
        echo "COMMIT;"
    } | sqlite3 -batch "$2"
}

# report_get FILE KEY: the value of "KEY value" in a sample's report.
report_get() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

test_done() {
    _stop_all
    wait 2>/dev/null
    echo "# $SCRIPT: $_passed passed, $_failed failed"
    if [ $_failed -eq 0 ]; then cd "$ROOT" && rm -rf "$TRASH"; exit 0; fi
    exit 1
}
