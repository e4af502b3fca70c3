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
    test "$(grep -c "levels \([3-9]\|[1-9][0-9]\) tail-retakes [1-9][0-9]* interior-backoffs [1-9][0-9]* lock-page-skipped 1" out)" = 2
'

# The scratch file becomes the database where the file system can insert
# a range into a file (ext4, XFS); elsewhere, and where a file of someone
# else's has the scratch file's name, the leaves are copied in.
test_expect_success 'the scratch file became the database where the file system allows' '
    printf "%65536s" x >probe && fallocate -i -o 0 -l 65536 probe 2>/dev/null && want=1 || want=0
    grep "/bulk.db: .* adopted $want\$" out
'

test_expect_success 'a file of someone else'"'"'s in the scratch file'"'"'s place is left alone; the leaves are copied' '
    grep "/copied.db: .* adopted 0\$" out &&
    test "$(cat copied.db.bulk)" = "not the writer'"'"'s" &&
    test "$(stat -c %a bulk.db)" = 600
'

# (its integrity_check is bulkcheck's: the shell would not know the moved
# lock-byte page, and t5000 runs the shell's on an index's database)
test_expect_success 'the spliced database reads in the sqlite3 shell, with no extension' '
    test "$(sqlite3 bulk.db "SELECT count(*) FROM t1")" = 1 &&
    test "$(sqlite3 bulk.db "SELECT count(*), sum(a = 16777216 + id - 1) FROM t460")" = "460|460" &&
    test "$(sqlite3 bulk.db "SELECT count(*) FROM t461 WHERE a = 16777216 + 13")" = 1
'

test_expect_success 'no scratch file is left beside the databases' '
    test "$(ls -a | grep "\.bulk\$")" = copied.db.bulk
'

test_done
