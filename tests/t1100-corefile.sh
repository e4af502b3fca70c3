#!/usr/bin/env bash
# t1100-corefile.sh — every command reads an ELF core as it reads a snapshot
# (format/core/).  Ground truth, each from a real dumper:
#  - gcore and heapsnap-capture of the same stopped samples/leaky give the
#    same objects, sizes, types, bytes and leaks;
#  - a kernel core of leaky (ulimit -c unlimited, SIGABRT) shows every leak
#    leaky reported;
#  - systemd-coredump-style .zst (and .lz4, .xz) cores give the answers of
#    their uncompressed twin;
#  - import writes a snapshot (0600) with the same answers, and never
#    overwrites a file heapsnap did not make;
#  - a cut core, another architecture's core and a core whose files are gone
#    each get a message naming the file and the note or header at fault.
# A Go core (GOTRACEBACK=crash), for each Go version, is t6420's.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$SAMPLES/leaky" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'cores of leaky' 'bin/samples/leaky or the capture tool is not built'
    test_done
fi

# py SCRIPT: python3 with sqlite3/json, the leaky report as rep, hx().
py() { python3 -c "import json, sqlite3, sys, os
def hx(s): return int(s, 16)
def rep_of(f): return [l.split() for l in open(f)]
$1"; }

# The objects of a database, with their type names: what two views of the
# same heap must agree on.
objects_of() {
    sqlite3 -batch "$1" "SELECT o.addr, o.size, o.state, o.heap, o.\"where\", coalesce(t.name, '')
                         FROM objects o LEFT JOIN types t ON t.id = o.type_id ORDER BY o.addr"
}

# wait_stopped PID: until the kernel shows PID stopped (a SIGSTOP is
# delivered asynchronously); fail if it dies first.
wait_stopped() {
    while ! grep -q "^State:[[:space:]]*T" /proc/$1/status 2>/dev/null; do
        kill -0 $1 2>/dev/null || return 1
        sleep 0.05
    done
}

# note_offset CORE: the file offset of the PT_NOTE segment.
note_offset() { echo $(( $(readelf -lW "$1" | awk '$1 == "NOTE" { print $2 }') )); }

# ---------------------------------------------------------------- gcore

if ! command -v gcore >/dev/null; then
    test_skip 'gcore and the live capture agree' 'gcore (gdb) is not installed'
else
test_expect_success 'setup: leaky stopped, captured by heapsnap-capture, then dumped by gcore' '
    start_sample leaky &&
    echo $SAMPLE_PID >gpid &&
    kill -STOP $SAMPLE_PID &&
    wait_stopped $SAMPLE_PID &&
    "$CAPTURE" -q $SAMPLE_PID -o live.hsnap &&
    ! grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$SAMPLE_PID/status &&
    gcore -o gc $SAMPLE_PID >gcore.out 2>&1 &&
    mv gc.$SAMPLE_PID gcore.core &&
    grep -q "^State:.*stopped" /proc/$SAMPLE_PID/status &&
    kill -CONT $SAMPLE_PID && stop_sample $SAMPLE_PID &&
    cp leaky.report gcore.report
'

test_expect_success 'gcore core: index reads it as a core, with the glibc walker and no warnings' '
    $HEAPSNAP index gcore.core >index.out &&
    grep -q "(glibc)" index.out && grep -q " 0 warnings" index.out &&
    $HEAPSNAP index live.hsnap >/dev/null
'

test_expect_success 'gcore and the live capture: the same objects, sizes, states and types' '
    objects_of gcore.core.db >core.objects &&
    objects_of live.db >live.objects &&
    test $(wc -l <live.objects) -ge 30 &&
    test_cmp live.objects core.objects
'

test_expect_success 'gcore and the live capture: every used object byte for byte' '
    q="SELECT hex(addr), mem(addr, size) IS NULL, hex(mem(addr, size)) FROM objects WHERE state = \"used\" ORDER BY addr" &&
    $HEAPSNAP sql live.db "$q" >live.bytes &&
    $HEAPSNAP sql gcore.core.db "$q" >core.bytes &&
    test $(grep -c "^0x" live.bytes) -ge 30 &&
    ! grep -E "^0x[0-9a-f]+ +1 " core.bytes &&
    test_cmp live.bytes core.bytes
'

test_expect_success 'gcore and the live capture: the same leaks, and they are the leaks leaky made' '
    $HEAPSNAP leaks --json --all gcore.core >core.leaks &&
    $HEAPSNAP leaks --json --all live.hsnap >live.leaks &&
    py "
c = json.load(open(\"core.leaks\")); l = json.load(open(\"live.leaks\"))
got = sorted((hx(o[\"addr\"]), o[\"size\"]) for o in c[\"objects\"])
assert got == sorted((hx(o[\"addr\"]), o[\"size\"]) for o in l[\"objects\"])
want = sorted((hx(r[1]), int(r[2])) for r in rep_of(\"gcore.report\") if r[0] == \"leak\")
assert got == want, (got, want)
assert c[\"leaked_bytes\"] == l[\"leaked_bytes\"]
"
'

test_expect_success 'gcore core: threads and registers are the capture'\''s' '
    q="SELECT tid, pc, sp, fp, fs_base, stack_start, stack_end FROM threads ORDER BY tid" &&
    sqlite3 -batch live.db "$q" >live.threads &&
    sqlite3 -batch gcore.core.db "$q" >core.threads &&
    test $(wc -l <live.threads) = 2 &&
    test_cmp live.threads core.threads
'

test_expect_success 'gcore core: the modules and their build-ids are the capture'\''s' '
    q="SELECT path, base, build_id FROM modules ORDER BY path" &&
    sqlite3 -batch live.db "$q" >live.mods &&
    sqlite3 -batch gcore.core.db "$q" >core.mods &&
    grep -q libc.so live.mods &&
    test_cmp live.mods core.mods
'
fi

# ---------------------------------------------------------------- kernel

pattern=$(cat /proc/sys/kernel/core_pattern)
if [ "$pattern" != core ]; then
    test_skip 'a kernel core of leaky' "core_pattern is '$pattern', not 'core': the kernel does not write ./core here"
    KCORE=
elif ! (ulimit -c unlimited) 2>/dev/null; then
    test_skip 'a kernel core of leaky' 'the hard limit forbids ulimit -c unlimited'
    KCORE=
else
KCORE=k/core
test_expect_success 'setup: leaky aborted with ulimit -c unlimited leaves a kernel core' '
    kernel_core k leaky &&
    cp leaky.report k.report &&
    test "$(head -c 4 k/core | od -An -c | tr -d " ")" = "177ELF"
'

test_expect_success 'kernel core: every leak leaky made is found, and nothing it keeps' '
    $HEAPSNAP leaks --json --all k/core >k.leaks &&
    py "
d = json.load(open(\"k.leaks\")); rep = rep_of(\"k.report\")
got = sorted((hx(o[\"addr\"]), o[\"size\"]) for o in d[\"objects\"])
want = sorted((hx(r[1]), int(r[2])) for r in rep if r[0] == \"leak\")
assert got == want, (got, want)
kept = set(hx(r[1]) for r in rep if r[0] == \"reachable\")
assert len(kept) >= 12 and not kept & set(a for a, s in got)
"
'

test_expect_success 'kernel core: the process, threads and modules come from its notes' '
    $HEAPSNAP info --json k/core >k.info &&
    py "
d = json.load(open(\"k.info\")); rep = rep_of(\"k.report\")
pid = int([r[1] for r in rep if r[0] == \"pid\"][0])
p = d[\"process\"]
assert p[\"pid\"] == pid and p[\"exe\"].endswith(\"/samples/leaky\"), p
assert p[\"argv\"][-1] == \"$TRASH/leaky.report\", p[\"argv\"]
assert sorted(t[\"tid\"] for t in d[\"threads\"])[0] == pid and len(d[\"threads\"]) == 2
paths = set(m[\"path\"] for m in d[\"mappings\"])
assert \"[heap]\" in paths and \"[stack]\" in paths, paths
assert all(len(m[\"build_id\"]) == 40 for m in d[\"modules\"]), d[\"modules\"]
"
'

test_expect_success 'kernel core: rss says what a core cannot tell' '
    $HEAPSNAP rss k/core >k.rss &&
    grep "RSS unknown: the snapshot has no smaps figures" k.rss &&
    grep "no advice" k.rss &&
    $HEAPSNAP rss --json k/core >k.rss.json &&
    py "d = json.load(open(\"k.rss.json\")); assert d[\"smaps_known\"] is False and d[\"levers\"] == []"
'

# ---------------------------------------------------------------- compressed

if ! command -v zstd >/dev/null; then
    test_skip 'compressed cores' 'zstd is not installed'
else
test_expect_success 'a zstd core (systemd-coredump style) gives the answers of its twin' '
    zstd -q -3 k/core -o kz.core.zst &&
    $HEAPSNAP leaks --json --all kz.core.zst >kz.leaks &&
    py "
a = json.load(open(\"k.leaks\")); b = json.load(open(\"kz.leaks\"))
assert a[\"objects\"] == b[\"objects\"] and a[\"leaked_bytes\"] == b[\"leaked_bytes\"]
" &&
    objects_of k/core.db >k.objects && objects_of kz.core.zst.db >kz.objects &&
    test_cmp k.objects kz.objects &&
    ! ls /tmp/*core* 2>/dev/null | grep -q kz
'

test_expect_success 'lz4 and xz cores read the same' '
    lz4 -q k/core kz.core.lz4 && xz -q -k -c k/core >kz.core.xz &&
    for f in kz.core.lz4 kz.core.xz; do
        $HEAPSNAP index -q $f && objects_of $f.db >o && test_cmp k.objects o || exit 1
    done
'

test_expect_success 'a truncated .zst is refused, naming the file' '
    head -c $(( $(stat -c %s kz.core.zst) / 2 )) kz.core.zst >cut.core.zst &&
    test_must_fail $HEAPSNAP index cut.core.zst 2>err &&
    grep "cut.core.zst: zstd: the stream ends inside a frame" err
'
fi

# ---------------------------------------------------------------- import

test_expect_success 'import writes a 0600 snapshot with the same answers' '
    $HEAPSNAP import k/core -o app.hsnap &&
    test "$(stat -c %a app.hsnap)" = 600 &&
    $HEAPSNAP verify app.hsnap &&
    $HEAPSNAP index -q app.hsnap && objects_of app.db >app.objects &&
    test_cmp k.objects app.objects
'

test_expect_success 'import replaces its own snapshot but never a file heapsnap did not make' '
    $HEAPSNAP import k/core -o app.hsnap &&
    echo precious >mine.txt &&
    test_must_fail $HEAPSNAP import k/core -o mine.txt 2>err &&
    grep "mine.txt: exists and is not a heapsnap snapshot; not overwriting it" err &&
    test "$(cat mine.txt)" = precious
'

test_expect_success 'every command takes a core where it takes a snapshot' '
    a=$(awk "\$1 == \"reachable\" { print \$2; exit }" k.report) &&
    $HEAPSNAP verify k/core | grep "^k/core: ok (ELF core, [0-9]* mappings" &&
    $HEAPSNAP top k/core >top.out && test -s top.out &&
    $HEAPSNAP explain k/core $a >explain.out && test -s explain.out &&
    $HEAPSNAP path k/core $a >path.out && test -s path.out &&
    $HEAPSNAP show k/core $a >show.out && grep -q "$a" show.out &&
    $HEAPSNAP types k/core >types.out && test -s types.out &&
    test "$($HEAPSNAP sql k/core "SELECT count(*) FROM objects" | tail -1)" = "$(wc -l <k.objects)" &&
    $HEAPSNAP diff --json k/core app.hsnap >diff.json &&
    py "d = json.load(open(\"diff.json\")); assert (d[\"new_count\"], d[\"deleted_count\"]) == (0, 0) and d[\"first_words_compared\"], d" &&
    $HEAPSNAP core k/core -o again.core && $HEAPSNAP index -q again.core &&
    objects_of again.core.db >again.objects && test_cmp k.objects again.objects
'

# ---------------------------------------------------------------- bad input

test_expect_success 'a core cut inside its notes: the note and the cut are named' '
    off=$(note_offset k/core) &&
    head -c $((off + 100)) k/core >notes-cut.core &&
    test_must_fail $HEAPSNAP index notes-cut.core 2>err &&
    grep "notes-cut.core: truncated at offset $((off + 100)): the PT_NOTE segment" err
'

test_expect_success 'a core cut inside its memory is truncated: index wants --partial, says where' '
    size=$(stat -c %s k/core) &&
    head -c $((size / 2)) k/core >mem-cut.core &&
    test_must_fail $HEAPSNAP index mem-cut.core 2>err &&
    grep "mem-cut.core: the snapshot is truncated (mem-cut.core: truncated at offset $((size / 2)): program header [0-9]* (PT_LOAD 0x" err &&
    grep -- "--partial" err &&
    $HEAPSNAP index -q --partial mem-cut.core &&
    sqlite3 -batch mem-cut.core.db "SELECT message FROM warnings WHERE source = \"snapshot\"" | grep -q "ulimit -c"
'

test_expect_success 'pages the core cut are unreadable, never zeros' '
    $HEAPSNAP info --json mem-cut.core >cut.info 2>/dev/null || true
    py "
d = json.load(open(\"cut.info\"))
f = d[\"capture\"][\"failures\"]
assert any(x[\"reason\"].startswith(\"truncated\") for x in f), f
"
'

test_expect_success 'a core of another architecture is refused by name' '
    cp k/core arm.core &&
    printf "\267\000" | dd of=arm.core bs=1 seek=18 conv=notrunc 2>/dev/null &&
    test_must_fail $HEAPSNAP leaks arm.core 2>err &&
    grep "arm.core: ELF header: e_machine 183 (aarch64): a core of another architecture" err
'

test_expect_success 'a note of the wrong size is named, with its offset' '
    cp k/core bad-note.core &&
    off=$(note_offset k/core) &&
    printf "\001" | dd of=bad-note.core bs=1 seek=$((off + 4)) conv=notrunc 2>/dev/null &&
    test_must_fail $HEAPSNAP index bad-note.core 2>err &&
    grep -E "bad-note.core: note 1 \(NT_PRSTATUS, type 0x1\) at offset $off: " err
'
fi

# ---------------------------------------------------------------- files gone

if [ -n "$KCORE" ]; then
test_expect_success 'setup: a kernel core of a copy of leaky that is then deleted' '
    mkdir -p gone && cp "$SAMPLES/leaky" gone/leaky-copy &&
    mkdir -p g && cd g && ulimit -c unlimited
    "$TRASH/gone/leaky-copy" "$TRASH/g.report" >/dev/null 2>&1 &
    gp=$!
    track_pid $gp &&
    wait_line "$TRASH/g.report" ready $gp &&
    kill -ABRT $gp; wait $gp || true
    cd "$TRASH" && test -s g/core &&
    mv gone/leaky-copy saved-leaky
'

test_expect_success 'NT_FILE names a file not on this machine: a warning names it and the entry' '
    $HEAPSNAP index g/core >out 2>err &&
    sqlite3 -batch g/core.db "SELECT message FROM warnings" >w &&
    grep -E "g/core: NT_FILE entry [0-9]+ names $TRASH/gone/leaky-copy, which is not on this machine; the core gives its build-id, so --debug-dir DIR finds a copy at DIR/.build-id/[0-9a-f]{2}/[0-9a-f]{38}" w &&
    $HEAPSNAP leaks --json --all g/core >g.leaks &&
    py "
d = json.load(open(\"g.leaks\"))
want = sorted((hx(r[1]), int(r[2])) for r in rep_of(\"g.report\") if r[0] == \"leak\")
assert sorted((hx(o[\"addr\"]), o[\"size\"]) for o in d[\"objects\"]) == want
"
'

test_expect_success '--exe gives the executable from elsewhere: its symbols are back' '
    g_keep=$(awk "\$1 == \"global\" && \$2 == \"g_keep\" { print \$3 }" g.report) &&
    test -n "$g_keep" &&
    $HEAPSNAP index --exe saved-leaky -o g2.db g/core >out &&
    ! sqlite3 -batch g2.db "SELECT message FROM warnings" | grep -q "not on this machine" &&
    sqlite3 -batch g2.db "SELECT name FROM roots WHERE kind = \"data\" AND name = \"g_keep\"" | grep -qx g_keep
'

test_expect_success '--exe with another build is refused, naming both' '
    test_must_fail $HEAPSNAP index --exe "$SAMPLES/linked" -o g3.db g/core 2>err &&
    grep -E "g/core: --exe $SAMPLES/linked (has build-id [0-9a-f]+, but the executable in the core|: its ELF headers differ)" err
'
fi

test_done
