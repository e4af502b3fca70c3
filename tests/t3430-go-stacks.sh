#!/usr/bin/env bash
# t3430-go-stacks.sh — goroutine stacks scanned as Go's collector scans
# them: frame by frame, by the stack maps (analyze/heap/go/stacks.c), on
# samples/go/stacks.  Three snapshots of one run: A once its four
# goroutines are parked, B after the cache grew by K entries (SIGUSR1), C
# after the sample ran the collector itself (SIGUSR2) and allocated
# nothing more.
#
# Ground truth: main.stale parked with the big []byte and the cache map in
# dead slots of its frame (the words are there: a conservative scan keeps
# both); the collector frees the big object (it is gone in C), so heapsnap
# must call it garbage, and credit the cache to global main.cache alone in
# top, diff and path.  What the collector kept (used in C) must be
# reachable in B: a precise scan that drops a root would fail there.  The
# three Entries held only by a live local, a live argument and a stack
# object must be reachable from their goroutines' frames, named as Go
# names them.
# Runs for each Go version (tests/run.sh).
. "$(dirname "$0")/lib.sh"

K=100
if [ ! -x "$(go_sample stacks)" ] || [ ! -x "$CAPTURE" ]; then
    test_skip 'precise goroutine stacks' "bin/samples/$GO_VERSION-stacks or the capture tool is not built"
    test_done
fi

R=go-stacks.report
start_sample go-stacks grow=$K || true
PID=${SAMPLE_PID:-0}
{ "$CAPTURE" -q "$PID" -o A.hsnap && kill -USR1 "$PID" && wait_line $R "grown 1" "$PID" &&
  "$CAPTURE" -q "$PID" -o B.hsnap && kill -USR2 "$PID" && wait_line $R collected "$PID" &&
  "$CAPTURE" -q "$PID" -o C.hsnap; } >capture.out 2>&1 || true
stop_sample
get() { awk -v k="$1" '$1 == k { print $2; exit }' $R; }
gid() { awk -v f="$1" '$1 == "goroutine" && $2 == f { print $3 }' $R; }
q() { sqlite3 -batch "$@"; }

test_expect_success 'setup: three snapshots, indexed, the cache grown by K' '
    test -s C.hsnap && grep -qx ready $R &&
    test "$(awk "\$1 == \"entries\" { n = \$2 } END { print n }" $R)" = $((2000 + K)) &&
    for s in A B C; do $HEAPSNAP index -q $s.hsnap || exit 1; done
'

test_expect_success 'the stacks are scanned precisely: every frame by its maps, none conservatively' '
    for s in A B; do
        test "$(q $s.db "SELECT value FROM facts WHERE key = \"go.stacks\"")" = precise &&
        test "$(q $s.db "SELECT value FROM facts WHERE key = \"go.stacks_conservative\"")" = 0 &&
        test "$(q $s.db "SELECT value FROM facts WHERE key = \"go.stack_frames_conservative\"")" = 0 &&
        test "$(q $s.db "SELECT value FROM facts WHERE key = \"go.stack_frames_precise\"")" -gt 10 || exit 1
    done
'

# the words of goroutine G's stack from its sp up that hold value V
stack_words() {
    $HEAPSNAP sql --csv "$1" "WITH RECURSIVE w(a) AS (SELECT sp FROM goroutines WHERE goid = $2
        UNION ALL SELECT a + 8 FROM w, goroutines g WHERE g.goid = $2 AND a + 8 < g.stack_hi)
        SELECT count(*) FROM w WHERE u64(a) = $3" | tail -n +2
}

test_expect_success 'dead slots of main.stale hold the big object and the cache map (a conservative scan keeps them)' '
    g=$(gid stale) && test -n "$g" &&
    test "$(stack_words A.db $g $(get bigaddr))" -ge 1 &&
    test "$(stack_words A.db $g $(get cachemap))" -ge 1
'

test_expect_success 'the big object is garbage: unreachable in A and B, and the collector freed it (C)' '
    $HEAPSNAP top A.hsnap >/dev/null && $HEAPSNAP top B.hsnap >top.out &&
    for s in A B; do
        r=$(q $s.db "SELECT a.reachable FROM objects o JOIN analysis a ON a.id = o.id
                     WHERE o.addr = $(get bigaddr) AND o.state = \"used\" AND o.size >= 8388608") &&
        test "$r" = 0 || { echo "$s: reachable \"$r\""; $HEAPSNAP path $s.hsnap $(get bigaddr); exit 1; }
    done &&
    test "$(q C.db "SELECT count(*) FROM objects WHERE addr = $(get bigaddr) AND state = \"used\"")" = 0
'

test_expect_success 'top: the cache map is a leak suspect held by global main.cache, which retains it' '
    grep -E "^  0x[0-9a-f]+ (map|hash)<string,\*main.Entry> retains .*, held by global main.cache$" top.out &&
    $HEAPSNAP top --json B.hsnap >top.json &&
    python3 -c "
import json
d = json.load(open(\"top.json\"))
s = [x for x in d[\"suspects\"] if x[\"node\"][\"addr\"] == \"$(get cachemap)\"]
assert len(s) == 1 and s[0][\"held_by\"] == \"global main.cache\", d[\"suspects\"]
r = [x for x in d[\"roots\"] if x[\"node\"][\"label\"] == \"global main.cache\"]
assert r and r[0][\"retained_size\"] >= s[0][\"retained_size\"], (r, s)
"
'

test_expect_success 'top: the Entry a live local holds is a suspect held by its goroutine, frame and local' '
    grep -E "^  $(get local) main\.Entry retains .*, held by goroutine $(gid holdLocal) \(main\.holdLocal\) local e$" top.out &&
    python3 -c "
import json
d = json.load(open(\"top.json\"))
s = [x for x in d[\"suspects\"] if x[\"node\"][\"addr\"] == \"$(get local)\"]
assert len(s) == 1 and s[0][\"held_by\"] == \"goroutine $(gid holdLocal) (main.holdLocal) local e\", s
assert s[0][\"retained_size\"] >= 2 << 20, s
"
'

test_expect_success 'diff: K new entries, all retained through global main.cache' '
    $HEAPSNAP diff --json A.hsnap B.hsnap >diff.json &&
    python3 -c "
import json
d = json.load(open(\"diff.json\"))
t = [x for x in d[\"types\"] if x[\"type\"] == \"main.Entry\"]
assert len(t) == 1 and t[0][\"new_count\"] == $K and t[0][\"delta_count\"] == $K, t
g = [x for x in d[\"growth\"] if x[\"type\"] == \"main.Entry\"]
assert g and all(x[\"retainer\"].startswith(\"global main.cache ->\") for x in g), g
assert sum(x[\"count\"] for x in g) == $K, g
"
'

test_expect_success 'path: a cached entry has one path, from global main.cache' '
    $HEAPSNAP path B.hsnap $(get entry) >path.out &&
    grep -q "^Path 1 of 1," path.out &&
    sed -n 2p path.out | grep -q "^  global main.cache  (data root"
'

test_expect_success 'nothing live is lost: every object the collector kept (used in C) is reachable in B' '
    q B.db "ATTACH \"C.db\" AS c;
        SELECT count(*) FROM objects o JOIN c.objects k ON k.addr = o.addr AND k.size = o.size
        WHERE o.state = \"used\" AND k.state = \"used\"" >kept &&
    test "$(cat kept)" -gt 2000 &&
    q B.db "ATTACH \"C.db\" AS c;
        SELECT printf(\"0x%x %d\", o.addr, o.size) FROM objects o
        JOIN c.objects k ON k.addr = o.addr AND k.size = o.size JOIN analysis a ON a.id = o.id
        WHERE o.state = \"used\" AND k.state = \"used\" AND a.reachable = 0" >candidates &&
    # a slot the collector freed after B may hold a new object in C: it is
    # the same object only if its bytes are the same (and not all zero)
    while read -r addr size; do
        b=$($HEAPSNAP sql --csv B.db "SELECT hex(mem($addr, $size))" | tail -1) &&
        c=$($HEAPSNAP sql --csv C.db "SELECT hex(mem($addr, $size))" | tail -1) &&
        if [ "$b" = "$c" ] && [ -n "$(echo "$b" | tr -d 0)" ]; then echo "$addr $size $b"; fi
    done <candidates >lost &&
    cat candidates lost && test ! -s lost
'

# Part of issue 11: a root is named as Go names it — the goroutine, its
# frame's function — and the reference by the local DWARF places there at
# that pc (a location list entry: Go's optimized code describes nearly every
# variable so), "goroutine 21 (main.holdLocal)" then "--[local e]-->".
# (The stack object, an array, is in main.holdStackObject's frame: found
# through the pointer to it that main.parkWith's argument holds.)
test_expect_success 'a live local, a live argument and a stack object hold their Entries, named by goroutine, frame and local' '
    for x in local:holdLocal:e arg:holdArg:e stackobj:holdStackObject:arr; do
        IFS=: read -r what fn var <<<"$x" &&
        a=$(get $what) g=$(gid $fn) &&
        $HEAPSNAP path B.hsnap $a >p.out &&
        sed -n 1p p.out | grep -q "^Path 1 of 1, 1 references:" &&
        sed -n 2p p.out | grep -qF "  goroutine $g (main.$fn)  (stack root, " &&
        sed -n 3p p.out | grep -qF -- "--[local $var]--> $a main.Entry" ||
            { echo "main.$fn:"; cat p.out; exit 1; }
    done
'

# Part 6 of issue 11: goroutines grouped by stack, as the sample's own
# goroutine profile (pprof, debug=1) groups them: the same function and
# file:line per frame (the inlined main.waitInlined a frame of its own) and
# the same count per stack.  Compared are the stacks of the program's own
# goroutines; main.main's differs (it was writing the profile).
test_expect_success 'goroutines: groups by stack with file:line equal the goroutine profile (debug=1)' '
    $HEAPSNAP goroutines --json A.hsnap >gr.json &&
    $HEAPSNAP goroutines A.hsnap >gr.out &&
    python3 -c "
import json, re
def mine(stack):
    return any(f.startswith(\"main.\") for f, _ in stack) and not any(f == \"main.main\" for f, _ in stack)
want = {}
for block in open(\"$R.goroutines\").read().split(\"\\n\\n\"):
    lines = [l for l in block.strip().splitlines() if not l.startswith(\"goroutine profile:\")]
    if not lines or not re.match(r\"^\\d+ @\", lines[0]):
        continue
    stack = []
    for l in lines[1:]:
        f = [x for x in l.split(\"\\t\") if x]  # pprof pads with tabs
        if len(f) == 4 and f[0] == \"#\":
            stack.append((re.sub(r\"\\+0x[0-9a-f]+$\", \"\", f[2]), f[3]))
    stack = tuple(stack)
    if mine(stack):
        want[stack] = want.get(stack, 0) + int(lines[0].split()[0])
got = {}
for g in json.load(open(\"gr.json\"))[\"groups\"]:
    stack = tuple((f[\"func\"], \"%s:%d\" % (f[\"file\"], f[\"line\"])) for f in g[\"frames\"])
    if mine(stack):
        got[stack] = got.get(stack, 0) + g[\"count\"]
assert want and got == want, (got, want)
assert $(grep -c "main.waitInlined" $R.goroutines) >= 1
assert max(want.values()) == 7, want
" &&
    grep -E "^ +7 +waiting +chan receive +main\.main\.func2 +main\.main$" gr.out &&
    grep -A4 -E "^ +7 +waiting" gr.out | grep -qE "^ +main\.waitInlined  .*/main\.go:[0-9]+$"
'

test_expect_success 'go.goroutines counts the live goroutines, not the dead ones allgs keeps for reuse' '
    for s in A B C; do
        test "$(q $s.db "SELECT value FROM facts WHERE key = \"go.goroutines\"")" = \
             "$(q $s.db "SELECT count(*) FROM goroutines")" &&
        test "$(q $s.db "SELECT value FROM facts WHERE key = \"go.goroutines_dead\"")" -ge 0 || exit 1
    done &&
    test "$(q B.db "SELECT value FROM facts WHERE key = \"go.goroutines_dead\"")" -ge 1
'

test_done
