#!/usr/bin/env bash
# t6420-go-core.sh — a Go program's kernel core (GOTRACEBACK=crash, the way
# Go users feed viewcore) reads as a snapshot does (format/core/), for the Go
# version under test: the heap, MemStats and goroutines equal what the
# sample reported before it crashed.  Sizes are compared by the slot
# (chunk_size): from Go 1.22 an object behind a malloc header holds 8 bytes
# less than its slot, and HeapAlloc counts slots.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

pattern=$(cat /proc/sys/kernel/core_pattern)
if [ "$pattern" != core ]; then
    test_skip 'a Go core (GOTRACEBACK=crash)' "core_pattern is '$pattern', not 'core': the kernel does not write ./core here"
    test_done
fi
if ! (ulimit -c unlimited) 2>/dev/null; then
    test_skip 'a Go core (GOTRACEBACK=crash)' 'the hard limit forbids ulimit -c unlimited'
    test_done
fi
if [ ! -x "$(go_sample session)" ]; then
    test_skip 'a Go core (GOTRACEBACK=crash)' "$(go_sample session) is not built"
    test_done
fi

test_expect_success 'setup: go-session crashed with GOTRACEBACK=crash leaves a kernel core' '
    GOTRACEBACK=crash kernel_core go go-session goroutines=20 release &&
    cp go-session.report go.report &&
    grep -q "goroutine" go-session.out &&
    test "$(head -c 4 go/core | od -An -c | tr -d " ")" = "177ELF"
'

test_expect_success 'Go core: heap objects and bytes, MemStats, equal what the sample reported' '
    $HEAPSNAP index go/core >go.index &&
    grep -q "(go)" go.index &&
    python3 -c "
import sqlite3
rep = dict(l.split()[:2] for l in open(\"go.report\") if len(l.split()) == 2)
c = sqlite3.connect(\"go/core.db\")
n, b = c.execute(\"SELECT count(*), sum(chunk_size) FROM objects WHERE state = \x27used\x27 AND heap = \x27go\x27\").fetchone()
assert (n, b) == (int(rep[\"HeapObjects\"]), int(rep[\"HeapAlloc\"])), (n, b)
ms = dict(c.execute(\"SELECT name, value FROM go_memstats\"))
bad = [(k, rep[k], ms[k]) for k in (\"HeapObjects\", \"HeapAlloc\", \"HeapInuse\", \"HeapIdle\", \"HeapSys\",
       \"StackInuse\", \"MSpanInuse\", \"NumGC\", \"NextGC\") if int(rep[k]) != ms[k]]
assert not bad, bad
"
'

test_expect_success 'Go core: the 20 parked goroutines are there, waiting on chan receive' '
    $HEAPSNAP goroutines go/core >g.out &&
    grep -E "^ +20 +waiting +chan receive +main\.waiter +main\.main\$" g.out
'

test_done
