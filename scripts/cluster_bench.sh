#!/usr/bin/env bash
# Cluster-mode overhead on one machine: the same job on 1 process x 2 threads (local mode)
# and on 2 processes x 1 thread (cluster mode over timely, via `firesteel launch`), with the
# same partitions. Each configuration runs with a low and a high iteration count; the
# per-iteration time is the difference of the medians divided by the difference of the
# counts, so loading and graph building cancel out. The ratio column divides those medians;
# the last column gives the spread of the ratios that each repetition alone gives.
#
#   scripts/cluster_bench.sh            # PageRank on R-MAT scale 20, LR on 1M x 50
#   SCALE=16 POINTS=100000 REPS=1 scripts/cluster_bench.sh   # a quick run
#   JOBS=lr scripts/cluster_bench.sh     # one job
set -euo pipefail
cd "$(dirname "$0")/.."

POINTS=${POINTS:-1000000}
DIMS=${DIMS:-50}
REPS=${REPS:-3}
. scripts/cluster_setup.sh
LR="$DIR/lr-$POINTS-$DIMS.libsvm"
[ -s "$LR" ] || "$B" generate logistic --points "$POINTS" --dims "$DIMS" --output "$LR" >/dev/null

# fit_s of one run: "$@" is the job command line, without --json.
fit() { "$@" --json 2>/dev/null | sed -E 's/.*"fit_s":([0-9.eE+-]+).*/\1/'; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# run CONF IT JOB-ARGS...: fit_s of one run of the job, locally or on 2 processes.
run() {
    local conf=$1 it=$2
    shift 2
    if [ "$conf" = local ]; then
        fit "$B" "$@" --iterations "$it" --threads 2 --partitions "$PARTS"
    else
        fit "$B" launch -n 2 -- "$B" "$@" --iterations "$it" --threads 1 --partitions "$PARTS"
    fi
}

# measure NAME LO HI JOB-ARGS...: prints per-iteration seconds for both configurations.
# The four runs of a repetition are interleaved, so that a change in the machine's load
# during the measurement reaches both configurations alike.
measure() {
    local name=$1 lo=$2 hi=$3
    shift 3
    local tmp
    tmp=$(mktemp -d)
    for _ in $(seq "$REPS"); do
        for conf in local cluster; do
            for it in "$lo" "$hi"; do
                run "$conf" "$it" "$@" >>"$tmp/$conf-$it"
            done
        done
    done
    declare -A med
    for f in local-$lo local-$hi cluster-$lo cluster-$hi; do
        med[$f]=$(median <"$tmp/$f")
    done
    # Each repetition's own ratio: the four runs of a repetition ran back to back.
    local spread
    spread=$(paste "$tmp/local-$lo" "$tmp/local-$hi" "$tmp/cluster-$lo" "$tmp/cluster-$hi" |
        awk '{print ($4 - $3) / ($2 - $1)}' | sort -g |
        awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
            printf "%.2f / %.2f / %.2f", a[1], m, a[NR]}')
    rm -rf "$tmp"
    awk -v n="$name" -v s="$spread" -v lo="$lo" -v hi="$hi" \
        -v l1="${med[local-$lo]}" -v l2="${med[local-$hi]}" \
        -v c1="${med[cluster-$lo]}" -v c2="${med[cluster-$hi]}" 'BEGIN {
        l = (l2 - l1) / (hi - lo); c = (c2 - c1) / (hi - lo);
        printf "%-28s %10.1f ms %10.1f ms %8.2fx   %s\n", n, l * 1000, c * 1000, c / l, s
    }'
}

printf "%-28s %13s %13s %9s   %s\n" "job (per iteration)" "1 proc x 2 thr" "2 proc x 1 thr" \
    "ratio" "per-repetition ratio min / median / max"
JOBS=${JOBS:-pagerank lr}
for job in $JOBS; do
    case $job in
    pagerank) measure "PageRank R-MAT $SCALE" 5 85 pagerank --input "$GRAPH" ;;
    # L-BFGS stops by itself after about 10 iterations on this data, even with tol 0.
    lr) measure "LR ${POINTS}x$DIMS (L-BFGS)" 2 10 lr --input "$LR" --tol 0 ;;
    *) echo "unknown job $job" >&2 ;;
    esac
done
