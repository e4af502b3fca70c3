#!/usr/bin/env bash
# t7100-sqlite-ext.sh — bin/heapsnap-sqlite.so, the heap's SQL functions in
# other SQLite clients: the sqlite3 shell (.load) and Python's sqlite3
# module (enable_load_extension) answer field(), cstr(), u64(), hex(),
# sym() and obj() queries with the same rows as heapsnap sql, on a capture
# of samples/typed (typed objects with strings).  And heapsnap sql's
# terminal prompt keeps a 0600 history (libedit).
. "$(dirname "$0")/lib.sh"

EXT=$BIN/heapsnap-sqlite.so
if [ ! -f "$EXT" ]; then
    test_skip 'the SQLite extension' 'bin/heapsnap-sqlite.so is not built'
    test_done
fi
capture_live_sample 'the SQLite extension on a capture of typed' typed
stop_sample

# every used object; the strings are the sessions' names (struct session.name)
Q="SELECT o.id, hex(o.addr), t.name, u64(o.addr), obj(o.addr + 1), sym(u64(o.addr)),
   CASE WHEN t.name = 'struct session' THEN cstr(field(o.id, 'name')) END, hex(mem(o.addr, 16))
   FROM objects o LEFT JOIN types t ON t.id = o.type_id WHERE o.state = 'used' ORDER BY o.id"
F="SELECT o.id, f.name, field(o.id, f.name) FROM objects o JOIN fields f ON f.type_id = o.type_id
   WHERE o.state = 'used' ORDER BY o.id, f.offset LIMIT 300"

test_expect_success 'setup: typed was captured and indexed, and has typed objects with fields' '
    test -s snap.hsnap && $HEAPSNAP index snap.hsnap >/dev/null &&
    $HEAPSNAP sql --csv snap.db "$F" >fields.csv && test $(wc -l <fields.csv) -gt 20 &&
    $HEAPSNAP sql --csv snap.db "$Q" >objs.csv && test $(wc -l <objs.csv) -gt 5 &&
    grep -q ",session-0," objs.csv
'

# CSV as rows, one repr a line: the shell quotes and ends lines its own way
rows() { python3 -c "import csv, sys; [print(r) for r in csv.reader(open(sys.argv[1], newline=''))]" "$1"; }

test_expect_success 'the sqlite3 shell loads the extension and answers as heapsnap sql does' '
    command -v sqlite3 >/dev/null &&
    for q in "$Q" "$F"; do
        $HEAPSNAP sql --csv snap.db "$q" | tail -n +2 >want.csv &&
        printf ".load %s\n.mode csv\n%s;\n" "${EXT%.so}" "$q" | sqlite3 snap.db >got.csv &&
        rows want.csv >want.txt && rows got.csv >got.txt && test -s want.txt &&
        test_cmp want.txt got.txt || exit 1
    done
'

cat >ext.py <<'PY'
import csv, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.enable_load_extension(True)
con.load_extension(sys.argv[2])
w = csv.writer(sys.stdout, lineterminator='\n')
for row in con.execute(sys.argv[3]):
    w.writerow(['' if v is None else v for v in row])
PY

PY3=/usr/bin/python3
test_expect_success "python3's sqlite3 module loads the extension and answers as heapsnap sql does" '
    $PY3 -c "import sqlite3; sqlite3.connect(\":memory:\").enable_load_extension(True)" &&
    for q in "$Q" "$F"; do
        $HEAPSNAP sql --csv snap.db "$q" | tail -n +2 >want.csv &&
        $PY3 ext.py snap.db "$EXT" "$q" >got.csv &&
        test_cmp want.csv got.csv || exit 1
    done
'

test_expect_success 'the extension refuses memory from a snapshot that is not the indexed one' '
    cp snap.db moved.db && sqlite3 moved.db "UPDATE snapshot SET content_id = '"'"'0000'"'"'" &&
    printf ".load %s\nSELECT u64(addr) FROM objects LIMIT 1;\n" "${EXT%.so}" | sqlite3 moved.db >out 2>err;
    grep "not the snapshot this database was built from" err
'

test_expect_success 'heapsnap sql on a terminal: line editing prompt, and its history is kept 0600' '
    HEAPSNAP_HISTORY=$TRASH/hist $PY3 -c "
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(\"$HEAPSNAP\", [\"heapsnap\", \"sql\", \"snap.db\"])
os.write(fd, b\"SELECT 40 + 2 AS answer;\\n.quit\\n\")
out = b\"\"
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors=\"replace\"))
sys.exit(os.WEXITSTATUS(st))
" >tty.out &&
    grep -q "heapsnap> " tty.out && grep -q "^42" tty.out &&
    test "$(stat -c %a hist)" = 600 && grep -q "answer;" hist
'

test_done
