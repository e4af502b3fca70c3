#!/usr/bin/env bash
# t4400-go-types.sh — what DWARF alone cannot type in a Go heap, on a capture
# of samples/go/session: objects reached only through interface values get
# the dynamic type their type word names (an any holding a *main.Session, an
# io.Writer — an itab — holding a *main.Sink), with type_source 'dynamic',
# and what they point to is typed from them in turn; and the backing arrays
# of slices and strings get their element types from the headers' typed
# pointers (array *T, str *uint8); and runtime.SetFinalizer's objects are
# listed (go_finalizers) and rooted as the collector roots them.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

R=go-session.report
capture_go_session 'Go types of go-session' release

# ty KEY: "type|source|count|size" of the object at the report's address KEY
ty() {
    sqlite3 go.db "SELECT ifnull(t.name, ''), ifnull(o.type_source, ''), ifnull(o.type_count, 0), o.size
                   FROM objects o LEFT JOIN types t ON t.id = o.type_id
                   WHERE o.addr = $(($(report_get $R "$1")))"
}

test_expect_success 'the snapshot indexes with no warnings' '
    $HEAPSNAP index go.hsnap >index.out &&
    test "$(sqlite3 go.db "SELECT count(*) FROM warnings")" = 0
'

test_expect_success 'an any holding the only pointer to a *main.Session types it: dynamic' '
    test "$(ty anyonly)" = "main.Session|dynamic|1|64"
'

test_expect_success 'an io.Writer (through its itab) holding a *main.Sink types it: dynamic' '
    test "$(ty sink)" = "main.Sink|dynamic|1|48"
'

test_expect_success 'what a dynamically typed object points to is typed from it' '
    test "$(ty sinkbuf)" = "uint8|dwarf-field|64|64"
'

test_expect_success 'show explains the dynamic source' '
    $HEAPSNAP show go.hsnap $(report_get $R sink) >show.out &&
    grep -q "dynamic: an interface value points at it" show.out
'

test_expect_success 'a []main.Record backing array is main.Record x its size class (cap 500)' '
    # 500 x 32 bytes rounds up to the 16 KiB class: the count rule gives
    # 512 Records, the cap the program asked for and the slack after it
    # (after the malloc header of Go 1.22+: 16376 bytes, 511 Records)
    # the malloc header names main.Record too, the stronger source
    src=dwarf-root && { [ "$GO_HEADER" = 0 ] || src=malloc-header; } &&
    test "$(ty records)" = "main.Record|$src|$(((16384 - GO_HEADER) / 32))|$((16384 - GO_HEADER))"
'

if [ "$GO_HEADER" != 0 ]; then
    test_expect_success 'a large object is typed by its span largeType: malloc-header, above inference' '
        # []*main.Session of 5000: 40000 bytes in a span of its own (40960)
        test "$(ty bigptrs)" = "*main.Session|malloc-header|5120|40960" &&
        $HEAPSNAP show go.hsnap $(report_get $R bigptrs) >show-big.out &&
        grep -q "malloc-header: the allocator recorded the type it was allocated as" show-big.out
    '
    # Go 1.27's linker leaves runtime.mPadded (allocm's new(mPadded)) out of
    # the DWARF, so the header of an M names a type DWARF cannot give: those
    # are typed runtime.m, the struct at their start, by inference instead.
    test_expect_success 'every pointerful object above 512 bytes is typed by its malloc header' '
        test "$(sqlite3 go.db "SELECT count(*) FROM objects o LEFT JOIN types t ON t.id = o.type_id
                               WHERE o.state = '"'"'used'"'"' AND o.chunk_size > 512 AND o.size = o.chunk_size - 8
                               AND ifnull(o.type_source, '"'"''"'"') != '"'"'malloc-header'"'"'
                               AND ifnull(t.name, '"'"''"'"') != '"'"'runtime.m'"'"'")" = 0 &&
        test "$(sqlite3 go.db "SELECT count(*) FROM objects WHERE type_source = '"'"'malloc-header'"'"'")" -ge 4
    '
else
    test_expect_success 'Go 1.19 has no malloc headers: no object is typed by one' '
        test "$(sqlite3 go.db "SELECT count(*) FROM objects WHERE type_source = '"'"'malloc-header'"'"'")" = 0
    '
fi

test_expect_success 'map entries are typed: every value of main.cache and of a 3-entry map is a main.Session' '
    # Go 1.19: hmap -> buckets; 1.24+ Swiss maps: map -> directory -> tables
    # -> groups, and a small map straight -> its one group (dirLen 0)
    test "$(ty smallval)" = "main.Session|dwarf-field|1|64" &&
    test "$(sqlite3 go.db "SELECT count(*) FROM objects o JOIN types t ON t.id = o.type_id
                           WHERE t.name = '"'"'main.Session'"'"'")" -ge 1003 &&
    if [ "$GO_HEADER" != 0 ]; then
        test "$(sqlite3 go.db "SELECT count(*) FROM objects o JOIN types t ON t.id = o.type_id
                               WHERE t.name = '"'"'noalg.map.group[string]*main.Session'"'"' AND o.size < 512")" = 1 &&
        test "$(sqlite3 go.db "SELECT count(*) FROM objects o JOIN types t ON t.id = o.type_id
                               WHERE t.name = '"'"'table<string,*main.Session>'"'"'")" -ge 1 &&
        test "$(sqlite3 go.db "SELECT count(*) FROM objects o JOIN types t ON t.id = o.type_id
                               WHERE t.name = '"'"'*table<string,*main.Session>'"'"'")" = 1
    fi
'

test_expect_success 'a string header types its bytes: uint8 x the size class' '
    # 152 bytes of banner in the 160-byte class
    test "$(ty banner)" = "uint8|dwarf-root|160|160"
'

test_expect_success 'the known objects keep their static types' '
    test "$(ty known)" = "main.Session|dwarf-root|1|64"
'

test_expect_success 'Go types are named as Go spells them: *T, [N]T, and N of T as [N]T' '
    test "$(sqlite3 go.db "SELECT count(*) FROM types WHERE name = '"'"'*main.Session'"'"' AND kind = '"'"'pointer'"'"'")" = 1 &&
    test "$(sqlite3 go.db "SELECT count(*) FROM types WHERE flags & 1024 AND kind IN ('"'"'pointer'"'"', '"'"'array'"'"')
                           AND (name LIKE '"'"'% *'"'"' OR name LIKE '"'"'% [%]'"'"')")" = 0 &&
    test "$(sqlite3 go.db "SELECT type_name FROM objects_typed WHERE addr = $(($(report_get $R banner)))")" = "[160]uint8" &&
    $HEAPSNAP show go.hsnap $(report_get $R records) >show-rec.out &&
    grep -q "^type: \[$(((16384 - GO_HEADER) / 32))\]main.Record — " show-rec.out &&
    $HEAPSNAP leaks go.db >/dev/null && $HEAPSNAP top go.db >top.out &&
    ! grep -qE "uint8 \[|main\.Session \*" top.out
'

# gofmt NAME: the %#v line the sample printed for NAME
gofmt() { sed -n "s/^gofmt $1 //p" $R; }

test_expect_success 'show prints a Go value as %#v does: a string, a []string, an interface holding a pointer, an itab' '
    $HEAPSNAP show go.hsnap $(report_get $R shown) >show-shown.out &&
    want=$(gofmt shown) && test -n "$want" &&
    echo "value: $want" >want && grep "^value: " show-shown.out >got && test_cmp want got &&
    python3 -c "
import re
lines = open(\"show-shown.out\").read().splitlines()
tags = [l for l in lines if l.startswith(\"  Tags = \")]
assert tags and tags[0].startswith(\"  Tags = []string{\\\"tag-1\\\", \\\"tag \\\\\\\"two\\\\\\\"\\\\t2\\\"}  (len 2, cap 2) <obj \"), tags
assert any(re.match(r\"  Name = .shown-[0-9]+.  \\(len [0-9]+\\)\", l) for l in lines), lines
"
'

test_expect_success 'show lists a map'"'"'s entries as key → value, as %#v prints the map' '
    grp=$(sqlite3 go.db "SELECT r.src FROM refs r JOIN objects o ON o.id = r.dst
                         WHERE o.addr = $(($(report_get $R smallval))) AND r.src > 0") &&
    $HEAPSNAP show go.hsnap $grp >show-map.out &&
    python3 -c "
import re
rep = [l.rstrip(\"\\n\") for l in open(\"$R\")]
want = [l.split(\" \", 2)[2] for l in rep if l.startswith(\"gofmt smallentry \")][0]
lines = open(\"show-map.out\").read().splitlines()
i = lines.index(\"entries (key \u2192 value):\")
ents = [re.match(r\"  \\[([0-7])\\] (.*) \u2192 (.*)\", l) for l in lines[i + 1:i + 4]]
assert all(ents) and sorted(e.group(2) for e in ents) == [chr(34) + \"small-%d\" % k + chr(34) for k in range(3)], lines
one = [e for e in ents if e.group(2) == chr(34) + \"small-1\" + chr(34)][0]
got = \"map[string]*main.Session{%s:%s}\" % (one.group(2), one.group(3))
assert got == want, (got, want)
"
'

# SQL string literals for the cases below (their bodies are single-quoted)
FK="'finalizer'" FF="'go.finalizers'"

test_expect_success 'go_finalizers lists the object runtime.SetFinalizer was given, and its function' '
    fin=$(($(report_get $R fin))) &&
    test "$(sqlite3 go.db "SELECT size, func FROM go_finalizers WHERE object = $fin")" = "64|main.finalize" &&
    test "$(sqlite3 go.db "SELECT value FROM facts WHERE key = $FF")" = \
         "$(sqlite3 go.db "SELECT count(*) FROM go_finalizers")"
'

test_expect_success 'a finalizer roots what its object points to, not the object, and its funcval' '
    fin=$(($(report_get $R fin))) && peer=$(($(report_get $R finpeer))) &&
    test "$(sqlite3 go.db "SELECT count(*) FROM roots WHERE kind = $FK AND addr = $fin")" = 1 &&
    test "$(sqlite3 go.db "SELECT group_concat(o.addr) FROM refs f JOIN roots r ON r.id = f.src
                           JOIN objects o ON o.id = f.dst WHERE r.kind = $FK AND r.addr = $fin")" = "$peer" &&
    test "$(sqlite3 go.db "SELECT count(*) FROM roots WHERE kind = $FK AND name = '"'"'finalizer fn of $(printf 0x%x $fin)'"'"'")" = 1
'

test_done
