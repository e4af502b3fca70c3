#!/usr/bin/env bash
# t5200-bytes-not-pointers.sh — memory the allocator proves holds bytes is
# not scanned for pointers (docs/analyses.md, "Bytes are not pointers"):
# samples/stale_stdout loses a two-node cycle whose only "reference" is a
# stale word left in the chunk that glibc then reused for stdout's buffer,
# behind the text printed there.  The word is in the snapshot, the buffer is
# a used object reachable from stdout, and still the cycle is a leak.
# samples/stale_text does the same with objects the types prove hold bytes:
# a char [n] (a `char *` global's) and a uint8_t [n] (a struct's `uint8_t *`
# field's), each hiding a stale word behind its text; and one object typed
# char [n] that a struct node * was claimed for too, which is still scanned.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/stale_stdout" ] || [ ! -x "$SAMPLES/stale_text" ] || [ ! -x "$CAPTURE" ] || [ ! -x "$HEAPSNAP" ]; then
    test_skip 'bytes are not pointers' 'bin/samples/stale_stdout or stale_text, the capture tool or heapsnap is not built'
    test_done
fi
sq() { sqlite3 -batch "$@"; }

start_sample stale_stdout || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o snap.hsnap >capture.out 2>&1 || true
stop_sample
R=stale_stdout.report
A=$(report_get $R a) B=$(report_get $R b) BUF=$(report_get $R buffer) STALE=$(report_get $R stale)

test_expect_success 'setup: stdout took back the chunk holding the stale word, and was captured' '
    test "$(report_get $R reused)" = 1 && test -s snap.hsnap &&
    $HEAPSNAP index snap.hsnap -o snap.db >out 2>err &&
    test "$($HEAPSNAP sql snap.db "SELECT u64($((STALE)))" | tail -n 1)" = $((A)) &&
    test "$(sq snap.db "SELECT state FROM objects WHERE addr = $((BUF))")" = used
'

test_expect_success 'the stdio buffer is known, and no reference leaves it' '
    test "$(sq snap.db "SELECT value FROM facts WHERE key = \"glibc.stdio_buffers\"")" -ge 1 &&
    test "$(sq snap.db "SELECT count(*) FROM refs WHERE src = (SELECT id FROM objects WHERE addr = $((BUF)))")" = 0
'

test_expect_success 'the lost cycle is leaked, both nodes, and nothing else' '
    $HEAPSNAP leaks --json snap.db >leaks.json &&
    python3 -c "
import json, sqlite3
j = json.load(open(\"leaks.json\"))
assert j[\"leaked_count\"] == 2, j
db = sqlite3.connect(\"snap.db\")
leaked = set()
for g in j[\"groups\"]:
    leaked.update(int(x, 16) if isinstance(x, str) else x for x in g.get(\"examples\", []))
assert leaked == {$((A)), $((B))}, (leaked, $((A)), $((B)))
"
'

start_sample stale_text || true
"$CAPTURE" -q "${SAMPLE_PID:-0}" -o text.hsnap >capture.out 2>&1 || true
stop_sample
T=stale_text.report
id_of() { sq text.db "SELECT id FROM objects WHERE addr = $(($1))"; }

test_expect_success 'setup: the typed byte buffers took back the chunks holding the stale words' '
    test "$(report_get $T reused1)" = 1 && test "$(report_get $T reused2)" = 1 && test -s text.hsnap &&
    $HEAPSNAP index text.hsnap -o text.db >out 2>err &&
    test "$($HEAPSNAP sql text.db "SELECT u64($(($(report_get $T stale1))))" | tail -n 1)" = $(($(report_get $T a1))) &&
    test "$($HEAPSNAP sql text.db "SELECT u64($(($(report_get $T stale2))))" | tail -n 1)" = $(($(report_get $T a2)))
'

test_expect_success 'a char [n] and a uint8_t [n] are typed so, and no reference leaves them' '
    sq text.db "SELECT type_name, type_source FROM objects_typed WHERE addr IN
        ($(($(report_get $T text))), $(($(report_get $T payload)))) ORDER BY addr" >actual &&
    printf "%s\n" "char [72]|dwarf-root" "unsigned char [104]|dwarf-field" >expect &&
    test_cmp expect actual &&
    test "$(sq text.db "SELECT count(*) FROM refs WHERE src IN ($(id_of "$(report_get $T text)"),
        $(id_of "$(report_get $T payload)"))")" = 0 &&
    test "$(sq text.db "SELECT value FROM facts WHERE key = \"types.byte_objects\"")" = 2 &&
    test "$(sq text.db "SELECT value FROM facts WHERE key = \"types.byte_bytes\"")" = 176
'

test_expect_success 'a char [n] that a struct was claimed for too is scanned: what it points to is reachable' '
    test "$(sq text.db "SELECT type_name FROM objects_typed WHERE addr = $(($(report_get $T c)))")" = "char [56]" &&
    test "$(sq text.db "SELECT count(*) FROM refs WHERE src = $(id_of "$(report_get $T c)")
        AND dst = $(id_of "$(report_get $T d)")")" = 1
'

test_expect_success 'the two lost cycles are leaked, all four nodes, and nothing else' '
    $HEAPSNAP leaks --json text.db >leaks.json &&
    python3 -c "
import json
j = json.load(open(\"leaks.json\"))
assert j[\"leaked_count\"] == 4, j
leaked = set()
for g in j[\"groups\"]:
    leaked.update(int(x, 16) if isinstance(x, str) else x for x in g.get(\"examples\", []))
want = {$(($(report_get $T a1))), $(($(report_get $T b1))), $(($(report_get $T a2))), $(($(report_get $T b2)))}
assert leaked == want, (leaked, want)
"
'

test_done
