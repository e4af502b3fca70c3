#!/usr/bin/env bash
# t5020-bulk-btree.sh — the b-trees the index writes itself (analyze/db/
# bulk.c) against SQLite's own: build/tools/bulkcheck (under ASan and
# UBSan) writes the same rows both ways and has SQLite check and read
# back the second.  t5000 checks the index's own databases the same way.
. "$(dirname "$0")/lib.sh"

BC=$ROOT/build/tools/bulkcheck

test_expect_success 'bulkcheck is built' '
    test -x "$BC"
'

test_expect_success 'bulk trees pass integrity_check and read back as SQLite wrote them, at every edge' '
    "$BC" . >out 2>err &&
    grep -x "ok: [0-9]* trees agree" out &&
    test ! -s err
'

test_expect_success 'the run reached a third level, a moved lock-byte page and both end cases' '
    grep "levels \([3-9]\|[1-9][0-9]\) tail-retakes [1-9][0-9]* interior-backoffs [1-9][0-9]* lock-page-skipped 1" out
'

# (its integrity_check is bulkcheck's: the shell would not know the moved
# lock-byte page, and t5000 runs the shell's on an index's database)
test_expect_success 'the spliced database reads in the sqlite3 shell, with no extension' '
    test "$(sqlite3 bulk.db "SELECT count(*) FROM t1")" = 1 &&
    test "$(sqlite3 bulk.db "SELECT count(*), sum(a = 16777216 + id - 1) FROM t460")" = "460|460" &&
    test "$(sqlite3 bulk.db "SELECT count(*) FROM t461 WHERE a = 16777216 + 13")" = 1
'

test_expect_success 'no scratch file is left beside the databases' '
    ! ls -a | grep heapsnap-bulk
'

test_done
