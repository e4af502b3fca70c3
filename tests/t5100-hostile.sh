#!/usr/bin/env bash
# t5100-hostile.sh — the whole analyzer on hostile snapshots.  The analysis
# runs on files that came from elsewhere: a snapshot whose checksums are
# valid but whose contents lie (damaged heap words and chunk headers,
# damaged allocator metadata, threads, modules and mappings that do not add
# up; see tests/tools/hsnap-mutate.c) must get, from every command, either
# an answer (exit 0, with warnings where it saw damage) or a clear error
# naming the file (exit 1) — never a crash, a hang or a sanitizer report.
#
# Base snapshots are captures of real samples (glibc heaps with and without
# types, C++, Go, jemalloc, tcmalloc).  Each gets a fixed set of seeds (12: the whole
# script takes about 90 s on a busy 2-core machine); every mutant goes through
# info, core, index, leaks, top, rss, diff against its base, goroutines,
# types, and path, explain and show on a few addresses.  A failing case
# prints the seeds that failed, the commands, their exit status and the
# mutations, and `hsnap-mutate BASE OUT SEED` rebuilds the mutant.
# HOSTILE_SEEDS overrides the number of seeds per base (a longer hunt: 100
# per base found nothing more).  The targeted cases are the lies the seeds
# once found a hang or a crash with, made directly.
. "$(dirname "$0")/lib.sh"

MUTATE=$ROOT/build/tools/hsnap-mutate
NSEEDS=${HOSTILE_SEEDS:-12}

if [ ! -x "$MUTATE" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'hostile snapshots' 'build/tools/hsnap-mutate, the capture tool or the analyzer is not built'
    test_done
fi

# The commands this analyzer has (show and types came later than the rest).
has_cmd() { "$HEAPSNAP" "$1" --help >/dev/null 2>&1; }

# run_cmd LOG NAME CMD...: run one analyzer command with a time limit and
# judge it.  0 and 1 are answers; on 1 the error names the file ($FILE_TAG)
# — or, for path, stdout says why there is no path.  Anything else (124 a
# hang, >= 128 a signal, 86/87 the sanitizers, 2 a usage error the test did
# not mean) is a failure, written to LOG with the command's stderr.
run_cmd() {
    local log=$1 name=$2 rc=0
    shift 2
    timeout -k 5 60 "$@" >"$name.out" 2>"$name.err" || rc=$?
    case $rc in
    0) return 0 ;;
    1)
        if grep -q "$FILE_TAG" "$name.err" ||
            { [ "$name" = path ] && [ ! -s "$name.err" ] && [ -s "$name.out" ]; }; then
            return 0
        fi
        echo "exit 1 without naming the file: $*" >>"$log" ;;
    124 | 137) echo "hang (no answer in 60 s): $*" >>"$log" ;;
    *) echo "exit $rc: $*" >>"$log" ;;
    esac
    head -n 30 "$name.err" | sed 's/^/    /' >>"$log"
    return 1
}

# one_mutant BASE SEED: mutate, then run every command on the mutant.  Leaves
# fail-BASE-SEED with the mutations and what went wrong, if anything did.
one_mutant() {
    local base=$1 seed=$2 dir=m-$1-$2
    mkdir -p "$dir" && cd "$dir" || return 1
    local log=../fail-$base-$seed snap=$base-$seed.hsnap db=$base-$seed.db bad=0
    FILE_TAG=$base-$seed
    if ! "$MUTATE" "../$base.hsnap" "$snap" "$seed" >mutations 2>mutate.err; then
        { echo "hsnap-mutate failed"; cat mutate.err; } >"$log"
        return 1
    fi
    run_cmd "$log" info "$HEAPSNAP" info "$snap" || bad=1
    # (not -o core.out: run_cmd sends stdout there, and core -o replaces
    # only a core file, never the empty file the redirection made)
    run_cmd "$log" core "$HEAPSNAP" core -o mutant.core "$snap" || bad=1
    # every other seed without libc's debug file: the walker's other layout source
    local nodebug=
    [ $((seed % 2)) = 1 ] && nodebug=--no-separate-debug
    run_cmd "$log" index "$HEAPSNAP" index -q $nodebug -o "$db" "$snap" || bad=1
    local f=$db
    [ -f "$db" ] || f=$snap # the commands that index first must refuse it the same way
    run_cmd "$log" leaks "$HEAPSNAP" leaks --all "$f" || bad=1
    if [ -f "$db" ]; then
        run_cmd "$log" top "$HEAPSNAP" top "$f" || bad=1
        run_cmd "$log" rss "$HEAPSNAP" rss "$f" || bad=1
        run_cmd "$log" diff "$HEAPSNAP" diff "../$base.db" "$f" || bad=1
        [ "$base" = go ] && { run_cmd "$log" goroutines "$HEAPSNAP" goroutines "$f" || bad=1; }
        has_cmd types && { run_cmd "$log" types "$HEAPSNAP" types "$f" || bad=1; }
        # the objects the clean heap had, and the mutant's largest (a wild size?)
        local addrs
        addrs="$(cat "../$base.addrs") $("$HEAPSNAP" sql "$db" \
            "select printf('0x%x', addr) from objects order by size desc limit 1" 2>/dev/null |
            tail -n 1)"
        for a in $addrs; do
            case $a in 0x*) ;; *) continue ;; esac
            run_cmd "$log" path "$HEAPSNAP" path --all "$f" "$a" || bad=1
            run_cmd "$log" explain "$HEAPSNAP" explain "$f" "$a" || bad=1
            has_cmd show && { run_cmd "$log" show "$HEAPSNAP" show "$f" "$a" || bad=1; }
        done
    fi
    [ -f "$db" ] && : >"../indexed-$base-$seed"
    if [ $bad = 1 ]; then
        { echo "mutations:"; sed 's/^/    /' mutations; } >>"$log"
        return 1
    fi
    cd .. && rm -rf "$dir"
}
export -f one_mutant run_cmd has_cmd
export MUTATE HEAPSNAP

# Capture the bases.  Each sample is stopped as soon as it is captured.
capture_base() {
    local name=$1 sample=$2 bin=$SAMPLES/$2
    shift 2
    case $sample in go-*) bin=$(go_sample "${sample#go-}") ;; esac
    [ -x "$bin" ] || return 0
    start_sample "$sample" "$@" || return 0
    "$CAPTURE" -q "$SAMPLE_PID" -o "$name.hsnap" >"$name.capture" 2>&1 || rm -f "$name.hsnap"
    stop_sample
    [ -f "$name.hsnap" ] || return 0
    # a few addresses for path, explain and show: used objects and a free one
    "$HEAPSNAP" index -q -o "$name.db" "$name.hsnap" &&
        "$HEAPSNAP" sql "$name.db" "select printf('0x%x', addr) from objects where state = 'used'
            and id % 7 = 3 limit 1; select printf('0x%x', addr + 8) from objects
            where state = 'free' limit 1" 2>/dev/null | grep '^0x' >"$name.addrs"
    test -s "$name.addrs" && echo "$name" >>bases
}
: >bases
capture_base glibc glibc_heap
capture_base leaky leaky
capture_base typed typed
capture_base cxx classes
capture_base go go-session
capture_base jemalloc jemalloc_heap
capture_base tcmalloc tcmalloc_heap

test_expect_success 'setup: base snapshots of real samples, indexed cleanly' '
    test "$(wc -l <bases)" -ge 2
'

# Targeted lies, each once found by the seeds above.  typed's heap has no
# arena but main_arena, so nothing keeps the walker off a lying mapping; and
# without libc's debug file main_arena is found by scanning libc's data.
count_used() { "$HEAPSNAP" sql "$1" "select count(*) from objects where state = 'used'" | tail -n 1; }
count_roots() { "$HEAPSNAP" sql "$1" "select count(*) from roots" | tail -n 1; }
top_size_field() {
    "$HEAPSNAP" sql "$1" "select printf('0x%x', chunk + 8) from objects where \"where\" = 'top'" |
        tail -n 1
}

if grep -qx typed bases; then
    test_expect_success 'a writable mapping over the whole address space: the walker looks only at captured pages' '
        for lie in mapping-everything libc-everything; do
            "$MUTATE" typed.hsnap $lie.hsnap 1 --lie $lie >/dev/null &&
            timeout 60 "$HEAPSNAP" index -q --no-separate-debug -o $lie.db $lie.hsnap &&
            test "$(count_used $lie.db)" = "$(count_used typed.db)" || exit 1
        done
    '

    test_expect_success '[heap] stretched past its memory, top chunk smashed: the heap ends with its memory' '
        "$MUTATE" typed.hsnap stretched.hsnap 1 --lie heap-stretched \
            --poke "$(top_size_field typed.db)" 0x9 >/dev/null &&
        timeout 60 "$HEAPSNAP" index -q -o stretched.db stretched.hsnap &&
        "$HEAPSNAP" sql stretched.db "select message from warnings" >warnings &&
        grep "\[heap\] ends at 0x800000000000 but its captured memory" warnings &&
        grep "size 0x9 is below the minimum chunk size" warnings &&
        test "$(count_used stretched.db)" -ge $(($(count_used typed.db) - 1)) &&
        test "$(count_roots stretched.db)" -ge "$(count_roots typed.db)"
    '
fi

test_expect_success 'another machine, or a page size no memory block may have: refused, naming the file' '
    base=$(head -n 1 bases) &&
    for s in 1 2 3 4 5 6 7 8 9 10; do
        for lie in machine page-size; do
            "$MUTATE" $base.hsnap $lie-$s.hsnap $s --lie $lie >$lie-$s.log &&
            case $(sed -n 2p $lie-$s.log) in
            "page size 512" | "page size 65536")
                "$HEAPSNAP" info $lie-$s.hsnap >/dev/null || exit 1 ;;
            *)
                for cmd in info index leaks core; do
                    test_must_fail "$HEAPSNAP" $cmd $lie-$s.hsnap >out 2>err &&
                    grep -E "$lie-$s.hsnap: .*(machine [0-9]+ is not x86_64|page size [0-9]+ is not a power of two)" err ||
                    exit 1
                done ;;
            esac
        done
    done
'

test_expect_success 'modules named by a FIFO or a device: no wait for a writer, no read of a stream' '
    base=$(head -n 1 bases) &&
    mkfifo fifo &&
    for path in "$PWD/fifo" /dev/zero /dev/stdin; do
        "$MUTATE" $base.hsnap dev.hsnap 1 --module-path "$path" >/dev/null &&
        rm -f dev.db dev.core &&
        for cmd in "core -o dev.core" "index -q -o dev.db"; do
            timeout 60 "$HEAPSNAP" $cmd dev.hsnap </dev/null >out 2>err ||
            { echo "$cmd with modules at $path: exit $?"; cat err; exit 1; }
        done
    done
'

if grep -qx go bases; then
    test_expect_success 'a Go binary without build-id rebuilt since the capture: refused by its headers, said' '
        cp "$(go_sample session)" rebuilt &&
        # change p_paddr of the first program header: the loader never reads it
        python3 -c "
import struct
f = open(\"rebuilt\", \"r+b\"); d = bytearray(f.read())
at = struct.unpack_from(\"<Q\", d, 32)[0] + 24
struct.pack_into(\"<Q\", d, at, struct.unpack_from(\"<Q\", d, at)[0] ^ 0x1000)
f.seek(0); f.write(d)" &&
        "$MUTATE" go.hsnap rebuilt.hsnap 1 --module-path "$PWD/rebuilt" >/dev/null &&
        "$HEAPSNAP" index -q -o rebuilt.db rebuilt.hsnap &&
        "$HEAPSNAP" sql rebuilt.db "select message from warnings" >warnings &&
        grep "rebuilt (build-id none): the file there is a different build (no build-id, and its ELF headers differ" warnings &&
        test "$(count_used rebuilt.db)" = 0 &&
        "$MUTATE" go.hsnap same.hsnap 1 --module-path "$(go_sample session)" >/dev/null &&
        "$HEAPSNAP" index -q -o same.db same.hsnap &&
        test "$(count_used same.db)" = "$(count_used go.db)"
    '
fi

for base in $(cat bases); do
    test_expect_success "$base: $NSEEDS hostile mutants, every command answers or names the file" '
        for s in $(seq 1 $NSEEDS); do echo "$base $s"; done |
            xargs -P 2 -n 2 bash -c '\''one_mutant "$@"'\'' _ || true
        failed=$(ls fail-$base-* 2>/dev/null | sed "s/.*-//" | sort -n | tr "\n" " ")
        if [ -n "$failed" ]; then
            echo "failing seeds for $base: $failed"
            echo "rebuild one: $MUTATE $TRASH/$base.hsnap OUT SEED"
            cat fail-$base-*
            false
        fi &&
        # most mutants must still index, or the sweep tested only refusals
        test $(ls indexed-$base-* 2>/dev/null | wc -l) -ge $((NSEEDS / 2))
    '
done

test_done
