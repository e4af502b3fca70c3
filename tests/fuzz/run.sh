#!/usr/bin/env bash
# tests/fuzz/run.sh — run the reader fuzzer (build/fuzz/fuzz_reader).
#
#   tests/fuzz/run.sh 600        fuzz for 600 seconds (make fuzz)
#   tests/fuzz/run.sh -r 20000   exactly 20000 runs (tests/t0002-fuzz.sh)
#
# The seed corpus is written afresh into build/fuzz/seeds by hsnap-synth
# (every variant of the synthetic snapshot, a truncated one, an all-zero
# one); what the fuzzer finds goes to build/fuzz/corpus and is kept between
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

cd "$ROOT/build/fuzz"
# -rss_limit_mb: the reader maps memory for what a file claims; the cap
# proves the claims stay bounded.  -timeout: a hang is a bug.
exec "$FUZZER" "$limit" -max_len=262144 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 "$CORPUS" "$SEEDS"
