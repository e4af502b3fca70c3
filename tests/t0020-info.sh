#!/usr/bin/env bash
# t0020-info.sh — heapsnap info (text and --json) and verify on a good
# snapshot of samples/patterns, and the command-line conventions every
# command shares: --help exits 0, an unknown option or a missing FILE
# exits 2.
#
# The sample is started with extra arguments holding a tab and a byte that
# is not UTF-8, so the output escaping of both modes is checked on a real
# capture, not only on strings made up in a unit test.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/patterns" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'info and verify on a capture of patterns' 'bin/samples/patterns or the capture tool is not built'
    test_done
fi

# Setup outside the cases: the sample must outlive them (see lib.sh).
start_sample patterns "$(printf 'tab\there')" "$(printf 'bad\377byte')" || true
PID=${SAMPLE_PID:-}
"$CAPTURE" -q "$PID" -o snap.hsnap >capture.out 2>&1 || true

test_expect_success 'setup: patterns is running and was captured' '
    test -n "$PID" &&
    grep -qx ready patterns.report &&
    test -s snap.hsnap
'

test_expect_success 'verify: a good snapshot is ok, exit 0' '
    $HEAPSNAP verify snap.hsnap >out 2>err &&
    grep "^snap.hsnap: ok ([0-9]* sections, [0-9]* mappings, 2 threads, .*)\$" out &&
    test ! -s err
'

test_expect_success 'verify -v: one line per section, then the summary' '
    $HEAPSNAP verify -v snap.hsnap >out &&
    grep "^section 1 at offset [0-9]*: process" out &&
    grep "^section [0-9]* at offset [0-9]*: memory" out &&
    grep "^section [0-9]* at offset [0-9]*: index" out &&
    tail -n 1 out | grep "^snap.hsnap: ok ("
'

test_expect_success 'verify: several files, one bad: exit 1, the good one still ok' '
    : >empty.hsnap &&
    test_must_fail $HEAPSNAP verify snap.hsnap empty.hsnap >out 2>err &&
    grep "^snap.hsnap: ok" out &&
    grep "empty.hsnap: empty file" err
'

test_expect_success 'info: text shows the process, the mappings, the threads, the capture' '
    $HEAPSNAP info snap.hsnap >out 2>err &&
    test ! -s err &&
    grep "^pid  *$PID\$" out &&
    grep "^exe  *.*/bin/samples/patterns\$" out &&
    grep "^page size  *4096\$" out &&
    grep "^policy  *writable\$" out &&
    grep "^mappings (" out &&
    grep " C \[heap\]\$" out &&
    grep "^threads (2)\$" out &&
    for tid in $(awk "\$1 == \"thread\" { print \$2 }" patterns.report); do
        grep "^  $tid  " out || exit 1
    done &&
    grep "^modules (" out &&
    grep "libc.so.6\$" out &&
    grep "^  pause  *[0-9.]* ms\$" out &&
    grep "^  failures  *[0-9]*\$" out
'

test_expect_success 'info: text escapes bytes that are not printable' '
    $HEAPSNAP info snap.hsnap >out &&
    grep "^argv .* tab\\\\x09here bad\\\\xffbyte\$" out
'

test_expect_success 'info --json: valid JSON whose values match the sample' '
    $HEAPSNAP info --json snap.hsnap >info.json &&
    python3 -m json.tool info.json >/dev/null &&
    awk "\$1 == \"thread\" { print \$2 }" patterns.report | sort >tids.expect &&
    python3 - "$PID" >check.out <<-\EOF
	import json, sys
	pid = int(sys.argv[1])
	d = json.load(open("info.json"))
	p = d["process"]
	assert p["pid"] == pid, p["pid"]
	assert p["exe"].endswith("/bin/samples/patterns"), p["exe"]
	assert p["page_size"] == 4096
	assert p["argv"][2] == "tab\there", p["argv"]
	assert p["argv"][3] == "bad\ufffdbyte", p["argv"]
	assert d["truncated"] is False and d["warning"] is None
	heap = [m for m in d["mappings"] if m["path"] == "[heap]"]
	assert len(heap) == 1, heap
	assert heap[0]["rss"] > 0 and heap[0]["captured"], heap[0]
	assert int(heap[0]["start"], 16) < int(heap[0]["end"], 16)
	tids = sorted(str(t["tid"]) for t in d["threads"])
	assert tids == sorted(open("tids.expect").read().split()), tids
	for t in d["threads"]:
	    assert t["rip"] == t["registers"]["rip"] and t["rip"].startswith("0x")
	assert d["capture"]["threads"] == 2
	assert d["capture"]["bytes_read"] > 0
	assert any(m["path"].endswith("libc.so.6") and m["build_id"] for m in d["modules"])
	print("ok")
	EOF
    grep -x ok check.out
'

test_expect_success 'info reads standard input as -' '
    $HEAPSNAP info - <snap.hsnap >out &&
    grep "^pid  *$PID\$" out
'

test_expect_success '--help on heapsnap and on every command exits 0' '
    $HEAPSNAP --help >out && grep "^usage: heapsnap" out &&
    for c in info verify core; do
        $HEAPSNAP $c --help >out 2>err || exit 1
        grep "^usage: heapsnap $c" out || exit 1
        test ! -s err || exit 1
    done
'

test_expect_success 'an unknown option exits 2 and points at --help' '
    for c in info verify core; do
        rc=0; $HEAPSNAP $c --no-such-option snap.hsnap >out 2>err || rc=$?
        test $rc -eq 2 || { echo "$c: exit $rc"; exit 1; }
        grep "unknown option .--no-such-option." err || exit 1
        grep "heapsnap $c --help" err || exit 1
    done
'

test_expect_success 'a missing FILE exits 2' '
    for c in info verify core; do
        rc=0; $HEAPSNAP $c >out 2>err || rc=$?
        test $rc -eq 2 || { echo "$c: exit $rc"; exit 1; }
        grep "FILE is missing" err || exit 1
    done
'

test_expect_success 'an unknown command exits 2' '
    rc=0; $HEAPSNAP no-such-command >out 2>err || rc=$?
    test $rc -eq 2 &&
    grep "not a command" err
'

stop_sample "$PID"
test_done
