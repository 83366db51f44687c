#!/usr/bin/env bash
# Where the time of a cluster round goes, for PageRank on 2 processes x 1 thread: the run is
# traced (--log firesteel::round=debug), and the processes' rounds are lined up by wall clock.
# - imbalance: how long the first process to enter a round waits for the last one (the
#   difference of their work; local mode's work stealing absorbs it, static placement can't);
# - latency: from the last process's entry to the first exit, the round's own cost.
#
#   scripts/cluster_rounds.sh                  # R-MAT scale 20, 60 iterations
#   ITERS=100 scripts/cluster_rounds.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ITERS=${ITERS:-60}
. scripts/cluster_setup.sh

# "median / mean" of a column of numbers.
stats() {
    sort -g | awk '{a[NR]=$1; s+=$1} END {
        m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f / %.1f ms", m, s/NR }'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$B" launch -n 2 -- "$B" pagerank --input "$GRAPH" --log firesteel::round=debug \
    --iterations "$ITERS" --threads 1 --partitions "$PARTS" 2>"$tmp/trace" >/dev/null
# Per rank, the entry and exit times of its rounds, in order; the iterations' rounds are the
# last ITERS of them (the graph build's rounds come first).
for r in 0 1; do
    sed -nE "s/^\[rank $r\] .* firesteel::round: .* entered_at=([0-9.]+) left_at=([0-9.]+)$/\1 \2/p" \
        "$tmp/trace" | tail -n "$ITERS" >"$tmp/r$r"
done
paste -d' ' "$tmp/r0" "$tmp/r1" | awk '{
    d = $1 - $3; if (d < 0) d = -d;
    last = ($1 > $3) ? $1 : $3; out = ($2 < $4) ? $2 : $4;
    printf "%.3f %.3f\n", d * 1000, (out - last) * 1000 }' >"$tmp/rows"
echo "PageRank R-MAT $SCALE, 2 processes x 1 thread, $ITERS iterations' rounds (median / mean):"
echo "  imbalance (first entry to last entry): $(cut -d' ' -f1 "$tmp/rows" | stats)"
echo "  latency (last entry to first exit):    $(cut -d' ' -f2 "$tmp/rows" | stats)"
