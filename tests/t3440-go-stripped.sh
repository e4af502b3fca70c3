#!/usr/bin/env bash
# t3440-go-stripped.sh — Go executables built with -ldflags='-s -w', as
# production builds are: no .symtab, no DWARF.  heapsnap must know them as
# Go anyway (.go.buildinfo, the Go build ID note, the pclntab magic), name
# the version, refuse to analyse with a message that says what to pass,
# and, given the unstripped build of the same program (--go-binary or a
# --debug-dir), walk them exactly: the unstripped build lays its data out
# elsewhere, so this checks the section-by-section move
# (analyze/debuginfo/gobuild.c) against the program's own ReadMemStats.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

# The builds under test, for the Go version under test (tests/run.sh runs
# this once per version): the stripped one, its unstripped twin, another
# program.
STRIPPED=$(go_sample session-stripped)
UNSTRIPPED=$(go_sample session)
OTHER=$(go_sample benchheap)
for s in "$UNSTRIPPED" "$STRIPPED" "$OTHER"; do
    if [ ! -x "$s" ] || [ ! -x "$CAPTURE" ]; then
        test_skip 'stripped Go executables' "$s or the capture tool is not built"
        test_done
    fi
done
# The pclntab magic each version's linker writes.
case $GO_VERSION in
go119) PCLNTAB="0xfffffff0 (Go 1.18-1.19)" ;;
*)     PCLNTAB="0xfffffff1 (Go 1.20 or later)" ;;
esac

# one capture of the stripped build, left alone by every case
start_sample go-session-stripped release || true
R=go-session-stripped.report
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o strip.hsnap >capture.out 2>&1 || true
stop_sample

# The toolchain's own words: version and build IDs.
ver=$($GO version | awk '{print $3}')
bid=$($GO tool buildid "$STRIPPED")

test_expect_success 'a -s -w build has neither symbols nor DWARF (the premise)' '
    ! readelf -S "$STRIPPED" | grep -q -e "\.symtab" -e "\.debug_info" &&
    readelf -S "$UNSTRIPPED" | grep -q "\.debug_info"
'

test_expect_success 'it is recognised as Go, with its version, Go build ID and pclntab format' '
    $HEAPSNAP index strip.hsnap >index.out &&
    grep -q "(go)" index.out &&
    $HEAPSNAP sql strip.db "SELECT key, value FROM facts WHERE key LIKE \"go.%\" ORDER BY key" >facts &&
    grep -qx "go.build_id *$bid" facts &&
    grep -qx "go.pclntab *$PCLNTAB" facts &&
    grep -qx "go.stripped *1" facts &&
    grep -qx "go.version *$ver" facts
'

test_expect_success 'the analyses refuse it, naming the version and what to pass' '
    for cmd in leaks top rss; do
        test_must_fail $HEAPSNAP $cmd strip.db >out 2>err &&
        grep -q "stripped of its symbols and DWARF" err &&
        grep -q -- "--go-binary PATH" err &&
        grep -q "$ver" err || exit 1
    done
'

test_expect_success 'with --go-binary the unstripped build walks it exactly (ReadMemStats, objects, types)' '
    $HEAPSNAP index -q --go-binary "$UNSTRIPPED" -o full.db strip.hsnap &&
    $HEAPSNAP sql full.db "SELECT message FROM warnings" >w &&
    grep -q "symbols and DWARF from $UNSTRIPPED, matched by Go build ID and pclntab" w &&
    test $(grep -c "^/" w) = 1 &&
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"$R\") if len(l.split()) == 2)
c = sqlite3.connect(\"full.db\")
assert c.execute(\"SELECT allocator FROM snapshot\").fetchone()[0] == \"go\"
ms = dict(c.execute(\"SELECT name, value FROM go_memstats\"))
bad = [(k, rep[k], ms[k]) for k in (\"HeapObjects\", \"HeapAlloc\", \"HeapInuse\", \"HeapIdle\", \"HeapSys\",
                                    \"StackInuse\", \"MSpanInuse\", \"Sys\", \"NumGC\", \"NextGC\") if int(rep[k]) != ms[k]]
assert not bad, bad
n, b = c.execute(\"SELECT count(*), sum(chunk_size) FROM objects WHERE state = \x27used\x27 AND heap = \x27go\x27\").fetchone()
assert (n, b) == (int(rep[\"HeapObjects\"]), int(rep[\"HeapAlloc\"])), (n, b)
def ty(k):
    r = c.execute(\"SELECT t.name FROM objects o JOIN types t ON t.id = o.type_id WHERE o.addr = ?\",
                  (int(rep[k], 16),)).fetchone()
    return r and r[0]
assert ty(\"known\") == \"main.Session\" and ty(\"records\") == \"main.Record\", (ty(\"known\"), ty(\"records\"))
# the global cache is a root at the stripped binary'"'"'s address of main.cache, not the unstripped one'"'"'s
g = c.execute(\"SELECT count(*) FROM roots WHERE name = \x27main.cache\x27\").fetchone()[0]
assert g == 1, g
" &&
    $HEAPSNAP goroutines full.db >g.out && grep -q "runtime.main" g.out &&
    $HEAPSNAP leaks full.db >leaks.out
'

test_expect_success 'a --debug-dir holding the unstripped build by the executable'"'"'s name does the same' '
    mkdir -p dbg && cp "$UNSTRIPPED" "dbg/$(basename "$STRIPPED").debug" &&
    $HEAPSNAP index -q --debug-dir dbg -o dir.db strip.hsnap &&
    test "$($HEAPSNAP sql dir.db "SELECT value FROM go_memstats WHERE name = \"HeapObjects\"" | tail -1)" = \
         "$(report_get $R HeapObjects)"
'

test_expect_success 'another program'"'"'s unstripped build is refused, saying why' '
    $HEAPSNAP index -q --go-binary "$OTHER" -o other.db strip.hsnap &&
    $HEAPSNAP sql other.db "SELECT message FROM warnings" >w &&
    grep -q "another main package" w &&
    test_must_fail $HEAPSNAP leaks other.db 2>err && grep -q -- "--go-binary" err
'

test_expect_success 'with its file gone, the snapshot'"'"'s own build info still names it Go and its version' '
    cp "$STRIPPED" ./app &&
    rm -f app.report &&
    { ./app app.report release >app.out 2>&1 & } &&
    pid=$! && track_pid $pid &&
    wait_line app.report ready $pid &&
    "$CAPTURE" -q $pid -o gone.hsnap && kill $pid && rm app &&
    $HEAPSNAP index -q gone.hsnap &&
    $HEAPSNAP sql gone.db "SELECT value FROM facts WHERE key = \"go.version\"" | grep -qx "$ver" &&
    test_must_fail $HEAPSNAP leaks gone.db 2>err &&
    grep -q "is a Go program ($ver)" err && grep -q -- "--go-binary" err
'

test_done
