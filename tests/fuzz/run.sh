#!/usr/bin/env bash
# tests/fuzz/run.sh — run the reader fuzzer (build/fuzz/fuzz_reader).
#
#   tests/fuzz/run.sh 600        fuzz for 600 seconds (make fuzz)
#   tests/fuzz/run.sh -r 20000   exactly 20000 runs (tests/t0002-fuzz.sh)
#
# The seed corpus is written afresh into build/fuzz/seeds by hsnap-synth
# (every variant of the synthetic snapshot, a truncated one, an all-zero
# one, and ELF cores of it, plain and compressed); what the fuzzer finds goes to build/fuzz/corpus and is kept between
# runs.  A crash leaves its input in build/fuzz/ (crash-*) and makes this
# script exit non-zero.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FUZZER=$ROOT/build/fuzz/fuzz_reader
SYNTH=$ROOT/build/tools/hsnap-synth
SEEDS=$ROOT/build/fuzz/seeds
CORPUS=$ROOT/build/fuzz/corpus

case "${1:-}" in
  -r) limit="-runs=${2:?usage: run.sh -r RUNS}" ;;
  [0-9]*) limit="-max_total_time=$1" ;;
  *) echo "usage: tests/fuzz/run.sh SECONDS | -r RUNS" >&2; exit 2 ;;
esac
for f in "$FUZZER" "$SYNTH"; do
  [ -x "$f" ] || { echo "run.sh: $f is not built (make $(basename "$f"))" >&2; exit 2; }
done

rm -rf "$SEEDS" && mkdir -p "$SEEDS" "$CORPUS"
"$SYNTH" write "$SEEDS/small.hsnap" --small
"$SYNTH" write "$SEEDS/small-l19.hsnap" --small --level 19
"$SYNTH" write "$SEEDS/small-ext.hsnap" --small --unknown --newer
"$SYNTH" write "$SEEDS/small-cut.hsnap" --small --truncate
"$SYNTH" zeros "$SEEDS/zeros.hsnap" 300
head -c 2000 "$SEEDS/small.hsnap" >"$SEEDS/head.hsnap"
# Cores for the core reader: heapsnap's own core of the synthetic snapshot,
# cut, and compressed the ways systemd-coredump stores them.
if [ -x "$ROOT/bin/heapsnap" ]; then
  "$ROOT/bin/heapsnap" core --no-dt-debug -o "$SEEDS/small.core" "$SEEDS/small.hsnap" 2>/dev/null || true
  if [ -s "$SEEDS/small.core" ]; then
    head -c 3000 "$SEEDS/small.core" >"$SEEDS/head.core"
    command -v zstd >/dev/null && zstd -q -f "$SEEDS/small.core" -o "$SEEDS/small.core.zst"
    command -v lz4 >/dev/null && lz4 -q -f "$SEEDS/small.core" "$SEEDS/small.core.lz4"
    command -v xz >/dev/null && xz -q -k -c "$SEEDS/small.core" >"$SEEDS/small.core.xz"
  fi
fi

cd "$ROOT/build/fuzz"
# -rss_limit_mb: the reader maps memory for what a file claims; the cap
# proves the claims stay bounded.  -timeout: a hang is a bug.
exec "$FUZZER" "$limit" -max_len=262144 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 "$CORPUS" "$SEEDS"
