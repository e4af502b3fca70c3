#!/usr/bin/env bash
# t6410-core-odd.sh — info and core on a snapshot of an awkward shape
# (tests/tools/hsnap-odd.c): 70000 mappings, unsorted and overlapping, an
# empty and an unaligned one, memory outside every mapping, pages that are
# zero, swapped and unreadable, no statistics, no auxv, an executable that
# does not exist, and control characters in argv and thread names.
#
# The core must need PN_XNUM (more than 65535 program headers), readelf
# and gdb must read it, and every captured byte must come back at its
# address, including memory that lies in no mapping.
. "$(dirname "$0")/lib.sh"

gdb_batch() {
    timeout 120 gdb -nx -batch -iex 'set debuginfod enabled off' "$@"
}

# byte ADDR_OFFSET_PAGE I: what hsnap-odd put at byte I of page P of a range.
expect() { printf '0x%02x' $(( ($1 * 31 + $2) & 255 )); }

test_expect_success 'setup: build hsnap-odd and write the snapshot' '
    ${CC:-cc} -std=gnu11 -O1 -g -I"$ROOT/format" -o hsnap-odd "$ROOT/tests/tools/hsnap-odd.c" \
        "$ROOT"/format/*.c -lzstd -lpthread &&
    ./hsnap-odd odd.hsnap 70000 &&
    $HEAPSNAP verify odd.hsnap
'

test_expect_success 'info shows it, escapes argv and thread names, says stats are missing' '
    $HEAPSNAP info odd.hsnap >out 2>err &&
    grep "^mappings (70003;" out &&
    grep "^argv  *.*with\\\\x0anewline \\\\x1b\[2J\$" out &&
    grep "^  4243  *odd-\\\\x01\\\\xff  *R " out &&
    grep "(no statistics section" out &&
    grep "0000000060000123-0000000060000456 r--p 00000077 .* /unaligned\$" out
'

test_expect_success 'info --json is valid and has null capture statistics' '
    $HEAPSNAP info --json odd.hsnap >odd.json &&
    python3 -c "
import json
d = json.load(open(\"odd.json\"))
assert d[\"capture\"] is None
assert len(d[\"mappings\"]) == 70003
assert d[\"process\"][\"argv\"][1] == \"with\nnewline\"
assert d[\"threads\"][1][\"name\"] == \"odd-\x01\ufffd\", d[\"threads\"][1][\"name\"]
assert d[\"threads\"][0][\"registers\"][\"rip\"] == hex(4242 * 1000 + 16)
"
'

test_expect_success 'core: more than 65535 program headers, via PN_XNUM' '
    $HEAPSNAP core odd.hsnap -o odd.core 2>err &&
    cat err &&
    readelf -hW odd.core >hdr &&
    grep "Number of program headers: *65535 (7000[0-9])" hdr &&
    readelf -lW odd.core >phdrs &&
    grep "^There are 7000[0-9] program headers" phdrs
'

test_expect_success 'gdb reads captured bytes, in mappings, between them and outside all' '
    gdb_batch -ex "x/2xb 0x10000005" -ex "x/2xb 0x10001007" -ex "x/2xb 0x10003000" \
        -ex "x/2xb 0x7000001005" -ex "x/2xb 0x7100001000" -ex "x/2xb 0x7100000000" \
        -c odd.core >gdb.out 2>&1 &&
    cat gdb.out &&
    grep "^0x10000005:	$(expect 0 5)	$(expect 0 6)\$" gdb.out &&
    grep "^0x10001007:	$(expect 1 7)	$(expect 1 8)\$" gdb.out &&
    grep "^0x10003000:	$(expect 3 0)	$(expect 3 1)\$" gdb.out &&
    grep "^0x7000001005:	$(expect 1 5)	$(expect 1 6)\$" gdb.out &&
    grep "^0x7100001000:	$(expect 1 0)	$(expect 1 1)\$" gdb.out &&
    grep "^0x7100000000:	0x00	0x00\$" gdb.out
'

test_expect_success 'gdb sees both threads with their registers, the main one first' '
    gdb_batch -ex "info threads" -ex "thread apply all info registers rip rsp rbx" -c odd.core >gdb.out 2>&1 &&
    grep "^\* 1 *LWP 4242 " gdb.out &&
    grep "^  2 *LWP 4243 " gdb.out &&
    grep "^rip  *$(printf 0x%x $((4243 * 1000 + 16))) " gdb.out &&
    grep "^rsp  *$(printf 0x%x $((4242 * 1000 + 19))) " gdb.out &&
    grep "^rbx  *$(printf 0x%x $((4243 * 1000 + 5))) " gdb.out
'

test_expect_success 'core to stdout: a file, a file opened to append, a pipe: the same bytes' '
    $HEAPSNAP core odd.hsnap -o - >stdout.core &&
    cmp odd.core stdout.core &&
    : >append.core &&
    $HEAPSNAP core odd.hsnap -o - >>append.core &&
    cmp odd.core append.core &&
    $HEAPSNAP core odd.hsnap -o - | cat >piped.core &&
    cmp odd.core piped.core
'

test_done
